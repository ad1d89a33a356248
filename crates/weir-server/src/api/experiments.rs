//! `/apis/v2beta1/experiments`

use axum::extract::{Path, Query, State};
use axum::Json;
use serde_json::Value;
use weir_api_model as dto;
use weir_store::NewExperiment;
use weir_types::ExperimentId;

use super::list::{total, ListParams};
use super::{convert, empty, parse_id, split_action, Shared};
use crate::error::{ApiError, ApiResult};

pub async fn list(
    State(state): State<Shared>,
    Query(params): Query<ListParams>,
) -> ApiResult<Json<dto::ListExperimentsResponse>> {
    let listing = params.listing()?;
    let page = state.store.list_experiments(&listing.query).await?;
    Ok(Json(dto::ListExperimentsResponse {
        experiments: page.items.iter().map(convert::experiment).collect(),
        total_size: total(page.total_size),
        next_page_token: listing.next_token(&page),
    }))
}

pub async fn create(
    State(state): State<Shared>,
    Json(body): Json<dto::Experiment>,
) -> ApiResult<Json<dto::Experiment>> {
    let name = body
        .display_name
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| ApiError::invalid("an experiment needs a display_name"))?;
    let experiment = state
        .store
        .create_experiment(&NewExperiment {
            id: ExperimentId::new(),
            name,
            description: body.description.unwrap_or_default(),
            namespace: body.namespace.unwrap_or_default(),
        })
        .await?;
    Ok(Json(convert::experiment(&experiment)))
}

pub async fn get(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> ApiResult<Json<dto::Experiment>> {
    let id: ExperimentId = parse_id("experiment", &id)?;
    Ok(Json(convert::experiment(
        &state.store.get_experiment(&id.to_string()).await?,
    )))
}

/// Deletes the experiment with its runs, their records and their files.
pub async fn delete(State(state): State<Shared>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let id: ExperimentId = parse_id("experiment", &id)?;
    state.store.get_experiment(&id.to_string()).await?;
    let query = weir_store::RunQuery {
        experiment_id: Some(id),
        ..Default::default()
    };
    for run in state.store.list_runs(&query).await? {
        if state.is_run_active(run.id) {
            return Err(ApiError::precondition(format!(
                "run {} of this experiment is still executing; terminate it first",
                run.id
            )));
        }
    }
    for run in state.store.list_runs(&query).await? {
        state.delete_run(run.id).await?;
    }
    state.store.delete_experiment(id).await?;
    Ok(empty())
}

/// `:archive` and `:unarchive`.
pub async fn action(
    State(state): State<Shared>,
    Path(segment): Path<String>,
) -> ApiResult<Json<Value>> {
    let (id, verb) = split_action(&segment)?;
    let id: ExperimentId = parse_id("experiment", id)?;
    match verb {
        "archive" => state.store.set_experiment_archived(id, true).await?,
        "unarchive" => state.store.set_experiment_archived(id, false).await?,
        other => {
            return Err(ApiError::not_found(format!(
                "experiments have no method `{other}`"
            )))
        }
    }
    Ok(empty())
}
