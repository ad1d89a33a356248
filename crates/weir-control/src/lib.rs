//! `weir-control`: the control layer. What users ask Weir to do, once, for every way they ask.
//!
//! [`Control`] is the facade: the REST API and the web UI (`weir-server`) and the CLI
//! (`weir-cli`) are thin adapters that turn a request, a form or flags into a use case here and
//! its [`ControlError`] into a status, a page or an exit code.
//!
//! - `runs.rs`: create a run (record, then start), retry, terminate, archive, delete;
//!   `source.rs` loads the pipeline a run names (inline, a stored version, a file).
//! - `recurring.rs`: create, update, enable, disable, delete recurring runs; `scheduler.rs`
//!   fires them, claiming every slot in the store before its run is created.
//! - `pipelines.rs`: store an uploaded package as a pipeline or a new version;
//!   `package.rs` reads packages (YAML, JSON, `.zip`, `.tar.gz`; uploaded, fetched, or a file).
//! - `run_manager.rs`: the runs this process drives, started, terminated, resumed at startup
//!   and drained at shutdown.
//! - `error.rs`: [`ControlError`] with a stable [`ErrorCode`] per variant.
//!
//! Reads (lists, pages, a run's tasks) go to [`Control::store`] directly; every change goes
//! through a use case. This crate knows no HTTP server, HTML or command line.

mod error;
pub mod package;
mod pipelines;
mod recurring;
mod run_manager;
mod runs;
pub mod scheduler;
mod source;

use std::sync::Arc;

use weir_engine::Engine;
use weir_store::MetadataStore;

pub use error::{ControlError, ControlResult, ErrorCode};
pub use pipelines::VersionDraft;
pub use recurring::{RecurringRunDraft, MAX_CONCURRENCY};
pub use runs::{ExperimentRef, NewRun, ScheduledSlot};
pub use source::{LoadedPipeline, PipelineSource};
pub use weir_api_model::{CronSchedule, PeriodicSchedule, Trigger};
pub use weir_engine::RunControl;

use run_manager::RunManager;

/// The use cases over one engine and its store.
pub struct Control {
    /// For reads and for what only the engine knows (its layout, its events).
    pub engine: Engine,
    /// For reads: lists, pages, a run's tasks. Changes go through the use cases.
    pub store: Arc<dyn MetadataStore>,
    runs: RunManager,
}

impl Control {
    pub fn new(engine: Engine) -> Control {
        Control {
            store: engine.store().clone(),
            runs: RunManager::new(engine.clone()),
            engine,
        }
    }

    /// Starts driving the runs that were executing when this process (a server) last stopped.
    pub async fn resume_unfinished(&self) {
        self.runs.resume_unfinished().await
    }

    /// Stops taking work and leaves the running runs to be resumed at the next start: running
    /// steps get a moment to finish, then they are stopped and count as interrupted.
    pub async fn shutdown(&self) {
        self.runs.shutdown().await
    }
}
