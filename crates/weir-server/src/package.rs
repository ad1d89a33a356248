//! Pipeline packages as users upload them: YAML or JSON text, or a `.zip` / `.tar.gz` holding
//! one (as `kfp dsl-compile` and older SDKs write them), by upload or by URL.

use std::io::Read;
use std::time::Duration;

use serde_json::{json, Value};
use weir_spec::parse::MAX_INPUT_BYTES;
use weir_spec::{PipelineDocument, Severity};

use crate::error::ApiError;

/// A package read and validated: the document and the spec as the API returns it.
pub struct Package {
    pub document: PipelineDocument,
    /// The bare PipelineSpec, or `{pipeline_spec, platform_spec}` when there is a platform spec.
    pub spec_json: Value,
}

/// Reads an uploaded file.
pub fn read(bytes: &[u8], file_name: &str) -> Result<Package, ApiError> {
    let text = match bytes {
        [0x50, 0x4b, ..] => from_zip(bytes)?,
        [0x1f, 0x8b, ..] => from_tar_gz(bytes)?,
        _ => String::from_utf8(bytes.to_vec()).map_err(|_| {
            ApiError::invalid(format!(
                "`{file_name}` is not UTF-8 text, a .zip or a .tar.gz"
            ))
        })?,
    };
    from_text(&text, file_name)
}

/// Parses and validates pipeline text; every error diagnostic is in the message.
pub fn from_text(text: &str, source: &str) -> Result<Package, ApiError> {
    let parsed = weir_spec::check(text);
    let errors: Vec<String> = parsed
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.to_string())
        .collect();
    match parsed.document {
        Some(document) if errors.is_empty() => Ok(from_document(document)),
        _ => Err(ApiError::invalid(format!(
            "`{source}` is not a valid pipeline:\n{}",
            errors.join("\n")
        ))),
    }
}

/// Validates a spec sent as JSON (`pipeline_spec` of a run or version).
pub fn from_value(value: Value) -> Result<Package, ApiError> {
    checked(weir_spec::parse_value(value)).map(from_document)
}

/// Validates a spec sent as JSON text (a run's inline `pipeline_spec`), read without a value
/// tree.
pub fn document_from_json(text: &str) -> Result<PipelineDocument, ApiError> {
    checked(weir_spec::parse_json(text))
}

/// The document when it was read and is valid; otherwise every error diagnostic.
fn checked(parsed: weir_spec::Parsed) -> Result<PipelineDocument, ApiError> {
    let mut diagnostics = parsed.diagnostics;
    if let Some(document) = &parsed.document {
        diagnostics.extend(weir_spec::validate(document));
    }
    let errors: Vec<String> = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.to_string())
        .collect();
    match parsed.document {
        Some(document) if errors.is_empty() => Ok(document),
        _ => Err(ApiError::invalid(format!(
            "pipeline_spec is not a valid pipeline:\n{}",
            errors.join("\n")
        ))),
    }
}

fn from_document(document: PipelineDocument) -> Package {
    let spec = serde_json::to_value(&document.spec).unwrap_or(Value::Null);
    let spec_json = match &document.platform {
        Some(platform) => json!({"pipeline_spec": spec, "platform_spec": platform}),
        None => spec,
    };
    Package {
        document,
        spec_json,
    }
}

fn is_pipeline_file(name: &str) -> bool {
    let lower = name.to_lowercase();
    !lower.contains("__macosx")
        && (lower.ends_with(".yaml") || lower.ends_with(".yml") || lower.ends_with(".json"))
}

fn read_limited(reader: impl Read, name: &str) -> Result<String, ApiError> {
    let mut text = String::new();
    let read = reader
        .take(MAX_INPUT_BYTES as u64 + 1)
        .read_to_string(&mut text)
        .map_err(|e| ApiError::invalid(format!("cannot read `{name}` in the package: {e}")))?;
    if read > MAX_INPUT_BYTES {
        return Err(ApiError::invalid(format!(
            "`{name}` in the package is larger than {MAX_INPUT_BYTES} bytes"
        )));
    }
    Ok(text)
}

fn from_zip(bytes: &[u8]) -> Result<String, ApiError> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| ApiError::invalid(format!("the .zip package is unreadable: {e}")))?;
    for index in 0..archive.len() {
        let entry = archive
            .by_index(index)
            .map_err(|e| ApiError::invalid(format!("the .zip package is unreadable: {e}")))?;
        if entry.is_file() && is_pipeline_file(entry.name()) {
            let name = entry.name().to_owned();
            return read_limited(entry, &name);
        }
    }
    Err(ApiError::invalid(
        "the .zip package holds no .yaml, .yml or .json file",
    ))
}

fn from_tar_gz(bytes: &[u8]) -> Result<String, ApiError> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let entries = archive
        .entries()
        .map_err(|e| ApiError::invalid(format!("the .tar.gz package is unreadable: {e}")))?;
    for entry in entries {
        let entry = entry
            .map_err(|e| ApiError::invalid(format!("the .tar.gz package is unreadable: {e}")))?;
        let name = entry
            .path()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        if entry.header().entry_type().is_file() && is_pipeline_file(&name) {
            return read_limited(entry, &name);
        }
    }
    Err(ApiError::invalid(
        "the .tar.gz package holds no .yaml, .yml or .json file",
    ))
}

/// Fetches a package from `http(s)://` or `file://`, within size and time limits.
pub async fn fetch(url: &str) -> Result<Package, ApiError> {
    if let Some(path) = url.strip_prefix("file://") {
        let bytes = tokio::fs::read(path)
            .await
            .map_err(|e| ApiError::invalid(format!("cannot read {url}: {e}")))?;
        if bytes.len() > MAX_INPUT_BYTES {
            return Err(ApiError::invalid(format!(
                "{url} is larger than {MAX_INPUT_BYTES} bytes"
            )));
        }
        return read(&bytes, url);
    }
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(ApiError::invalid(format!(
            "package_url `{url}` must be http://, https:// or file://"
        )));
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(ApiError::internal)?;
    let mut response = client
        .get(url)
        .send()
        .await
        .map_err(|e| ApiError::invalid(format!("cannot fetch {url}: {e}")))?;
    if !response.status().is_success() {
        return Err(ApiError::invalid(format!(
            "fetching {url} answered {}",
            response.status()
        )));
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| ApiError::invalid(format!("cannot fetch {url}: {e}")))?
    {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > MAX_INPUT_BYTES {
            return Err(ApiError::invalid(format!(
                "{url} is larger than {MAX_INPUT_BYTES} bytes"
            )));
        }
    }
    read(&bytes, url)
}
