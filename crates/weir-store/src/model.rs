//! The records the store keeps.

use std::collections::BTreeMap;

use crate::task_data::{TaskDetails, TaskIo};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use weir_types::{
    ExperimentId, PipelineId, PipelineVersionId, RecurringRunId, RunId, RunState, TaskId, TaskKind,
    TaskState,
};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Experiment {
    pub id: ExperimentId,
    /// Unique within its namespace.
    pub name: String,
    pub description: String,
    /// `""` outside multi-user mode.
    pub namespace: String,
    pub archived: bool,
    pub created_at: DateTime<Utc>,
    /// When the newest run in it was created.
    pub last_run_created_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default)]
pub struct NewExperiment {
    pub id: ExperimentId,
    pub name: String,
    pub description: String,
    pub namespace: String,
}

/// What a run was started with, besides the spec.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RuntimeConfig {
    /// Pipeline parameters after defaults were applied.
    #[serde(default)]
    pub parameters: serde_json::Map<String, Value>,
    /// Where artifacts go; absent means the data dir's artifact folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_root: Option<String>,
}

/// How a run is executed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunOptions {
    /// Disable caching for every task of the run.
    #[serde(default)]
    pub no_cache: bool,
    /// At most this many container steps of the run at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_parallel: Option<usize>,
}

#[derive(Debug, Clone, Default)]
pub struct NewRun {
    pub id: RunId,
    pub experiment_id: Option<ExperimentId>,
    pub display_name: String,
    pub description: String,
    pub pipeline_name: String,
    /// `{"pipeline_spec": ..., "platform_spec": ...}` as the run ran it, as JSON text: a large
    /// spec is written from its typed form without a `serde_json::Value` copy.
    pub pipeline_spec: StoredJson,
    pub runtime_config: RuntimeConfig,
    pub options: RunOptions,
    pub pipeline_version_id: Option<String>,
    pub recurring_run_id: Option<String>,
    /// Empty: the experiment's namespace (or `""` without an experiment).
    pub namespace: String,
    pub service_account: String,
    /// The pipeline the run's version belongs to, when it was started from a stored pipeline.
    pub pipeline_id: Option<PipelineId>,
    /// Labels to find the run by ([`check_tags`] rules); a Weir addition.
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Run {
    pub id: RunId,
    pub experiment_id: Option<ExperimentId>,
    pub display_name: String,
    pub description: String,
    pub pipeline_name: String,
    /// As the run ran it; kept as stored text until a caller decodes it (a spec can be large).
    pub pipeline_spec: StoredJson,
    pub runtime_config: RuntimeConfig,
    pub options: RunOptions,
    pub state: RunState,
    pub error: Option<String>,
    pub archived: bool,
    pub pipeline_version_id: Option<String>,
    pub recurring_run_id: Option<String>,
    pub namespace: String,
    pub service_account: String,
    pub pipeline_id: Option<PipelineId>,
    pub tags: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// Which runs to list: newest first.
#[derive(Debug, Clone, Default)]
pub struct RunQuery {
    pub limit: Option<u32>,
    pub states: Vec<RunState>,
    pub experiment_id: Option<ExperimentId>,
    /// Only runs with this tag.
    pub tag: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StateChange {
    pub state: String,
    pub at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewTask {
    pub id: TaskId,
    pub run_id: RunId,
    pub parent_id: Option<TaskId>,
    pub path: String,
    pub name: String,
    pub display_name: String,
    pub kind: TaskKind,
    pub iteration_index: Option<i64>,
    pub state: TaskState,
    pub inputs: TaskIo,
    pub details: TaskDetails,
    pub message: Option<String>,
    /// Outputs known at creation (a task created CACHED); empty otherwise.
    pub outputs: TaskIo,
    /// The log of a step planned before its row is written.
    pub log_path: Option<String>,
}

impl NewTask {
    /// The row [`MetadataStore::create_tasks`](crate::MetadataStore::create_tasks) writes for
    /// this task created at `at` (stored to the millisecond), as it reads back.
    pub fn created(&self, at: DateTime<Utc>) -> Task {
        let at = DateTime::from_timestamp_millis(at.timestamp_millis()).unwrap_or(at);
        Task {
            id: self.id,
            run_id: self.run_id,
            parent_id: self.parent_id,
            path: self.path.clone(),
            name: self.name.clone(),
            display_name: self.display_name.clone(),
            kind: self.kind,
            iteration_index: self.iteration_index,
            state: self.state,
            inputs: self.inputs.clone(),
            outputs: self.outputs.clone(),
            details: self.details.clone(),
            error: self
                .message
                .clone()
                .filter(|_| self.state == TaskState::Failed),
            attempt: 0,
            log_path: self.log_path.clone(),
            created_at: at,
            started_at: (self.state == TaskState::Running).then_some(at),
            finished_at: self.state.is_terminal().then_some(at),
        }
    }
}

/// One execution of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Task {
    pub id: TaskId,
    pub run_id: RunId,
    pub parent_id: Option<TaskId>,
    pub path: String,
    pub name: String,
    pub display_name: String,
    pub kind: TaskKind,
    pub iteration_index: Option<i64>,
    pub state: TaskState,
    pub inputs: TaskIo,
    pub outputs: TaskIo,
    /// Left at its default by
    /// [`MetadataStore::list_tasks_without_details`](crate::MetadataStore::list_tasks_without_details).
    pub details: TaskDetails,
    pub error: Option<String>,
    pub attempt: i64,
    pub log_path: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// Fields to change on a task; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct TaskUpdate {
    pub state: Option<TaskState>,
    /// Recorded with the state change.
    pub message: Option<String>,
    pub inputs: Option<TaskIo>,
    pub outputs: Option<TaskIo>,
    pub details: Option<TaskDetails>,
    /// `Some(None)` clears the error.
    pub error: Option<Option<String>>,
    pub attempt: Option<i64>,
    pub log_path: Option<String>,
    /// `Some(None)` clears it (a task going back to PENDING).
    pub started_at: Option<Option<DateTime<Utc>>>,
    pub finished_at: Option<Option<DateTime<Utc>>>,
    /// A cache entry for this task, recorded in the same transaction when the update applies
    /// (a step's SUCCEEDED); its `task_id` and `run_id` are the task's.
    pub cache_entry: Option<CacheKey>,
}

/// Where a cache entry is found: a fingerprint within a pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheKey {
    pub fingerprint: String,
    pub pipeline_name: String,
}

impl TaskUpdate {
    pub fn state(state: TaskState) -> Self {
        TaskUpdate {
            state: Some(state),
            ..Default::default()
        }
    }

    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }
}

#[derive(Debug, Clone)]
pub struct NewArtifact {
    pub run_id: RunId,
    pub task_id: Option<TaskId>,
    pub name: String,
    pub uri: String,
    pub schema_title: String,
    pub metadata: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Artifact {
    pub id: i64,
    pub run_id: RunId,
    pub task_id: Option<TaskId>,
    pub name: String,
    pub uri: String,
    pub schema_title: String,
    pub metadata: Value,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CacheEntry {
    pub fingerprint: String,
    pub pipeline_name: String,
    pub task_id: TaskId,
    pub run_id: RunId,
    pub created_at: DateTime<Utc>,
}

/// The keys and values of a secret (or a config map).
pub type SecretData = BTreeMap<String, String>;

/// Free-form labels of pipelines and pipeline versions.
pub type Tags = BTreeMap<String, String>;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pipeline {
    pub id: PipelineId,
    /// Unique within its namespace.
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub namespace: String,
    pub tags: Tags,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default)]
pub struct NewPipeline {
    pub id: PipelineId,
    pub name: String,
    /// Empty: the name.
    pub display_name: String,
    pub description: String,
    pub namespace: String,
    pub tags: Tags,
}

/// Fields to change on a pipeline or a pipeline version; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct PipelineUpdate {
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub tags: Option<Tags>,
}

/// A pipeline version has the same changeable fields as its pipeline.
pub type PipelineVersionUpdate = PipelineUpdate;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PipelineVersion {
    pub id: PipelineVersionId,
    pub pipeline_id: PipelineId,
    /// Unique within its pipeline.
    pub name: String,
    pub display_name: String,
    pub description: String,
    /// The IR as uploaded (`{"pipeline_spec": ..., "platform_spec": ...}` or the bare spec).
    pub pipeline_spec: Value,
    pub package_url: Option<String>,
    pub code_source_url: Option<String>,
    pub tags: Tags,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default)]
pub struct NewPipelineVersion {
    pub id: PipelineVersionId,
    pub pipeline_id: PipelineId,
    pub name: String,
    /// Empty: the name.
    pub display_name: String,
    pub description: String,
    pub pipeline_spec: Value,
    pub package_url: Option<String>,
    pub code_source_url: Option<String>,
    pub tags: Tags,
}

/// A schedule that starts runs (KFP `RecurringRun`, a "job" in KFP's storage).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecurringRun {
    pub id: RecurringRunId,
    pub display_name: String,
    pub description: String,
    pub namespace: String,
    pub experiment_id: Option<ExperimentId>,
    pub pipeline_id: Option<PipelineId>,
    pub pipeline_version_id: Option<PipelineVersionId>,
    /// The spec to run when it is not taken from a pipeline version.
    pub pipeline_spec: Option<Value>,
    pub runtime_config: RuntimeConfig,
    pub service_account: String,
    pub max_concurrency: i64,
    /// The API's `trigger` (`cron_schedule` or `periodic_schedule`), kept as sent.
    pub trigger: Value,
    pub enabled: bool,
    pub no_catchup: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A recurring run to create, or the new content of an existing one
/// ([`MetadataStore::update_recurring_run`](crate::MetadataStore::update_recurring_run)).
#[derive(Debug, Clone, Default)]
pub struct NewRecurringRun {
    pub id: RecurringRunId,
    pub display_name: String,
    pub description: String,
    pub namespace: String,
    pub experiment_id: Option<ExperimentId>,
    pub pipeline_id: Option<PipelineId>,
    pub pipeline_version_id: Option<PipelineVersionId>,
    pub pipeline_spec: Option<Value>,
    pub runtime_config: RuntimeConfig,
    pub service_account: String,
    pub max_concurrency: i64,
    pub trigger: Value,
    pub enabled: bool,
    pub no_catchup: bool,
}

/// Most tags one run may carry.
pub const MAX_RUN_TAGS: usize = 32;
/// Longest tag, in characters.
pub const MAX_TAG_LEN: usize = 64;

/// Checks and normalizes run tags: each 1 to [`MAX_TAG_LEN`] characters of letters, digits and
/// `. _ - : / =`, at most [`MAX_RUN_TAGS`] of them. Returns them sorted, without duplicates.
pub fn check_tags(tags: &[String]) -> std::result::Result<Vec<String>, String> {
    let mut checked: Vec<String> = Vec::with_capacity(tags.len());
    for tag in tags {
        let tag = tag.trim();
        let allowed = |c: char| c.is_alphanumeric() || "._-:/=".contains(c);
        if tag.is_empty() || tag.chars().count() > MAX_TAG_LEN || !tag.chars().all(allowed) {
            return Err(format!(
                "tag `{}` is not valid: use 1 to {MAX_TAG_LEN} letters, digits or `. _ - : / =`",
                tag.chars().take(80).collect::<String>()
            ));
        }
        checked.push(tag.to_owned());
    }
    checked.sort();
    checked.dedup();
    if checked.len() > MAX_RUN_TAGS {
        return Err(format!(
            "a run has at most {MAX_RUN_TAGS} tags, not {}",
            checked.len()
        ));
    }
    Ok(checked)
}

/// JSON kept as the text it was stored as, decoded only where a caller needs it: a run's spec
/// is read with every run, and a large spec decoded as a [`Value`] takes about 30 times its
/// text in memory.
#[derive(Debug, Clone)]
pub struct StoredJson(Box<serde_json::value::RawValue>);

impl StoredJson {
    /// `text` must be valid JSON.
    pub fn from_text(text: String) -> serde_json::Result<StoredJson> {
        serde_json::value::RawValue::from_string(text).map(StoredJson)
    }

    pub fn text(&self) -> &str {
        self.0.get()
    }

    /// The JSON as it is written out again (serializing it copies the text, not a tree).
    pub fn raw(&self) -> &serde_json::value::RawValue {
        &self.0
    }

    /// The JSON as a value tree.
    pub fn to_value(&self) -> serde_json::Result<Value> {
        serde_json::from_str(self.0.get())
    }

    /// `value` written as JSON text, without an intermediate value tree.
    pub fn from_serialize<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<StoredJson> {
        serde_json::value::to_raw_value(value).map(StoredJson)
    }
}

impl From<&Value> for StoredJson {
    fn from(value: &Value) -> StoredJson {
        // A value always serializes: its map keys are strings and its numbers finite.
        StoredJson::from_serialize(value).unwrap_or_default()
    }
}

impl From<Value> for StoredJson {
    fn from(value: Value) -> StoredJson {
        StoredJson::from(&value)
    }
}

impl Default for StoredJson {
    fn default() -> Self {
        StoredJson(serde_json::value::RawValue::NULL.to_owned())
    }
}

impl PartialEq for StoredJson {
    fn eq(&self, other: &Self) -> bool {
        self.text() == other.text()
    }
}

impl Serialize for StoredJson {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}
