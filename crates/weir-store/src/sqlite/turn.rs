//! Whose turn it is to write. SQLite has one writer; when a connection finds the write lock
//! taken, its busy handler sleeps 1, 2, 5, 10, 15, 20, 25... ms between tries, so a write that
//! loses the race waits far longer than the write it lost to. The writes of running runs and of
//! run creation (whichever connection they use) take a turn here instead, and start the moment
//! the one before commits.
//!
//! Creating a run goes first: a create is answered to a client, and with many runs executing,
//! their steps' writes queue up behind each other. A create waits for the write in progress and
//! for other creates, never for the queue of step writes.

use tokio::sync::{Mutex, MutexGuard};

#[derive(Debug, Default)]
pub(super) struct Turns {
    /// Held while writing.
    write: Mutex<()>,
    /// Where writes that do not go first wait, one of them at a time at `write`.
    queue: Mutex<()>,
}

/// A turn to write; the next writer starts when it is dropped.
pub(super) struct Turn<'a> {
    _write: MutexGuard<'a, ()>,
    _queue: Option<MutexGuard<'a, ()>>,
}

impl Turns {
    /// A turn after the write in progress and the creates waiting (a run's creation).
    pub(super) async fn first(&self) -> Turn<'_> {
        Turn {
            _write: self.write.lock().await,
            _queue: None,
        }
    }

    /// A turn in order behind every write waiting.
    pub(super) async fn queue(&self) -> Turn<'_> {
        let queue = self.queue.lock().await;
        Turn {
            _write: self.write.lock().await,
            _queue: Some(queue),
        }
    }
}
