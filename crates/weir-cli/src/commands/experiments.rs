//! `weir experiments`: `kfp experiment`'s verbs. `list` and `get` also read the data dir.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use weir_client::model::{Experiment, StorageState};
use weir_client::Client;
use weir_store::{ListQuery, SortBy};

use crate::output::{print_deleted, print_one, print_page, Style};
use crate::paging::PageArgs;
use crate::target::{needs_server, Target};
use crate::{data, OutputFormat};

/// How many experiments a local `experiments list` shows without `--max-size`.
const LOCAL_DEFAULT_LIMIT: u32 = 50;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Create an experiment.
    Create {
        name: String,
        /// What it is for.
        #[arg(long, short)]
        description: Option<String>,
        /// table (text) or json.
        #[arg(long, short, value_enum, default_value = "text")]
        output: OutputFormat,
    },
    /// List experiments, newest first.
    List {
        #[command(flatten)]
        page: PageArgs,
        /// table (text) or json.
        #[arg(long, short, value_enum, default_value = "text")]
        output: OutputFormat,
    },
    /// Show an experiment.
    Get {
        experiment_id: String,
        /// table (text) or json.
        #[arg(long, short, value_enum, default_value = "text")]
        output: OutputFormat,
    },
    /// Archive an experiment, its runs, and disable its recurring runs.
    Archive {
        #[command(flatten)]
        which: Which,
        /// table (text) or json.
        #[arg(long, short, value_enum, default_value = "text")]
        output: OutputFormat,
    },
    /// Unarchive an experiment.
    Unarchive {
        #[command(flatten)]
        which: Which,
        /// table (text) or json.
        #[arg(long, short, value_enum, default_value = "text")]
        output: OutputFormat,
    },
    /// Delete an experiment with its runs.
    Delete {
        experiment_id: String,
        /// table (text) or json.
        #[arg(long, short, value_enum, default_value = "text")]
        output: OutputFormat,
    },
}

/// An experiment by id (positional or `--experiment-id`) or by `--experiment-name`.
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
pub struct Which {
    #[arg(value_name = "EXPERIMENT_ID")]
    id: Option<String>,
    #[arg(long = "experiment-id", value_name = "ID")]
    id_flag: Option<String>,
    #[arg(long = "experiment-name", value_name = "NAME")]
    name: Option<String>,
}

impl Which {
    async fn resolve(&self, client: &Client) -> Result<String> {
        if let Some(id) = self.id.as_ref().or(self.id_flag.as_ref()) {
            return Ok(id.clone());
        }
        let name = self.name.as_deref().unwrap_or_default();
        let found = client
            .find_experiment(name)
            .await?
            .with_context(|| format!("{} has no experiment named `{name}`", client.endpoint()))?;
        found
            .experiment_id
            .with_context(|| format!("the server's experiment `{name}` has no experiment_id"))
    }
}

impl Command {
    fn output(&self) -> OutputFormat {
        match self {
            Command::Create { output, .. }
            | Command::List { output, .. }
            | Command::Get { output, .. }
            | Command::Archive { output, .. }
            | Command::Unarchive { output, .. }
            | Command::Delete { output, .. } => *output,
        }
    }
}

pub async fn run(command: Command, target: Target) -> Result<ExitCode> {
    let style = Style::from_format(command.output())?;
    let client = match &target {
        Target::Server(client) => client,
        Target::Local(data_dir) => return run_local(command, data_dir, style).await,
    };
    match command {
        Command::Create {
            name, description, ..
        } => {
            let experiment = Experiment {
                display_name: Some(name),
                description,
                ..Experiment::default()
            };
            print_one(&client.create_experiment(&experiment).await?, style)?;
        }
        Command::List { page, .. } => {
            let response = client.list_experiments(&page.params()).await?;
            let next_page_token = response.next_page_token.as_deref();
            print_page(&response.experiments, next_page_token, style)?;
        }
        Command::Get { experiment_id, .. } => {
            print_one(&client.get_experiment(&experiment_id).await?, style)?;
        }
        Command::Archive { which, .. } => {
            let id = which.resolve(client).await?;
            client.archive_experiment(&id).await?;
            print_one(&client.get_experiment(&id).await?, style)?;
        }
        Command::Unarchive { which, .. } => {
            let id = which.resolve(client).await?;
            client.unarchive_experiment(&id).await?;
            print_one(&client.get_experiment(&id).await?, style)?;
        }
        Command::Delete { experiment_id, .. } => {
            client.delete_experiment(&experiment_id).await?;
            print_deleted("Experiment", &experiment_id, style)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `list` and `get` read the store; the rest change what a server manages.
async fn run_local(command: Command, data_dir: &Path, style: Style) -> Result<ExitCode> {
    match command {
        Command::List { page, .. } => {
            if let Some(flag) = page.server_only_flag() {
                bail!("a local `weir experiments list` has no {flag}; it needs --endpoint");
            }
            let store = data::open_store(data_dir).await?;
            let query = ListQuery {
                page_size: page.max_size.unwrap_or(LOCAL_DEFAULT_LIMIT),
                sort: Some(SortBy {
                    field: "created_at".to_owned(),
                    descending: true,
                }),
                ..ListQuery::default()
            };
            let found = store.list_experiments(&query).await?;
            let experiments: Vec<Experiment> = found.items.iter().map(from_store).collect();
            print_page(&experiments, None, style)?;
        }
        Command::Get { experiment_id, .. } => {
            let store = data::open_store(data_dir).await?;
            print_one(
                &from_store(&store.get_experiment(&experiment_id).await?),
                style,
            )?;
        }
        Command::Create { .. } => return Err(needs_server("experiments create")),
        Command::Archive { .. } => return Err(needs_server("experiments archive")),
        Command::Unarchive { .. } => return Err(needs_server("experiments unarchive")),
        Command::Delete { .. } => return Err(needs_server("experiments delete")),
    }
    Ok(ExitCode::SUCCESS)
}

/// A stored experiment in the API's shape, as a server would return it.
fn from_store(experiment: &weir_store::Experiment) -> Experiment {
    let non_empty = |text: &str| (!text.is_empty()).then(|| text.to_owned());
    Experiment {
        experiment_id: Some(experiment.id.to_string()),
        display_name: Some(experiment.name.clone()),
        description: non_empty(&experiment.description),
        created_at: Some(experiment.created_at),
        namespace: non_empty(&experiment.namespace),
        storage_state: Some(if experiment.archived {
            StorageState::Archived
        } else {
            StorageState::Available
        }),
        last_run_created_at: experiment.last_run_created_at,
    }
}
