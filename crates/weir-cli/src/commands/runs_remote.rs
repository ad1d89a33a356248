//! `weir runs ...` with `--endpoint`: the same verbs through the server's API.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Result};
use weir_client::model::{Run, RuntimeConfig, RuntimeState};
use weir_client::{Caching, Client, ClientError};

use super::runs::{Command, CreateArgs};
use crate::output::{print_deleted, print_one, print_page, print_run, Style};
use crate::target::local_only;

pub async fn run(command: Command, client: &Client) -> Result<ExitCode> {
    let style = Style::from_format(command.output())?;
    match command {
        Command::List {
            experiment_id,
            tag,
            page,
            ..
        } => {
            let mut params = page.params();
            if let Some(tag) = tag {
                params.filter = Some(crate::paging::with_predicate(
                    params.filter.as_deref(),
                    "tag",
                    &tag,
                )?);
            }
            let response = client.list_runs(experiment_id.as_deref(), &params).await?;
            print_page(&response.runs, response.next_page_token.as_deref(), style)?;
        }
        Command::Get {
            run_id,
            watch: true,
            ..
        } => return wait_and_print(client, &run_id, None, style).await,
        Command::Get { run_id, .. } => print_run(&client.get_run(&run_id).await?, style)?,
        Command::Create(args) => return create(client, args, style).await,
        Command::Resume { .. } => {
            return Err(local_only(
                "runs resume",
                "a server resumes its interrupted runs itself when it starts",
            ))
        }
        Command::Retry {
            max_parallel: Some(_),
            ..
        } => bail!("--max-parallel applies to local runs; a server has its own --max-parallel"),
        Command::Retry { run_id, watch, .. } => {
            client.retry_run(&run_id).await?;
            if watch {
                return wait_and_print(client, &run_id, None, style).await;
            }
            print_run(&client.get_run(&run_id).await?, style)?;
        }
        Command::Terminate { run_id, .. } => {
            client.terminate_run(&run_id).await?;
            print_one(&client.get_run(&run_id).await?, style)?;
        }
        Command::Archive { run_id, .. } => {
            client.archive_run(&run_id).await?;
            print_one(&client.get_run(&run_id).await?, style)?;
        }
        Command::Unarchive { run_id, .. } => {
            client.unarchive_run(&run_id).await?;
            print_one(&client.get_run(&run_id).await?, style)?;
        }
        Command::Delete { run_id, .. } => {
            client.delete_run(&run_id).await?;
            print_deleted("Run", &run_id, style)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn create(client: &Client, args: CreateArgs, style: Style) -> Result<ExitCode> {
    let submission = crate::submit::prepare(client, &args.pipeline, &args.params).await?;
    let experiment_id = match &args.experiment_name {
        Some(name) => client.ensure_experiment(name).await?.experiment_id,
        None => None,
    };
    let request = Run {
        display_name: args.run_name.clone(),
        experiment_id,
        pipeline_spec: submission.pipeline_spec,
        pipeline_version_reference: submission.pipeline_version_reference,
        runtime_config: Some(RuntimeConfig {
            parameters: submission.parameters,
            pipeline_root: None,
        }),
        ..Run::default()
    };
    let caching = if args.no_cache {
        Caching::Disabled
    } else {
        Caching::AsSpecified
    };
    let created = client.create_run(&request, caching).await?;
    let run_id = created.run_id.clone().unwrap_or_default();
    let timeout = (args.timeout > 0).then(|| Duration::from_secs(args.timeout));
    if !args.watch && timeout.is_none() {
        print_run(&created, style)?;
        return Ok(ExitCode::SUCCESS);
    }
    if style == Style::Table {
        eprintln!(
            "run {run_id} ({}) created on {}; waiting for it to finish",
            created.display_name.as_deref().unwrap_or_default(),
            client.endpoint()
        );
    }
    wait_and_print(client, &run_id, timeout, style).await
}

/// Waits for a run, prints it, and exits 1 unless it SUCCEEDED (or the wait timed out).
async fn wait_and_print(
    client: &Client,
    run_id: &str,
    timeout: Option<Duration>,
    style: Style,
) -> Result<ExitCode> {
    let run = match client.wait_for_run(run_id, timeout).await {
        Ok(run) => run,
        Err(error @ ClientError::WaitTimedOut { .. }) => {
            print_run(&client.get_run(run_id).await?, style)?;
            eprintln!("error: {error}");
            return Ok(ExitCode::from(1));
        }
        Err(error) => return Err(error.into()),
    };
    print_run(&run, style)?;
    if run.state == Some(RuntimeState::Succeeded) {
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!(
        "run {run_id} ended {}",
        run.state.unwrap_or_default().name()
    );
    Ok(ExitCode::from(1))
}
