//! What the engine adds to the store's task data ([`TaskIo`], [`ArtifactRef`]): the KFP forms
//! of an artifact (its `RuntimeArtifact` in an ExecutorInput, its local path) and the type an
//! artifact gets from the spec.

use serde_json::{json, Value};
use weir_spec::model::ArtifactTypeSchema;
pub(crate) use weir_store::{ArtifactRef, ArtifactType, TaskIo};

/// An artifact as a step sees it.
pub(crate) trait KfpArtifact {
    /// The `RuntimeArtifact` JSON of an input artifact in the ExecutorInput.
    fn runtime_artifact(&self) -> Value;
    /// The local path of the artifact: Weir's local URIs are paths; remote schemes map to the
    /// mount points KFP components expect.
    fn local_path(&self) -> String;
}

impl KfpArtifact for ArtifactRef {
    fn runtime_artifact(&self) -> Value {
        json!({
            "name": self.id.to_string(),
            "type": self.artifact_type,
            "uri": self.uri,
            "metadata": if self.metadata.is_null() { json!({}) } else { self.metadata.clone() },
        })
    }

    fn local_path(&self) -> String {
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

/// The type recorded with an artifact of the spec's `type_schema`: the same fields.
pub(crate) fn artifact_type(schema: &ArtifactTypeSchema) -> ArtifactType {
    ArtifactType {
        schema_title: schema.schema_title.clone(),
        schema_version: schema.schema_version.clone(),
        instance_schema: schema.instance_schema.clone(),
        extra: schema.extra.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_artifact_type_is_written_as_the_spec_writes_it() {
        let schema: ArtifactTypeSchema = serde_json::from_value(json!({
            "schemaTitle": "system.Model", "schemaVersion": "0.0.1", "custom": {"a": 1}
        }))
        .expect("a type schema");
        assert_eq!(
            json!(artifact_type(&schema)),
            serde_json::to_value(&schema).expect("serializes")
        );
    }
}
