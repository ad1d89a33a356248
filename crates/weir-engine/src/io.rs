//! The JSON shapes of a task's inputs and outputs as the store keeps them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// A recorded artifact as inputs and outputs refer to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtifactRef {
    /// The store's artifact id (KFP passes MLMD ids as the artifact `name`).
    pub id: i64,
    pub name: String,
    pub uri: String,
    #[serde(rename = "type")]
    pub artifact_type: Value,
    #[serde(default)]
    pub metadata: Value,
}

impl ArtifactRef {
    /// The `RuntimeArtifact` JSON of an input artifact in the ExecutorInput.
    pub fn runtime_artifact(&self) -> Value {
        json!({
            "name": self.id.to_string(),
            "type": self.artifact_type,
            "uri": self.uri,
            "metadata": if self.metadata.is_null() { json!({}) } else { self.metadata.clone() },
        })
    }

    /// The local path of the artifact: Weir's local URIs are paths; remote schemes map to the
    /// mount points KFP components expect.
    pub fn local_path(&self) -> String {
        local_path(&self.uri)
    }
}

/// KFP's URI-to-path mapping (`gs://b/k` -> `/gcs/b/k`, `minio://` -> `/minio/`, `s3://` -> `/s3/`).
pub fn local_path(uri: &str) -> String {
    for (scheme, mount) in [
        ("gs://", "/gcs/"),
        ("minio://", "/minio/"),
        ("s3://", "/s3/"),
    ] {
        if let Some(rest) = uri.strip_prefix(scheme) {
            return format!("{mount}{rest}");
        }
    }
    uri.to_owned()
}

/// Parameters and artifacts, as inputs or outputs of a task.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskIo {
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub parameters: Map<String, Value>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub artifacts: BTreeMap<String, Vec<ArtifactRef>>,
}

impl TaskIo {
    pub fn from_value(value: &Value) -> TaskIo {
        serde_json::from_value(value.clone()).unwrap_or_default()
    }

    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or_else(|_| json!({}))
    }

    /// A parameter that was supplied (null counts as not supplied, as in KFP's driver).
    pub fn parameter(&self, name: &str) -> Option<&Value> {
        self.parameters.get(name).filter(|v| !v.is_null())
    }
}
