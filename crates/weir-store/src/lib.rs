//! `weir-store`: where Weir keeps what happened.
//!
//! The [`MetadataStore`] trait is the only way the engine, the CLI and the server read and write
//! runs, tasks (every execution of a run: DAGs, loops, iterations, container steps, importers),
//! their state histories, artifacts, cache entries, experiments and secrets. [`SqliteStore`] is the
//! embedded default; a PostgreSQL store will implement the same trait and pass the same tests.
//!
//! This is the only crate with SQL. It knows nothing of pipelines beyond the JSON it stores,
//! and it enforces the state machines of `weir-types` on every state change.

mod error;
mod model;
mod sqlite;

pub use error::StoreError;
pub use model::*;
pub use sqlite::SqliteStore;

use async_trait::async_trait;
use weir_types::{RunId, RunState, TaskId};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Everything Weir persists. Every method commits before it returns.
#[async_trait]
pub trait MetadataStore: Send + Sync + 'static {
    /// The experiment with this name, created when it does not exist yet.
    async fn ensure_experiment(&self, name: &str) -> Result<Experiment>;
    async fn get_experiment(&self, id: &str) -> Result<Experiment>;

    async fn create_run(&self, run: &NewRun) -> Result<Run>;
    async fn get_run(&self, id: RunId) -> Result<Run>;
    async fn list_runs(&self, query: &RunQuery) -> Result<Vec<Run>>;
    /// Changes a run's state if the state machine allows it, recording it in the history.
    async fn set_run_state(&self, id: RunId, state: RunState, message: Option<&str>)
        -> Result<Run>;
    async fn run_state_history(&self, id: RunId) -> Result<Vec<StateChange>>;
    /// Deletes a run with its tasks, artifacts records and cache entries.
    async fn delete_run(&self, id: RunId) -> Result<()>;

    /// Creates an execution; [`StoreError::Conflict`] when the run already has one at that path.
    async fn create_task(&self, task: &NewTask) -> Result<Task>;
    async fn get_task(&self, id: TaskId) -> Result<Task>;
    /// Every execution of a run, in creation order.
    async fn list_tasks(&self, run_id: RunId) -> Result<Vec<Task>>;
    /// Applies an update; a state change is checked against the state machine and recorded.
    async fn update_task(&self, id: TaskId, update: &TaskUpdate) -> Result<Task>;
    async fn task_state_history(&self, id: TaskId) -> Result<Vec<StateChange>>;
    /// Deletes an execution and every execution below it (a retry decides them again).
    async fn delete_task(&self, id: TaskId) -> Result<()>;

    async fn create_artifact(&self, artifact: &NewArtifact) -> Result<Artifact>;
    async fn get_artifact(&self, id: i64) -> Result<Artifact>;
    async fn list_run_artifacts(&self, run_id: RunId) -> Result<Vec<Artifact>>;

    /// The newest cache entry for a fingerprint within a pipeline, if any.
    async fn find_cache_entry(
        &self,
        fingerprint: &str,
        pipeline_name: &str,
    ) -> Result<Option<CacheEntry>>;
    async fn put_cache_entry(&self, entry: &CacheEntry) -> Result<()>;

    async fn set_secret(&self, name: &str, data: &SecretData) -> Result<()>;
    async fn get_secret(&self, name: &str) -> Result<Option<SecretData>>;
    async fn list_secrets(&self) -> Result<Vec<String>>;
    /// Returns whether the secret existed.
    async fn delete_secret(&self, name: &str) -> Result<bool>;
}
