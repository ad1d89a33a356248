//! Cache fingerprints, computed the way KFP's driver does (`cacheutils/cache.go`), so that the
//! same task with the same inputs is recognised across runs.

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use weir_spec::model::{ComponentSpec, ContainerSpec, PipelineTaskSpec};

use crate::io::TaskIo;

/// The fingerprint of a container task about to run.
pub fn fingerprint(
    task: &PipelineTaskSpec,
    component: &ComponentSpec,
    container: &ContainerSpec,
    inputs: &TaskIo,
    pvc_names: &[String],
) -> String {
    if let Some(key) = task
        .caching_options
        .as_ref()
        .and_then(|c| c.cache_key.as_deref())
        .filter(|k| !k.is_empty())
    {
        return sha256_hex(format!("{}\0{key}", task.component_ref.name).as_bytes());
    }
    let mut cache_key = Map::new();
    let artifact_names: Map<String, Value> = inputs
        .artifacts
        .iter()
        .map(|(name, list)| {
            (
                name.clone(),
                json!({"artifactNames": list.iter().map(|a| a.id.to_string()).collect::<Vec<_>>()}),
            )
        })
        .collect();
    if !artifact_names.is_empty() {
        cache_key.insert("inputArtifactNames".into(), Value::Object(artifact_names));
    }
    let parameters: Map<String, Value> = inputs
        .parameters
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !parameters.is_empty() {
        cache_key.insert("inputParameterValues".into(), Value::Object(parameters));
    }
    let output_artifacts: Map<String, Value> = component
        .output_artifacts()
        .map(|(name, spec)| {
            let mut artifact = json!({"name": name, "type": spec.artifact_type});
            if let Some(metadata) = spec
                .metadata
                .as_ref()
                .filter(|m| m.as_object().is_some_and(|o| !o.is_empty()))
            {
                artifact["metadata"] = metadata.clone();
            }
            (name.clone(), artifact)
        })
        .collect();
    if !output_artifacts.is_empty() {
        cache_key.insert(
            "outputArtifactsSpec".into(),
            Value::Object(output_artifacts),
        );
    }
    let output_parameters: Map<String, Value> = component
        .output_parameters()
        .map(|(name, spec)| {
            (
                name.clone(),
                json!(spec
                    .parameter_type
                    .as_ref()
                    .map(|t| t.to_string())
                    .unwrap_or_default()),
            )
        })
        .collect();
    if !output_parameters.is_empty() {
        cache_key.insert(
            "outputParametersSpec".into(),
            Value::Object(output_parameters),
        );
    }
    let cmd_args: Vec<&String> = container.command.iter().chain(&container.args).collect();
    let mut container_spec = json!({"image": container.image, "cmdArgs": cmd_args});
    if !pvc_names.is_empty() {
        let mut names = pvc_names.to_vec();
        names.sort();
        names.dedup();
        container_spec["pvcNames"] = json!(names);
    }
    cache_key.insert("containerSpec".into(), container_spec);
    sha256_hex(go_json(&Value::Object(cache_key)).as_bytes())
}

/// Compact JSON with sorted keys and Go's escaping of `<`, `>` and `&` (which only occur inside
/// strings, so a textual replacement is exact).
fn go_json(value: &Value) -> String {
    value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_json_sorts_keys_and_escapes_html_characters() {
        assert_eq!(
            go_json(&json!({"b": "<&>", "a": 1})),
            r#"{"a":1,"b":"\u003c\u0026\u003e"}"#
        );
    }

    #[test]
    fn the_fingerprint_changes_with_inputs_and_command() {
        let task = PipelineTaskSpec::default();
        let component = ComponentSpec::default();
        let container = ContainerSpec {
            image: "python:3.11".into(),
            command: vec!["echo".into()],
            ..Default::default()
        };
        let mut inputs = TaskIo::default();
        inputs.parameters.insert("n".into(), json!(1));
        let first = fingerprint(&task, &component, &container, &inputs, &[]);
        assert_eq!(
            first,
            fingerprint(&task, &component, &container, &inputs, &[])
        );
        inputs.parameters.insert("n".into(), json!(2));
        assert_ne!(
            first,
            fingerprint(&task, &component, &container, &inputs, &[])
        );
        let other = ContainerSpec {
            command: vec!["printf".into()],
            ..container.clone()
        };
        assert_ne!(first, fingerprint(&task, &component, &other, &inputs, &[]));
    }
}
