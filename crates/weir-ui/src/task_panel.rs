//! The side panel of one task: inputs and outputs (values, artifact links and previews), cache
//! provenance, state history, duration and the log's tail; and the log itself as text or a
//! download.

use std::io::SeekFrom;

use axum::extract::{Path, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use weir_store::{Run, Task, TaskIo};
use weir_types::{RunId, TaskId};

use super::artifacts::{self, ArtifactView, Preview};
use super::html::Params;
use super::Shared;
use super::{format, render, UiError, UiResult};

const LOG_TAIL: u64 = 64 * 1024;
const LOG_DOWNLOAD_LIMIT: u64 = 64 * 1024 * 1024;
const PREVIEWS: usize = 6;

pub struct ArtifactLine {
    pub id: i64,
    pub name: String,
    pub schema_title: String,
    pub uri: String,
}

pub struct CachedFrom {
    pub run_id: String,
    pub run_name: String,
    pub task_id: String,
    pub path: String,
}

pub struct HistoryLine {
    pub at: String,
    pub state: String,
    pub state_class: String,
    pub message: String,
}

pub struct PanelView {
    pub run_id: String,
    pub task_id: String,
    pub name: String,
    pub path: String,
    pub kind: String,
    pub state: String,
    pub state_class: String,
    pub terminal: bool,
    pub attempt: i64,
    pub started: String,
    pub finished: String,
    pub duration: String,
    pub error: String,
    pub cached_from: Option<CachedFrom>,
    pub input_parameters: Vec<(String, String)>,
    pub output_parameters: Vec<(String, String)>,
    pub input_artifacts: Vec<ArtifactLine>,
    pub output_artifacts: Vec<ArtifactLine>,
    pub previews: Vec<ArtifactView>,
    pub history: Vec<HistoryLine>,
    pub has_log: bool,
    pub log_tail: String,
    pub log_offset: u64,
    pub log_note: String,
}

#[derive(askama::Template)]
#[template(path = "panel_fragment.html")]
struct PanelFragment {
    panel: PanelView,
}

pub async fn fragment(
    State(state): State<Shared>,
    Path((run_id, task_id)): Path<(String, String)>,
) -> UiResult {
    let (run, task) = load(&state, &run_id, &task_id).await?;
    render(&PanelFragment {
        panel: build(&state, &run, &task).await?,
    })
}

async fn load(state: &Shared, run_id: &str, task_id: &str) -> UiResult<(Run, Task)> {
    let run_id: RunId = super::parse_id("run", run_id)?;
    let task_id: TaskId = super::parse_id("task", task_id)?;
    let task = state.store.get_task(task_id).await?;
    if task.run_id != run_id {
        return Err(UiError::not_found(format!(
            "run {run_id} has no task {task_id}"
        )));
    }
    Ok((state.store.get_run(run_id).await?, task))
}

fn parameter_lines(io: &TaskIo) -> Vec<(String, String)> {
    io.parameters
        .iter()
        .map(|(name, value)| {
            let text = match value {
                Value::Object(_) | Value::Array(_) => {
                    serde_json::to_string_pretty(value).unwrap_or_default()
                }
                other => format::value(other),
            };
            (name.clone(), format::clip(&text, 2000))
        })
        .collect()
}

fn artifact_lines(io: &TaskIo) -> Vec<ArtifactLine> {
    io.artifacts
        .iter()
        .flat_map(|(name, list)| {
            list.iter().map(move |a| ArtifactLine {
                id: a.id,
                name: name.clone(),
                schema_title: a.artifact_type.schema_title.clone().unwrap_or_default(),
                uri: a.uri.clone(),
            })
        })
        .collect()
}

pub async fn build(state: &Shared, run: &Run, task: &Task) -> UiResult<PanelView> {
    let output_artifacts = artifact_lines(&task.outputs);
    let mut previews = Vec::new();
    for line in output_artifacts.iter().take(PREVIEWS) {
        if let Ok(artifact) = state.store.get_artifact(line.id).await {
            previews.push(artifacts::view(state, &artifact, run).await);
        }
    }
    let history = state
        .store
        .task_state_history(task.id)
        .await?
        .into_iter()
        .map(|change| HistoryLine {
            at: format::time(Some(change.at)),
            state_class: format::state_class(&change.state),
            state: change.state,
            message: change.message.unwrap_or_default(),
        })
        .collect();
    let (log_tail, log_offset, log_note) = match &task.log_path {
        Some(path) => log_tail(path).await,
        None => (String::new(), 0, String::new()),
    };
    Ok(PanelView {
        run_id: run.id.to_string(),
        task_id: task.id.to_string(),
        name: task.display_name.clone(),
        path: task.path.clone(),
        kind: task.kind.to_string(),
        state: task.state.to_string(),
        state_class: format::state_class(task.state.as_str()),
        terminal: task.state.is_terminal(),
        attempt: task.attempt,
        started: format::time(task.started_at),
        finished: format::time(task.finished_at),
        duration: format::duration(task.started_at, task.finished_at),
        error: task.error.clone().unwrap_or_default(),
        cached_from: cached_from(state, task).await,
        input_parameters: parameter_lines(&task.inputs),
        output_parameters: parameter_lines(&task.outputs),
        input_artifacts: artifact_lines(&task.inputs),
        output_artifacts,
        previews,
        history,
        has_log: task.log_path.is_some(),
        log_tail,
        log_offset,
        log_note,
    })
}

/// The task a cache hit reused, with the earlier run's name.
async fn cached_from(state: &Shared, task: &Task) -> Option<CachedFrom> {
    let from = task.details.cached_from.as_ref()?;
    let run_name = state
        .store
        .get_run(from.run_id)
        .await
        .map(|r| r.display_name)
        .unwrap_or_else(|_| "(deleted run)".to_owned());
    Some(CachedFrom {
        run_name,
        task_id: from.task_id.to_string(),
        path: from.path.clone(),
        run_id: from.run_id.to_string(),
    })
}

/// The last [`LOG_TAIL`] bytes of a log, the size they end at, and a note when cut.
async fn log_tail(path: &str) -> (String, u64, String) {
    let Ok(mut file) = tokio::fs::File::open(path).await else {
        return (String::new(), 0, "no log yet".to_owned());
    };
    let size = file.metadata().await.map(|m| m.len()).unwrap_or(0);
    let start = size.saturating_sub(LOG_TAIL);
    let mut bytes = Vec::new();
    if file.seek(SeekFrom::Start(start)).await.is_err()
        || (&mut file)
            .take(size - start)
            .read_to_end(&mut bytes)
            .await
            .is_err()
    {
        return (String::new(), 0, "cannot read the log".to_owned());
    }
    // Start at a character boundary when the cut fell inside one.
    let skip = bytes
        .iter()
        .take(3)
        .take_while(|b| (**b & 0xC0) == 0x80)
        .count();
    let note = if start > 0 {
        format!("the last {} KiB of {} KiB", LOG_TAIL / 1024, size / 1024)
    } else {
        String::new()
    };
    (
        String::from_utf8_lossy(&bytes[skip..]).into_owned(),
        start + bytes.len() as u64,
        note,
    )
}

/// `GET /runs/{id}/tasks/{task}/log`: the whole log as text; `?download=1` as a file.
pub async fn log(
    State(state): State<Shared>,
    Path((run_id, task_id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> UiResult<Response> {
    let (_, task) = load(&state, &run_id, &task_id).await?;
    let path = task
        .log_path
        .ok_or_else(|| UiError::not_found("this task has no log"))?;
    let mut bytes = Vec::new();
    tokio::fs::File::open(&path)
        .await
        .map_err(|_| UiError::not_found("this task has no log yet"))?
        .take(LOG_DOWNLOAD_LIMIT)
        .read_to_end(&mut bytes)
        .await
        .map_err(UiError::internal)?;
    let mut headers = vec![(header::CONTENT_TYPE, "text/plain; charset=utf-8".to_owned())];
    if Params::from_query(query).flag("download") {
        let name = task.name.replace(['"', '\\', '/', '\r', '\n'], "_");
        headers.push((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}-{task_id}.log\""),
        ));
    }
    let mut response = bytes.into_response();
    for (key, value) in headers {
        if let Ok(value) = value.parse() {
            response.headers_mut().insert(key, value);
        }
    }
    Ok(response)
}
