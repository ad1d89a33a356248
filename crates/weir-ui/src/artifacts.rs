//! `/artifacts/{id}`: an artifact with its visualization, and `/artifacts/{id}/raw`, its
//! file as a download.
//!
//! Files are read only below the artifact root or the run's pipeline root (an importer may
//! name any path; those are not shown), and at most a bounded prefix of each. Raw files are
//! always downloads (`attachment`, `nosniff`, a sandboxing CSP), never pages of this origin.

use std::path::{Path as FsPath, PathBuf};

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use tokio::io::AsyncReadExt;
use weir_store::{Artifact, Run};

use super::plots::{self, RocSeries, Svg};
use super::preview::{self, Sanitized};
use super::visualize::{self, CLASSIFICATION_METRICS, METRICS};
use super::Shared;
use super::{format, render, UiError, UiResult};

const HTML_LIMIT: u64 = 2 * 1024 * 1024;
const MARKDOWN_LIMIT: u64 = 1024 * 1024;
const PREVIEW_LIMIT: u64 = 64 * 1024;
const DOWNLOAD_LIMIT: u64 = 64 * 1024 * 1024;

pub enum Preview {
    Nothing(String),
    Metrics(Vec<(String, String)>),
    Classification {
        matrix: Option<Svg>,
        roc: Option<Svg>,
    },
    /// An HTML document for a sandboxed `srcdoc` frame (escaped into the attribute).
    Html(String),
    Markdown(Sanitized),
    Table {
        header: Vec<String>,
        rows: Vec<Vec<String>>,
        note: String,
    },
    Text(String, String),
    Listing(Vec<String>),
}

pub struct ArtifactView {
    pub id: i64,
    pub name: String,
    pub schema_title: String,
    pub uri: String,
    pub created: String,
    pub run_id: String,
    pub task_id: String,
    pub metadata: Vec<(String, String)>,
    pub preview: Preview,
}

#[derive(askama::Template)]
#[template(path = "artifact.html")]
struct ArtifactPage {
    view: ArtifactView,
    run_name: String,
}

pub async fn page(State(state): State<Shared>, Path(id): Path<String>) -> UiResult {
    let id: i64 = super::parse_id("artifact", &id)?;
    let artifact = state.store.get_artifact(id).await?;
    let run = state.store.get_run(artifact.run_id).await?;
    render(&ArtifactPage {
        view: view(&state, &artifact, &run).await,
        run_name: run.display_name.clone(),
    })
}

/// The artifact with the visualization its type calls for.
pub async fn view(state: &Shared, artifact: &Artifact, run: &Run) -> ArtifactView {
    let preview = match artifact.schema_title.as_str() {
        METRICS => Preview::Metrics(
            visualize::numeric_entries(&artifact.metadata)
                .into_iter()
                .map(|(k, v)| (k, format::number(v)))
                .collect(),
        ),
        CLASSIFICATION_METRICS => classification(&artifact.metadata),
        "system.HTML" => match read(state, artifact, run, HTML_LIMIT).await {
            Content::File { bytes, .. } => Preview::Html(String::from_utf8_lossy(&bytes).into()),
            other => other.into_preview(),
        },
        "system.Markdown" => match read(state, artifact, run, MARKDOWN_LIMIT).await {
            Content::File { bytes, .. } => {
                Preview::Markdown(preview::markdown(&String::from_utf8_lossy(&bytes)))
            }
            other => other.into_preview(),
        },
        _ => match read(state, artifact, run, PREVIEW_LIMIT).await {
            Content::File {
                bytes,
                truncated,
                size,
            } => file_preview(artifact, &bytes, truncated, size),
            other => other.into_preview(),
        },
    };
    let metadata = artifact
        .metadata
        .as_object()
        .map(|object| {
            object
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "confusionMatrix" | "confidenceMetrics"))
                .map(|(k, v)| (k.clone(), format::clip(&format::value(v), 300)))
                .collect()
        })
        .unwrap_or_default();
    ArtifactView {
        id: artifact.id,
        name: artifact.name.clone(),
        schema_title: artifact.schema_title.clone(),
        uri: artifact.uri.clone(),
        created: format::time(Some(artifact.created_at)),
        run_id: artifact.run_id.to_string(),
        task_id: artifact.task_id.map(|t| t.to_string()).unwrap_or_default(),
        metadata,
        preview,
    }
}

fn classification(metadata: &serde_json::Value) -> Preview {
    let points = visualize::roc_points(metadata);
    Preview::Classification {
        matrix: visualize::confusion_matrix(metadata).map(|m| plots::confusion_matrix(&m)),
        roc: (!points.is_empty()).then(|| {
            plots::roc_curves(&[RocSeries {
                label: String::new(),
                points: &points,
            }])
        }),
    }
}

fn file_preview(artifact: &Artifact, bytes: &[u8], truncated: bool, size: u64) -> Preview {
    let Ok(text) = std::str::from_utf8(bytes).or_else(|e| {
        // A cut may split a character; what comes before it is still text.
        if truncated && e.error_len().is_none() {
            std::str::from_utf8(&bytes[..e.valid_up_to()])
        } else {
            Err(e)
        }
    }) else {
        let head: Vec<String> = bytes.iter().take(512).map(|b| format!("{b:02x}")).collect();
        return Preview::Text(
            head.join(" "),
            format!("binary, {size} bytes; the first 512 in hex"),
        );
    };
    let format_hint = artifact
        .metadata
        .get("format")
        .and_then(|f| f.as_str())
        .unwrap_or_default();
    if let Some(delimiter) = preview::delimiter(&artifact.uri, format_hint, text) {
        let (header, rows, more_columns) = preview::table(text, delimiter, 20, 30);
        let mut note = format!("first {} rows of {size} bytes", rows.len());
        if more_columns > 0 {
            note.push_str(&format!("; {more_columns} more columns not shown"));
        }
        return Preview::Table { header, rows, note };
    }
    let shown: String = text.chars().take(8000).collect();
    let note = if truncated || shown.len() < text.len() {
        format!("the first {} bytes of {size}", shown.len())
    } else {
        format!("{size} bytes")
    };
    Preview::Text(shown, note)
}

enum Content {
    File {
        bytes: Vec<u8>,
        truncated: bool,
        size: u64,
    },
    Directory(Vec<String>),
    Unavailable(String),
}

impl Content {
    fn into_preview(self) -> Preview {
        match self {
            Content::File { .. } => Preview::Nothing(String::new()),
            Content::Directory(entries) => Preview::Listing(entries),
            Content::Unavailable(why) => Preview::Nothing(why),
        }
    }
}

/// The artifact's local path, if it lies below a root this server writes artifacts to.
async fn local_file(state: &Shared, artifact: &Artifact, run: &Run) -> Result<PathBuf, String> {
    let path = weir_engine::local_path(&artifact.uri);
    let path = tokio::fs::canonicalize(&path)
        .await
        .map_err(|_| "no file at this artifact's URI (yet)".to_owned())?;
    let mut roots = vec![state.engine.layout().artifact_root()];
    roots.extend(
        run.runtime_config
            .pipeline_root
            .as_deref()
            .map(PathBuf::from),
    );
    for root in roots {
        if let Ok(root) = tokio::fs::canonicalize(&root).await {
            if path.starts_with(&root) {
                return Ok(path);
            }
        }
    }
    Err("this artifact lies outside the server's artifact folders; it is not shown".to_owned())
}

async fn read(state: &Shared, artifact: &Artifact, run: &Run, limit: u64) -> Content {
    let path = match local_file(state, artifact, run).await {
        Ok(path) => path,
        Err(why) => return Content::Unavailable(why),
    };
    match read_prefix(&path, limit).await {
        Ok(content) => content,
        Err(error) => Content::Unavailable(format!("cannot read the artifact: {error}")),
    }
}

async fn read_prefix(path: &FsPath, limit: u64) -> std::io::Result<Content> {
    let meta = tokio::fs::metadata(path).await?;
    if meta.is_dir() {
        let mut entries = Vec::new();
        let mut dir = tokio::fs::read_dir(path).await?;
        while let Some(entry) = dir.next_entry().await? {
            if entries.len() == 100 {
                entries.push("…".to_owned());
                break;
            }
            let suffix = if entry.file_type().await?.is_dir() {
                "/"
            } else {
                ""
            };
            entries.push(format!("{}{suffix}", entry.file_name().to_string_lossy()));
        }
        entries.sort();
        return Ok(Content::Directory(entries));
    }
    let mut bytes = Vec::new();
    tokio::fs::File::open(path)
        .await?
        .take(limit)
        .read_to_end(&mut bytes)
        .await?;
    Ok(Content::File {
        truncated: meta.len() > bytes.len() as u64,
        size: meta.len(),
        bytes,
    })
}

pub async fn raw(State(state): State<Shared>, Path(id): Path<String>) -> UiResult<Response> {
    let id: i64 = super::parse_id("artifact", &id)?;
    let artifact = state.store.get_artifact(id).await?;
    let run = state.store.get_run(artifact.run_id).await?;
    let path = local_file(&state, &artifact, &run)
        .await
        .map_err(UiError::not_found)?;
    let content = read_prefix(&path, DOWNLOAD_LIMIT + 1)
        .await
        .map_err(|e| UiError::not_found(format!("cannot read the artifact: {e}")))?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().replace(['"', '\\', '\r', '\n'], "_"))
        .unwrap_or_else(|| format!("artifact-{id}"));
    let body = match content {
        Content::File { size, .. } if size > DOWNLOAD_LIMIT => {
            return Err(UiError::bad_request(format!(
                "this file has {size} bytes; download it from {} on the server",
                path.display()
            )))
        }
        Content::File { bytes, .. } => bytes,
        Content::Directory(entries) => (entries.join("\n") + "\n").into_bytes(),
        Content::Unavailable(why) => return Err(UiError::not_found(why)),
    };
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
            (header::CONTENT_SECURITY_POLICY, "sandbox".to_owned()),
        ],
        body,
    )
        .into_response())
}
