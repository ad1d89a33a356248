//! `weir run FILE`: run a pipeline here and wait for it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;
use weir_control::{Control, ErrorCode, ExperimentRef, NewRun, RunControl};
use weir_engine::parse_cli_value;
use weir_spec::PipelineDocument;
use weir_store::RunOptions;
use weir_types::RunState;

use crate::commands::runs::{print_run_summary, run_json};
use crate::input::check_file;
use crate::progress::Progress;
use crate::{data, OutputFormat};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A compiled pipeline (KFP IR YAML or JSON) or a KFP v1 component.yaml.
    file: PathBuf,
    /// A pipeline parameter, parsed by its declared type: `--param lr=0.1 --param tags='["a"]'`.
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
    params: Vec<String>,
    /// Parameters from a JSON or YAML mapping; `--param` values win.
    #[arg(long, value_name = "FILE")]
    params_file: Option<PathBuf>,
    /// The run's display name [default: pipeline name and time].
    #[arg(long)]
    run_name: Option<String>,
    /// The experiment the run belongs to [default: Default].
    #[arg(long)]
    experiment: Option<String>,
    /// A tag to find the run by later (`weir runs list --tag`); repeatable.
    #[arg(long = "tag", value_name = "TAG")]
    tags: Vec<String>,
    /// Run every task, even when an earlier identical execution could be reused.
    #[arg(long)]
    no_cache: bool,
    /// At most this many steps at once [default: number of cores].
    #[arg(long)]
    max_parallel: Option<usize>,
    /// Where artifacts go: a folder, or `s3://bucket/prefix` / `minio://bucket/prefix` (S3
    /// settings from the AWS_* variables) [default: <data dir>/artifacts].
    #[arg(long)]
    pipeline_root: Option<String>,
    /// `text` (progress and a summary) or `json` (the final run).
    #[arg(long, short, value_enum, default_value = "text")]
    output: OutputFormat,
}

pub async fn run(args: Args, data_dir: PathBuf) -> Result<ExitCode> {
    let parsed = check_file(&args.file)?;
    let errors: Vec<_> = parsed.diagnostics.iter().filter(|d| d.is_error()).collect();
    let Some(document) = parsed.document.filter(|_| errors.is_empty()) else {
        for diagnostic in &parsed.diagnostics {
            eprintln!("{}: {diagnostic}", args.file.display());
        }
        bail!(
            "{} is not a valid pipeline; nothing was run",
            args.file.display()
        );
    };
    let parameters = parameters(&document, &args)?;
    let control = data::open_control(&data_dir, args.max_parallel).await?;
    let pipeline_root = args
        .pipeline_root
        .as_deref()
        .map(absolute_root)
        .transpose()?;
    let new_run = NewRun {
        display_name: args.run_name.clone(),
        experiment: args.experiment.clone().map(ExperimentRef::Name),
        parameters,
        options: RunOptions {
            no_cache: args.no_cache,
            max_parallel: args.max_parallel,
        },
        pipeline_root,
        tags: args.tags.clone(),
        ..NewRun::new(document.into())
    };
    // Only the id and name are kept: the run's spec may be large.
    let (run_id, run_name) = match control.record_run(new_run).await {
        Ok(run) => (run.id, run.display_name),
        Err(error) if error.code() == ErrorCode::InvalidArgument => {
            bail!("{error}; nothing was run")
        }
        Err(error) => return Err(error.into()),
    };
    if args.output == OutputFormat::Text {
        eprintln!(
            "run {run_id} ({run_name}) started; data in {}",
            data_dir.display()
        );
    }
    execute(&control, run_id, args.output).await
}

/// Drives a run with progress on the terminal, Ctrl-C handling and a final summary.
pub async fn execute(
    control: &Control,
    run_id: weir_types::RunId,
    output: OutputFormat,
) -> Result<ExitCode> {
    let run_control = RunControl::default();
    let signals = tokio::spawn(watch_interrupts(
        run_control.cancel.clone(),
        run_control.kill.clone(),
    ));
    let progress =
        (output == OutputFormat::Text).then(|| Progress::start(control.engine.subscribe(), run_id));
    let result = control.drive_run(run_id, run_control).await;
    signals.abort();
    if let Some(progress) = progress {
        progress.finish().await;
    }
    let run = result?;
    let tasks = control.store.list_tasks(run.id).await?;
    match output {
        OutputFormat::Json => {
            println!("{}", serde_json::to_string_pretty(&run_json(&run, &tasks))?)
        }
        _ => print_run_summary(&run, &tasks),
    }
    Ok(if run.state == RunState::Succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// First Ctrl-C: cancel gracefully (exit handlers still run). Second: stop everything.
async fn watch_interrupts(cancel: CancellationToken, kill: CancellationToken) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut interrupt), Ok(mut terminate)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return;
    };
    let mut count = 0;
    loop {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        count += 1;
        if count == 1 {
            eprintln!(
                "\ncanceling the run (exit handlers still run); press Ctrl-C again to stop at once"
            );
            cancel.cancel();
        } else {
            eprintln!("\nstopping every task now");
            kill.cancel();
            cancel.cancel();
        }
    }
}

/// `--params-file` then `--param`, each value parsed by the pipeline's declared type.
fn parameters(document: &PipelineDocument, args: &Args) -> Result<Map<String, Value>> {
    let mut parameters = Map::new();
    if let Some(file) = &args.params_file {
        parameters.extend(read_params_file(file)?);
    }
    for param in &args.params {
        let (name, value) = typed_parameter(document, param)?;
        parameters.insert(name, value);
    }
    Ok(parameters)
}

/// One `NAME=VALUE`, the value parsed by the type the pipeline declares for `NAME`.
pub fn typed_parameter(document: &PipelineDocument, param: &str) -> Result<(String, Value)> {
    let Some((name, text)) = param.split_once('=') else {
        bail!("`{param}` must be NAME=VALUE");
    };
    let root = &document.spec.root;
    let Some(declared) = root.input_parameter(name) else {
        let known: Vec<&str> = root.input_parameters().map(|(n, _)| n.as_str()).collect();
        bail!(
            "the pipeline has no parameter `{name}` (it has: {})",
            if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            }
        );
    };
    let value = parse_cli_value(text, declared.parameter_type.as_ref()).map_err(|message| {
        let expected = declared
            .parameter_type
            .as_ref()
            .map(|t| t.to_string())
            .unwrap_or_default();
        anyhow::anyhow!("parameter `{name}` expects {expected}: {message}")
    })?;
    Ok((name.to_owned(), value))
}

fn read_params_file(file: &Path) -> Result<Map<String, Value>> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("failed to read {}", file.display()))?;
    let value: Value = if text.trim_start().starts_with('{') {
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not valid JSON", file.display()))?
    } else {
        serde_norway::from_str(&text)
            .with_context(|| format!("{} is not valid YAML", file.display()))?
    };
    match value {
        Value::Object(map) => Ok(map),
        Value::Null => Ok(Map::new()),
        _ => bail!(
            "{} must hold a mapping of parameter names to values",
            file.display()
        ),
    }
}

/// A pipeline root as the engine takes it: a URI as given (`s3://...`), a local folder made
/// absolute (relative to the working directory), which the engine then checks is writable.
fn absolute_root(root: &str) -> Result<String> {
    if root.contains("://") || root.starts_with('/') {
        return Ok(root.to_owned());
    }
    let here = std::env::current_dir().context("failed to read the working directory")?;
    Ok(here.join(root).display().to_string())
}
