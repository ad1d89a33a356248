//! The typed data of a task: its inputs and outputs ([`TaskIo`]) and what the engine records
//! about it ([`TaskDetails`]). Each is one JSON column of the `tasks` table; the field names are
//! the keys stored since the first release, so rows written by any version decode. A row that
//! does not decode is a [`StoreError::CorruptTaskData`](crate::StoreError::CorruptTaskData).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use weir_types::{RunId, TaskId};

/// Parameters and artifacts, as the inputs or the outputs of a task.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskIo {
    /// By name. KFP parameter values are any JSON value; `null` counts as not supplied.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub parameters: Map<String, Value>,
    /// By name: the artifacts of an input or output (a list for loops' collected outputs).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub artifacts: BTreeMap<String, Vec<ArtifactRef>>,
}

impl TaskIo {
    /// A parameter that was supplied (null counts as not supplied, as in KFP's driver).
    pub fn parameter(&self, name: &str) -> Option<&Value> {
        self.parameters.get(name).filter(|v| !v.is_null())
    }
}

/// A recorded artifact as inputs and outputs refer to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtifactRef {
    /// The store's artifact id (KFP passes MLMD ids as the artifact `name`).
    pub id: i64,
    pub name: String,
    pub uri: String,
    #[serde(rename = "type")]
    pub artifact_type: ArtifactType,
    /// The artifact's metadata: any JSON object (a KFP `Struct`); `null` when none was recorded.
    #[serde(default)]
    pub metadata: Value,
}

/// `{schemaTitle, schemaVersion}` of an artifact (`system.Dataset`, `0.0.1`), as the spec's
/// `ArtifactTypeSchema` writes it; unknown keys are kept.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactType {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "schema_title"
    )]
    pub schema_title: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "schema_version"
    )]
    pub schema_version: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "instance_schema"
    )]
    pub instance_schema: Option<String>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl ArtifactType {
    /// `system.Artifact` is the generic type every artifact type converts to and from.
    pub fn title(&self) -> &str {
        self.schema_title.as_deref().unwrap_or("system.Artifact")
    }
}

/// What the engine records about an execution besides its inputs and outputs. Every kind has a
/// component; loops add their items, container steps their launch (or, for a cache hit, where
/// the outputs came from). Fields that do not apply are absent from the stored JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskDetails {
    /// The component the execution runs (`root` for the root).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    /// Runs whatever happened upstream (an exit handler, `ignore_upstream_failure`) and is not
    /// stopped by a cancel.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exit_task: bool,

    /// A loop: the items it iterates over, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<Value>>,
    /// A loop: how many items (iterations) it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iteration_count: Option<usize>,
    /// A loop: at most this many iterations at once (absent or `null`: no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallelism: Option<u64>,

    /// A container step: its image as the spec names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// A container step: the command line it was launched with. Present once it was dispatched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// A container step: the KFP `ExecutorInput` it was given (KFP's JSON, passed as it is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor_input: Option<Value>,
    /// A container step with its cache on: the fingerprint its outputs are cached under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// A container step: the Kubernetes settings that have no local meaning, recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<PlatformDetails>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_limit_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_limit: Option<f64>,
    /// A cache hit: the earlier task whose outputs it reused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_from: Option<CachedFrom>,
}

/// The task a cache hit took its outputs from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CachedFrom {
    pub run_id: RunId,
    pub task_id: TaskId,
    pub path: String,
}

/// The pod settings of a step's Kubernetes executor config, recorded on the task (protobuf
/// JSON names, as in the platform spec). Lists and maps are Kubernetes objects kept as sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlatformDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub node_affinity: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_pull_secret: Vec<Value>,
    /// The pod's labels; present (maybe empty) when the config has pod metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

impl PlatformDetails {
    pub fn is_empty(&self) -> bool {
        *self == PlatformDetails::default()
    }
}
