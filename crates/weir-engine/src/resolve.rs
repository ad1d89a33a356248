//! Input resolution: where each input of a task gets its value (KFP `driver/resolve.go`).

use serde_json::{json, Value};
use weir_spec::cel;
use weir_spec::model::{ArtifactSource, ComponentSpec, ParameterSource, PipelineTaskSpec};
use weir_spec::placeholder::{segments, Placeholder, Segment};
use weir_store::Task;
use weir_types::{TaskId, TaskState};

use crate::context::RunContext;
use crate::io::TaskIo;
use crate::value::{coerce, text_form};

/// What a task's inputs can read: the enclosing DAG's inputs and the sibling executions.
pub struct Scope<'a> {
    pub ctx: &'a RunContext,
    pub dag_inputs: &'a TaskIo,
    pub siblings: &'a dyn Fn(&str) -> Option<&'a Task>,
}

/// The task being resolved.
pub struct Target<'a> {
    pub key: &'a str,
    pub id: TaskId,
    pub spec: &'a PipelineTaskSpec,
    pub component: &'a ComponentSpec,
}

/// Resolves every input of a task. An error says which input failed and why.
pub fn resolve_inputs(scope: &Scope<'_>, target: &Target<'_>) -> Result<TaskIo, String> {
    let mut io = TaskIo::default();
    for (name, input) in target.spec.input_parameters() {
        let value = match input.source() {
            ParameterSource::ComponentInput(parent) => scope.dag_inputs.parameter(parent).cloned(),
            ParameterSource::TaskOutput {
                producer_task,
                output_key,
            } => {
                let producer = successful_producer(scope, name, producer_task)?;
                let outputs = &producer.outputs;
                match outputs.parameters.get(output_key) {
                    Some(value) => Some(value.clone()),
                    None => {
                        return Err(format!(
                            "input `{name}` reads output `{output_key}` of `{producer_task}`, which did not produce it"
                        ))
                    }
                }
            }
            ParameterSource::Constant(value) => Some(substitute_constant(scope.ctx, target, value)),
            ParameterSource::TaskFinalStatus { producer_task } => {
                Some(final_status(scope, producer_task)?)
            }
            ParameterSource::Invalid => return Err(format!("input `{name}` has no single source")),
        };
        let Some(mut value) = value else { continue };
        if let Some(selector) = &input.parameter_expression_selector {
            value = cel::evaluate_selector(selector, &value)
                .map_err(|e| format!("input `{name}`: the selector `{selector}` failed: {e}"))?;
        }
        let declared = target
            .component
            .input_parameter(name)
            .and_then(|p| p.parameter_type.as_ref());
        let value = coerce(value, declared).map_err(|e| format!("input `{name}` {e}"))?;
        io.parameters.insert(name.clone(), value);
    }
    substitute_self_references(&mut io);
    for (name, input) in target.spec.input_artifacts() {
        let artifacts = match input.source() {
            ArtifactSource::ComponentInput(parent) => {
                scope.dag_inputs.artifacts.get(parent).cloned()
            }
            ArtifactSource::TaskOutput {
                producer_task,
                output_key,
            } => {
                let producer = successful_producer(scope, name, producer_task)?;
                let outputs = &producer.outputs;
                match outputs.artifacts.get(output_key) {
                    Some(artifacts) => Some(artifacts.clone()),
                    None => {
                        return Err(format!(
                            "input `{name}` reads artifact `{output_key}` of `{producer_task}`, which did not produce it"
                        ))
                    }
                }
            }
            ArtifactSource::Invalid => {
                return Err(format!("artifact input `{name}` has no single source"))
            }
        };
        if let Some(artifacts) = artifacts {
            io.artifacts.insert(name.clone(), artifacts);
        }
    }
    if target.component.dag.is_some() {
        apply_dag_defaults(&mut io, target.component);
    }
    Ok(io)
}

fn successful_producer<'a>(
    scope: &Scope<'a>,
    input: &str,
    producer: &str,
) -> Result<&'a Task, String> {
    let task = (scope.siblings)(producer)
        .ok_or_else(|| format!("input `{input}` reads from `{producer}`, which has not run"))?;
    if !task.state.is_success() {
        return Err(format!(
            "input `{input}` reads from `{producer}`, which ended {}",
            task.state
        ));
    }
    Ok(task)
}

/// The job and task placeholders a constant may be (exactly), and the workspace path anywhere.
fn substitute_constant(ctx: &RunContext, target: &Target<'_>, value: &Value) -> Value {
    let Value::String(text) = value else {
        return value.clone();
    };
    let run = &ctx.run;
    let exact = match text.as_str() {
        "{{$.pipeline_job_name}}" => Some(run.display_name.clone()),
        "{{$.pipeline_job_resource_name}}" => Some(ctx.resource_name.clone()),
        "{{$.pipeline_job_uuid}}" => Some(run.id.to_string()),
        "{{$.pipeline_task_name}}" => Some(target.key.to_owned()),
        "{{$.pipeline_task_uuid}}" => Some(target.id.to_string()),
        "{{$.pipeline_root}}" => Some(ctx.pipeline_root.to_string()),
        "{{$.pipeline_job_create_time_utc}}" | "{{$.pipeline_job_schedule_time_utc}}" => Some(
            run.created_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ),
        _ => None,
    };
    if let Some(exact) = exact {
        return Value::String(exact);
    }
    if text.contains("{{$.workspace_path}}") {
        let workspace = ctx.layout.workspace(run.id).display().to_string();
        return Value::String(text.replace("{{$.workspace_path}}", &workspace));
    }
    value.clone()
}

/// f-strings over pipeline channels compile to constants such as
/// `"hello {{$.inputs.parameters['pipelinechannel--a-Output']}}"`: fill them from the task's other
/// resolved inputs, inside lists and structs too.
fn substitute_self_references(io: &mut TaskIo) {
    let snapshot = io.parameters.clone();
    for value in io.parameters.values_mut() {
        substitute_in(value, &snapshot);
    }
}

fn substitute_in(value: &mut Value, inputs: &serde_json::Map<String, Value>) {
    match value {
        Value::String(text) if text.contains("{{$.inputs.parameters") => {
            let mut out = String::with_capacity(text.len());
            for segment in segments(text) {
                match segment {
                    Segment::Placeholder(Placeholder::InputParameter(name)) => {
                        match inputs.get(&name) {
                            Some(referenced) if !referenced.is_null() => {
                                out.push_str(&text_form(referenced))
                            }
                            _ => out.push_str(&format!("{{{{$.inputs.parameters['{name}']}}}}")),
                        }
                    }
                    Segment::Placeholder(_) | Segment::Unknown(_) | Segment::Text(_) => {
                        out.push_str(&segment_text(&segment))
                    }
                }
            }
            *text = out;
        }
        Value::Array(items) => items.iter_mut().for_each(|v| substitute_in(v, inputs)),
        Value::Object(map) => map.values_mut().for_each(|v| substitute_in(v, inputs)),
        _ => {}
    }
}

fn segment_text(segment: &Segment<'_>) -> String {
    match segment {
        Segment::Text(text) | Segment::Unknown(text) => (*text).to_owned(),
        Segment::Placeholder(placeholder) => placeholder_text(placeholder),
    }
}

/// Writes a placeholder back as text (used when it is left for a later stage).
pub fn placeholder_text(placeholder: &Placeholder) -> String {
    use Placeholder::*;
    let inner = match placeholder {
        ExecutorInput => "$".to_owned(),
        InputParameter(n) => format!("$.inputs.parameters['{n}']"),
        InputArtifactPath(n) => format!("$.inputs.artifacts['{n}'].path"),
        InputArtifactUri(n) => format!("$.inputs.artifacts['{n}'].uri"),
        InputArtifactMetadata(n, None) => format!("$.inputs.artifacts['{n}'].metadata"),
        InputArtifactMetadata(n, Some(k)) => format!("$.inputs.artifacts['{n}'].metadata['{k}']"),
        InputArtifactList(n) => format!("$.inputs.artifacts['{n}']"),
        OutputParameterFile(n) => format!("$.outputs.parameters['{n}'].output_file"),
        OutputArtifactPath(n) => format!("$.outputs.artifacts['{n}'].path"),
        OutputArtifactUri(n) => format!("$.outputs.artifacts['{n}'].uri"),
        OutputArtifactMetadata(n, None) => format!("$.outputs.artifacts['{n}'].metadata"),
        OutputArtifactMetadata(n, Some(k)) => format!("$.outputs.artifacts['{n}'].metadata['{k}']"),
        OutputMetadataFile => "$.outputs.output_file".to_owned(),
        PipelineJobName => "$.pipeline_job_name".to_owned(),
        PipelineJobResourceName => "$.pipeline_job_resource_name".to_owned(),
        PipelineJobUuid => "$.pipeline_job_uuid".to_owned(),
        PipelineJobCreateTime => "$.pipeline_job_create_time_utc".to_owned(),
        PipelineJobScheduleTime => "$.pipeline_job_schedule_time_utc".to_owned(),
        PipelineTaskName => "$.pipeline_task_name".to_owned(),
        PipelineTaskUuid => "$.pipeline_task_uuid".to_owned(),
        PipelineRoot => "$.pipeline_root".to_owned(),
        WorkspacePath => "$.workspace_path".to_owned(),
    };
    format!("{{{{{inner}}}}}")
}

/// `PipelineTaskFinalStatus` of a finished sibling (an ExitHandler's DAG), with MLMD's state
/// names as KFP's driver sends them.
fn final_status(scope: &Scope<'_>, producer: &str) -> Result<Value, String> {
    let task = (scope.siblings)(producer)
        .ok_or_else(|| format!("the status of `{producer}` is read before it ran"))?;
    let state = match task.state {
        TaskState::Succeeded | TaskState::Cached | TaskState::Skipped => "COMPLETE",
        TaskState::Failed => "FAILED",
        TaskState::Canceled => "CANCELED",
        TaskState::Pending | TaskState::Running => "RUNNING",
    };
    let error = match &task.error {
        Some(message) => json!({"code": 2, "message": message}),
        None => json!({}),
    };
    Ok(json!({
        "state": state,
        "pipelineTaskName": producer,
        "pipelineJobResourceName": scope.ctx.resource_name,
        "error": error,
    }))
}

/// A DAG component's optional inputs that were not passed get their default, or null.
fn apply_dag_defaults(io: &mut TaskIo, component: &ComponentSpec) {
    for (name, parameter) in component.input_parameters() {
        if io.parameters.contains_key(name) {
            continue;
        }
        if let Some(default) = &parameter.default_value {
            io.parameters
                .insert(name.clone(), weir_spec::model::protojson_numbers(default));
        } else if parameter.is_optional() {
            io.parameters.insert(name.clone(), Value::Null);
        }
    }
}

/// Evaluates a task's trigger condition on its resolved inputs.
pub fn condition_holds(condition: &str, inputs: &TaskIo) -> Result<bool, String> {
    cel::evaluate_condition(condition, &inputs.parameters)
        .map_err(|e| format!("the condition `{condition}` failed: {e}"))
}

/// The items of a ParallelFor: a raw JSON list, or a list (or JSON text of a list) input.
pub fn loop_items(spec: &PipelineTaskSpec, inputs: &TaskIo) -> Result<Vec<Value>, String> {
    let Some(iterator) = &spec.parameter_iterator else {
        return Err("the task is not a ParallelFor".to_owned());
    };
    let value = match (&iterator.items.raw, &iterator.items.input_parameter) {
        (Some(raw), _) => serde_json::from_str::<Value>(raw)
            .map_err(|e| format!("the loop items are not JSON: {e}"))?,
        (None, Some(input)) => inputs
            .parameters
            .get(input)
            .cloned()
            .ok_or_else(|| format!("the loop input `{input}` has no value"))?,
        (None, None) => return Err("the loop has no items".to_owned()),
    };
    let value = match value {
        Value::String(text) => serde_json::from_str(&text)
            .map_err(|e| format!("the loop items are not a JSON list: {e}"))?,
        other => other,
    };
    match value {
        Value::Array(items) => Ok(items
            .iter()
            .map(weir_spec::model::protojson_numbers)
            .collect()),
        other => Err(format!("the loop items are not a list: {other}")),
    }
}
