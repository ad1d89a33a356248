//! `weir recurring-runs`: `kfp recurring-run`'s verbs, against a server (its scheduler starts
//! the runs).

use std::process::ExitCode;

use anyhow::Result;
use chrono::{DateTime, Utc};
use weir_client::model::{
    CronSchedule, PeriodicSchedule, RecurringRun, RecurringRunMode, RuntimeConfig, Trigger,
};
use weir_client::Client;

use crate::output::{print_deleted, print_one, print_page, Style};
use crate::paging::PageArgs;
use crate::submit::PipelineArgs;
use crate::target::Target;
use crate::OutputFormat;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Create a recurring run: a pipeline started on a cron schedule or at an interval.
    Create(CreateArgs),
    /// List recurring runs, newest first.
    List {
        /// Only the recurring runs of this experiment.
        #[arg(long, short = 'e')]
        experiment_id: Option<String>,
        #[command(flatten)]
        page: PageArgs,
        /// table (text) or json.
        #[arg(long, short, value_enum, default_value = "text")]
        output: OutputFormat,
    },
    /// Show a recurring run.
    Get {
        recurring_run_id: String,
        /// table (text) or json.
        #[arg(long, short, value_enum, default_value = "text")]
        output: OutputFormat,
    },
    /// Start scheduling runs again.
    Enable {
        recurring_run_id: String,
        /// table (text) or json.
        #[arg(long, short, value_enum, default_value = "text")]
        output: OutputFormat,
    },
    /// Stop scheduling runs (runs already started go on).
    Disable {
        recurring_run_id: String,
        /// table (text) or json.
        #[arg(long, short, value_enum, default_value = "text")]
        output: OutputFormat,
    },
    /// Delete a recurring run; the runs it started stay.
    Delete {
        recurring_run_id: String,
        /// table (text) or json.
        #[arg(long, short, value_enum, default_value = "text")]
        output: OutputFormat,
    },
}

/// `weir recurring-runs create`, with `kfp recurring-run create`'s flags.
#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("schedule").required(true).multiple(false))]
pub struct CreateArgs {
    /// The recurring run's name.
    #[arg(long, visible_alias = "name")]
    job_name: String,
    /// The experiment, by name; created when missing [default: the server's default].
    #[arg(long, short = 'e', conflicts_with = "experiment_id")]
    experiment_name: Option<String>,
    /// The experiment, by id.
    #[arg(long)]
    experiment_id: Option<String>,
    /// Six fields, seconds first (`0 0 9 * * *`: every day at 9:00).
    #[arg(long, group = "schedule")]
    cron_expression: Option<String>,
    /// Seconds between runs.
    #[arg(long, group = "schedule")]
    interval_second: Option<i64>,
    /// At most this many of its runs at once (1 to 10).
    #[arg(long, default_value_t = 1)]
    max_concurrency: i64,
    /// Do not start the runs missed while the recurring run was disabled or the server down.
    #[arg(long)]
    no_catchup: bool,
    /// Create it disabled.
    #[arg(long)]
    disabled: bool,
    /// What the recurring run is for.
    #[arg(long)]
    description: Option<String>,
    /// No runs before this time (RFC 3339).
    #[arg(long)]
    start_time: Option<DateTime<Utc>>,
    /// No runs after this time (RFC 3339).
    #[arg(long)]
    end_time: Option<DateTime<Utc>>,
    #[command(flatten)]
    pipeline: PipelineArgs,
    /// Pipeline parameters, parsed by their declared types.
    #[arg(value_name = "KEY=VALUE")]
    params: Vec<String>,
    /// table (text) or json.
    #[arg(long, short, value_enum, default_value = "text")]
    output: OutputFormat,
}

pub async fn run(command: Command, target: Target) -> Result<ExitCode> {
    let client = target.server(&format!("recurring-runs {}", verb(&command)))?;
    let style = Style::from_format(command.output())?;
    match command {
        Command::Create(args) => {
            let recurring_run = request(client, &args).await?;
            print_one(&client.create_recurring_run(&recurring_run).await?, style)?;
        }
        Command::List {
            experiment_id,
            page,
            ..
        } => {
            let response = client
                .list_recurring_runs(experiment_id.as_deref(), &page.params())
                .await?;
            let next_page_token = response.next_page_token.as_deref();
            print_page(&response.recurring_runs, next_page_token, style)?;
        }
        Command::Get {
            recurring_run_id, ..
        } => print_one(&client.get_recurring_run(&recurring_run_id).await?, style)?,
        Command::Enable {
            recurring_run_id, ..
        } => {
            client.enable_recurring_run(&recurring_run_id).await?;
            print_one(&client.get_recurring_run(&recurring_run_id).await?, style)?;
        }
        Command::Disable {
            recurring_run_id, ..
        } => {
            client.disable_recurring_run(&recurring_run_id).await?;
            print_one(&client.get_recurring_run(&recurring_run_id).await?, style)?;
        }
        Command::Delete {
            recurring_run_id, ..
        } => {
            client.delete_recurring_run(&recurring_run_id).await?;
            print_deleted("Recurring run", &recurring_run_id, style)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

impl Command {
    fn output(&self) -> OutputFormat {
        match self {
            Command::Create(args) => args.output,
            Command::List { output, .. }
            | Command::Get { output, .. }
            | Command::Enable { output, .. }
            | Command::Disable { output, .. }
            | Command::Delete { output, .. } => *output,
        }
    }
}

fn verb(command: &Command) -> &'static str {
    match command {
        Command::Create(_) => "create",
        Command::List { .. } => "list",
        Command::Get { .. } => "get",
        Command::Enable { .. } => "enable",
        Command::Disable { .. } => "disable",
        Command::Delete { .. } => "delete",
    }
}

/// The API request for `create`; the server checks the schedule and the parameters.
async fn request(client: &Client, args: &CreateArgs) -> Result<RecurringRun> {
    let submission = crate::submit::prepare(client, &args.pipeline, &args.params).await?;
    let experiment_id = match (&args.experiment_id, &args.experiment_name) {
        (Some(id), _) => Some(id.clone()),
        (None, Some(name)) => client.ensure_experiment(name).await?.experiment_id,
        (None, None) => None,
    };
    let trigger = match (&args.cron_expression, args.interval_second) {
        (Some(cron), _) => Trigger {
            cron_schedule: Some(CronSchedule {
                cron: Some(cron.clone()),
                start_time: args.start_time,
                end_time: args.end_time,
            }),
            periodic_schedule: None,
        },
        (None, interval_second) => Trigger {
            cron_schedule: None,
            periodic_schedule: Some(PeriodicSchedule {
                interval_second,
                start_time: args.start_time,
                end_time: args.end_time,
            }),
        },
    };
    Ok(RecurringRun {
        display_name: Some(args.job_name.clone()),
        description: args.description.clone(),
        experiment_id,
        pipeline_spec: submission.pipeline_spec,
        pipeline_version_reference: submission.pipeline_version_reference,
        runtime_config: Some(RuntimeConfig {
            parameters: submission.parameters,
            pipeline_root: None,
        }),
        max_concurrency: Some(args.max_concurrency),
        trigger: Some(trigger),
        mode: Some(if args.disabled {
            RecurringRunMode::Disable
        } else {
            RecurringRunMode::Enable
        }),
        no_catchup: Some(args.no_catchup),
        ..RecurringRun::default()
    })
}
