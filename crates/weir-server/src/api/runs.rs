//! `/apis/v2beta1/runs`

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use weir_api_model as dto;
use weir_control::{package, ExperimentRef, NewRun, PipelineSource};
use weir_store::RunOptions;
use weir_types::{ExperimentId, RunId};

use super::list::{total, ListParams};
use super::{convert, empty, parse_id, split_action, Shared};
use crate::error::{ApiError, ApiResult};

#[derive(Deserialize)]
pub struct CreateParams {
    /// Deprecated by KFP in favour of the body's `experiment_id`, still accepted.
    experiment_id: Option<String>,
    /// Weir: run every task, even when an earlier execution could be reused (KFP #6578).
    disable_cache: Option<bool>,
}

/// Where a run's spec comes from: inline, or a stored pipeline version (the latest when only
/// the pipeline is named).
pub(crate) fn pipeline_source(
    inline: Option<&serde_json::Map<String, Value>>,
    reference: Option<&dto::PipelineVersionReference>,
    legacy_version_id: Option<&str>,
) -> ApiResult<PipelineSource> {
    if let Some(spec) = inline {
        return Ok(PipelineSource::Json(Value::Object(spec.clone())));
    }
    let version_id = reference
        .and_then(|r| r.pipeline_version_id.as_deref())
        .or(legacy_version_id)
        .filter(|v| !v.is_empty());
    let pipeline_id = reference
        .and_then(|r| r.pipeline_id.as_deref())
        .filter(|p| !p.is_empty());
    match (version_id, pipeline_id) {
        (Some(version), _) => Ok(PipelineSource::Version(parse_id(
            "pipeline version",
            version,
        )?)),
        (None, Some(pipeline)) => Ok(PipelineSource::LatestVersion(parse_id(
            "pipeline", pipeline,
        )?)),
        (None, None) => Err(ApiError::invalid(
            "a run needs pipeline_spec or pipeline_version_reference",
        )),
    }
}

/// A CreateRun body: an inline spec kept as the text it came in (a 10,000-task spec is 6.5 MB
/// of text but 190 MB as a value tree) and read once into the typed model; the other fields
/// checked as a [`dto::Run`].
#[derive(Deserialize)]
struct CreateBody<'a> {
    #[serde(default, borrow, alias = "pipelineSpec")]
    pipeline_spec: Option<&'a RawValue>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

/// Reads a CreateRun body; what a JSON extractor would refuse is INVALID_ARGUMENT.
fn read_create_body(bytes: &[u8]) -> ApiResult<(dto::Run, Option<&RawValue>)> {
    let body: CreateBody = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::invalid(format!("the request body is not a run: {e}")))?;
    let run: dto::Run = serde_json::from_value(Value::Object(body.rest))
        .map_err(|e| ApiError::invalid(format!("the request body is not a run: {e}")))?;
    let inline = body.pipeline_spec.filter(|spec| spec.get() != "null");
    if inline.is_some_and(|spec| !spec.get().starts_with('{')) {
        return Err(ApiError::invalid(
            "the request body is not a run: pipeline_spec must be an object",
        ));
    }
    Ok((run, inline))
}

pub async fn create(
    State(state): State<Shared>,
    Query(params): Query<CreateParams>,
    bytes: Bytes,
) -> ApiResult<Response> {
    let (body, inline) = read_create_body(&bytes)?;
    let pipeline = match inline {
        Some(spec) => package::document_from_json(spec.get())?.into(),
        None => pipeline_source(
            None,
            body.pipeline_version_reference.as_ref(),
            body.pipeline_version_id.as_deref(),
        )?,
    };
    drop(bytes);
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
    let new_run = NewRun {
        display_name: body.display_name,
        description: body.description,
        experiment: experiment_id.map(ExperimentRef::Id),
        parameters: runtime.parameters,
        pipeline_root: runtime.pipeline_root,
        options: RunOptions {
            no_cache: params.disable_cache.unwrap_or(false),
            max_parallel: None,
        },
        service_account: body.service_account.unwrap_or_default(),
        ..NewRun::new(pipeline)
    };
    let run = state.create_run(new_run).await?;
    let history = state.store.run_state_history(run.id).await?;
    Ok(Json(convert::run(&run, None, &history)).into_response())
}

pub async fn list(
    State(state): State<Shared>,
    Query(params): Query<ListParams>,
) -> ApiResult<Response> {
    let listing = params.listing()?;
    let page = state.store.list_runs_page(&listing.query).await?;
    let runs = page
        .items
        .iter()
        .map(|run| convert::run(run, None, &[]))
        .collect();
    let rest = dto::ListRunsResponse {
        runs: Vec::new(),
        total_size: total(page.total_size),
        next_page_token: listing.next_token(&page),
    };
    Ok(Json(convert::RunsPage { runs, page: rest }).into_response())
}

pub async fn get(State(state): State<Shared>, Path(id): Path<String>) -> ApiResult<Response> {
    let id: RunId = parse_id("run", &id)?;
    let run = state.store.get_run(id).await?;
    // The API shows no launch details; a big run's take tens of MB, so they are not read.
    let tasks = state.store.list_tasks_without_details(id).await?;
    let histories = state.store.run_task_histories(id).await?;
    let history = state.store.run_state_history(id).await?;
    Ok(Json(convert::run(&run, Some((&tasks, &histories)), &history)).into_response())
}

/// Deletes a run with its tasks, logs, artifacts and cache entries; a running run is
/// terminated first.
pub async fn delete(State(state): State<Shared>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let id: RunId = parse_id("run", &id)?;
    state.delete_run(id).await?;
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
        "archive" => state.set_run_archived(id, true).await?,
        "unarchive" => state.set_run_archived(id, false).await?,
        "terminate" => state.terminate_run(id).await?,
        "retry" => state.retry_run(id).await?,
        other => {
            return Err(ApiError::not_found(format!(
                "runs have no method `{other}`"
            )))
        }
    }
    Ok(empty())
}

#[cfg(test)]
#[path = "runs_tests.rs"]
mod tests;
