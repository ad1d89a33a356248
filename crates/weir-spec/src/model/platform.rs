use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{is_empty_map, Extra, InputParameterSpec, TaskOutputParameterSpec, Value};

/// The optional second YAML document of a compiled pipeline: per-platform configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlatformSpec {
    #[serde(default)]
    pub platforms: Platforms,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Platforms {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<KubernetesPlatformSpec>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl PlatformSpec {
    /// The Kubernetes configuration of an executor, if the platform spec has one.
    pub fn kubernetes_executor(&self, label: &str) -> Option<&KubernetesExecutorConfig> {
        self.platforms
            .kubernetes
            .as_ref()?
            .deployment_spec
            .executors
            .get(label)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KubernetesPlatformSpec {
    #[serde(
        default,
        alias = "deployment_spec",
        skip_serializing_if = "KubernetesDeploymentSpec::is_empty"
    )]
    pub deployment_spec: KubernetesDeploymentSpec,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "pipeline_config"
    )]
    pub pipeline_config: Option<PipelineConfig>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KubernetesDeploymentSpec {
    #[serde(default, skip_serializing_if = "is_empty_map")]
    pub executors: BTreeMap<String, KubernetesExecutorConfig>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl KubernetesDeploymentSpec {
    fn is_empty(&self) -> bool {
        self.executors.is_empty() && self.extra.is_empty()
    }
}

/// `pipelineConfig`: the run's shared workspace and retention.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelineConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<WorkspaceConfig>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkspaceConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// kfp-kubernetes settings for one executor. Weir gives each a local meaning.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KubernetesExecutorConfig {
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        alias = "secret_as_env"
    )]
    pub secret_as_env: Vec<SecretAsEnv>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        alias = "secret_as_volume"
    )]
    pub secret_as_volume: Vec<SecretAsVolume>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        alias = "config_map_as_env"
    )]
    pub config_map_as_env: Vec<ConfigMapAsEnv>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        alias = "config_map_as_volume"
    )]
    pub config_map_as_volume: Vec<ConfigMapAsVolume>,
    #[serde(default, skip_serializing_if = "Vec::is_empty", alias = "pvc_mount")]
    pub pvc_mount: Vec<PvcMount>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        alias = "field_path_as_env"
    )]
    pub field_path_as_env: Vec<FieldPathAsEnv>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "pod_metadata"
    )]
    pub pod_metadata: Option<PodMetadata>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "node_selector"
    )]
    pub node_selector: Option<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Value>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        alias = "node_affinity"
    )]
    pub node_affinity: Vec<Value>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        alias = "image_pull_secret"
    )]
    pub image_pull_secret: Vec<Value>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "image_pull_policy"
    )]
    pub image_pull_policy: Option<String>,
    /// int64 as a string in protobuf JSON, a number from some writers.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "active_deadline_seconds"
    )]
    pub active_deadline_seconds: Option<Value>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        alias = "empty_dir_mounts"
    )]
    pub empty_dir_mounts: Vec<EmptyDirMount>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretAsEnv {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "secret_name"
    )]
    pub secret_name: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "secret_name_parameter"
    )]
    pub secret_name_parameter: Option<InputParameterSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty", alias = "key_to_env")]
    pub key_to_env: Vec<SecretKeyToEnv>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyToEnv {
    #[serde(default, alias = "secret_key")]
    pub secret_key: String,
    #[serde(default, alias = "env_var")]
    pub env_var: String,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretAsVolume {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "secret_name"
    )]
    pub secret_name: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "secret_name_parameter"
    )]
    pub secret_name_parameter: Option<InputParameterSpec>,
    #[serde(default, alias = "mount_path")]
    pub mount_path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMapAsEnv {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "config_map_name"
    )]
    pub config_map_name: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "config_map_name_parameter"
    )]
    pub config_map_name_parameter: Option<InputParameterSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty", alias = "key_to_env")]
    pub key_to_env: Vec<ConfigMapKeyToEnv>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMapKeyToEnv {
    #[serde(default, alias = "config_map_key")]
    pub config_map_key: String,
    #[serde(default, alias = "env_var")]
    pub env_var: String,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMapAsVolume {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "config_map_name"
    )]
    pub config_map_name: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "config_map_name_parameter"
    )]
    pub config_map_name_parameter: Option<InputParameterSpec>,
    #[serde(default, alias = "mount_path")]
    pub mount_path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A PVC mount. The name is in `pvcNameParameter` (newer SDKs) or in the legacy oneof fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PvcMount {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constant: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "component_input_parameter"
    )]
    pub component_input_parameter: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "task_output_parameter"
    )]
    pub task_output_parameter: Option<TaskOutputParameterSpec>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "pvc_name_parameter"
    )]
    pub pvc_name_parameter: Option<InputParameterSpec>,
    #[serde(default, alias = "mount_path")]
    pub mount_path: String,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldPathAsEnv {
    #[serde(default)]
    pub name: String,
    #[serde(default, alias = "field_path")]
    pub field_path: String,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PodMetadata {
    #[serde(default, skip_serializing_if = "is_empty_map")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "is_empty_map")]
    pub annotations: BTreeMap<String, String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmptyDirMount {
    #[serde(default, alias = "volume_name")]
    pub volume_name: String,
    #[serde(default, alias = "mount_path")]
    pub mount_path: String,
    #[serde(flatten)]
    pub extra: Extra,
}
