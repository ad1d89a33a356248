use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{is_empty_map, DagSpec, ExecutorSpec, Extra, ParameterType, Value};

/// A compiled pipeline: the first YAML document of a KFP IR file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelineSpec {
    #[serde(default, alias = "pipeline_info")]
    pub pipeline_info: PipelineInfo,
    #[serde(default, skip_serializing_if = "is_empty_map")]
    pub components: BTreeMap<String, ComponentSpec>,
    #[serde(default, alias = "deployment_spec")]
    pub deployment_spec: DeploymentSpec,
    #[serde(default)]
    pub root: ComponentSpec,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "schema_version"
    )]
    pub schema_version: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "sdk_version"
    )]
    pub sdk_version: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "default_pipeline_root"
    )]
    pub default_pipeline_root: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl PipelineSpec {
    /// The component a task refers to, by `componentRef.name`.
    pub fn component(&self, name: &str) -> Option<&ComponentSpec> {
        self.components.get(name)
    }

    /// The executor a leaf component refers to, by `executorLabel`.
    pub fn executor(&self, label: &str) -> Option<&ExecutorSpec> {
        self.deployment_spec.executors.get(label)
    }

    /// The pipeline's name (`pipelineInfo.name`), empty when absent.
    pub fn name(&self) -> &str {
        self.pipeline_info.name.as_deref().unwrap_or_default()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelineInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "display_name"
    )]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `deploymentSpec`: how each leaf component is executed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeploymentSpec {
    #[serde(default)]
    pub executors: BTreeMap<String, ExecutorSpec>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A component: typed inputs and outputs plus either an executor (a leaf) or a DAG.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentSpec {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "input_definitions"
    )]
    pub input_definitions: Option<InputDefinitions>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "output_definitions"
    )]
    pub output_definitions: Option<OutputDefinitions>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "executor_label"
    )]
    pub executor_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dag: Option<DagSpec>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// What a component runs: the oneof of `ComponentSpec.implementation`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Implementation<'a> {
    Executor(&'a str),
    Dag(&'a DagSpec),
    /// Neither or both were given; validation reports it.
    Invalid,
}

impl ComponentSpec {
    pub fn implementation(&self) -> Implementation<'_> {
        match (&self.executor_label, &self.dag) {
            (Some(label), None) => Implementation::Executor(label),
            (None, Some(dag)) => Implementation::Dag(dag),
            _ => Implementation::Invalid,
        }
    }

    pub fn input_parameter(&self, name: &str) -> Option<&ParameterSpec> {
        self.input_definitions.as_ref()?.parameters.get(name)
    }

    pub fn input_artifact(&self, name: &str) -> Option<&ArtifactSpec> {
        self.input_definitions.as_ref()?.artifacts.get(name)
    }

    pub fn output_parameter(&self, name: &str) -> Option<&ParameterSpec> {
        self.output_definitions.as_ref()?.parameters.get(name)
    }

    pub fn output_artifact(&self, name: &str) -> Option<&ArtifactSpec> {
        self.output_definitions.as_ref()?.artifacts.get(name)
    }

    /// Input parameters, empty when the component declares none.
    pub fn input_parameters(&self) -> impl Iterator<Item = (&String, &ParameterSpec)> {
        self.input_definitions
            .iter()
            .flat_map(|d| d.parameters.iter())
    }

    pub fn input_artifacts(&self) -> impl Iterator<Item = (&String, &ArtifactSpec)> {
        self.input_definitions
            .iter()
            .flat_map(|d| d.artifacts.iter())
    }

    pub fn output_parameters(&self) -> impl Iterator<Item = (&String, &ParameterSpec)> {
        self.output_definitions
            .iter()
            .flat_map(|d| d.parameters.iter())
    }

    pub fn output_artifacts(&self) -> impl Iterator<Item = (&String, &ArtifactSpec)> {
        self.output_definitions
            .iter()
            .flat_map(|d| d.artifacts.iter())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InputDefinitions {
    #[serde(default, skip_serializing_if = "is_empty_map")]
    pub parameters: BTreeMap<String, ParameterSpec>,
    #[serde(default, skip_serializing_if = "is_empty_map")]
    pub artifacts: BTreeMap<String, ArtifactSpec>,
    #[serde(flatten)]
    pub extra: Extra,
}

pub type OutputDefinitions = InputDefinitions;

/// A declared parameter (input or output) of a component.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParameterSpec {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "parameter_type"
    )]
    pub parameter_type: Option<ParameterType>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "default_value"
    )]
    pub default_value: Option<Value>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "is_optional"
    )]
    pub is_optional: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub literals: Option<Vec<Value>>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl ParameterSpec {
    /// Optional in KFP's sense: marked optional, or carrying a default.
    pub fn is_optional(&self) -> bool {
        self.is_optional.unwrap_or(false) || self.default_value.is_some()
    }
}

/// A declared artifact (input or output) of a component.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactSpec {
    #[serde(default, alias = "artifact_type")]
    pub artifact_type: ArtifactTypeSchema,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "is_artifact_list"
    )]
    pub is_artifact_list: Option<bool>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "is_optional"
    )]
    pub is_optional: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl ArtifactSpec {
    pub fn is_list(&self) -> bool {
        self.is_artifact_list.unwrap_or(false)
    }
}

/// `{schemaTitle, schemaVersion}` of an artifact (`system.Dataset`, `0.0.1`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactTypeSchema {
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
    pub extra: Extra,
}

impl ArtifactTypeSchema {
    /// `system.Artifact` is the generic type every artifact type converts to and from.
    pub fn title(&self) -> &str {
        self.schema_title.as_deref().unwrap_or("system.Artifact")
    }
}
