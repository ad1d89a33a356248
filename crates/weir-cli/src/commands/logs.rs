//! `weir logs RUN [TASK] [-f]`

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Result};
use weir_store::Task;
use weir_types::TaskKind;

use super::runs::parse_run_id;
use crate::data;
use crate::target::Target;

#[derive(Debug, clap::Args)]
pub struct Args {
    run_id: String,
    /// A task: its name, its path (`for-loop-2[0]/square`) or its id. Default: every step.
    task: Option<String>,
    /// Keep printing as the task writes, until it ends.
    #[arg(long, short)]
    follow: bool,
}

pub async fn run(args: Args, target: Target) -> Result<ExitCode> {
    let data_dir = match target {
        Target::Local(data_dir) => data_dir,
        Target::Server(client) => bail!(
            "{} serves no logs: the KFP v2beta1 API has no log endpoint yet; run `weir logs` on the \
             server's machine with --data-dir set to the server's data dir (and without --endpoint)",
            client.endpoint()
        ),
    };
    let store = data::open_store(&data_dir).await?;
    let run_id = parse_run_id(&args.run_id)?;
    let tasks = store.list_tasks(run_id).await?;
    let steps: Vec<&Task> = tasks
        .iter()
        .filter(|t| matches!(t.kind, TaskKind::Container))
        .collect();
    let chosen: Vec<&Task> = match &args.task {
        None => steps.clone(),
        Some(wanted) => {
            let matches: Vec<&Task> = steps
                .iter()
                .copied()
                .filter(|t| {
                    t.id.to_string() == *wanted
                        || t.name == *wanted
                        || t.path == *wanted
                        || t.path.trim_start_matches("root/") == wanted
                        || t.display_name == *wanted
                })
                .collect();
            if matches.is_empty() {
                let names: Vec<&str> = steps
                    .iter()
                    .map(|t| t.path.trim_start_matches("root/"))
                    .collect();
                bail!(
                    "run {run_id} has no step `{wanted}`; its steps: {}",
                    names.join(", ")
                );
            }
            matches
        }
    };
    let show_headers = chosen.len() > 1;
    for task in chosen {
        if show_headers {
            println!(
                "==> {} ({}) <==",
                task.path.trim_start_matches("root/"),
                task.state
            );
        }
        let Some(path) = &task.log_path else {
            println!("(no log: the step did not start)");
            continue;
        };
        let path = PathBuf::from(path);
        let mut offset = print_from(&path, 0)?;
        if args.follow {
            loop {
                let current = store.get_task(task.id).await?;
                offset = print_from(&path, offset)?;
                if current.state.is_terminal() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints a file from `offset`; returns the new offset.
fn print_from(path: &std::path::Path, offset: u64) -> Result<u64> {
    let Ok(mut file) = std::fs::File::open(path) else {
        return Ok(offset);
    };
    file.seek(SeekFrom::Start(offset))?;
    let mut buffer = Vec::new();
    file.read_to_end(&mut buffer)?;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&buffer)?;
    stdout.flush()?;
    Ok(offset + buffer.len() as u64)
}
