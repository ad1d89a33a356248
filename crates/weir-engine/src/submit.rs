//! Accepting a run: the spec is validated, parameters are checked against the pipeline's
//! declared inputs and completed with defaults, and the run is recorded before anything runs.

use serde::Serialize;
use serde_json::{Map, Value};
use weir_spec::model::{ParameterType, PipelineSpec, PlatformSpec};
use weir_spec::{PipelineDocument, Severity};
use weir_store::{NewRun, Run, RunOptions, RuntimeConfig, StoredJson, TaskUpdate};
use weir_types::{RunId, RunState, TaskState};

use crate::context::{Layout, RunContext};
use crate::value::coerce;
use crate::{EngineError, Shared};

/// What a run is started with.
#[derive(Debug, Clone)]
pub struct SubmitRequest {
    pub document: PipelineDocument,
    pub display_name: Option<String>,
    pub experiment: Option<String>,
    /// Parameter values, typed (JSON).
    pub parameters: Map<String, Value>,
    pub options: RunOptions,
    pub pipeline_root: Option<String>,
    /// Where the run comes from and belongs, for runs created through the API.
    pub links: RunLinks,
}

/// What a run belongs to besides its spec. All optional: `weir run` sets none of them.
#[derive(Debug, Clone, Default)]
pub struct RunLinks {
    /// The id to give the run (a scheduler claims a slot with it first); new when absent.
    pub run_id: Option<RunId>,
    /// An existing experiment; wins over `SubmitRequest::experiment`.
    pub experiment_id: Option<weir_types::ExperimentId>,
    pub pipeline_id: Option<weir_types::PipelineId>,
    pub pipeline_version_id: Option<String>,
    pub recurring_run_id: Option<String>,
    pub namespace: String,
    pub service_account: String,
    pub description: Option<String>,
    /// Labels to find the run by (`weir_store::check_tags` rules).
    pub tags: Vec<String>,
}

/// The record of what a run ran, written straight from the typed spec (a `serde_json::Value`
/// of a 10,000-task spec would take about 190 MB).
#[derive(Serialize)]
struct StoredSpec<'a> {
    pipeline_spec: &'a PipelineSpec,
    #[serde(skip_serializing_if = "Option::is_none")]
    platform_spec: Option<&'a PlatformSpec>,
}

pub(crate) async fn submit(shared: &Shared, request: SubmitRequest) -> Result<Run, EngineError> {
    let diagnostics: Vec<_> = weir_spec::validate(&request.document)
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    if !diagnostics.is_empty() {
        return Err(EngineError::InvalidSpec(diagnostics));
    }
    weir_store::check_tags(&request.links.tags)
        .map_err(|e| EngineError::Store(weir_store::StoreError::InvalidArgument(e)))?;
    let parameters = complete_parameters(&request.document, request.parameters)?;
    let experiment = match (request.links.experiment_id, &request.experiment) {
        (Some(id), _) => Some(shared.store.get_experiment(&id.to_string()).await?.id),
        (None, Some(name)) => Some(shared.store.ensure_experiment(name).await?.id),
        (None, None) => Some(shared.store.ensure_experiment("Default").await?.id),
    };
    let spec = &request.document.spec;
    let pipeline_name = spec.name().to_owned();
    let display_name = request.display_name.unwrap_or_else(|| {
        format!(
            "{} {}",
            pipeline_name,
            chrono::Utc::now().format("%Y-%m-%d %H-%M-%S")
        )
    });
    let pipeline_root = checked_root(
        shared,
        request
            .pipeline_root
            .or_else(|| spec.default_pipeline_root.clone())
            .or_else(|| shared.default_pipeline_root.clone()),
    )
    .await?;
    let stored_spec = StoredJson::from_serialize(&StoredSpec {
        pipeline_spec: spec,
        platform_spec: request.document.platform.as_ref(),
    })
    .map_err(|e| EngineError::Internal(format!("the spec cannot be written as JSON: {e}")))?;
    let run = NewRun {
        id: request.links.run_id.unwrap_or_default(),
        experiment_id: experiment,
        display_name,
        description: request
            .links
            .description
            .clone()
            .unwrap_or_else(|| spec.pipeline_info.description.clone().unwrap_or_default()),
        pipeline_name,
        pipeline_spec: stored_spec,
        runtime_config: RuntimeConfig {
            parameters,
            pipeline_root,
        },
        options: request.options,
        pipeline_version_id: request.links.pipeline_version_id.clone(),
        recurring_run_id: request.links.recurring_run_id.clone(),
        namespace: request.links.namespace.clone(),
        service_account: request.links.service_account.clone(),
        pipeline_id: request.links.pipeline_id,
        tags: request.links.tags.clone(),
    };
    Ok(shared.store.create_run(&run).await?)
}

/// The run's pipeline root (the request's, the spec's `defaultPipelineRoot`, the engine's
/// default, in that order; none: the data dir's `artifacts/`), refused unless Weir can write
/// under it, so that a run never starts with a root its steps cannot use.
async fn checked_root(
    shared: &Shared,
    root: Option<String>,
) -> Result<Option<String>, EngineError> {
    let Some(root) = root.filter(|r| !r.trim().is_empty()) else {
        return Ok(None);
    };
    let refused = |message: String| EngineError::InvalidParameter {
        name: "pipeline_root".to_owned(),
        message: format!("`{root}`: {message}"),
    };
    let uri = weir_storage::StorageUri::parse(&root).map_err(|e| refused(e.to_string()))?;
    shared.remote.probe(&uri).await.map_err(refused)?;
    Ok(Some(uri.to_string()))
}

/// Checks supplied parameters against `root.inputDefinitions` and adds defaults (KFP
/// `validatePipelineJobInputs`): unknown names and values of the wrong type are refused, a
/// required parameter without a value is refused, a missing optional one becomes null.
pub fn complete_parameters(
    document: &PipelineDocument,
    supplied: Map<String, Value>,
) -> Result<Map<String, Value>, EngineError> {
    let root = &document.spec.root;
    let mut parameters = Map::new();
    for (name, value) in supplied {
        let Some(declared) = root.input_parameter(&name) else {
            let known: Vec<&str> = root.input_parameters().map(|(n, _)| n.as_str()).collect();
            let known = if known.is_empty() {
                "it has none".to_owned()
            } else {
                format!("it has: {}", known.join(", "))
            };
            return Err(EngineError::InvalidParameter {
                name,
                message: format!("the pipeline has no such parameter ({known})"),
            });
        };
        let declared_type = declared
            .parameter_type
            .clone()
            .unwrap_or(ParameterType::String);
        if declared_type == ParameterType::TaskFinalStatus {
            return Err(EngineError::InvalidParameter {
                name,
                message: "a task status cannot be given as a parameter".to_owned(),
            });
        }
        let value = if declared_type == ParameterType::String && !value.is_string() {
            return Err(EngineError::InvalidParameter {
                name,
                message: format!("expects STRING, got {value}"),
            });
        } else {
            coerce(value, Some(&declared_type)).map_err(|message| {
                EngineError::InvalidParameter {
                    name: name.clone(),
                    message,
                }
            })?
        };
        parameters.insert(name, value);
    }
    for (name, declared) in root.input_parameters() {
        if parameters.contains_key(name) {
            continue;
        }
        match (&declared.default_value, declared.is_optional()) {
            (Some(default), _) => {
                parameters.insert(name.clone(), weir_spec::model::protojson_numbers(default));
            }
            (None, true) => {
                parameters.insert(name.clone(), Value::Null);
            }
            (None, false) => {
                let type_name = declared
                    .parameter_type
                    .as_ref()
                    .map(|t| t.to_string())
                    .unwrap_or_default();
                return Err(EngineError::InvalidParameter {
                    name: name.clone(),
                    message: format!(
                        "is required ({type_name}) and has no default; pass --param {name}=..."
                    ),
                });
            }
        }
    }
    Ok(parameters)
}

/// Rebuilds what a driver needs from a stored run.
/// The run's stored spec becomes the context's typed document, read from the stored text
/// without a value tree: a large spec is held once.
pub(crate) fn context(shared: &Shared, mut run: Run) -> Result<RunContext, EngineError> {
    let stored = std::mem::take(&mut run.pipeline_spec);
    let parsed = weir_spec::parse_json(stored.text());
    drop(stored);
    let document = parsed.document.ok_or_else(|| {
        EngineError::Internal(format!(
            "the stored spec of run {} cannot be read: {:?}",
            run.id, parsed.diagnostics
        ))
    })?;
    let pipeline_root = match run.runtime_config.pipeline_root.as_deref() {
        Some(root) => weir_storage::StorageUri::parse(root).map_err(|e| {
            EngineError::Internal(format!("the pipeline root of run {}: {e}", run.id))
        })?,
        None => weir_storage::StorageUri::Local(shared.layout.artifact_root()),
    };
    let resource_name = crate::context::resource_name(document.spec.name(), run.id);
    Ok(RunContext {
        run,
        document,
        layout: Layout::clone(&shared.layout),
        pipeline_root,
        resource_name,
    })
}

/// Retry: executions that did not succeed are decided again. A step that was dispatched (its
/// inputs were resolved) goes back to PENDING and keeps its history and attempt count; an
/// execution that never started (skipped, canceled before it started, failed while resolving its
/// inputs) is deleted so the driver decides it afresh; DAGs above them go back to PENDING.
/// Everything that succeeded or was cached is kept and reused.
pub(crate) async fn prepare_retry(shared: &Shared, run_id: RunId) -> Result<Run, EngineError> {
    let run = shared.store.get_run(run_id).await?;
    if !matches!(run.state, RunState::Failed | RunState::Canceled) {
        return Err(EngineError::FailedPrecondition(format!(
            "only FAILED or CANCELED runs can be retried; run {run_id} is {}",
            run.state
        )));
    }
    let tasks = shared.store.list_tasks(run_id).await?;
    let unfinished = |t: &&weir_store::Task| {
        matches!(
            t.state,
            TaskState::Failed | TaskState::Canceled | TaskState::Skipped
        )
    };
    let mut deleted = std::collections::HashSet::new();
    for task in tasks.iter().filter(unfinished) {
        let dispatched = task.details.command.is_some();
        let keep = task.kind.is_dag_like() && task.state != TaskState::Skipped || dispatched;
        let parent_deleted = task.parent_id.is_some_and(|p| deleted.contains(&p));
        if parent_deleted {
            deleted.insert(task.id);
            continue;
        }
        if keep {
            let update = TaskUpdate {
                error: Some(None),
                finished_at: Some(None),
                started_at: Some(None),
                ..TaskUpdate::state(TaskState::Pending).with_message("retry")
            };
            shared.store.update_task(task.id, &update).await?;
        } else {
            shared.store.delete_task(task.id).await?;
            deleted.insert(task.id);
        }
    }
    // Failed or canceled DAGs above a retried execution were reset above: a DAG ends FAILED or
    // CANCELED whenever one of its children does.
    Ok(shared
        .store
        .set_run_state(run_id, RunState::Running, Some("retry"))
        .await?)
}
