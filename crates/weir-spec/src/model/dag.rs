use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{is_empty_map, Extra, Value};

/// A DAG: named tasks plus the outputs the DAG exposes from its subtasks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DagSpec {
    #[serde(default, skip_serializing_if = "is_empty_map")]
    pub tasks: BTreeMap<String, PipelineTaskSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<DagOutputsSpec>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// One task of a DAG (`PipelineTaskSpec`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelineTaskSpec {
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "task_info")]
    pub task_info: Option<TaskInfo>,
    #[serde(default, alias = "component_ref")]
    pub component_ref: ComponentRef,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        alias = "dependent_tasks"
    )]
    pub dependent_tasks: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<TaskInputsSpec>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "caching_options"
    )]
    pub caching_options: Option<CachingOptions>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "trigger_policy"
    )]
    pub trigger_policy: Option<TriggerPolicy>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "parameter_iterator"
    )]
    pub parameter_iterator: Option<ParameterIteratorSpec>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "artifact_iterator"
    )]
    pub artifact_iterator: Option<ArtifactIteratorSpec>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "iterator_policy"
    )]
    pub iterator_policy: Option<IteratorPolicy>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "retry_policy"
    )]
    pub retry_policy: Option<RetryPolicy>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl PipelineTaskSpec {
    /// The display name (`taskInfo.name`), if any.
    pub fn display_name(&self) -> Option<&str> {
        self.task_info.as_ref()?.name.as_deref()
    }

    pub fn input_parameters(&self) -> impl Iterator<Item = (&String, &InputParameterSpec)> {
        self.inputs.iter().flat_map(|i| i.parameters.iter())
    }

    pub fn input_artifacts(&self) -> impl Iterator<Item = (&String, &InputArtifactSpec)> {
        self.inputs.iter().flat_map(|i| i.artifacts.iter())
    }

    /// The condition of `triggerPolicy.condition`, if any.
    pub fn condition(&self) -> Option<&str> {
        self.trigger_policy
            .as_ref()?
            .condition
            .as_deref()
            .filter(|c| !c.is_empty())
    }

    /// Whether the task runs once all upstream tasks are done, whatever their state
    /// (exit handlers and `ignore_upstream_failure`).
    pub fn runs_after_upstream_completes(&self) -> bool {
        self.trigger_policy
            .as_ref()
            .and_then(|t| t.strategy.as_deref())
            .is_some_and(|s| s == "ALL_UPSTREAM_TASKS_COMPLETED")
    }

    /// Whether caching is on for this task. Proto3 omits `false`, so `cachingOptions: {}` is off.
    pub fn cache_enabled(&self) -> bool {
        self.caching_options
            .as_ref()
            .and_then(|c| c.enable_cache)
            .unwrap_or(false)
    }

    /// The sibling tasks this one waits for: `dependentTasks` plus every producer named by an input
    /// (KFP's Argo compiler adds the latter implicitly). Sorted, without repeats.
    pub fn upstream_tasks(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.dependent_tasks.iter().map(String::as_str).collect();
        for (_, input) in self.input_parameters() {
            names.extend(input.producer_task());
        }
        for (_, input) in self.input_artifacts() {
            names.extend(input.producer_task());
        }
        names.sort_unstable();
        names.dedup();
        names
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ComponentRef {
    #[serde(default)]
    pub name: String,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskInputsSpec {
    #[serde(default, skip_serializing_if = "is_empty_map")]
    pub parameters: BTreeMap<String, InputParameterSpec>,
    #[serde(default, skip_serializing_if = "is_empty_map")]
    pub artifacts: BTreeMap<String, InputArtifactSpec>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Where a task's input parameter comes from (a protobuf oneof kept as optional fields so that
/// the spec round-trips; [`InputParameterSpec::source`] gives the typed view).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InputParameterSpec {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "task_output_parameter"
    )]
    pub task_output_parameter: Option<TaskOutputParameterSpec>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "runtime_value"
    )]
    pub runtime_value: Option<RuntimeValue>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "component_input_parameter"
    )]
    pub component_input_parameter: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "task_final_status"
    )]
    pub task_final_status: Option<TaskFinalStatusSpec>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "parameter_expression_selector"
    )]
    pub parameter_expression_selector: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The typed view of [`InputParameterSpec`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParameterSource<'a> {
    TaskOutput {
        producer_task: &'a str,
        output_key: &'a str,
    },
    Constant(&'a Value),
    ComponentInput(&'a str),
    TaskFinalStatus {
        producer_task: &'a str,
    },
    /// No source, or more than one; validation reports it.
    Invalid,
}

impl InputParameterSpec {
    pub fn source(&self) -> ParameterSource<'_> {
        let null = &Value::Null;
        let sources = [
            self.task_output_parameter
                .as_ref()
                .map(|t| ParameterSource::TaskOutput {
                    producer_task: &t.producer_task,
                    output_key: &t.output_parameter_key,
                }),
            self.runtime_value
                .as_ref()
                .map(|r| ParameterSource::Constant(r.constant.as_ref().unwrap_or(null))),
            self.component_input_parameter
                .as_deref()
                .map(ParameterSource::ComponentInput),
            self.task_final_status
                .as_ref()
                .map(|t| ParameterSource::TaskFinalStatus {
                    producer_task: &t.producer_task,
                }),
        ];
        let mut given = sources.into_iter().flatten();
        match (given.next(), given.next()) {
            (Some(source), None) => source,
            _ => ParameterSource::Invalid,
        }
    }

    /// The sibling task this input reads from, if any.
    pub fn producer_task(&self) -> Option<&str> {
        match self.source() {
            ParameterSource::TaskOutput { producer_task, .. } => Some(producer_task),
            ParameterSource::TaskFinalStatus { producer_task } => Some(producer_task),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskOutputParameterSpec {
    #[serde(default, alias = "producer_task")]
    pub producer_task: String,
    #[serde(default, alias = "output_parameter_key")]
    pub output_parameter_key: String,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RuntimeValue {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constant: Option<Value>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskFinalStatusSpec {
    #[serde(default, alias = "producer_task")]
    pub producer_task: String,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Where a task's input artifact comes from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InputArtifactSpec {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "task_output_artifact"
    )]
    pub task_output_artifact: Option<TaskOutputArtifactSpec>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "component_input_artifact"
    )]
    pub component_input_artifact: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ArtifactSource<'a> {
    TaskOutput {
        producer_task: &'a str,
        output_key: &'a str,
    },
    ComponentInput(&'a str),
    Invalid,
}

impl InputArtifactSpec {
    pub fn source(&self) -> ArtifactSource<'_> {
        match (&self.task_output_artifact, &self.component_input_artifact) {
            (Some(t), None) => ArtifactSource::TaskOutput {
                producer_task: &t.producer_task,
                output_key: &t.output_artifact_key,
            },
            (None, Some(name)) => ArtifactSource::ComponentInput(name),
            _ => ArtifactSource::Invalid,
        }
    }

    pub fn producer_task(&self) -> Option<&str> {
        match self.source() {
            ArtifactSource::TaskOutput { producer_task, .. } => Some(producer_task),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskOutputArtifactSpec {
    #[serde(default, alias = "producer_task")]
    pub producer_task: String,
    #[serde(default, alias = "output_artifact_key")]
    pub output_artifact_key: String,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `cachingOptions`. An absent `enableCache` means false (proto3 omits defaults).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CachingOptions {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "enable_cache"
    )]
    pub enable_cache: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "cache_key")]
    pub cache_key: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TriggerPolicy {
    /// A CEL expression over the task's inputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// `ALL_UPSTREAM_TASKS_SUCCEEDED` (the default) or `ALL_UPSTREAM_TASKS_COMPLETED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `parameterIterator`: a ParallelFor over a list parameter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParameterIteratorSpec {
    #[serde(default)]
    pub items: IteratorItems,
    #[serde(default, alias = "item_input")]
    pub item_input: String,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IteratorItems {
    /// A JSON list, as a string: `'[1, 2]'`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
    /// The name of one of the loop task's own input parameters.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "input_parameter"
    )]
    pub input_parameter: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `artifactIterator`: defined by the IR, never emitted by the SDK for ParallelFor.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactIteratorSpec {
    #[serde(default)]
    pub items: ArtifactIteratorItems,
    #[serde(default, alias = "item_input")]
    pub item_input: String,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactIteratorItems {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "input_artifact"
    )]
    pub input_artifact: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IteratorPolicy {
    /// 0 or absent: unlimited.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "parallelism_limit"
    )]
    pub parallelism_limit: Option<i64>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `retryPolicy`; durations are protobuf JSON strings such as `"5s"`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryPolicy {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "max_retry_count"
    )]
    pub max_retry_count: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "backoff_duration"
    )]
    pub backoff_duration: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "backoff_factor"
    )]
    pub backoff_factor: Option<f64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "backoff_max_duration"
    )]
    pub backoff_max_duration: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The outputs a DAG exposes, each selected from one of its subtasks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DagOutputsSpec {
    #[serde(default, skip_serializing_if = "is_empty_map")]
    pub parameters: BTreeMap<String, DagOutputParameterSpec>,
    #[serde(default, skip_serializing_if = "is_empty_map")]
    pub artifacts: BTreeMap<String, DagOutputArtifactSpec>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DagOutputParameterSpec {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "value_from_parameter"
    )]
    pub value_from_parameter: Option<ParameterSelector>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "value_from_oneof"
    )]
    pub value_from_oneof: Option<ParameterSelectorList>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl DagOutputParameterSpec {
    /// The selectors, in order; with several, the first whose producer ran wins (OneOf).
    pub fn selectors(&self) -> Vec<&ParameterSelector> {
        let mut selectors: Vec<&ParameterSelector> = self.value_from_parameter.iter().collect();
        if let Some(list) = &self.value_from_oneof {
            selectors.extend(list.parameter_selectors.iter());
        }
        selectors
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParameterSelector {
    #[serde(default, alias = "producer_subtask")]
    pub producer_subtask: String,
    #[serde(default, alias = "output_parameter_key")]
    pub output_parameter_key: String,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParameterSelectorList {
    #[serde(default, alias = "parameter_selectors")]
    pub parameter_selectors: Vec<ParameterSelector>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DagOutputArtifactSpec {
    #[serde(default, alias = "artifact_selectors")]
    pub artifact_selectors: Vec<ArtifactSelector>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactSelector {
    #[serde(default, alias = "producer_subtask")]
    pub producer_subtask: String,
    #[serde(default, alias = "output_artifact_key")]
    pub output_artifact_key: String,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Parses a protobuf JSON duration (`"5s"`, `"0.5s"`) into seconds.
pub fn parse_duration_seconds(text: &str) -> Option<f64> {
    let number = text.strip_suffix('s')?;
    let seconds: f64 = number.parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0 && !number.starts_with('+')).then_some(seconds)
}
