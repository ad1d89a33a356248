//! Copies a child's stdout and stderr into one log file as bytes arrive, like a pod log.

use std::collections::VecDeque;
use std::io;
use std::path::Path;

use tokio::fs::File;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

/// Bytes of the most recent output kept in memory for the tail that [`pump`] returns.
pub(crate) const TAIL_BYTES: usize = 16 * 1024;
/// Lines of output that the tail keeps, for error messages.
pub(crate) const TAIL_LINES: usize = 40;
const READ_CHUNK_BYTES: usize = 8 * 1024;
/// Chunks in flight between the readers and the writer; readers wait when it is full, so a
/// chatty child is slowed down rather than buffered in memory.
const CHANNEL_CHUNKS: usize = 32;

/// Opens `log_path` for appending, creating its parent directories.
pub(crate) async fn open_log(log_path: &Path) -> io::Result<File> {
    if let Some(parent) = log_path.parent() {
        tokio::fs::create_dir_all(parent).await?;
    }
    tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path)
        .await
}

/// Streams both readers into `log` until each reaches end of file, flushing after every chunk
/// so that `tail -f` sees output live. Per stream, order is preserved. Returns the last
/// [`TAIL_LINES`] lines of this run's output (lossy UTF-8). After a failed write to the log,
/// later output still reaches the tail but not the file.
pub(crate) async fn pump(
    log: File,
    stdout: impl AsyncRead + Unpin,
    stderr: impl AsyncRead + Unpin,
) -> String {
    let (sender, receiver) = mpsc::channel(CHANNEL_CHUNKS);
    let readers = async {
        tokio::join!(read_into(stdout, sender.clone()), read_into(stderr, sender));
    };
    let ((), tail) = tokio::join!(readers, write_chunks(log, receiver));
    tail
}

async fn read_into(mut reader: impl AsyncRead + Unpin, sender: mpsc::Sender<Vec<u8>>) {
    let mut buffer = vec![0u8; READ_CHUNK_BYTES];
    loop {
        match reader.read(&mut buffer).await {
            Ok(0) => return,
            Ok(read) => {
                let Some(chunk) = buffer.get(..read) else {
                    return;
                };
                if sender.send(chunk.to_vec()).await.is_err() {
                    return;
                }
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => {
                tracing::warn!(%error, "failed to read a task's output pipe");
                return;
            }
        }
    }
}

async fn write_chunks(mut log: File, mut receiver: mpsc::Receiver<Vec<u8>>) -> String {
    let mut tail = TailBuffer::default();
    let mut write_failed = false;
    while let Some(chunk) = receiver.recv().await {
        tail.push(&chunk);
        if write_failed {
            continue;
        }
        let written = async {
            log.write_all(&chunk).await?;
            log.flush().await
        };
        if let Err(error) = written.await {
            tracing::warn!(%error, "failed to write a task's log file; later output is dropped");
            write_failed = true;
        }
    }
    tail.last_lines(TAIL_LINES)
}

/// The last [`TAIL_BYTES`] bytes written.
#[derive(Debug, Default)]
pub(crate) struct TailBuffer {
    bytes: VecDeque<u8>,
}

impl TailBuffer {
    pub(crate) fn push(&mut self, chunk: &[u8]) {
        self.bytes.extend(chunk);
        let excess = self.bytes.len().saturating_sub(TAIL_BYTES);
        self.bytes.drain(..excess);
    }

    pub(crate) fn last_lines(&self, lines: usize) -> String {
        let (front, back) = self.bytes.as_slices();
        let text = String::from_utf8_lossy(&[front, back].concat()).into_owned();
        last_lines(&text, lines).to_owned()
    }
}

/// The suffix of `text` holding its last `lines` lines (a trailing newline ends a line, it does
/// not start an empty one).
pub(crate) fn last_lines(text: &str, lines: usize) -> &str {
    let body = text.strip_suffix('\n').unwrap_or(text);
    let start = body
        .rmatch_indices('\n')
        .nth(lines.saturating_sub(1))
        .map_or(0, |(index, _)| index + 1);
    text.get(start..).unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_lines_counts_from_the_end() {
        assert_eq!(last_lines("a\nb\nc\n", 2), "b\nc\n");
        assert_eq!(last_lines("a\nb\nc", 2), "b\nc");
        assert_eq!(last_lines("a\nb\n", 5), "a\nb\n");
        assert_eq!(last_lines("", 3), "");
        assert_eq!(last_lines("only", 1), "only");
    }

    #[test]
    fn tail_buffer_keeps_only_the_newest_bytes() {
        let mut tail = TailBuffer::default();
        tail.push(&vec![b'x'; TAIL_BYTES]);
        tail.push(b"\nlast line\n");
        assert_eq!(tail.bytes.len(), TAIL_BYTES);
        assert_eq!(tail.last_lines(1), "last line\n");
    }

    #[tokio::test]
    async fn pump_appends_both_streams_and_keeps_a_tail() {
        let dir = tempfile::tempdir().expect("temp dir");
        let log_path = dir.path().join("nested/task.log");
        let log = open_log(&log_path).await.expect("open log");
        let stdout: &[u8] = b"out 1\nout 2\n";
        let stderr: &[u8] = b"err 1\n";
        let tail = pump(log, stdout, stderr).await;
        let written = std::fs::read_to_string(&log_path).expect("read log");
        assert_eq!(written.len(), "out 1\nout 2\nerr 1\n".len());
        assert!(written.contains("out 1\nout 2\n") && written.contains("err 1\n"));
        assert_eq!(tail, written);
    }
}
