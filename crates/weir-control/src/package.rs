//! Pipeline packages as users upload them: YAML or JSON text, or a `.zip` / `.tar.gz` holding
//! one (as `kfp dsl-compile` and older SDKs write them), by upload, by URL or from a file.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};
use weir_spec::parse::MAX_INPUT_BYTES;
use weir_spec::{Diagnostic, PipelineDocument, Severity};

use crate::error::{ControlError, ControlResult};

/// A package read and validated: the document and the spec as the API returns it.
#[derive(Debug, Clone)]
pub struct Package {
    pub document: PipelineDocument,
    /// The bare PipelineSpec, or `{pipeline_spec, platform_spec}` when there is a platform spec.
    pub spec_json: Value,
}

/// Reads an uploaded file.
pub fn read(bytes: &[u8], file_name: &str) -> ControlResult<Package> {
    let text = match bytes {
        [0x50, 0x4b, ..] => from_zip(bytes)?,
        [0x1f, 0x8b, ..] => from_tar_gz(bytes)?,
        _ => String::from_utf8(bytes.to_vec()).map_err(|_| {
            ControlError::invalid(format!(
                "`{file_name}` is not UTF-8 text, a .zip or a .tar.gz"
            ))
        })?,
    };
    from_text(&text, file_name)
}

/// Parses and validates pipeline text; every error diagnostic is in the message.
pub fn from_text(text: &str, source: &str) -> ControlResult<Package> {
    let parsed = weir_spec::check(text);
    valid_document(parsed.document, &parsed.diagnostics, format!("`{source}`")).map(from_document)
}

/// Validates a spec sent as JSON (`pipeline_spec` of a run or version).
pub fn from_value(value: Value) -> ControlResult<Package> {
    document_from_value(value).map(from_document)
}

/// [`from_value`] without the spec's JSON, for a spec that is only run.
pub fn document_from_value(value: Value) -> ControlResult<PipelineDocument> {
    checked(weir_spec::parse_value(value))
}

/// Validates a spec sent as JSON text (a run's inline `pipeline_spec`), read without a value
/// tree.
pub fn document_from_json(text: &str) -> ControlResult<PipelineDocument> {
    checked(weir_spec::parse_json(text))
}

/// The document when it was read and is valid; otherwise every error diagnostic.
fn checked(parsed: weir_spec::Parsed) -> ControlResult<PipelineDocument> {
    let mut diagnostics = parsed.diagnostics;
    if let Some(document) = &parsed.document {
        diagnostics.extend(weir_spec::validate(document));
    }
    valid_document(parsed.document, &diagnostics, "pipeline_spec".to_owned())
}

/// The document when there is one and no diagnostic is an error; otherwise
/// [`ControlError::InvalidPipeline`] with every error, `what` naming the pipeline.
fn valid_document(
    document: Option<PipelineDocument>,
    diagnostics: &[Diagnostic],
    what: String,
) -> ControlResult<PipelineDocument> {
    let errors: Vec<String> = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.to_string())
        .collect();
    match document {
        Some(document) if errors.is_empty() => Ok(document),
        _ => Err(ControlError::InvalidPipeline { what, errors }),
    }
}

fn from_document(document: PipelineDocument) -> Package {
    Package {
        spec_json: spec_json(&document),
        document,
    }
}

/// The spec as the API returns it and pipeline versions and recurring runs keep it: the bare
/// PipelineSpec, or `{pipeline_spec, platform_spec}` when there is a platform spec.
pub fn spec_json(document: &PipelineDocument) -> Value {
    let spec = serde_json::to_value(&document.spec).unwrap_or(Value::Null);
    match &document.platform {
        Some(platform) => json!({"pipeline_spec": spec, "platform_spec": platform}),
        None => spec,
    }
}

/// A file's name without its folder and its package extension, as uploads are named.
pub fn file_stem(file_name: &str) -> String {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    for suffix in [".tar.gz", ".tgz", ".yaml", ".yml", ".json", ".zip"] {
        if let Some(stem) = base.strip_suffix(suffix) {
            return stem.to_owned();
        }
    }
    base.to_owned()
}

fn is_pipeline_file(name: &str) -> bool {
    let lower = name.to_lowercase();
    !lower.contains("__macosx")
        && (lower.ends_with(".yaml") || lower.ends_with(".yml") || lower.ends_with(".json"))
}

fn read_limited(reader: impl Read, name: &str) -> ControlResult<String> {
    let mut text = String::new();
    let read = reader
        .take(MAX_INPUT_BYTES as u64 + 1)
        .read_to_string(&mut text)
        .map_err(|e| ControlError::invalid(format!("cannot read `{name}` in the package: {e}")))?;
    if read > MAX_INPUT_BYTES {
        return Err(ControlError::invalid(format!(
            "`{name}` in the package is larger than {MAX_INPUT_BYTES} bytes"
        )));
    }
    Ok(text)
}

fn from_zip(bytes: &[u8]) -> ControlResult<String> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| ControlError::invalid(format!("the .zip package is unreadable: {e}")))?;
    for index in 0..archive.len() {
        let entry = archive
            .by_index(index)
            .map_err(|e| ControlError::invalid(format!("the .zip package is unreadable: {e}")))?;
        if entry.is_file() && is_pipeline_file(entry.name()) {
            let name = entry.name().to_owned();
            return read_limited(entry, &name);
        }
    }
    Err(ControlError::invalid(
        "the .zip package holds no .yaml, .yml or .json file",
    ))
}

fn from_tar_gz(bytes: &[u8]) -> ControlResult<String> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let entries = archive
        .entries()
        .map_err(|e| ControlError::invalid(format!("the .tar.gz package is unreadable: {e}")))?;
    for entry in entries {
        let entry = entry.map_err(|e| {
            ControlError::invalid(format!("the .tar.gz package is unreadable: {e}"))
        })?;
        let name = entry
            .path()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        if entry.header().entry_type().is_file() && is_pipeline_file(&name) {
            return read_limited(entry, &name);
        }
    }
    Err(ControlError::invalid(
        "the .tar.gz package holds no .yaml, .yml or .json file",
    ))
}

/// Fetches a package from `http(s)://` or `file://`, within size and time limits.
pub async fn fetch(url: &str) -> ControlResult<Package> {
    if let Some(path) = url.strip_prefix("file://") {
        return read_file(Path::new(path), url).await;
    }
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(ControlError::invalid(format!(
            "package_url `{url}` must be http://, https:// or file://"
        )));
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| ControlError::Internal(format!("cannot build an HTTP client: {e}")))?;
    let mut response = client
        .get(url)
        .send()
        .await
        .map_err(|e| ControlError::invalid(format!("cannot fetch {url}: {e}")))?;
    if !response.status().is_success() {
        return Err(ControlError::invalid(format!(
            "fetching {url} answered {}",
            response.status()
        )));
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| ControlError::invalid(format!("cannot fetch {url}: {e}")))?
    {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > MAX_INPUT_BYTES {
            return Err(ControlError::invalid(format!(
                "{url} is larger than {MAX_INPUT_BYTES} bytes"
            )));
        }
    }
    read(&bytes, url)
}

/// Reads a package file on this machine (off the async threads), `name` naming it in errors.
pub async fn read_file(path: &Path, name: &str) -> ControlResult<Package> {
    let owned_path = path.to_owned();
    let bytes = tokio::task::spawn_blocking(move || read_at_most(&owned_path, MAX_INPUT_BYTES))
        .await
        .map_err(|e| ControlError::Internal(format!("reading {name} stopped: {e}")))?
        .map_err(|e| ControlError::invalid(format!("cannot read {name}: {e}")))?;
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(ControlError::invalid(format!(
            "{name} is larger than {MAX_INPUT_BYTES} bytes"
        )));
    }
    read(&bytes, name)
}

/// The file's bytes, one past `limit` at most, so an oversized file is not read whole.
fn read_at_most(path: &Path, limit: usize) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(limit as u64 + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}
