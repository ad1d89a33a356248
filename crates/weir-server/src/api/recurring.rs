//! `/apis/v2beta1/recurringruns`

use axum::extract::{Path, Query, State};
use axum::Json;
use serde_json::Value;
use weir_api_model as dto;
use weir_store::{NewRecurringRun, RuntimeConfig};
use weir_types::{ExperimentId, RecurringRunId};

use super::list::{total, ListParams};
use super::runs::resolve_spec;
use super::{convert, empty, parse_id, split_action, Shared};
use crate::error::{ApiError, ApiResult};
use crate::scheduler;

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

/// Checks a create or update body into what the store keeps.
async fn recurring_from_body(
    state: &Shared,
    id: RecurringRunId,
    body: dto::RecurringRun,
) -> ApiResult<NewRecurringRun> {
    let display_name = body
        .display_name
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| ApiError::invalid("a recurring run needs a display_name"))?;
    let trigger = body.trigger.ok_or_else(|| {
        ApiError::invalid("a recurring run needs a trigger (cron_schedule or periodic_schedule)")
    })?;
    scheduler::check_trigger(&trigger)?;
    let (package, pipeline_id, version_id) = resolve_spec(
        state,
        body.pipeline_spec.as_ref(),
        body.pipeline_version_reference.as_ref(),
        body.pipeline_version_id.as_deref(),
    )
    .await?;
    let runtime = body.runtime_config.unwrap_or_default();
    weir_engine::complete_parameters(&package.document, runtime.parameters.clone())
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    let experiment_id = match body.experiment_id.as_deref().filter(|e| !e.is_empty()) {
        Some(id) => {
            let id: ExperimentId = parse_id("experiment", id)?;
            state.store.get_experiment(&id.to_string()).await?;
            id
        }
        None => state.store.ensure_experiment("Default").await?.id,
    };
    let max_concurrency = body.max_concurrency.unwrap_or(1);
    if !(1..=10).contains(&max_concurrency) {
        return Err(ApiError::invalid(format!(
            "max_concurrency must be between 1 and 10, not {max_concurrency}"
        )));
    }
    Ok(NewRecurringRun {
        id,
        display_name,
        description: body.description.unwrap_or_default(),
        namespace: body.namespace.unwrap_or_default(),
        experiment_id: Some(experiment_id),
        pipeline_id,
        pipeline_version_id: version_id,
        pipeline_spec: Some(package.spec_json),
        runtime_config: RuntimeConfig {
            parameters: runtime.parameters,
            pipeline_root: runtime.pipeline_root.filter(|r| r.starts_with('/')),
        },
        service_account: body.service_account.unwrap_or_default(),
        max_concurrency,
        trigger: serde_json::to_value(&trigger).map_err(ApiError::internal)?,
        enabled: body.mode != Some(dto::RecurringRunMode::Disable),
        no_catchup: body.no_catchup.unwrap_or(false),
    })
}

pub async fn create(
    State(state): State<Shared>,
    Json(body): Json<dto::RecurringRun>,
) -> ApiResult<Json<dto::RecurringRun>> {
    let recurring = recurring_from_body(&state, RecurringRunId::new(), body).await?;
    Ok(Json(convert::recurring_run(
        &state.store.create_recurring_run(&recurring).await?,
    )))
}

/// Weir: a recurring run can be changed in place (KFP #3789); its id and history stay.
pub async fn update(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Json(body): Json<dto::RecurringRun>,
) -> ApiResult<Json<dto::RecurringRun>> {
    let id: RecurringRunId = parse_id("recurring run", &id)?;
    state.store.get_recurring_run(id).await?;
    let recurring = recurring_from_body(&state, id, body).await?;
    Ok(Json(convert::recurring_run(
        &state.store.update_recurring_run(&recurring).await?,
    )))
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
    state.store.delete_recurring_run(id).await?;
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
        "enable" => state.store.set_recurring_run_enabled(id, true).await?,
        "disable" => state.store.set_recurring_run_enabled(id, false).await?,
        other => {
            return Err(ApiError::not_found(format!(
                "recurring runs have no method `{other}`"
            )))
        }
    };
    Ok(empty())
}
