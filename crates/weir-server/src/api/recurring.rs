//! `/apis/v2beta1/recurringruns`

use axum::extract::{Path, Query, State};
use axum::Json;
use serde_json::Value;
use weir_api_model as dto;
use weir_control::RecurringRunDraft;
use weir_types::{ExperimentId, RecurringRunId};

use super::list::{total, ListParams};
use super::runs::pipeline_source;
use super::{convert, empty, parse_id, split_action, Shared};
use crate::error::{ApiError, ApiResult};

pub async fn list(
    State(state): State<Shared>,
    Query(params): Query<ListParams>,
) -> ApiResult<Json<dto::ListRecurringRunsResponse>> {
    let listing = params.listing()?;
    let page = state.store.list_recurring_runs(&listing.query).await?;
    Ok(Json(dto::ListRecurringRunsResponse {
        recurring_runs: page.items.iter().map(convert::recurring_run).collect(),
        total_size: total(page.total_size),
        next_page_token: listing.next_token(&page),
    }))
}

/// A create or update body as a draft for the control layer; what only the API requires
/// (the names of its fields) is checked here.
fn draft_from_body(body: dto::RecurringRun) -> ApiResult<RecurringRunDraft> {
    let display_name = body
        .display_name
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| ApiError::invalid("a recurring run needs a display_name"))?;
    let trigger = body.trigger.ok_or_else(|| {
        ApiError::invalid("a recurring run needs a trigger (cron_schedule or periodic_schedule)")
    })?;
    let pipeline = pipeline_source(
        body.pipeline_spec.as_ref(),
        body.pipeline_version_reference.as_ref(),
        body.pipeline_version_id.as_deref(),
    )?;
    let experiment_id = match body.experiment_id.as_deref().filter(|e| !e.is_empty()) {
        Some(id) => Some(parse_id::<ExperimentId>("experiment", id)?),
        None => None,
    };
    let runtime = body.runtime_config.unwrap_or_default();
    Ok(RecurringRunDraft {
        display_name,
        description: body.description.unwrap_or_default(),
        namespace: body.namespace.unwrap_or_default(),
        pipeline,
        parameters: runtime.parameters,
        pipeline_root: runtime.pipeline_root,
        service_account: body.service_account.unwrap_or_default(),
        experiment_id,
        max_concurrency: body.max_concurrency.unwrap_or(1),
        trigger,
        enabled: body.mode != Some(dto::RecurringRunMode::Disable),
        no_catchup: body.no_catchup.unwrap_or(false),
    })
}

pub async fn create(
    State(state): State<Shared>,
    Json(body): Json<dto::RecurringRun>,
) -> ApiResult<Json<dto::RecurringRun>> {
    let created = state.create_recurring_run(draft_from_body(body)?).await?;
    Ok(Json(convert::recurring_run(&created)))
}

/// Weir: a recurring run can be changed in place (KFP #3789); its id and history stay.
pub async fn update(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Json(body): Json<dto::RecurringRun>,
) -> ApiResult<Json<dto::RecurringRun>> {
    let id: RecurringRunId = parse_id("recurring run", &id)?;
    state.store.get_recurring_run(id).await?;
    let updated = state
        .update_recurring_run(id, draft_from_body(body)?)
        .await?;
    Ok(Json(convert::recurring_run(&updated)))
}

pub async fn get(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> ApiResult<Json<dto::RecurringRun>> {
    let id: RecurringRunId = parse_id("recurring run", &id)?;
    Ok(Json(convert::recurring_run(
        &state.store.get_recurring_run(id).await?,
    )))
}

pub async fn delete(State(state): State<Shared>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let id: RecurringRunId = parse_id("recurring run", &id)?;
    state.delete_recurring_run(id).await?;
    Ok(empty())
}

/// `:enable` and `:disable`.
pub async fn action(
    State(state): State<Shared>,
    Path(segment): Path<String>,
) -> ApiResult<Json<Value>> {
    let (id, verb) = split_action(&segment)?;
    let id: RecurringRunId = parse_id("recurring run", id)?;
    match verb {
        "enable" => state.set_recurring_run_enabled(id, true).await?,
        "disable" => state.set_recurring_run_enabled(id, false).await?,
        other => {
            return Err(ApiError::not_found(format!(
                "recurring runs have no method `{other}`"
            )))
        }
    };
    Ok(empty())
}
