//! `weir runs list|get|resume|retry`

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use serde_json::{json, Value};
use weir_engine::TaskIo;
use weir_store::{Run, RunQuery, Task};
use weir_types::{RunId, TaskKind, TaskState};

use crate::table::{duration, render};
use crate::{data, OutputFormat};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List runs, newest first.
    List {
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long, short, value_enum, default_value = "text")]
        output: OutputFormat,
    },
    /// Show a run and its tasks.
    Get {
        run_id: String,
        #[arg(long, short, value_enum, default_value = "text")]
        output: OutputFormat,
    },
    /// Finish a run that was interrupted (Weir was killed): finished tasks are not run again.
    Resume {
        run_id: String,
        #[arg(long, short, value_enum, default_value = "text")]
        output: OutputFormat,
        #[arg(long)]
        max_parallel: Option<usize>,
    },
    /// Run the failed and not-yet-run tasks of a FAILED or CANCELED run again, reusing the rest.
    Retry {
        run_id: String,
        #[arg(long, short, value_enum, default_value = "text")]
        output: OutputFormat,
        #[arg(long)]
        max_parallel: Option<usize>,
    },
}

pub async fn run(command: Command, data_dir: PathBuf) -> Result<ExitCode> {
    match command {
        Command::List { limit, output } => {
            let store = data::open_store(&data_dir).await?;
            let runs = store
                .list_runs(&RunQuery {
                    limit: Some(limit),
                    ..Default::default()
                })
                .await?;
            if output == OutputFormat::Json {
                let runs: Vec<Value> = runs.iter().map(|r| run_json(r, &[])).collect();
                println!("{}", serde_json::to_string_pretty(&runs)?);
            } else {
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
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Get { run_id, output } => {
            let store = data::open_store(&data_dir).await?;
            let run = store.get_run(parse_run_id(&run_id)?).await?;
            let tasks = store.list_tasks(run.id).await?;
            match output {
                OutputFormat::Json => {
                    println!("{}", serde_json::to_string_pretty(&run_json(&run, &tasks))?)
                }
                _ => print_run_summary(&run, &tasks),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Resume {
            run_id,
            output,
            max_parallel,
        } => {
            let engine = data::open_engine(&data_dir, max_parallel).await?;
            super::run::execute(&engine, parse_run_id(&run_id)?, output).await
        }
        Command::Retry {
            run_id,
            output,
            max_parallel,
        } => {
            let engine = data::open_engine(&data_dir, max_parallel).await?;
            let run = engine.prepare_retry(parse_run_id(&run_id)?).await?;
            super::run::execute(&engine, run.id, output).await
        }
    }
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
        let outputs = TaskIo::from_value(&root.outputs);
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
