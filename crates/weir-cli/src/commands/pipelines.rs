//! `weir pipelines`: `kfp pipeline`'s verbs, against a server (pipelines are stored by one).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use weir_client::{Client, PipelinePackage};

use crate::output::{print_deleted, print_one, print_page, Style};
use crate::paging::PageArgs;
use crate::target::Target;
use crate::OutputFormat;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Upload a pipeline package as a new pipeline.
    #[command(alias = "upload")]
    Create {
        /// The package: compiled YAML or JSON, or a .zip / .tar.gz holding one.
        package_file: PathBuf,
        /// The pipeline's name [default: the file name without its extension].
        #[arg(long, short = 'p')]
        pipeline_name: Option<String>,
        /// What it is for.
        #[arg(long, short)]
        description: Option<String>,
        /// table (text) or json.
        #[arg(long, short, value_enum, default_value = "text")]
        output: OutputFormat,
    },
    /// Upload a pipeline package as a new version of a pipeline.
    #[command(alias = "upload-version")]
    CreateVersion {
        package_file: PathBuf,
        /// The version's name.
        #[arg(long, short = 'v')]
        pipeline_version: String,
        #[arg(long, short = 'p', required_unless_present = "pipeline_name")]
        pipeline_id: Option<String>,
        #[arg(long, short = 'n', conflicts_with = "pipeline_id")]
        pipeline_name: Option<String>,
        /// What it is for.
        #[arg(long, short)]
        description: Option<String>,
        /// table (text) or json.
        #[arg(long, short, value_enum, default_value = "text")]
        output: OutputFormat,
    },
    /// List pipelines, newest first.
    List {
        #[command(flatten)]
        page: PageArgs,
        /// table (text) or json.
        #[arg(long, short, value_enum, default_value = "text")]
        output: OutputFormat,
    },
    /// Show a pipeline.
    Get {
        pipeline_id: String,
        /// table (text) or json.
        #[arg(long, short, value_enum, default_value = "text")]
        output: OutputFormat,
    },
    /// Delete a pipeline.
    Delete {
        pipeline_id: String,
        /// Delete its versions too (a pipeline with versions is refused otherwise).
        #[arg(long)]
        cascade: bool,
        /// table (text) or json.
        #[arg(long, short, value_enum, default_value = "text")]
        output: OutputFormat,
    },
    /// List the versions of a pipeline, newest first.
    ListVersions {
        pipeline_id: String,
        #[command(flatten)]
        page: PageArgs,
        /// table (text) or json.
        #[arg(long, short, value_enum, default_value = "text")]
        output: OutputFormat,
    },
    /// Show a version of a pipeline.
    GetVersion {
        pipeline_id: String,
        version_id: String,
        /// table (text) or json.
        #[arg(long, short, value_enum, default_value = "text")]
        output: OutputFormat,
    },
    /// Delete a version of a pipeline.
    DeleteVersion {
        pipeline_id: String,
        version_id: String,
        /// table (text) or json.
        #[arg(long, short, value_enum, default_value = "text")]
        output: OutputFormat,
    },
}

pub async fn run(command: Command, target: Target) -> Result<ExitCode> {
    let client = target.server(&format!("pipelines {}", verb(&command)))?;
    let style = Style::from_format(command.output())?;
    match command {
        Command::Create {
            package_file,
            pipeline_name,
            description,
            ..
        } => {
            let package = PipelinePackage::read(&package_file).await?;
            let (name, description) = (pipeline_name.as_deref(), description.as_deref());
            print_one(
                &client.upload_pipeline(&package, name, description).await?,
                style,
            )?;
        }
        Command::CreateVersion {
            package_file,
            pipeline_version,
            pipeline_id,
            pipeline_name,
            description,
            ..
        } => {
            let pipeline_id = pipeline_id_of(client, pipeline_id, pipeline_name).await?;
            let package = PipelinePackage::read(&package_file).await?;
            let (name, description) = (Some(pipeline_version.as_str()), description.as_deref());
            let version = client
                .upload_pipeline_version(&pipeline_id, &package, name, description)
                .await?;
            print_one(&version, style)?;
        }
        Command::List { page, .. } => {
            let response = client.list_pipelines(&page.params()).await?;
            let next_page_token = response.next_page_token.as_deref();
            print_page(&response.pipelines, next_page_token, style)?;
        }
        Command::Get { pipeline_id, .. } => {
            print_one(&client.get_pipeline(&pipeline_id).await?, style)?;
        }
        Command::Delete {
            pipeline_id,
            cascade,
            ..
        } => {
            client.delete_pipeline(&pipeline_id, cascade).await?;
            print_deleted("Pipeline", &pipeline_id, style)?;
        }
        Command::ListVersions {
            pipeline_id, page, ..
        } => {
            let response = client
                .list_pipeline_versions(&pipeline_id, &page.params())
                .await?;
            let next_page_token = response.next_page_token.as_deref();
            print_page(&response.pipeline_versions, next_page_token, style)?;
        }
        Command::GetVersion {
            pipeline_id,
            version_id,
            ..
        } => {
            let version = client
                .get_pipeline_version(&pipeline_id, &version_id)
                .await?;
            print_one(&version, style)?;
        }
        Command::DeleteVersion {
            pipeline_id,
            version_id,
            ..
        } => {
            client
                .delete_pipeline_version(&pipeline_id, &version_id)
                .await?;
            print_deleted("Pipeline version", &version_id, style)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

impl Command {
    fn output(&self) -> OutputFormat {
        match self {
            Command::Create { output, .. }
            | Command::CreateVersion { output, .. }
            | Command::List { output, .. }
            | Command::Get { output, .. }
            | Command::Delete { output, .. }
            | Command::ListVersions { output, .. }
            | Command::GetVersion { output, .. }
            | Command::DeleteVersion { output, .. } => *output,
        }
    }
}

fn verb(command: &Command) -> &'static str {
    match command {
        Command::Create { .. } => "create",
        Command::CreateVersion { .. } => "create-version",
        Command::List { .. } => "list",
        Command::Get { .. } => "get",
        Command::Delete { .. } => "delete",
        Command::ListVersions { .. } => "list-versions",
        Command::GetVersion { .. } => "get-version",
        Command::DeleteVersion { .. } => "delete-version",
    }
}

/// `-p ID`, or the id of the pipeline named by `-n NAME`.
async fn pipeline_id_of(
    client: &Client,
    pipeline_id: Option<String>,
    pipeline_name: Option<String>,
) -> Result<String> {
    if let Some(id) = pipeline_id {
        return Ok(id);
    }
    let Some(name) = pipeline_name else {
        bail!("give the pipeline: -p PIPELINE_ID or -n PIPELINE_NAME");
    };
    client
        .get_pipeline_by_name(&name)
        .await?
        .pipeline_id
        .with_context(|| format!("the server's pipeline `{name}` has no pipeline_id"))
}
