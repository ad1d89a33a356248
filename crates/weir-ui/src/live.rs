//! Server-sent events: `changed` whenever a run or one of its tasks changes state (coalesced,
//! at most a few per second; `app.js` then fetches the live fragment), and a task's log as it
//! grows.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, RawQuery, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use weir_engine::EngineEvent;
use weir_types::{RunId, TaskId};

use super::html::Params;
use super::Shared;
use super::UiResult;

/// Changes closer together than this are sent as one event.
const COALESCE: Duration = Duration::from_millis(500);
const LOG_POLL: Duration = Duration::from_millis(500);
const LOG_CHUNK: u64 = 256 * 1024;

type EventSender = mpsc::Sender<Result<Event, Infallible>>;

fn stream(rx: mpsc::Receiver<Result<Event, Infallible>>) -> Response {
    Sse::new(ReceiverStream::new(rx))
        .keep_alive(KeepAlive::default())
        .into_response()
}

async fn send(tx: &EventSender, name: &str, data: &str) -> bool {
    tx.send(Ok(Event::default().event(name).data(data)))
        .await
        .is_ok()
}

/// `GET /runs/{id}/events`: `changed` after changes, `end` once the run has ended.
pub async fn run_events(State(state): State<Shared>, Path(id): Path<String>) -> UiResult<Response> {
    let run_id: RunId = super::parse_id("run", &id)?;
    state.store.get_run(run_id).await?;
    let mut events = state.engine.subscribe();
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        // Whatever changed between the page's rendering and this subscription.
        let mut dirty = true;
        loop {
            if dirty {
                tokio::time::sleep(COALESCE).await;
                while let Ok(_) | Err(tokio::sync::broadcast::error::TryRecvError::Lagged(_)) =
                    events.try_recv()
                {}
                let run = match state.store.get_run(run_id).await {
                    Ok(run) => run,
                    Err(_) => break,
                };
                if !send(&tx, "changed", run.state.as_str()).await {
                    break;
                }
                if run.state.is_terminal() && !state.is_run_active(run_id) {
                    let _ = send(&tx, "end", run.state.as_str()).await;
                    break;
                }
            }
            tokio::select! {
                event = events.recv() => match event {
                    Ok(EngineEvent::RunChanged { run_id: changed, .. })
                    | Ok(EngineEvent::TaskChanged { run_id: changed, .. }) => {
                        dirty = changed == run_id;
                    }
                    Err(RecvError::Lagged(_)) => dirty = true,
                    Err(RecvError::Closed) => break,
                },
                _ = tx.closed() => break,
                // A run retried from another page, or a change the engine does not announce.
                _ = tokio::time::sleep(Duration::from_secs(10)) => dirty = true,
            }
        }
    });
    Ok(stream(rx))
}

/// `GET /runs/{id}/tasks/{task}/log/stream?offset=N`: `data` events carrying the log from byte
/// `N` on as it grows (JSON strings, cut at character boundaries), `end` once the task has
/// ended and its log is read.
pub async fn log_stream(
    State(state): State<Shared>,
    Path((run_id, task_id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> UiResult<Response> {
    let _: RunId = super::parse_id("run", &run_id)?;
    let task_id: TaskId = super::parse_id("task", &task_id)?;
    let task = state.store.get_task(task_id).await?;
    let mut offset: u64 = Params::from_query(query)
        .get("offset")
        .and_then(|o| o.parse().ok())
        .unwrap_or(0);
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        let mut path = task.log_path.clone();
        loop {
            let ended = match state.store.get_task(task_id).await {
                Ok(task) => {
                    path = task.log_path.or(path);
                    task.state.is_terminal()
                }
                Err(_) => true,
            };
            let chunk = match &path {
                Some(path) => read_from(path, offset).await,
                None => Vec::new(),
            };
            let (text, consumed) = whole_characters(&chunk);
            if consumed > 0 {
                offset += consumed as u64;
                let data = serde_json::Value::String(text.into_owned()).to_string();
                if !send(&tx, "data", &data).await {
                    break;
                }
                continue;
            }
            if ended {
                let _ = send(&tx, "end", "").await;
                break;
            }
            tokio::select! {
                _ = tx.closed() => break,
                _ = tokio::time::sleep(LOG_POLL) => {}
            }
        }
    });
    Ok(stream(rx))
}

async fn read_from(path: &str, offset: u64) -> Vec<u8> {
    let mut bytes = Vec::new();
    let Ok(mut file) = tokio::fs::File::open(path).await else {
        return bytes;
    };
    if file.seek(std::io::SeekFrom::Start(offset)).await.is_ok() {
        let _ = file.take(LOG_CHUNK).read_to_end(&mut bytes).await;
    }
    bytes
}

/// The text of `bytes` and how many bytes it used: all of them, or up to a character cut at
/// the end (its remaining bytes come with the next read). Invalid bytes become U+FFFD.
fn whole_characters(bytes: &[u8]) -> (std::borrow::Cow<'_, str>, usize) {
    match std::str::from_utf8(bytes) {
        Ok(text) => (text.into(), bytes.len()),
        Err(e) if e.error_len().is_none() => {
            let whole = &bytes[..e.valid_up_to()];
            (String::from_utf8_lossy(whole), whole.len())
        }
        Err(_) => (String::from_utf8_lossy(bytes), bytes.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_character_cut_at_the_end_waits_for_the_next_read() {
        let text = "ab\u{e9}".as_bytes();
        assert_eq!(whole_characters(&text[..3]), ("ab".into(), 2));
        assert_eq!(whole_characters(text), ("ab\u{e9}".into(), 4));
        assert_eq!(whole_characters(&[0xff, b'a']).1, 2);
    }
}
