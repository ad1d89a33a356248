//! Copies a container's stdout and stderr into the task's log file as they arrive.

use std::path::PathBuf;
use std::time::Duration;

use bollard::Docker;
use futures_util::StreamExt as _;
use tokio::io::AsyncWriteExt as _;

use crate::process::logs::{open_log, TailBuffer, TAIL_LINES};

/// Follows the container's logs until the container ends, appending every chunk to `log_path`
/// and flushing it. Returns the last lines, for error messages.
pub(super) async fn pump(docker: Docker, id: String, log_path: PathBuf) -> String {
    let mut tail = TailBuffer::default();
    let mut log = match open_log(&log_path).await {
        Ok(log) => Some(log),
        Err(error) => {
            tracing::warn!(path = %log_path.display(), %error, "cannot open a task's log file");
            None
        }
    };
    let options = bollard::query_parameters::LogsOptions {
        follow: true,
        stdout: true,
        stderr: true,
        ..Default::default()
    };
    let mut stream = docker.logs(&id, Some(options));
    while let Some(chunk) = stream.next().await {
        let bytes = match chunk {
            Ok(output) => output.into_bytes(),
            Err(error) => {
                tracing::warn!(container = %id, %error, "reading a container's logs failed");
                break;
            }
        };
        tail.push(&bytes);
        let Some(file) = log.as_mut() else {
            continue;
        };
        let written = async {
            file.write_all(&bytes).await?;
            file.flush().await
        };
        if let Err(error) = written.await {
            tracing::warn!(%error, "failed to write a task's log file; later output is dropped");
            log = None;
        }
    }
    tail.last_lines(TAIL_LINES)
}

/// Waits up to `timeout` for the pump to finish (the stream ends with the container).
pub(super) async fn drain(pump: tokio::task::JoinHandle<String>, timeout: Duration) -> String {
    let abort = pump.abort_handle();
    match tokio::time::timeout(timeout, pump).await {
        Ok(Ok(tail)) => tail,
        Ok(Err(error)) => {
            tracing::warn!(%error, "the log pump of a container failed");
            String::new()
        }
        Err(_elapsed) => {
            tracing::warn!("a container's log stream stayed open after it ended");
            abort.abort();
            String::new()
        }
    }
}
