//! `weir runs`: list, get, resume and retry on the data dir; with `--endpoint`, list, get,
//! create, retry, terminate, archive, unarchive and delete on a server (`runs_remote.rs`).

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use weir_store::{Run, RunQuery, Task};
use weir_types::{ExperimentId, RunId, RunState, TaskKind, TaskState};

use super::runs_remote;
use crate::paging::PageArgs;
use crate::submit::PipelineArgs;
use crate::table::{duration, render};
use crate::target::{needs_server, needs_server_or, Target};
use crate::{data, OutputFormat};

/// How many runs a local `runs list` shows without `--max-size`.
const LOCAL_DEFAULT_LIMIT: u32 = 50;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List runs, newest first.
    List {
        /// Only the runs of this experiment.
        #[arg(long, short = 'e')]
        experiment_id: Option<String>,
        /// Only the runs with this tag.
        #[arg(long)]
        tag: Option<String>,
        #[command(flatten)]
        page: PageArgs,
        /// table (text) or json.
        #[arg(long, short, value_enum, default_value = "text")]
        output: OutputFormat,
    },
    /// Show a run and its tasks.
    Get {
        run_id: String,
        /// Wait until the run has finished; exit 1 unless it SUCCEEDED.
        #[arg(long, short)]
        watch: bool,
        /// table (text) or json.
        #[arg(long, short, value_enum, default_value = "text")]
        output: OutputFormat,
    },
    /// Submit a run to the server (`weir run FILE` runs a pipeline here).
    #[command(alias = "submit")]
    Create(CreateArgs),
    /// Finish a run that was interrupted (Weir was killed): finished tasks are not run again.
    Resume {
        run_id: String,
        /// table (text) or json.
        #[arg(long, short, value_enum, default_value = "text")]
        output: OutputFormat,
        #[arg(long)]
        max_parallel: Option<usize>,
    },
    /// Run the failed and not-yet-run tasks of a FAILED or CANCELED run again, reusing the rest.
    Retry {
        run_id: String,
        /// table (text) or json.
        #[arg(long, short, value_enum, default_value = "text")]
        output: OutputFormat,
        /// At most this many steps at once (here; a server has its own limit).
        #[arg(long)]
        max_parallel: Option<usize>,
        /// With --endpoint: wait until the run has finished; exit 1 unless it SUCCEEDED.
        #[arg(long, short)]
        watch: bool,
    },
    /// Stop a run on the server; it ends CANCELED (exit handlers still run).
    Terminate {
        run_id: String,
        /// table (text) or json.
        #[arg(long, short, value_enum, default_value = "text")]
        output: OutputFormat,
    },
    /// Archive a run on the server.
    Archive {
        run_id: String,
        /// table (text) or json.
        #[arg(long, short, value_enum, default_value = "text")]
        output: OutputFormat,
    },
    /// Unarchive a run on the server.
    Unarchive {
        run_id: String,
        /// table (text) or json.
        #[arg(long, short, value_enum, default_value = "text")]
        output: OutputFormat,
    },
    /// Delete a run on the server, with its logs and artifacts (a running run is stopped first).
    Delete {
        run_id: String,
        /// table (text) or json.
        #[arg(long, short, value_enum, default_value = "text")]
        output: OutputFormat,
    },
}

/// `weir runs create`, with `kfp run create`'s flags.
#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// The experiment, by name; created when missing [default: the server's default].
    #[arg(long = "experiment-name", short = 'e', visible_alias = "experiment")]
    pub experiment_name: Option<String>,
    /// The run's name [default: the pipeline name and the time].
    #[arg(long, short = 'r')]
    pub run_name: Option<String>,
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    /// Wait until the run has finished; exit 1 unless it SUCCEEDED.
    #[arg(long, short)]
    pub watch: bool,
    /// Wait at most this many seconds for the run to finish (0: do not wait).
    #[arg(long, short = 't', default_value_t = 0, value_name = "SECS")]
    pub timeout: u64,
    /// Run every task, even when an earlier identical execution could be reused.
    #[arg(long)]
    pub no_cache: bool,
    /// Pipeline parameters, parsed by their declared types.
    #[arg(value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// table (text) or json.
    #[arg(long, short, value_enum, default_value = "text")]
    pub output: OutputFormat,
}

impl Command {
    pub fn output(&self) -> OutputFormat {
        match self {
            Command::Create(args) => args.output,
            Command::List { output, .. }
            | Command::Get { output, .. }
            | Command::Resume { output, .. }
            | Command::Retry { output, .. }
            | Command::Terminate { output, .. }
            | Command::Archive { output, .. }
            | Command::Unarchive { output, .. }
            | Command::Delete { output, .. } => *output,
        }
    }
}

pub async fn run(command: Command, target: Target) -> Result<ExitCode> {
    let data_dir = match &target {
        Target::Server(client) => return runs_remote::run(command, client).await,
        Target::Local(data_dir) => data_dir.as_path(),
    };
    match command {
        Command::List {
            experiment_id,
            tag,
            page,
            output,
        } => list(data_dir, experiment_id.as_deref(), tag, &page, output).await,
        Command::Get {
            run_id,
            watch,
            output,
        } => get(data_dir, &run_id, watch, output).await,
        Command::Resume {
            run_id,
            output,
            max_parallel,
        } => {
            let control = data::open_control(data_dir, max_parallel).await?;
            super::run::execute(&control, parse_run_id(&run_id)?, output).await
        }
        Command::Retry {
            run_id,
            output,
            max_parallel,
            watch: _,
        } => {
            let control = data::open_control(data_dir, max_parallel).await?;
            let run = control.prepare_retry(parse_run_id(&run_id)?).await?;
            super::run::execute(&control, run.id, output).await
        }
        Command::Create(_) => Err(needs_server_or(
            "runs create",
            "to run a pipeline on this machine, use `weir run FILE`",
        )),
        Command::Terminate { .. } => Err(needs_server_or(
            "runs terminate",
            "a local run stops with Ctrl-C in the `weir run` that drives it",
        )),
        Command::Archive { .. } => Err(needs_server("runs archive")),
        Command::Unarchive { .. } => Err(needs_server("runs unarchive")),
        Command::Delete { .. } => Err(needs_server("runs delete")),
    }
}

async fn list(
    data_dir: &Path,
    experiment_id: Option<&str>,
    tag: Option<String>,
    page: &PageArgs,
    output: OutputFormat,
) -> Result<ExitCode> {
    if let Some(flag) = page.server_only_flag() {
        bail!("a local `weir runs list` has no {flag}; it needs --endpoint");
    }
    let experiment_id = match experiment_id {
        Some(text) => Some(text.parse::<ExperimentId>().with_context(|| {
            format!("`{text}` is not an experiment id; `weir experiments list` shows them")
        })?),
        None => None,
    };
    let store = data::open_store(data_dir).await?;
    let runs = store
        .list_runs(&RunQuery {
            limit: Some(page.max_size.unwrap_or(LOCAL_DEFAULT_LIMIT)),
            experiment_id,
            tag,
            ..Default::default()
        })
        .await?;
    if output == OutputFormat::Json {
        let runs: Vec<Value> = runs.iter().map(|r| run_json(r, &[])).collect();
        println!("{}", serde_json::to_string_pretty(&runs)?);
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            vec![
                r.id.to_string(),
                r.display_name.clone(),
                r.state.to_string(),
                r.created_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                run_duration(r),
            ]
        })
        .collect();
    print!(
        "{}",
        render(&["RUN ID", "NAME", "STATE", "CREATED", "DURATION"], &rows)
    );
    Ok(ExitCode::SUCCESS)
}

async fn get(data_dir: &Path, run_id: &str, watch: bool, output: OutputFormat) -> Result<ExitCode> {
    let store = data::open_store(data_dir).await?;
    let run_id = parse_run_id(run_id)?;
    let mut run = store.get_run(run_id).await?;
    while watch && !run.state.is_terminal() {
        tokio::time::sleep(Duration::from_millis(500)).await;
        run = store.get_run(run_id).await?;
    }
    let tasks = store.list_tasks(run.id).await?;
    match output {
        OutputFormat::Json => {
            println!("{}", serde_json::to_string_pretty(&run_json(&run, &tasks))?)
        }
        _ => print_run_summary(&run, &tasks),
    }
    Ok(if watch && run.state != RunState::Succeeded {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

pub fn parse_run_id(text: &str) -> Result<RunId> {
    text.parse()
        .with_context(|| format!("`{text}` is not a run id; `weir runs list` shows them"))
}

fn run_duration(run: &Run) -> String {
    match (run.started_at, run.finished_at) {
        (Some(start), Some(end)) => duration((end - start).num_milliseconds() as f64 / 1000.0),
        (Some(start), None) => format!(
            "{} so far",
            duration((chrono::Utc::now() - start).num_milliseconds() as f64 / 1000.0)
        ),
        _ => "-".to_owned(),
    }
}

fn task_duration(task: &Task) -> String {
    match (task.started_at, task.finished_at) {
        (Some(start), Some(end)) => duration((end - start).num_milliseconds() as f64 / 1000.0),
        _ => "-".to_owned(),
    }
}

/// The end-of-run summary: the run, its outputs, and a line per step.
pub fn print_run_summary(run: &Run, tasks: &[Task]) {
    println!("run       {} ({})", run.id, run.display_name);
    println!("state     {}", run.state);
    println!("duration  {}", run_duration(run));
    if let Some(error) = &run.error {
        println!("error     {}", error.lines().next().unwrap_or_default());
    }
    if let Some(root) = tasks.iter().find(|t| t.kind == TaskKind::Root) {
        let outputs = &root.outputs;
        for (name, value) in &outputs.parameters {
            println!("output    {name} = {value}");
        }
        for (name, artifacts) in &outputs.artifacts {
            for artifact in artifacts {
                println!("output    {name} = {}", artifact.uri);
            }
        }
    }
    let rows: Vec<Vec<String>> = tasks
        .iter()
        .filter(|t| {
            matches!(t.kind, TaskKind::Container | TaskKind::Importer)
                || t.state == TaskState::Failed && t.kind != TaskKind::Root
        })
        .map(|t| {
            let retries = if t.attempt > 1 {
                (t.attempt - 1).to_string()
            } else {
                String::new()
            };
            let cached = if t.state == TaskState::Cached {
                "yes".to_owned()
            } else {
                String::new()
            };
            vec![
                t.path.trim_start_matches("root/").to_owned(),
                t.state.to_string(),
                task_duration(t),
                cached,
                retries,
                t.log_path.clone().unwrap_or_default(),
            ]
        })
        .collect();
    println!();
    print!(
        "{}",
        render(
            &["TASK", "STATE", "DURATION", "CACHED", "RETRIES", "LOG"],
            &rows
        )
    );
    for task in tasks.iter().filter(|t| {
        t.state == TaskState::Failed && matches!(t.kind, TaskKind::Container | TaskKind::Importer)
    }) {
        println!(
            "\n{} failed: {}",
            task.path.trim_start_matches("root/"),
            task.error.as_deref().unwrap_or("(no message)")
        );
    }
}

pub fn run_json(run: &Run, tasks: &[Task]) -> Value {
    let mut value = json!(run);
    if !tasks.is_empty() {
        value["tasks"] = json!(tasks);
    }
    value
}
