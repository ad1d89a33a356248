//! `/apis/v2beta1/runs`

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::Json;
use serde::Deserialize;
use serde_json::Value;
use weir_api_model as dto;
use weir_engine::{RunLinks, SubmitRequest};
use weir_store::RunOptions;
use weir_types::{ExperimentId, PipelineId, PipelineVersionId, RunId};

use super::list::{total, ListParams};
use super::{convert, empty, parse_id, split_action, Shared};
use crate::error::{ApiError, ApiResult};
use crate::package;

#[derive(Deserialize)]
pub struct CreateParams {
    /// Deprecated by KFP in favour of the body's `experiment_id`, still accepted.
    experiment_id: Option<String>,
    /// Weir: run every task, even when an earlier execution could be reused (KFP #6578).
    disable_cache: Option<bool>,
}

/// Where a run's spec comes from: inline, or a stored pipeline version (the latest when only
/// the pipeline is named).
pub(crate) async fn resolve_spec(
    state: &Shared,
    inline: Option<&serde_json::Map<String, Value>>,
    reference: Option<&dto::PipelineVersionReference>,
    legacy_version_id: Option<&str>,
) -> ApiResult<(
    package::Package,
    Option<PipelineId>,
    Option<PipelineVersionId>,
)> {
    if let Some(spec) = inline {
        return Ok((
            package::from_value(Value::Object(spec.clone()))?,
            None,
            None,
        ));
    }
    let version_id = reference
        .and_then(|r| r.pipeline_version_id.as_deref())
        .or(legacy_version_id)
        .filter(|v| !v.is_empty());
    let version = match (
        version_id,
        reference
            .and_then(|r| r.pipeline_id.as_deref())
            .filter(|p| !p.is_empty()),
    ) {
        (Some(version), _) => {
            state
                .store
                .get_pipeline_version(parse_id("pipeline version", version)?)
                .await?
        }
        (None, Some(pipeline)) => {
            let pipeline_id: PipelineId = parse_id("pipeline", pipeline)?;
            state
                .store
                .latest_pipeline_version(pipeline_id)
                .await?
                .ok_or_else(|| {
                    ApiError::precondition(format!("pipeline {pipeline} has no versions"))
                })?
        }
        (None, None) => {
            return Err(ApiError::invalid(
                "a run needs pipeline_spec or pipeline_version_reference",
            ))
        }
    };
    Ok((
        package::from_value(version.pipeline_spec.clone())?,
        Some(version.pipeline_id),
        Some(version.id),
    ))
}

pub async fn create(
    State(state): State<Shared>,
    Query(params): Query<CreateParams>,
    Json(body): Json<dto::Run>,
) -> ApiResult<Json<dto::Run>> {
    let (package, pipeline_id, version_id) = resolve_spec(
        &state,
        body.pipeline_spec.as_ref(),
        body.pipeline_version_reference.as_ref(),
        body.pipeline_version_id.as_deref(),
    )
    .await?;
    let experiment_id = match body
        .experiment_id
        .as_deref()
        .or(params.experiment_id.as_deref())
        .filter(|e| !e.is_empty())
    {
        Some(id) => Some(parse_id::<ExperimentId>("experiment", id)?),
        None => None,
    };
    let runtime = body.runtime_config.unwrap_or_default();
    let request = SubmitRequest {
        document: package.document,
        display_name: body.display_name.filter(|n| !n.is_empty()),
        experiment: None,
        parameters: runtime.parameters,
        options: RunOptions {
            no_cache: params.disable_cache.unwrap_or(false),
            max_parallel: None,
        },
        pipeline_root: runtime.pipeline_root.filter(|r| r.starts_with('/')),
        links: RunLinks {
            run_id: None,
            experiment_id,
            pipeline_id,
            pipeline_version_id: version_id.map(|v| v.to_string()),
            recurring_run_id: None,
            namespace: String::new(),
            service_account: body.service_account.unwrap_or_default(),
            description: body.description,
            ..Default::default()
        },
    };
    let run = state.engine.submit(request).await?;
    state.runs.start(run.id);
    let history = state.store.run_state_history(run.id).await?;
    Ok(Json(convert::run(&run, None, &history)))
}

pub async fn list(
    State(state): State<Shared>,
    Query(params): Query<ListParams>,
) -> ApiResult<Json<dto::ListRunsResponse>> {
    let listing = params.listing()?;
    let page = state.store.list_runs_page(&listing.query).await?;
    let mut runs = Vec::with_capacity(page.items.len());
    for run in &page.items {
        runs.push(convert::run(run, None, &[]));
    }
    Ok(Json(dto::ListRunsResponse {
        runs,
        total_size: total(page.total_size),
        next_page_token: listing.next_token(&page),
    }))
}

pub async fn get(State(state): State<Shared>, Path(id): Path<String>) -> ApiResult<Json<dto::Run>> {
    let id: RunId = parse_id("run", &id)?;
    let run = state.store.get_run(id).await?;
    let tasks = state.store.list_tasks(id).await?;
    let histories: BTreeMap<String, _> = state
        .store
        .run_task_histories(id)
        .await?
        .into_iter()
        .map(|(task, history)| (task.to_string(), history))
        .collect();
    let history = state.store.run_state_history(id).await?;
    Ok(Json(convert::run(
        &run,
        Some((&tasks, &histories)),
        &history,
    )))
}

/// Deletes a run with its tasks, logs, artifacts and cache entries; a running run is
/// terminated first.
pub async fn delete(State(state): State<Shared>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let id: RunId = parse_id("run", &id)?;
    state.runs.delete(id).await?;
    Ok(empty())
}

/// `:archive`, `:unarchive`, `:terminate`, `:retry`.
pub async fn action(
    State(state): State<Shared>,
    Path(segment): Path<String>,
) -> ApiResult<Json<Value>> {
    let (id, verb) = split_action(&segment)?;
    let id: RunId = parse_id("run", id)?;
    match verb {
        "archive" => state.store.set_run_archived(id, true).await?,
        "unarchive" => state.store.set_run_archived(id, false).await?,
        "terminate" => state.runs.terminate(id).await?,
        "retry" => {
            if state.runs.is_active(id) {
                return Err(ApiError::precondition(format!(
                    "run {id} is still executing; only FAILED or CANCELED runs can be retried"
                )));
            }
            state.runs.retry(id).await?
        }
        other => {
            return Err(ApiError::not_found(format!(
                "runs have no method `{other}`"
            )))
        }
    }
    Ok(empty())
}
