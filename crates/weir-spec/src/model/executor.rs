use serde::{Deserialize, Serialize};

use super::{ArtifactTypeSchema, Extra, Value};

/// One entry of `deploymentSpec.executors` (a protobuf oneof kept as optional fields).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutorSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<ContainerSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub importer: Option<ImporterSpec>,
    /// Defined by the IR; the KFP backend refuses it and so does Weir.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolver: Option<Value>,
    /// Google Cloud custom jobs; refused.
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "custom_job")]
    pub custom_job: Option<Value>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The typed view of [`ExecutorSpec`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ExecutorKind<'a> {
    Container(&'a ContainerSpec),
    Importer(&'a ImporterSpec),
    Resolver,
    CustomJob,
    /// None or several were given.
    Invalid,
}

impl ExecutorSpec {
    pub fn kind(&self) -> ExecutorKind<'_> {
        let kinds = [
            self.container.as_ref().map(ExecutorKind::Container),
            self.importer.as_ref().map(ExecutorKind::Importer),
            self.resolver.as_ref().map(|_| ExecutorKind::Resolver),
            self.custom_job.as_ref().map(|_| ExecutorKind::CustomJob),
        ];
        let mut given = kinds.into_iter().flatten();
        match (given.next(), given.next()) {
            (Some(kind), None) => kind,
            _ => ExecutorKind::Invalid,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContainerSpec {
    #[serde(default)]
    pub image: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceSpec>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EnvVar {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub value: String,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Resources, in both encodings the SDK writes: legacy doubles (memory in GB) and
/// Kubernetes quantity strings (`resourceMemoryLimit: 256Mi`). The strings win when set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceSpec {
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "cpu_limit")]
    pub cpu_limit: Option<f64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "memory_limit"
    )]
    pub memory_limit: Option<f64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "cpu_request"
    )]
    pub cpu_request: Option<f64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "memory_request"
    )]
    pub memory_request: Option<f64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "resource_cpu_limit"
    )]
    pub resource_cpu_limit: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "resource_memory_limit"
    )]
    pub resource_memory_limit: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "resource_cpu_request"
    )]
    pub resource_cpu_request: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "resource_memory_request"
    )]
    pub resource_memory_request: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accelerator: Option<AcceleratorSpec>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AcceleratorSpec {
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "type")]
    pub accelerator_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<Value>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "resource_type"
    )]
    pub resource_type: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "resource_count"
    )]
    pub resource_count: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// An importer: brings an existing artifact URI into the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImporterSpec {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "artifact_uri"
    )]
    pub artifact_uri: Option<ImporterUri>,
    #[serde(default, alias = "type_schema")]
    pub type_schema: ArtifactTypeSchema,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reimport: Option<bool>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "download_to_workspace"
    )]
    pub download_to_workspace: Option<bool>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `artifactUri`: a constant, or the name of the importer task's input parameter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImporterUri {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constant: Option<Value>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "runtime_parameter"
    )]
    pub runtime_parameter: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}
