//! The embedded SQLite store.

mod convert;
mod runs;
mod secrets;
mod tasks;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use weir_types::{RunId, RunState, TaskId};

use crate::{
    Artifact, CacheEntry, Experiment, MetadataStore, NewArtifact, NewRun, NewTask, Result, Run,
    RunQuery, SecretData, StateChange, Task, TaskUpdate,
};

/// A store in one SQLite file, in WAL mode: readers never wait for the engine's writes, and a
/// killed process loses nothing that was committed. Write transactions start with
/// `BEGIN IMMEDIATE`, so a transaction that reads before it writes never has to upgrade its lock
/// (which fails at once with SQLITE_BUSY_SNAPSHOT when another connection wrote in between).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    pub async fn open(path: &Path) -> Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        Self::connect(options, 4).await
    }

    /// A private in-memory database, for tests.
    pub async fn in_memory() -> Result<Self> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")?.foreign_keys(true);
        // One connection: every connection to `:memory:` would be a different database.
        Self::connect(options, 1).await
    }

    async fn connect(options: SqliteConnectOptions, connections: u32) -> Result<Self> {
        let pool = SqlitePoolOptions::new()
            .max_connections(connections)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(SqliteStore { pool })
    }
}

#[async_trait]
impl MetadataStore for SqliteStore {
    async fn ensure_experiment(&self, name: &str) -> Result<Experiment> {
        runs::ensure_experiment(&self.pool, name).await
    }

    async fn get_experiment(&self, id: &str) -> Result<Experiment> {
        runs::get_experiment(&self.pool, id).await
    }

    async fn create_run(&self, run: &NewRun) -> Result<Run> {
        runs::create_run(&self.pool, run).await
    }

    async fn get_run(&self, id: RunId) -> Result<Run> {
        runs::get_run(&self.pool, id).await
    }

    async fn list_runs(&self, query: &RunQuery) -> Result<Vec<Run>> {
        runs::list_runs(&self.pool, query).await
    }

    async fn set_run_state(
        &self,
        id: RunId,
        state: RunState,
        message: Option<&str>,
    ) -> Result<Run> {
        runs::set_run_state(&self.pool, id, state, message).await
    }

    async fn run_state_history(&self, id: RunId) -> Result<Vec<StateChange>> {
        convert::history(&self.pool, "run_state_history", "run_id", &id.to_string()).await
    }

    async fn delete_run(&self, id: RunId) -> Result<()> {
        runs::delete_run(&self.pool, id).await
    }

    async fn create_task(&self, task: &NewTask) -> Result<Task> {
        tasks::create_task(&self.pool, task).await
    }

    async fn get_task(&self, id: TaskId) -> Result<Task> {
        tasks::get_task(&self.pool, id).await
    }

    async fn list_tasks(&self, run_id: RunId) -> Result<Vec<Task>> {
        tasks::list_tasks(&self.pool, run_id).await
    }

    async fn update_task(&self, id: TaskId, update: &TaskUpdate) -> Result<Task> {
        tasks::update_task(&self.pool, id, update).await
    }

    async fn task_state_history(&self, id: TaskId) -> Result<Vec<StateChange>> {
        convert::history(&self.pool, "task_state_history", "task_id", &id.to_string()).await
    }

    async fn delete_task(&self, id: TaskId) -> Result<()> {
        tasks::delete_task(&self.pool, id).await
    }

    async fn create_artifact(&self, artifact: &NewArtifact) -> Result<Artifact> {
        tasks::create_artifact(&self.pool, artifact).await
    }

    async fn get_artifact(&self, id: i64) -> Result<Artifact> {
        tasks::get_artifact(&self.pool, id).await
    }

    async fn list_run_artifacts(&self, run_id: RunId) -> Result<Vec<Artifact>> {
        tasks::list_run_artifacts(&self.pool, run_id).await
    }

    async fn find_cache_entry(
        &self,
        fingerprint: &str,
        pipeline_name: &str,
    ) -> Result<Option<CacheEntry>> {
        tasks::find_cache_entry(&self.pool, fingerprint, pipeline_name).await
    }

    async fn put_cache_entry(&self, entry: &CacheEntry) -> Result<()> {
        tasks::put_cache_entry(&self.pool, entry).await
    }

    async fn set_secret(&self, name: &str, data: &SecretData) -> Result<()> {
        secrets::set_secret(&self.pool, name, data).await
    }

    async fn get_secret(&self, name: &str) -> Result<Option<SecretData>> {
        secrets::get_secret(&self.pool, name).await
    }

    async fn list_secrets(&self) -> Result<Vec<String>> {
        secrets::list_secrets(&self.pool).await
    }

    async fn delete_secret(&self, name: &str) -> Result<bool> {
        secrets::delete_secret(&self.pool, name).await
    }
}
