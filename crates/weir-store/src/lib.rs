//! `weir-store`: where Weir keeps what happened.
//!
//! The [`MetadataStore`] trait is the only way the engine, the CLI and the server read and write
//! runs, tasks (every execution of a run: DAGs, loops, iterations, container steps, importers),
//! their state histories, artifacts, cache entries, experiments, pipelines and their versions,
//! recurring runs and secrets. Lists of the API's resources are paged, filtered and sorted with a
//! [`ListQuery`], with KFP's semantics. [`SqliteStore`] is the
//! embedded default; a PostgreSQL store will implement the same trait and pass the same tests.
//!
//! This is the only crate with SQL. It knows nothing of pipelines beyond the JSON it stores and
//! the typed data of tasks ([`TaskIo`], [`TaskDetails`]), and it enforces the state machines of
//! `weir-types` on every state change.

mod error;
mod list;
mod model;
mod sqlite;
mod task_data;

pub use error::StoreError;
pub use list::{
    FilterValue, ListQuery, Page, PageCursor, Predicate, PredicateOp, SortBy, DEFAULT_PAGE_SIZE,
};
pub use model::*;
pub use sqlite::SqliteStore;
pub use task_data::{ArtifactRef, ArtifactType, CachedFrom, PlatformDetails, TaskDetails, TaskIo};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use weir_types::{
    ExperimentId, PipelineId, PipelineVersionId, RecurringRunId, RunId, RunState, TaskId,
};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Everything Weir persists. Every method commits before it returns.
#[async_trait]
pub trait MetadataStore: Send + Sync + 'static {
    /// The experiment with this name, created when it does not exist yet.
    async fn ensure_experiment(&self, name: &str) -> Result<Experiment>;
    async fn get_experiment(&self, id: &str) -> Result<Experiment>;
    /// [`StoreError::Conflict`] when the namespace already has an experiment with that name.
    async fn create_experiment(&self, experiment: &NewExperiment) -> Result<Experiment>;
    /// Fields: `experiment_id` (`id`), `display_name` (`name`), `description`, `created_at`,
    /// `last_run_created_at`, `namespace`, `storage_state`.
    async fn list_experiments(&self, query: &ListQuery) -> Result<Page<Experiment>>;
    /// Archiving also archives the experiment's runs and disables its recurring runs (as KFP
    /// does); unarchiving restores only the experiment.
    async fn set_experiment_archived(&self, id: ExperimentId, archived: bool) -> Result<()>;
    /// Deletes an experiment with its runs (and their tasks, artifact records and cache entries)
    /// and its recurring runs.
    async fn delete_experiment(&self, id: ExperimentId) -> Result<()>;

    async fn create_run(&self, run: &NewRun) -> Result<Run>;
    async fn get_run(&self, id: RunId) -> Result<Run>;
    async fn list_runs(&self, query: &RunQuery) -> Result<Vec<Run>>;
    /// Fields: `run_id` (`id`), `display_name` (`name`), `description`, `created_at`
    /// (`scheduled_at`), `finished_at`, `state`, `storage_state`, `experiment_id`, `namespace`,
    /// `recurring_run_id`, `pipeline_version_id`.
    async fn list_runs_page(&self, query: &ListQuery) -> Result<Page<Run>>;
    /// Unarchiving a run of an archived experiment is a [`StoreError::FailedPrecondition`].
    async fn set_run_archived(&self, id: RunId, archived: bool) -> Result<()>;
    /// Replaces a run's tags ([`check_tags`] rules; `InvalidArgument` otherwise).
    async fn set_run_tags(&self, id: RunId, tags: &[String]) -> Result<Run>;
    /// Changes a run's state if the state machine allows it, recording it in the history.
    async fn change_run_state(
        &self,
        id: RunId,
        state: RunState,
        message: Option<&str>,
    ) -> Result<()>;
    /// [`MetadataStore::change_run_state`], then the run as it now is.
    async fn set_run_state(
        &self,
        id: RunId,
        state: RunState,
        message: Option<&str>,
    ) -> Result<Run> {
        self.change_run_state(id, state, message).await?;
        self.get_run(id).await
    }
    async fn run_state_history(&self, id: RunId) -> Result<Vec<StateChange>>;
    /// Deletes a run with its tasks, artifacts records and cache entries.
    async fn delete_run(&self, id: RunId) -> Result<()>;

    /// Creates an execution; [`StoreError::Conflict`] when the run already has one at that path.
    async fn create_task(&self, task: &NewTask) -> Result<Task>;
    /// Creates executions in one transaction, each at its time as [`NewTask::created`]
    /// describes, with its first history entry; [`StoreError::Conflict`], and none created,
    /// when the run already has one at one of the paths.
    async fn create_tasks(&self, tasks: &[(NewTask, DateTime<Utc>)]) -> Result<()>;
    async fn get_task(&self, id: TaskId) -> Result<Task>;
    /// Every execution of a run, in creation order.
    async fn list_tasks(&self, run_id: RunId) -> Result<Vec<Task>>;
    /// [`MetadataStore::list_tasks`] with every task's `details` left at
    /// [`TaskDetails::default`], not read: the launch details of a run of 10,000 steps are tens
    /// of MB once decoded.
    async fn list_tasks_without_details(&self, run_id: RunId) -> Result<Vec<Task>> {
        let mut tasks = self.list_tasks(run_id).await?;
        for task in &mut tasks {
            task.details = TaskDetails::default();
        }
        Ok(tasks)
    }
    /// Applies an update; a state change is checked against the state machine and recorded.
    async fn update_task(&self, id: TaskId, update: &TaskUpdate) -> Result<Task>;
    async fn task_state_history(&self, id: TaskId) -> Result<Vec<StateChange>>;
    /// The state histories of every execution of a run, in one query.
    async fn run_task_histories(
        &self,
        run_id: RunId,
    ) -> Result<std::collections::BTreeMap<TaskId, Vec<StateChange>>>;
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
    /// The task of the newest cache entry for a fingerprint within a pipeline, read with the
    /// lookup; `None` when there is no entry or its task no longer exists.
    async fn find_cached_task(
        &self,
        fingerprint: &str,
        pipeline_name: &str,
    ) -> Result<Option<Task>>;

    /// [`StoreError::Conflict`] when the namespace already has a pipeline with that name.
    async fn create_pipeline(&self, pipeline: &NewPipeline) -> Result<Pipeline>;
    /// Creates a pipeline and its first version together: on any error, neither exists.
    async fn create_pipeline_with_version(
        &self,
        pipeline: &NewPipeline,
        version: &NewPipelineVersion,
    ) -> Result<(Pipeline, PipelineVersion)>;
    async fn get_pipeline(&self, id: PipelineId) -> Result<Pipeline>;
    async fn get_pipeline_by_name(&self, namespace: &str, name: &str) -> Result<Pipeline>;
    /// Fields: `pipeline_id` (`id`), `display_name`, `name`, `description`, `created_at`,
    /// `namespace`.
    async fn list_pipelines(&self, query: &ListQuery) -> Result<Page<Pipeline>>;
    async fn update_pipeline(&self, id: PipelineId, update: &PipelineUpdate) -> Result<Pipeline>;
    /// Without `cascade`, a pipeline that has versions is a [`StoreError::FailedPrecondition`].
    async fn delete_pipeline(&self, id: PipelineId, cascade: bool) -> Result<()>;

    /// [`StoreError::Conflict`] when the pipeline already has a version with that name.
    async fn create_pipeline_version(
        &self,
        version: &NewPipelineVersion,
    ) -> Result<PipelineVersion>;
    async fn get_pipeline_version(&self, id: PipelineVersionId) -> Result<PipelineVersion>;
    /// The versions of one pipeline. Fields: `pipeline_version_id` (`id`), `display_name`,
    /// `name`, `description`, `created_at`.
    async fn list_pipeline_versions(
        &self,
        pipeline_id: PipelineId,
        query: &ListQuery,
    ) -> Result<Page<PipelineVersion>>;
    /// The newest version (by creation time, then id); `None` when the pipeline has none.
    async fn latest_pipeline_version(
        &self,
        pipeline_id: PipelineId,
    ) -> Result<Option<PipelineVersion>>;
    async fn update_pipeline_version(
        &self,
        id: PipelineVersionId,
        update: &PipelineVersionUpdate,
    ) -> Result<PipelineVersion>;
    async fn delete_pipeline_version(&self, id: PipelineVersionId) -> Result<()>;

    async fn create_recurring_run(&self, recurring_run: &NewRecurringRun) -> Result<RecurringRun>;
    async fn get_recurring_run(&self, id: RecurringRunId) -> Result<RecurringRun>;
    /// Fields: `recurring_run_id` (`id`), `display_name` (`name`), `description`, `created_at`,
    /// `updated_at`, `experiment_id`, `namespace`, `status` (`ENABLED`/`DISABLED`).
    async fn list_recurring_runs(&self, query: &ListQuery) -> Result<Page<RecurringRun>>;
    /// Replaces everything but the id and the creation time of the recurring run with
    /// `recurring_run.id`, and bumps `updated_at`.
    async fn update_recurring_run(&self, recurring_run: &NewRecurringRun) -> Result<RecurringRun>;
    async fn set_recurring_run_enabled(
        &self,
        id: RecurringRunId,
        enabled: bool,
    ) -> Result<RecurringRun>;
    /// Deletes a recurring run and its claimed slots; the runs it started stay.
    async fn delete_recurring_run(&self, id: RecurringRunId) -> Result<()>;
    /// Records that the run `run_id` fires the schedule's `slot` (stored to the millisecond).
    /// Returns false, changing nothing, when that slot was already claimed, so a slot fires at
    /// most once, across restarts too.
    async fn claim_recurring_slot(
        &self,
        id: RecurringRunId,
        slot: DateTime<Utc>,
        run_id: RunId,
    ) -> Result<bool>;
    /// The latest slot claimed for a recurring run, if any.
    async fn last_claimed_slot(&self, id: RecurringRunId) -> Result<Option<DateTime<Utc>>>;
    /// How many runs started by the recurring run have not reached a terminal state.
    async fn count_active_runs_of_recurring(&self, id: RecurringRunId) -> Result<i64>;

    async fn set_secret(&self, name: &str, data: &SecretData) -> Result<()>;
    async fn get_secret(&self, name: &str) -> Result<Option<SecretData>>;
    async fn list_secrets(&self) -> Result<Vec<String>>;
    /// Returns whether the secret existed.
    async fn delete_secret(&self, name: &str) -> Result<bool>;
}
