//! What `runs create` and `recurring-runs create` send: the pipeline (a local package file or a
//! stored pipeline) and its parameters.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use serde_json::{Map, Value};
use weir_client::model::PipelineVersionReference;
use weir_client::{Client, ListParams};
use weir_spec::PipelineDocument;

use crate::commands::run::typed_parameter;
use crate::input::check_file;

/// Where the pipeline comes from, as the flags say (`kfp run create`'s `-f`, `-p`, `-n`,
/// `--version`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct PipelineArgs {
    /// A compiled pipeline (KFP IR YAML or JSON) or a v1 component.yaml, sent inline.
    #[arg(
        long = "package-file",
        short = 'f',
        visible_alias = "pipeline-package-path",
        value_name = "FILE",
        conflicts_with_all = ["pipeline_id", "pipeline_name"]
    )]
    pub package_file: Option<PathBuf>,
    /// A pipeline stored on the server; its latest version unless --version is given.
    #[arg(long, short = 'p', conflicts_with = "pipeline_name")]
    pub pipeline_id: Option<String>,
    /// A pipeline stored on the server, by name.
    #[arg(long, short = 'n')]
    pub pipeline_name: Option<String>,
    /// A pipeline version stored on the server.
    #[arg(
        long = "version",
        short = 'v',
        visible_alias = "version-id",
        value_name = "VERSION_ID",
        conflicts_with = "package_file"
    )]
    pub version_id: Option<String>,
}

/// The pipeline and parameters of a run, ready for the API.
pub struct Submission {
    pub pipeline_spec: Option<Map<String, Value>>,
    pub pipeline_version_reference: Option<PipelineVersionReference>,
    pub parameters: Map<String, Value>,
}

/// Reads (and validates) the package or finds the stored pipeline, then parses each
/// `KEY=VALUE` by the type the pipeline declares. A stored version whose spec cannot be
/// fetched gets `kfp`'s rule instead: JSON when the value parses as JSON, else a string.
pub async fn prepare(
    client: &Client,
    pipeline: &PipelineArgs,
    params: &[String],
) -> Result<Submission> {
    if let Some(file) = &pipeline.package_file {
        let document = read_package(file)?;
        return Ok(Submission {
            pipeline_spec: Some(spec_json(&document)?),
            pipeline_version_reference: None,
            parameters: typed_parameters(Some(&document), params)?,
        });
    }
    let pipeline_id =
        match (&pipeline.pipeline_id, &pipeline.pipeline_name) {
            (Some(id), _) => Some(id.clone()),
            (None, Some(name)) => {
                let found = client.get_pipeline_by_name(name).await?;
                Some(found.pipeline_id.with_context(|| {
                    format!("the server's pipeline `{name}` has no pipeline_id")
                })?)
            }
            (None, None) => None,
        };
    if pipeline_id.is_none() && pipeline.version_id.is_none() {
        bail!("say which pipeline to run: -f FILE, -p PIPELINE_ID, -n PIPELINE_NAME or --version VERSION_ID");
    }
    let document = match (&pipeline_id, params.is_empty()) {
        (Some(id), false) => stored_document(client, id, pipeline.version_id.as_deref()).await?,
        _ => None,
    };
    Ok(Submission {
        pipeline_spec: None,
        pipeline_version_reference: Some(PipelineVersionReference {
            pipeline_id,
            pipeline_version_id: pipeline.version_id.clone(),
        }),
        parameters: typed_parameters(document.as_ref(), params)?,
    })
}

fn read_package(file: &std::path::Path) -> Result<PipelineDocument> {
    let parsed = check_file(file)?;
    let has_errors = parsed.diagnostics.iter().any(|d| d.is_error());
    match parsed.document {
        Some(document) if !has_errors => Ok(document),
        _ => {
            for diagnostic in &parsed.diagnostics {
                eprintln!("{}: {diagnostic}", file.display());
            }
            bail!(
                "{} is not a valid pipeline; nothing was sent",
                file.display()
            )
        }
    }
}

/// The spec as the API takes it: the IR, or `{pipeline_spec, platform_spec}`.
fn spec_json(document: &PipelineDocument) -> Result<Map<String, Value>> {
    match weir_control::package::spec_json(document) {
        Value::Object(map) => Ok(map),
        _ => bail!("the pipeline did not encode as a JSON object"),
    }
}

/// The spec of a stored version (the latest when none is named), to type parameters by.
async fn stored_document(
    client: &Client,
    pipeline_id: &str,
    version_id: Option<&str>,
) -> Result<Option<PipelineDocument>> {
    let version = match version_id {
        Some(version_id) => client.get_pipeline_version(pipeline_id, version_id).await?,
        None => {
            let newest_first = ListParams {
                page_size: Some(1),
                sort_by: Some("created_at desc".to_owned()),
                ..ListParams::default()
            };
            let page = client
                .list_pipeline_versions(pipeline_id, &newest_first)
                .await?;
            match page.pipeline_versions.into_iter().next() {
                Some(version) => version,
                None => bail!("pipeline {pipeline_id} has no versions"),
            }
        }
    };
    Ok(version
        .pipeline_spec
        .and_then(|spec| weir_spec::parse_value(Value::Object(spec)).document))
}

fn typed_parameters(
    document: Option<&PipelineDocument>,
    params: &[String],
) -> Result<Map<String, Value>> {
    let mut parameters = Map::new();
    for param in params {
        let (name, value) = match document {
            Some(document) => typed_parameter(document, param)?,
            None => untyped_parameter(param)?,
        };
        parameters.insert(name, value);
    }
    Ok(parameters)
}

/// `kfp`'s `parse_parameter_value`: JSON when it parses, else the text.
fn untyped_parameter(param: &str) -> Result<(String, Value)> {
    let Some((name, text)) = param.split_once('=') else {
        bail!("`{param}` must be NAME=VALUE");
    };
    let value = serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()));
    Ok((name.to_owned(), value))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn untyped_values_are_json_or_text() {
        let parse = |p: &str| untyped_parameter(p).expect("NAME=VALUE").1;
        assert_eq!(parse("n=3"), json!(3));
        assert_eq!(parse("f=true"), json!(true));
        assert_eq!(parse("l=[1,2]"), json!([1, 2]));
        assert_eq!(parse("s=hello world"), json!("hello world"));
        assert_eq!(parse("e=a=b"), json!("a=b"));
        assert!(untyped_parameter("novalue").is_err());
    }
}
