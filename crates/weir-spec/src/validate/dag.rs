//! Checks of a DAG: references between tasks, input sources and their types, loops,
//! conditions, retry policies, cycles and DAG outputs.

use std::collections::{BTreeMap, BTreeSet};

use super::Checker;
use crate::cel;
use crate::diagnostic::{Code, Diagnostic};
use crate::model::{
    parse_duration_seconds, ArtifactSource, ComponentSpec, DagSpec, ParameterSource, ParameterType,
    PipelineTaskSpec,
};

/// Task inputs named like this carry values the SDK threads through for conditions, loops and
/// f-strings; they need not be declared by the component.
const CHANNEL_PREFIX: &str = "pipelinechannel--";

pub(super) fn check<'a>(
    checker: &mut Checker<'a>,
    path: &str,
    owner: &'a ComponentSpec,
    dag: &'a DagSpec,
) {
    let dag_path = format!("{path}.dag");
    for (name, task) in &dag.tasks {
        let task_path = format!("{dag_path}.tasks.{name}");
        TaskCheck {
            checker: &mut *checker,
            path: task_path,
            owner,
            dag,
            task,
        }
        .run();
    }
    check_cycles(checker, &dag_path, dag);
    check_outputs(checker, &dag_path, owner, dag);
}

struct TaskCheck<'c, 'a> {
    checker: &'c mut Checker<'a>,
    path: String,
    owner: &'a ComponentSpec,
    dag: &'a DagSpec,
    task: &'a PipelineTaskSpec,
}

impl<'a> TaskCheck<'_, 'a> {
    fn run(mut self) {
        let target = self.target();
        for (index, dependency) in self.task.dependent_tasks.iter().enumerate() {
            if !self.dag.tasks.contains_key(dependency) {
                self.unknown_task(
                    &format!("{}.dependentTasks[{index}]", self.path),
                    dependency,
                );
            }
        }
        self.check_parameters(target);
        self.check_artifacts(target);
        if let Some(target) = target {
            self.check_missing_inputs(target);
        }
        self.check_trigger();
        self.check_iterator(target);
        self.check_retry();
    }

    fn target(&mut self) -> Option<&'a ComponentSpec> {
        let name = &self.task.component_ref.name;
        let found = self.checker.spec.component(name);
        if found.is_none() {
            self.checker.error(
                Code::UnknownComponent,
                format!("{}.componentRef.name", self.path),
                format!("the component `{name}` is not defined in `components`"),
                "add the component, or fix `componentRef.name`",
            );
        }
        found
    }

    fn unknown_task(&mut self, path: &str, name: &str) {
        let known: Vec<&str> = self.dag.tasks.keys().map(String::as_str).collect();
        self.checker.error(
            Code::UnknownTask,
            path.to_owned(),
            format!("`{name}` is not a task of this DAG"),
            &format!("tasks here: {}", known.join(", ")),
        );
    }

    /// The producer task's component, or a diagnostic when the producer does not exist.
    fn producer(&mut self, path: &str, producer_task: &str) -> Option<&'a ComponentSpec> {
        match self.dag.tasks.get(producer_task) {
            None => {
                self.unknown_task(path, producer_task);
                None
            }
            Some(producer) => self.checker.spec.component(&producer.component_ref.name),
        }
    }

    fn check_parameters(&mut self, target: Option<&'a ComponentSpec>) {
        for (name, input) in self.task.input_parameters() {
            let path = format!("{}.inputs.parameters.{name}", self.path);
            let expected = target
                .and_then(|t| t.input_parameter(name))
                .and_then(|p| p.parameter_type.clone());
            let declared = target.is_none_or(|t| t.input_parameter(name).is_some());
            if !declared && !name.starts_with(CHANNEL_PREFIX) {
                self.checker.error(
                    Code::UnknownInput,
                    path.clone(),
                    format!("the task passes `{name}`, which its component does not declare as an input parameter"),
                    "remove the input, or declare it in the component's inputDefinitions",
                );
            }
            if let Some(selector) = &input.parameter_expression_selector {
                if let Err(error) = cel::parse(selector) {
                    self.checker.error(
                        Code::InvalidCondition,
                        format!("{path}.parameterExpressionSelector"),
                        format!("the selector `{selector}` is not a valid expression: {error}"),
                        "the SDK writes selectors such as parseJson(string_value)[\"key\"]",
                    );
                }
            }
            // A selector changes the value's type, so only unselected values are type-checked.
            let expected = expected.filter(|_| input.parameter_expression_selector.is_none());
            let actual = match input.source() {
                ParameterSource::TaskOutput {
                    producer_task,
                    output_key,
                } => {
                    let source_path = format!("{path}.taskOutputParameter.producerTask");
                    let Some(producer) = self.producer(&source_path, producer_task) else {
                        continue;
                    };
                    match producer.output_parameter(output_key) {
                        Some(output) => output.parameter_type.clone(),
                        None => {
                            self.checker.error(
                                Code::UnknownOutput,
                                format!("{path}.taskOutputParameter.outputParameterKey"),
                                format!("the task `{producer_task}` has no output parameter `{output_key}`"),
                                &available(producer.output_parameters().map(|(n, _)| n)),
                            );
                            continue;
                        }
                    }
                }
                ParameterSource::ComponentInput(parent_input) => match self
                    .owner
                    .input_parameter(parent_input)
                {
                    Some(parent) => parent.parameter_type.clone(),
                    None => {
                        self.checker.error(
                            Code::UnknownInput,
                            format!("{path}.componentInputParameter"),
                            format!("the enclosing DAG has no input parameter `{parent_input}`"),
                            &available(self.owner.input_parameters().map(|(n, _)| n)),
                        );
                        continue;
                    }
                },
                ParameterSource::Constant(value) => {
                    if let Some(expected) = &expected {
                        let is_placeholder_text = value.as_str().is_some_and(|s| s.contains("{{$"));
                        let is_known = !matches!(expected, ParameterType::Unknown(_));
                        if is_known
                            && !is_placeholder_text
                            && !value.is_null()
                            && !expected.accepts(value)
                        {
                            self.checker.error(
                                Code::TypeMismatch,
                                format!("{path}.runtimeValue.constant"),
                                format!("the constant {value} is passed to `{name}`, which is a {expected}"),
                                "pass a value of the declared type",
                            );
                        }
                    }
                    continue;
                }
                ParameterSource::TaskFinalStatus { producer_task } => {
                    let source_path = format!("{path}.taskFinalStatus.producerTask");
                    if !self.dag.tasks.contains_key(producer_task) {
                        self.unknown_task(&source_path, producer_task);
                    }
                    continue;
                }
                ParameterSource::Invalid => {
                    self.checker.error(
                        Code::InvalidInputSource,
                        path.clone(),
                        "the input must have exactly one of taskOutputParameter, runtimeValue, componentInputParameter or taskFinalStatus",
                        "keep one source for the input",
                    );
                    continue;
                }
            };
            if let (Some(expected), Some(actual)) = (expected, actual) {
                if !parameter_types_compatible(&actual, &expected) {
                    self.checker.error(
                        Code::TypeMismatch,
                        path.clone(),
                        format!("`{name}` is a {expected}, but receives a {actual}"),
                        "connect an output of the same type, or change the declared types",
                    );
                }
            }
        }
    }

    fn check_artifacts(&mut self, target: Option<&'a ComponentSpec>) {
        for (name, input) in self.task.input_artifacts() {
            let path = format!("{}.inputs.artifacts.{name}", self.path);
            let expected = target.and_then(|t| t.input_artifact(name));
            if target.is_some() && expected.is_none() && !name.starts_with(CHANNEL_PREFIX) {
                self.checker.error(
                    Code::UnknownInput,
                    path.clone(),
                    format!("the task passes the artifact `{name}`, which its component does not declare"),
                    "remove the input, or declare it in the component's inputDefinitions.artifacts",
                );
            }
            let actual = match input.source() {
                ArtifactSource::TaskOutput {
                    producer_task,
                    output_key,
                } => {
                    let source_path = format!("{path}.taskOutputArtifact.producerTask");
                    let Some(producer) = self.producer(&source_path, producer_task) else {
                        continue;
                    };
                    match producer.output_artifact(output_key) {
                        Some(output) => output,
                        None => {
                            self.checker.error(
                                Code::UnknownOutput,
                                format!("{path}.taskOutputArtifact.outputArtifactKey"),
                                format!("the task `{producer_task}` has no output artifact `{output_key}`"),
                                &available(producer.output_artifacts().map(|(n, _)| n)),
                            );
                            continue;
                        }
                    }
                }
                ArtifactSource::ComponentInput(parent_input) => {
                    match self.owner.input_artifact(parent_input) {
                        Some(parent) => parent,
                        None => {
                            self.checker.error(
                                Code::UnknownInput,
                                format!("{path}.componentInputArtifact"),
                                format!("the enclosing DAG has no input artifact `{parent_input}`"),
                                &available(self.owner.input_artifacts().map(|(n, _)| n)),
                            );
                            continue;
                        }
                    }
                }
                ArtifactSource::Invalid => {
                    self.checker.error(
                        Code::InvalidInputSource,
                        path.clone(),
                        "the artifact input must have exactly one of taskOutputArtifact or componentInputArtifact",
                        "keep one source for the input",
                    );
                    continue;
                }
            };
            let Some(expected) = expected else { continue };
            let (want, got) = (expected.artifact_type.title(), actual.artifact_type.title());
            let generic = want == "system.Artifact" || got == "system.Artifact";
            if want != got && !generic {
                self.checker.error(
                    Code::ArtifactTypeMismatch,
                    path.clone(),
                    format!("`{name}` takes a {want}, but receives a {got}"),
                    "connect an artifact of the same type, or declare the input as system.Artifact",
                );
            }
        }
    }

    fn check_missing_inputs(&mut self, target: &ComponentSpec) {
        let item_input = self
            .task
            .parameter_iterator
            .as_ref()
            .map(|i| i.item_input.as_str());
        let supplied: BTreeSet<&str> = self
            .task
            .input_parameters()
            .map(|(n, _)| n.as_str())
            .collect();
        for (name, parameter) in target.input_parameters() {
            let is_status = parameter.parameter_type == Some(ParameterType::TaskFinalStatus);
            let supplied = supplied.contains(name.as_str()) || item_input == Some(name.as_str());
            if !supplied && !parameter.is_optional() && !is_status {
                self.checker.error(
                    Code::MissingInput,
                    format!("{}.inputs.parameters", self.path),
                    format!(
                        "the required input parameter `{name}` of `{}` is not supplied",
                        self.task.component_ref.name
                    ),
                    &format!("pass `{name}`, or give it a default in the component"),
                );
            }
        }
        let artifacts: BTreeSet<&str> = self
            .task
            .input_artifacts()
            .map(|(n, _)| n.as_str())
            .collect();
        for (name, artifact) in target.input_artifacts() {
            if !artifacts.contains(name.as_str()) && !artifact.is_optional.unwrap_or(false) {
                self.checker.error(
                    Code::MissingInput,
                    format!("{}.inputs.artifacts", self.path),
                    format!(
                        "the required input artifact `{name}` of `{}` is not supplied",
                        self.task.component_ref.name
                    ),
                    &format!("connect an artifact to `{name}`, or mark it optional"),
                );
            }
        }
    }

    fn check_trigger(&mut self) {
        let Some(policy) = &self.task.trigger_policy else {
            return;
        };
        if let Some(strategy) = &policy.strategy {
            let known = [
                "ALL_UPSTREAM_TASKS_SUCCEEDED",
                "ALL_UPSTREAM_TASKS_COMPLETED",
                "TRIGGER_STRATEGY_UNSPECIFIED",
            ];
            if !known.contains(&strategy.as_str()) {
                self.checker.error(
                    Code::InvalidField,
                    format!("{}.triggerPolicy.strategy", self.path),
                    format!("`{strategy}` is not a trigger strategy"),
                    "use ALL_UPSTREAM_TASKS_SUCCEEDED or ALL_UPSTREAM_TASKS_COMPLETED",
                );
            }
        }
        let Some(condition) = self.task.condition() else {
            return;
        };
        let path = format!("{}.triggerPolicy.condition", self.path);
        match cel::parse(condition) {
            Err(error) => self.checker.error(
                Code::InvalidCondition,
                path,
                format!("the condition `{condition}` is not a valid expression: {error}"),
                "conditions are CEL, e.g. inputs.parameter_values['pipelinechannel--x'] == 'heads'",
            ),
            Ok(expression) => {
                let inputs: BTreeSet<&str> = self
                    .task
                    .input_parameters()
                    .map(|(n, _)| n.as_str())
                    .collect();
                for referenced in expression.referenced_parameters() {
                    if !inputs.contains(referenced.as_str()) {
                        self.checker.error(
                            Code::UnknownInput,
                            path.clone(),
                            format!("the condition reads `{referenced}`, which is not an input of this task"),
                            "conditions can only read the task's own input parameters",
                        );
                    }
                }
            }
        }
    }

    fn check_iterator(&mut self, target: Option<&'a ComponentSpec>) {
        if self.task.artifact_iterator.is_some() {
            self.checker.error(
                Code::UnsupportedFeature,
                format!("{}.artifactIterator", self.path),
                "artifact iterators are not supported (KFP's backend does not implement them either)",
                "loop over a list parameter instead",
            );
        }
        if let Some(limit) = self
            .task
            .iterator_policy
            .as_ref()
            .and_then(|p| p.parallelism_limit)
        {
            if limit < 0 {
                self.checker.error(
                    Code::InvalidField,
                    format!("{}.iteratorPolicy.parallelismLimit", self.path),
                    format!("the parallelism limit {limit} is negative"),
                    "use 0 for unlimited, or a positive number",
                );
            }
        }
        let Some(iterator) = &self.task.parameter_iterator else {
            return;
        };
        let path = format!("{}.parameterIterator", self.path);
        let item_type = target
            .and_then(|t| t.input_parameter(&iterator.item_input))
            .and_then(|p| p.parameter_type.clone());
        if target.is_some() && item_type.is_none() {
            self.checker.error(
                Code::InvalidLoopItems,
                format!("{path}.itemInput"),
                format!(
                    "the loop body does not declare the item input `{}`",
                    iterator.item_input
                ),
                "declare the item input in the loop component's inputDefinitions",
            );
        }
        match (&iterator.items.raw, &iterator.items.input_parameter) {
            (Some(raw), None) => self.check_raw_items(&path, raw, item_type.as_ref()),
            (None, Some(input)) => self.check_items_input(&path, input),
            _ => self.checker.error(
                Code::InvalidLoopItems,
                format!("{path}.items"),
                "the loop needs exactly one of `items.raw` or `items.inputParameter`",
                "the SDK writes `items: {raw: '[1, 2]'}` or `items: {inputParameter: <input name>}`",
            ),
        }
    }

    fn check_raw_items(&mut self, path: &str, raw: &str, item_type: Option<&ParameterType>) {
        let items = match serde_json::from_str::<serde_json::Value>(raw) {
            Ok(serde_json::Value::Array(items)) => items,
            _ => {
                self.checker.error(
                    Code::InvalidLoopItems,
                    format!("{path}.items.raw"),
                    format!("the loop items `{raw}` are not a JSON list"),
                    "write the items as a JSON list, e.g. '[1, 2, 3]'",
                );
                return;
            }
        };
        let Some(item_type) = item_type.filter(|t| !matches!(t, ParameterType::Unknown(_))) else {
            return;
        };
        for (index, item) in items.iter().enumerate() {
            if !item_type.accepts(item) {
                self.checker.error(
                    Code::InvalidLoopItems,
                    format!("{path}.items.raw[{index}]"),
                    format!("the loop item {item} is not a {item_type}, the type of the loop's item input"),
                    "make every item the declared type",
                );
            }
        }
    }

    fn check_items_input(&mut self, path: &str, input: &str) {
        let Some(source) = self
            .task
            .inputs
            .as_ref()
            .and_then(|i| i.parameters.get(input))
        else {
            self.checker.error(
                Code::InvalidLoopItems,
                format!("{path}.items.inputParameter"),
                format!("the loop iterates over `{input}`, which is not an input of this task"),
                "name one of the task's input parameters",
            );
            return;
        };
        let source_type = match source.source() {
            ParameterSource::ComponentInput(parent) => self
                .owner
                .input_parameter(parent)
                .and_then(|p| p.parameter_type.clone()),
            ParameterSource::TaskOutput {
                producer_task,
                output_key,
            } => self
                .dag
                .tasks
                .get(producer_task)
                .and_then(|p| self.checker.spec.component(&p.component_ref.name))
                .and_then(|c| c.output_parameter(output_key))
                .and_then(|p| p.parameter_type.clone()),
            ParameterSource::Constant(value) if !value.is_array() && !value.is_string() => {
                self.checker.error(
                    Code::InvalidLoopItems,
                    format!("{path}.items.inputParameter"),
                    format!("the loop iterates over the constant {value}, which is not a list"),
                    "pass a list",
                );
                None
            }
            _ => None,
        };
        if let Some(source_type) = source_type {
            if !matches!(source_type, ParameterType::List | ParameterType::String) {
                self.checker.error(
                    Code::InvalidLoopItems,
                    format!("{path}.items.inputParameter"),
                    format!("the loop iterates over `{input}`, a {source_type}; ParallelFor needs a LIST"),
                    "iterate over a list parameter or output",
                );
            }
        }
    }

    fn check_retry(&mut self) {
        let Some(retry) = &self.task.retry_policy else {
            return;
        };
        let path = format!("{}.retryPolicy", self.path);
        if retry.max_retry_count.is_some_and(|n| n < 0) {
            self.checker.error(
                Code::InvalidRetryPolicy,
                format!("{path}.maxRetryCount"),
                "the retry count is negative",
                "use 0 or more",
            );
        }
        if retry.backoff_factor.is_some_and(|f| f.is_nan() || f < 0.0) {
            self.checker.error(
                Code::InvalidRetryPolicy,
                format!("{path}.backoffFactor"),
                "the backoff factor is negative",
                "use a factor of 1 or more (2 doubles the wait each time)",
            );
        }
        for (field, value) in [
            ("backoffDuration", &retry.backoff_duration),
            ("backoffMaxDuration", &retry.backoff_max_duration),
        ] {
            if let Some(text) = value {
                if parse_duration_seconds(text).is_none() {
                    self.checker.error(
                        Code::InvalidRetryPolicy,
                        format!("{path}.{field}"),
                        format!("`{text}` is not a protobuf duration"),
                        "write seconds with an `s` suffix, e.g. \"5s\" or \"0.5s\"",
                    );
                }
            }
        }
    }
}

/// Whether a value of type `actual` may feed an input of type `expected`.
fn parameter_types_compatible(actual: &ParameterType, expected: &ParameterType) -> bool {
    use ParameterType as T;
    match (actual, expected) {
        (T::Unknown(_), _) | (_, T::Unknown(_)) => true,
        (a, e) if a == e => true,
        (T::NumberInteger, T::NumberDouble) => true,
        // A loop over a string holding JSON is allowed by the driver.
        (T::String, T::List) => true,
        _ => false,
    }
}

fn available<'n>(names: impl Iterator<Item = &'n String>) -> String {
    let names: Vec<&str> = names.map(String::as_str).collect();
    if names.is_empty() {
        "it has none".to_owned()
    } else {
        format!("available: {}", names.join(", "))
    }
}

fn check_cycles(checker: &mut Checker<'_>, dag_path: &str, dag: &DagSpec) {
    let edges: BTreeMap<&str, Vec<&str>> = dag
        .tasks
        .iter()
        .map(|(name, task)| {
            let upstream = task
                .upstream_tasks()
                .into_iter()
                .filter(|u| dag.tasks.contains_key(*u))
                .collect();
            (name.as_str(), upstream)
        })
        .collect();
    for cycle in find_cycles(&edges) {
        let Some(first) = cycle.first() else { continue };
        let mut shown = cycle.clone();
        shown.push(first);
        checker.push(
            Diagnostic::error(
                Code::DependencyCycle,
                format!("{dag_path}.tasks.{first}"),
                format!("the tasks form a dependency cycle: {}", shown.join(" -> ")),
            )
            .with_hint("remove one of the dependencies (dependentTasks or an input) in the cycle"),
        );
    }
}

/// One cycle per strongly connected component that has one, found without recursion.
pub(crate) fn find_cycles<'n>(edges: &BTreeMap<&'n str, Vec<&'n str>>) -> Vec<Vec<&'n str>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    let mut marks: BTreeMap<&str, Mark> = edges.keys().map(|k| (*k, Mark::New)).collect();
    let mut cycles = Vec::new();
    for start in edges.keys() {
        if marks.get(start) != Some(&Mark::New) {
            continue;
        }
        // Each frame: node and the index of the next edge to follow.
        let mut stack: Vec<(&str, usize)> = vec![(start, 0)];
        marks.insert(start, Mark::Active);
        while let Some(frame) = stack.last_mut() {
            let (node, next) = *frame;
            let successors = edges.get(node).map(Vec::as_slice).unwrap_or_default();
            let Some(successor) = successors.get(next).copied() else {
                marks.insert(node, Mark::Done);
                stack.pop();
                continue;
            };
            frame.1 += 1;
            match marks.get(successor).copied() {
                Some(Mark::New) => {
                    marks.insert(successor, Mark::Active);
                    stack.push((successor, 0));
                }
                Some(Mark::Active) => {
                    let from = stack.iter().position(|(n, _)| *n == successor).unwrap_or(0);
                    // Edges point upstream; reverse so the cycle reads in execution order.
                    let mut cycle: Vec<&str> = stack[from..].iter().map(|(n, _)| *n).collect();
                    cycle.reverse();
                    cycles.push(cycle);
                }
                _ => {}
            }
        }
    }
    cycles
}

fn check_outputs(checker: &mut Checker<'_>, dag_path: &str, owner: &ComponentSpec, dag: &DagSpec) {
    let Some(outputs) = &dag.outputs else { return };
    for (name, output) in &outputs.parameters {
        let path = format!("{dag_path}.outputs.parameters.{name}");
        let selectors = output.selectors();
        if selectors.is_empty() {
            checker.error(
                Code::InvalidInputSource,
                path.clone(),
                format!("the DAG output `{name}` selects nothing"),
                "add valueFromParameter or valueFromOneof",
            );
        }
        for selector in selectors {
            let producer = dag.tasks.get(&selector.producer_subtask);
            let component = producer.and_then(|p| checker.spec.component(&p.component_ref.name));
            match (producer, component) {
                (None, _) => checker.error(
                    Code::UnknownTask,
                    path.clone(),
                    format!("the DAG output `{name}` selects from `{}`, which is not a task of this DAG", selector.producer_subtask),
                    "fix producerSubtask",
                ),
                (Some(_), Some(c)) if c.output_parameter(&selector.output_parameter_key).is_none() => checker.error(
                    Code::UnknownOutput,
                    path.clone(),
                    format!("the task `{}` has no output parameter `{}`", selector.producer_subtask, selector.output_parameter_key),
                    &available(c.output_parameters().map(|(n, _)| n)),
                ),
                _ => {}
            }
        }
        if owner.output_definitions.is_some() && owner.output_parameter(name).is_none() {
            checker.error(
                Code::UnknownOutput,
                path.clone(),
                format!(
                    "the DAG output `{name}` is not declared in the component's outputDefinitions"
                ),
                "declare it, or remove the output",
            );
        }
    }
    for (name, output) in &outputs.artifacts {
        let path = format!("{dag_path}.outputs.artifacts.{name}");
        for selector in &output.artifact_selectors {
            let producer = dag.tasks.get(&selector.producer_subtask);
            let component = producer.and_then(|p| checker.spec.component(&p.component_ref.name));
            match (producer, component) {
                (None, _) => checker.error(
                    Code::UnknownTask,
                    path.clone(),
                    format!("the DAG output `{name}` selects from `{}`, which is not a task of this DAG", selector.producer_subtask),
                    "fix producerSubtask",
                ),
                (Some(_), Some(c)) if c.output_artifact(&selector.output_artifact_key).is_none() => checker.error(
                    Code::UnknownOutput,
                    path.clone(),
                    format!("the task `{}` has no output artifact `{}`", selector.producer_subtask, selector.output_artifact_key),
                    &available(c.output_artifacts().map(|(n, _)| n)),
                ),
                _ => {}
            }
        }
        if owner.output_definitions.is_some() && owner.output_artifact(name).is_none() {
            checker.error(
                Code::UnknownOutput,
                path.clone(),
                format!(
                    "the DAG output `{name}` is not declared in the component's outputDefinitions"
                ),
                "declare it, or remove the output",
            );
        }
    }
}
