//! The embedded SQLite store.

mod convert;
mod experiments;
mod hot;
mod list;
mod pipelines;
mod recurring;
mod runs;
mod secrets;
mod task_writes;
mod tasks;
mod turn;
mod values;

use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{SqliteConnection, SqlitePool};
use weir_types::{
    ExperimentId, PipelineId, PipelineVersionId, RecurringRunId, RunId, RunState, TaskId,
};

use crate::{
    Artifact, CacheEntry, Experiment, ListQuery, MetadataStore, NewArtifact, NewExperiment,
    NewPipeline, NewPipelineVersion, NewRecurringRun, NewRun, NewTask, Page, Pipeline,
    PipelineUpdate, PipelineVersion, PipelineVersionUpdate, RecurringRun, Result, Run, RunQuery,
    SecretData, StateChange, StoreError, Task, TaskUpdate,
};

/// A store in one SQLite file, in WAL mode: readers never wait for the engine's writes, and a
/// killed process loses nothing that was committed. Write transactions start with
/// `BEGIN IMMEDIATE`, so a transaction that reads before it writes never has to upgrade its lock
/// (which fails at once with SQLITE_BUSY_SNAPSHOT when another connection wrote in between).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Tasks and cache entries, the per-step path (`hot.rs`).
    hot: Arc<hot::Hot>,
    /// Whose turn it is to write (`turn.rs`).
    writes: Arc<turn::Turns>,
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
            // 16 MiB of page cache per connection (the default is 2 MiB): list totals count
            // over run indexes of several MiB, which then stay in memory between requests.
            .pragma("cache_size", "-16384")
            .busy_timeout(Duration::from_secs(10));
        let pool = Self::connect(&options, SqlitePoolOptions::new().max_connections(4)).await?;
        let hot = hot::Hot::own(&options).await?;
        Ok(SqliteStore {
            pool,
            hot: Arc::new(hot),
            writes: Arc::default(),
        })
    }

    /// A private in-memory database, for tests.
    pub async fn in_memory() -> Result<Self> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")?.foreign_keys(true);
        // One connection: every connection to `:memory:` would be a different database.
        let unsure = Arc::new(AtomicBool::new(false));
        let mark = unsure.clone();
        let pool_options =
            SqlitePoolOptions::new()
                .max_connections(1)
                .before_acquire(move |conn, _| {
                    let mark = mark.clone();
                    Box::pin(async move {
                        hot::rollback_if_unsure(conn, &mark).await;
                        Ok(true)
                    })
                });
        let pool = Self::connect(&options, pool_options).await?;
        let hot = hot::Hot::Shared {
            pool: pool.clone(),
            unsure,
        };
        Ok(SqliteStore {
            pool,
            hot: Arc::new(hot),
            writes: Arc::default(),
        })
    }

    async fn connect(
        options: &SqliteConnectOptions,
        pool_options: SqlitePoolOptions,
    ) -> Result<SqlitePool> {
        let pool = pool_options
            // The database is a file in this process: a ping before every acquire would only add
            // a round trip to the connection's worker thread to each store call.
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await?;
        let mut connection = pool.acquire().await?;
        migrate(&mut connection).await?;
        drop(connection);
        Ok(pool)
    }
}

/// Applies pending migrations with foreign keys off, as SQLite's table rebuilds require
/// (0002 rebuilds `experiments`; with foreign keys on, dropping the old table would delete every
/// run through ON DELETE CASCADE), then checks that every reference still holds.
async fn migrate(connection: &mut SqliteConnection) -> Result<()> {
    let applied_before = applied_migrations(connection).await?;
    // Outside any transaction, where the pragma takes effect; the migrator opens its own.
    sqlx::query("PRAGMA foreign_keys = OFF")
        .execute(&mut *connection)
        .await?;
    let migrated = sqlx::migrate!("./migrations/sqlite")
        .run(&mut *connection)
        .await;
    let restored = sqlx::query("PRAGMA foreign_keys = ON")
        .execute(&mut *connection)
        .await;
    migrated?;
    restored?;
    if applied_migrations(connection).await? == applied_before {
        return Ok(());
    }
    let broken: Vec<SqliteRow> = sqlx::query("PRAGMA foreign_key_check")
        .fetch_all(&mut *connection)
        .await?;
    if !broken.is_empty() {
        return Err(StoreError::Corrupt {
            what: "database",
            message: format!(
                "{} rows reference missing rows after migrating; restore a backup of the data dir",
                broken.len()
            ),
        });
    }
    Ok(())
}

async fn applied_migrations(connection: &mut SqliteConnection) -> Result<i64> {
    let table: Option<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_optional(&mut *connection)
    .await?;
    if table.is_none() {
        return Ok(0);
    }
    Ok(sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(&mut *connection)
        .await?)
}

#[async_trait]
impl MetadataStore for SqliteStore {
    async fn ensure_experiment(&self, name: &str) -> Result<Experiment> {
        experiments::ensure_experiment(&self.pool, name).await
    }

    async fn get_experiment(&self, id: &str) -> Result<Experiment> {
        experiments::get_experiment(&self.pool, id).await
    }

    async fn create_experiment(&self, experiment: &NewExperiment) -> Result<Experiment> {
        experiments::create_experiment(&self.pool, experiment).await
    }

    async fn list_experiments(&self, query: &ListQuery) -> Result<Page<Experiment>> {
        experiments::list_experiments(&self.pool, query).await
    }

    async fn set_experiment_archived(&self, id: ExperimentId, archived: bool) -> Result<()> {
        experiments::set_experiment_archived(&self.pool, id, archived).await
    }

    async fn delete_experiment(&self, id: ExperimentId) -> Result<()> {
        experiments::delete_experiment(&self.pool, id).await
    }

    async fn create_run(&self, run: &NewRun) -> Result<Run> {
        let _turn = self.writes.first().await;
        runs::create_run(&self.pool, run).await
    }

    async fn get_run(&self, id: RunId) -> Result<Run> {
        runs::get_run(&self.pool, id).await
    }

    async fn list_runs(&self, query: &RunQuery) -> Result<Vec<Run>> {
        runs::list_runs(&self.pool, query).await
    }

    async fn list_runs_page(&self, query: &ListQuery) -> Result<Page<Run>> {
        runs::list_runs_page(&self.pool, query).await
    }

    async fn set_run_archived(&self, id: RunId, archived: bool) -> Result<()> {
        runs::set_run_archived(&self.pool, id, archived).await
    }

    async fn set_run_tags(&self, id: RunId, tags: &[String]) -> Result<Run> {
        runs::set_run_tags(&self.pool, id, tags).await
    }

    async fn change_run_state(
        &self,
        id: RunId,
        state: RunState,
        message: Option<&str>,
    ) -> Result<()> {
        let _turn = self.writes.queue().await;
        runs::change_run_state(&self.pool, id, state, message).await
    }

    async fn run_state_history(&self, id: RunId) -> Result<Vec<StateChange>> {
        convert::history(&self.pool, "run_state_history", "run_id", &id.to_string()).await
    }

    async fn delete_run(&self, id: RunId) -> Result<()> {
        runs::delete_run(&self.pool, id).await
    }

    async fn create_task(&self, task: &NewTask) -> Result<Task> {
        let _turn = self.writes.queue().await;
        task_writes::create_task(&self.hot, task).await
    }

    async fn create_tasks(&self, tasks: &[(NewTask, DateTime<Utc>)]) -> Result<()> {
        let _turn = self.writes.queue().await;
        task_writes::create_tasks(&self.hot, tasks).await
    }

    async fn get_task(&self, id: TaskId) -> Result<Task> {
        tasks::get_task(&self.pool, id).await
    }

    async fn list_tasks(&self, run_id: RunId) -> Result<Vec<Task>> {
        tasks::list_tasks(&self.pool, run_id, tasks::WITH_DETAILS).await
    }

    async fn list_tasks_without_details(&self, run_id: RunId) -> Result<Vec<Task>> {
        tasks::list_tasks(&self.pool, run_id, tasks::WITHOUT_DETAILS).await
    }

    async fn update_task(&self, id: TaskId, update: &TaskUpdate) -> Result<Task> {
        let _turn = self.writes.queue().await;
        task_writes::update_task(&self.hot, id, update).await
    }

    async fn task_state_history(&self, id: TaskId) -> Result<Vec<StateChange>> {
        convert::history(&self.pool, "task_state_history", "task_id", &id.to_string()).await
    }

    async fn run_task_histories(
        &self,
        run_id: RunId,
    ) -> Result<std::collections::BTreeMap<TaskId, Vec<StateChange>>> {
        tasks::run_task_histories(&self.pool, run_id).await
    }

    async fn delete_task(&self, id: TaskId) -> Result<()> {
        let _turn = self.writes.queue().await;
        tasks::delete_task(&self.pool, id).await
    }

    async fn create_artifact(&self, artifact: &NewArtifact) -> Result<Artifact> {
        let _turn = self.writes.queue().await;
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
        let _turn = self.writes.queue().await;
        tasks::put_cache_entry(&self.hot, entry).await
    }

    async fn find_cached_task(
        &self,
        fingerprint: &str,
        pipeline_name: &str,
    ) -> Result<Option<Task>> {
        tasks::find_cached_task(&self.hot, fingerprint, pipeline_name).await
    }

    async fn create_pipeline(&self, pipeline: &NewPipeline) -> Result<Pipeline> {
        pipelines::create_pipeline(&self.pool, pipeline).await
    }

    async fn create_pipeline_with_version(
        &self,
        pipeline: &NewPipeline,
        version: &NewPipelineVersion,
    ) -> Result<(Pipeline, PipelineVersion)> {
        pipelines::create_pipeline_with_version(&self.pool, pipeline, version).await
    }

    async fn get_pipeline(&self, id: PipelineId) -> Result<Pipeline> {
        pipelines::get_pipeline(&self.pool, id).await
    }

    async fn get_pipeline_by_name(&self, namespace: &str, name: &str) -> Result<Pipeline> {
        pipelines::get_pipeline_by_name(&self.pool, namespace, name).await
    }

    async fn list_pipelines(&self, query: &ListQuery) -> Result<Page<Pipeline>> {
        pipelines::list_pipelines(&self.pool, query).await
    }

    async fn update_pipeline(&self, id: PipelineId, update: &PipelineUpdate) -> Result<Pipeline> {
        pipelines::update_pipeline(&self.pool, id, update).await
    }

    async fn delete_pipeline(&self, id: PipelineId, cascade: bool) -> Result<()> {
        pipelines::delete_pipeline(&self.pool, id, cascade).await
    }

    async fn create_pipeline_version(
        &self,
        version: &NewPipelineVersion,
    ) -> Result<PipelineVersion> {
        pipelines::create_pipeline_version(&self.pool, version).await
    }

    async fn get_pipeline_version(&self, id: PipelineVersionId) -> Result<PipelineVersion> {
        pipelines::get_pipeline_version(&self.pool, id).await
    }

    async fn list_pipeline_versions(
        &self,
        pipeline_id: PipelineId,
        query: &ListQuery,
    ) -> Result<Page<PipelineVersion>> {
        pipelines::list_pipeline_versions(&self.pool, pipeline_id, query).await
    }

    async fn latest_pipeline_version(
        &self,
        pipeline_id: PipelineId,
    ) -> Result<Option<PipelineVersion>> {
        pipelines::latest_pipeline_version(&self.pool, pipeline_id).await
    }

    async fn update_pipeline_version(
        &self,
        id: PipelineVersionId,
        update: &PipelineVersionUpdate,
    ) -> Result<PipelineVersion> {
        pipelines::update_pipeline_version(&self.pool, id, update).await
    }

    async fn delete_pipeline_version(&self, id: PipelineVersionId) -> Result<()> {
        pipelines::delete_pipeline_version(&self.pool, id).await
    }

    async fn create_recurring_run(&self, recurring_run: &NewRecurringRun) -> Result<RecurringRun> {
        recurring::create_recurring_run(&self.pool, recurring_run).await
    }

    async fn get_recurring_run(&self, id: RecurringRunId) -> Result<RecurringRun> {
        recurring::get_recurring_run(&self.pool, id).await
    }

    async fn list_recurring_runs(&self, query: &ListQuery) -> Result<Page<RecurringRun>> {
        recurring::list_recurring_runs(&self.pool, query).await
    }

    async fn update_recurring_run(&self, recurring_run: &NewRecurringRun) -> Result<RecurringRun> {
        recurring::update_recurring_run(&self.pool, recurring_run).await
    }

    async fn set_recurring_run_enabled(
        &self,
        id: RecurringRunId,
        enabled: bool,
    ) -> Result<RecurringRun> {
        recurring::set_recurring_run_enabled(&self.pool, id, enabled).await
    }

    async fn delete_recurring_run(&self, id: RecurringRunId) -> Result<()> {
        recurring::delete_recurring_run(&self.pool, id).await
    }

    async fn claim_recurring_slot(
        &self,
        id: RecurringRunId,
        slot: DateTime<Utc>,
        run_id: RunId,
    ) -> Result<bool> {
        recurring::claim_recurring_slot(&self.pool, id, slot, run_id).await
    }

    async fn last_claimed_slot(&self, id: RecurringRunId) -> Result<Option<DateTime<Utc>>> {
        recurring::last_claimed_slot(&self.pool, id).await
    }

    async fn count_active_runs_of_recurring(&self, id: RecurringRunId) -> Result<i64> {
        recurring::count_active_runs_of_recurring(&self.pool, id).await
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

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use sqlx::{Connection, Row};

    use super::*;
    use crate::Predicate;

    /// A database written by the first schema keeps its runs, and their experiment (rebuilt by
    /// 0002) still owns them.
    #[tokio::test]
    async fn upgrading_from_the_first_schema_keeps_every_run() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("weir.db");
        {
            let options = SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true)
                .foreign_keys(true);
            let mut connection = SqliteConnection::connect_with(&options)
                .await
                .expect("opens");
            let mut first_schema = sqlx::migrate!("./migrations/sqlite");
            first_schema.migrations = Cow::Owned(first_schema.migrations[..1].to_vec());
            first_schema
                .run(&mut connection)
                .await
                .expect("first schema");
            let statements = [
                "INSERT INTO experiments (id, name, created_at) VALUES ('0192f0c1-7c1e-7a4e-9b1d-3f5c2a1e4b6d', 'Default', 1000)",
                "INSERT INTO runs (id, experiment_id, display_name, pipeline_name, pipeline_spec, runtime_config, options, state, created_at) \
                 VALUES ('0192f0c1-7c1e-7a4e-9b1d-000000000001', '0192f0c1-7c1e-7a4e-9b1d-3f5c2a1e4b6d', 'r1', 'p', '{}', '{}', '{}', 'SUCCEEDED', 2000), \
                        ('0192f0c1-7c1e-7a4e-9b1d-000000000002', '0192f0c1-7c1e-7a4e-9b1d-3f5c2a1e4b6d', 'r2', 'p', '{}', '{}', '{}', 'PENDING', 3000)",
                "INSERT INTO tasks (id, run_id, path, name, display_name, kind, state, created_at) \
                 VALUES ('0192f0c1-7c1e-7a4e-9b1d-0000000000a1', '0192f0c1-7c1e-7a4e-9b1d-000000000001', 'root', 'root', 'root', 'ROOT', 'SUCCEEDED', 2000)",
            ];
            for statement in statements {
                sqlx::query(statement)
                    .execute(&mut connection)
                    .await
                    .expect("old rows");
            }
        }

        let store = SqliteStore::open(&path).await.expect("migrates");
        let experiment = store
            .get_experiment("0192f0c1-7c1e-7a4e-9b1d-3f5c2a1e4b6d")
            .await
            .expect("kept");
        assert_eq!(experiment.namespace, "");
        assert_eq!(
            experiment.last_run_created_at.map(|t| t.timestamp_millis()),
            Some(3000)
        );
        let runs = store
            .list_runs_page(&ListQuery::default())
            .await
            .expect("listed");
        assert_eq!(runs.total_size, 2);
        let foreign_keys_on: i64 = sqlx::query("PRAGMA foreign_keys")
            .fetch_one(&store.pool)
            .await
            .expect("pragma")
            .try_get(0)
            .expect("integer");
        assert_eq!(foreign_keys_on, 1, "migrations leave foreign keys on");

        store
            .delete_experiment(experiment.id)
            .await
            .expect("deleted");
        let left: i64 =
            sqlx::query_scalar("SELECT (SELECT count(*) FROM runs) + (SELECT count(*) FROM tasks)")
                .fetch_one(&store.pool)
                .await
                .expect("counted");
        assert_eq!(
            left, 0,
            "runs still cascade from the rebuilt experiments table"
        );
        let reopened = SqliteStore::open(&path).await.expect("reopens");
        let none = reopened
            .list_runs_page(&ListQuery::default().with_predicate(Predicate::new(
                "state",
                crate::PredicateOp::Equals,
                crate::FilterValue::String("PENDING".into()),
            )))
            .await
            .expect("listed");
        assert_eq!(none.total_size, 0);
    }
}
