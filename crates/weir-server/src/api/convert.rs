//! Store records to KFP v2beta1 JSON shapes. The only place that knows both.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use weir_api_model as dto;
use weir_store::{
    Experiment, Pipeline, PipelineVersion, RecurringRun, Run, StateChange, StoredJson, Task, TaskIo,
};
use weir_types::{RunState, TaskId, TaskKind, TaskState};

pub fn storage(archived: bool) -> Option<dto::StorageState> {
    Some(if archived {
        dto::StorageState::Archived
    } else {
        dto::StorageState::Available
    })
}

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}

pub fn experiment(e: &Experiment) -> dto::Experiment {
    dto::Experiment {
        experiment_id: Some(e.id.to_string()),
        display_name: Some(e.name.clone()),
        description: non_empty(&e.description),
        created_at: Some(e.created_at),
        namespace: non_empty(&e.namespace),
        storage_state: storage(e.archived),
        last_run_created_at: e.last_run_created_at,
    }
}

pub fn pipeline(p: &Pipeline) -> dto::Pipeline {
    dto::Pipeline {
        pipeline_id: Some(p.id.to_string()),
        display_name: Some(p.display_name.clone()),
        name: Some(p.name.clone()),
        description: non_empty(&p.description),
        created_at: Some(p.created_at),
        namespace: non_empty(&p.namespace),
        tags: p.tags.clone(),
        ..Default::default()
    }
}

pub fn version(v: &PipelineVersion) -> dto::PipelineVersion {
    dto::PipelineVersion {
        pipeline_id: Some(v.pipeline_id.to_string()),
        pipeline_version_id: Some(v.id.to_string()),
        display_name: Some(v.display_name.clone()),
        name: Some(v.name.clone()),
        description: non_empty(&v.description),
        created_at: Some(v.created_at),
        package_url: v.package_url.clone().map(|url| dto::Url {
            pipeline_url: Some(url),
        }),
        code_source_url: v.code_source_url.clone(),
        pipeline_spec: as_map(&v.pipeline_spec),
        tags: v.tags.clone(),
        ..Default::default()
    }
}

fn as_map(value: &Value) -> Option<Map<String, Value>> {
    value.as_object().cloned()
}

/// The spec a run ran, as the API returns it: bare, or `{pipeline_spec, platform_spec}`; a part
/// of the stored text, never decoded (a 10,000-task spec is 6.5 MB of text, 190 MB as a value).
fn api_spec(stored: &StoredJson) -> Option<&RawValue> {
    #[derive(Deserialize)]
    struct Stored<'a> {
        #[serde(borrow)]
        pipeline_spec: Option<&'a RawValue>,
        #[serde(borrow)]
        platform_spec: Option<&'a RawValue>,
    }
    let parts: Stored = serde_json::from_str(stored.text()).ok()?;
    match parts.platform_spec {
        Some(_) => Some(stored.raw()),
        None => parts
            .pipeline_spec
            .filter(|spec| spec.get().starts_with('{')),
    }
}

/// A run as the API returns it: [`dto::Run`] with its spec written from the stored text.
#[derive(Serialize)]
pub struct RunBody<'a> {
    #[serde(flatten)]
    pub run: dto::Run,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline_spec: Option<&'a RawValue>,
}

/// [`dto::ListRunsResponse`] of [`RunBody`]s.
#[derive(Serialize)]
pub struct RunsPage<'a> {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<RunBody<'a>>,
    /// Without runs.
    #[serde(flatten)]
    pub page: dto::ListRunsResponse,
}

pub fn run_state(state: RunState) -> dto::RuntimeState {
    match state {
        RunState::Pending => dto::RuntimeState::Pending,
        RunState::Running => dto::RuntimeState::Running,
        RunState::Succeeded => dto::RuntimeState::Succeeded,
        RunState::Failed => dto::RuntimeState::Failed,
        RunState::Canceling => dto::RuntimeState::Canceling,
        RunState::Canceled => dto::RuntimeState::Canceled,
    }
}

pub fn task_state(state: TaskState) -> dto::RuntimeState {
    match state {
        TaskState::Pending => dto::RuntimeState::Pending,
        TaskState::Running => dto::RuntimeState::Running,
        // A cached task produced its outputs (reused); KFP's enum has no CACHED.
        TaskState::Succeeded | TaskState::Cached => dto::RuntimeState::Succeeded,
        TaskState::Failed => dto::RuntimeState::Failed,
        TaskState::Skipped => dto::RuntimeState::Skipped,
        TaskState::Canceled => dto::RuntimeState::Canceled,
    }
}

fn status(code: i32, message: &str) -> dto::GoogleRpcStatus {
    dto::GoogleRpcStatus {
        code: Some(code),
        message: Some(message.to_owned()),
        ..Default::default()
    }
}

fn history<S: std::str::FromStr>(
    changes: &[StateChange],
    convert: impl Fn(S) -> dto::RuntimeState,
) -> Vec<dto::RuntimeStatus> {
    changes
        .iter()
        .filter_map(|c| {
            let state = c.state.parse::<S>().ok()?;
            Some(dto::RuntimeStatus {
                update_time: Some(c.at),
                state: Some(convert(state)),
                ..Default::default()
            })
        })
        .collect()
}

/// Task state histories by task id.
pub type TaskHistories = BTreeMap<TaskId, Vec<StateChange>>;

/// A run; with `details`, its task details too.
pub fn run<'a>(
    r: &'a Run,
    details: Option<(&[Task], &TaskHistories)>,
    run_history: &[StateChange],
) -> RunBody<'a> {
    let reference = r
        .pipeline_version_id
        .as_ref()
        .map(|version| dto::PipelineVersionReference {
            pipeline_id: r.pipeline_id.map(|p| p.to_string()),
            pipeline_version_id: Some(version.clone()),
        });
    let run = dto::Run {
        experiment_id: r.experiment_id.map(|e| e.to_string()),
        run_id: Some(r.id.to_string()),
        display_name: Some(r.display_name.clone()),
        storage_state: storage(r.archived),
        description: non_empty(&r.description),
        pipeline_version_reference: reference,
        runtime_config: Some(dto::RuntimeConfig {
            parameters: r.runtime_config.parameters.clone(),
            pipeline_root: r.runtime_config.pipeline_root.clone(),
        }),
        service_account: non_empty(&r.service_account),
        created_at: Some(r.created_at),
        scheduled_at: Some(r.created_at),
        finished_at: r.finished_at,
        state: Some(run_state(r.state)),
        error: r
            .error
            .as_deref()
            .filter(|_| r.state == RunState::Failed)
            .map(|m| status(2, m)),
        run_details: details.map(|(tasks, histories)| run_details(r, tasks, histories)),
        recurring_run_id: r.recurring_run_id.clone(),
        state_history: history(run_history, run_state),
        ..Default::default()
    };
    RunBody {
        run,
        pipeline_spec: api_spec(&r.pipeline_spec),
    }
}

fn run_details(r: &Run, tasks: &[Task], histories: &TaskHistories) -> dto::RunDetails {
    // Children by parent, in task order: one pass, not one scan of every task per task.
    let mut children: HashMap<TaskId, Vec<dto::ChildTask>> = HashMap::new();
    for task in tasks {
        if let Some(parent) = task.parent_id {
            children.entry(parent).or_default().push(dto::ChildTask {
                task_id: Some(task.id.to_string()),
                ..Default::default()
            });
        }
    }
    let task_details = tasks
        .iter()
        .map(|t| {
            let artifact_lists = |io: &TaskIo| {
                io.artifacts
                    .iter()
                    .map(|(name, list)| {
                        (
                            name.clone(),
                            dto::ArtifactList {
                                artifact_ids: list.iter().map(|a| a.id).collect(),
                            },
                        )
                    })
                    .collect()
            };
            let children = children.remove(&t.id).unwrap_or_default();
            let is_step = matches!(t.kind, TaskKind::Container | TaskKind::Importer);
            dto::PipelineTaskDetail {
                run_id: Some(r.id.to_string()),
                task_id: Some(t.id.to_string()),
                display_name: Some(t.display_name.clone()),
                create_time: Some(t.created_at),
                start_time: t.started_at,
                end_time: t.finished_at,
                state: Some(task_state(t.state)),
                error: t.error.as_deref().map(|m| status(2, m)),
                inputs: artifact_lists(&t.inputs),
                outputs: artifact_lists(&t.outputs),
                parent_task_id: t.parent_id.map(|p| p.to_string()),
                state_history: histories
                    .get(&t.id)
                    .map(|h| history(h, task_state))
                    .unwrap_or_default(),
                pod_name: is_step.then(|| format!("{}-{}", t.name, &t.id.to_string()[..8])),
                child_tasks: children,
                ..Default::default()
            }
        })
        .collect();
    dto::RunDetails {
        task_details,
        ..Default::default()
    }
}

pub fn recurring_run(r: &RecurringRun) -> dto::RecurringRun {
    let reference = r
        .pipeline_version_id
        .map(|version| dto::PipelineVersionReference {
            pipeline_id: r.pipeline_id.map(|p| p.to_string()),
            pipeline_version_id: Some(version.to_string()),
        });
    dto::RecurringRun {
        recurring_run_id: Some(r.id.to_string()),
        display_name: Some(r.display_name.clone()),
        description: non_empty(&r.description),
        pipeline_spec: r.pipeline_spec.as_ref().and_then(as_map),
        pipeline_version_reference: reference,
        runtime_config: Some(dto::RuntimeConfig {
            parameters: r.runtime_config.parameters.clone(),
            pipeline_root: r.runtime_config.pipeline_root.clone(),
        }),
        service_account: non_empty(&r.service_account),
        max_concurrency: Some(r.max_concurrency),
        trigger: serde_json::from_value(r.trigger.clone()).ok(),
        mode: Some(if r.enabled {
            dto::RecurringRunMode::Enable
        } else {
            dto::RecurringRunMode::Disable
        }),
        created_at: Some(r.created_at),
        updated_at: Some(r.updated_at),
        status: Some(if r.enabled {
            dto::RecurringRunStatus::Enabled
        } else {
            dto::RecurringRunStatus::Disabled
        }),
        no_catchup: Some(r.no_catchup),
        namespace: non_empty(&r.namespace),
        experiment_id: r.experiment_id.map(|e| e.to_string()),
        ..Default::default()
    }
}
