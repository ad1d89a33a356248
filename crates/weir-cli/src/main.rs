//! `weir`: Kubeflow Pipelines in one binary.

mod commands;
mod data;
mod executor;
mod input;
mod output;
mod paging;
mod progress;
mod submit;
mod table;
mod target;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "weir",
    version,
    about = "Run Kubeflow Pipelines on one machine, with the KFP API and UI"
)]
struct Cli {
    /// Where Weir keeps its database, artifacts and logs [default: ~/.local/share/weir]
    #[arg(long, global = true, env = "WEIR_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// A Weir or KFP server (`http://host:port`): runs, experiments, pipelines, recurring-runs
    /// and logs act there instead of on the data dir.
    #[arg(long, global = true, env = "WEIR_ENDPOINT", value_name = "URL")]
    endpoint: Option<String>,
    /// The API token: commands with --endpoint send it; `weir server` requires it on every call.
    #[arg(
        long,
        global = true,
        env = "WEIR_AUTH_TOKEN",
        hide_env_values = true,
        visible_alias = "existing-token"
    )]
    auth_token: Option<String>,
    #[command(flatten)]
    executor: executor::ExecutorArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check pipeline files (KFP IR YAML/JSON or v1 component.yaml) and report every problem.
    Validate(commands::validate::Args),
    /// Print a pipeline's inputs, outputs and task graph.
    Inspect(commands::inspect::Args),
    /// Run a pipeline on this machine and wait for it to finish.
    Run(commands::run::Args),
    /// List, show, resume and retry runs; with --endpoint, also create, terminate, archive, delete.
    #[command(subcommand)]
    Runs(commands::runs::Command),
    /// Create, list, archive and delete experiments (list and get also read the data dir).
    #[command(subcommand, alias = "experiment")]
    Experiments(commands::experiments::Command),
    /// Upload, list and delete pipelines and their versions on a server.
    #[command(subcommand, alias = "pipeline")]
    Pipelines(commands::pipelines::Command),
    /// Create, list, enable, disable and delete recurring runs on a server.
    #[command(subcommand, alias = "recurring-run")]
    RecurringRuns(commands::recurring_runs::Command),
    /// Print the logs of a run's tasks.
    Logs(commands::logs::Args),
    /// Manage secrets that tasks receive as environment variables or files (Kubernetes secrets).
    #[command(subcommand)]
    Secrets(commands::secrets::Command),
    /// Manage config maps that tasks receive as environment variables or files.
    #[command(subcommand)]
    Configmaps(commands::secrets::Command),
    /// Manage named volumes (Kubernetes PVCs) that tasks mount.
    #[command(subcommand)]
    Volumes(commands::volumes::Command),
    /// Serve the KFP v2beta1 REST API (kfp.Client and the kfp CLI work against it).
    Server(commands::server::Args),
}

/// Output formats shared by the commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    #[value(alias = "table")]
    Text,
    Json,
    Dot,
}

/// mimalloc instead of glibc's malloc: a server accepting and running a 10,000-task run makes
/// many short-lived allocations on several threads, and glibc's per-thread arenas kept peak
/// RSS at about twice the heap (issue 7 row 5).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WEIR_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    executor::configure(cli.executor.clone());
    let data_dir = data::data_dir(cli.data_dir);
    let target = || {
        target::Target::new(
            data_dir.clone(),
            cli.endpoint.clone(),
            cli.auth_token.clone(),
        )
    };
    let result = match cli.command {
        Command::Validate(args) => commands::validate::run(&args),
        Command::Inspect(args) => commands::inspect::run(&args),
        Command::Run(args) => block_on(commands::run::run(args, data_dir)),
        Command::Runs(command) => {
            target().and_then(|target| block_on(commands::runs::run(command, target)))
        }
        Command::Experiments(command) => {
            target().and_then(|target| block_on(commands::experiments::run(command, target)))
        }
        Command::Pipelines(command) => {
            target().and_then(|target| block_on(commands::pipelines::run(command, target)))
        }
        Command::RecurringRuns(command) => {
            target().and_then(|target| block_on(commands::recurring_runs::run(command, target)))
        }
        Command::Logs(args) => {
            target().and_then(|target| block_on(commands::logs::run(args, target)))
        }
        Command::Secrets(command) => block_on(commands::secrets::run(
            command,
            data_dir,
            commands::secrets::Kind::Secret,
        )),
        Command::Configmaps(command) => block_on(commands::secrets::run(
            command,
            data_dir,
            commands::secrets::Kind::ConfigMap,
        )),
        Command::Volumes(command) => block_on(commands::volumes::run(command, data_dir)),
        Command::Server(args) => block_on(commands::server::run(args, data_dir, cli.auth_token)),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            if let Some(hint) = target::hint(&error) {
                eprintln!("  hint: {hint}");
            }
            ExitCode::from(2)
        }
    }
}

fn block_on<F: std::future::Future<Output = anyhow::Result<ExitCode>>>(
    future: F,
) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(future)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
