//! The KFP v2beta1 REST API: routes and handlers, one module per resource.

mod convert;
mod experiments;
mod list;
mod pipelines;
mod recurring;
mod runs;

use std::str::FromStr;
use std::sync::Arc;

use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use weir_control::Control;

use crate::error::{ApiError, ApiResult};

pub type Shared = Arc<Control>;

/// The API's routes, to be nested under `/apis/v2beta1`. With a token, every call needs it.
pub fn router(state: Shared, auth_token: Option<String>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/auth", get(|| async { Json(json!({})) }))
        .route("/filters", get(|| async { Json(json!({})) }))
        .route(
            "/experiments",
            get(experiments::list).post(experiments::create),
        )
        .route(
            "/experiments/{id}",
            get(experiments::get)
                .delete(experiments::delete)
                .post(experiments::action),
        )
        .route("/pipelines", get(pipelines::list).post(pipelines::create))
        .route("/pipelines/create", post(pipelines::create_with_version))
        .route("/pipelines/upload", post(pipelines::upload))
        .route("/pipelines/upload_version", post(pipelines::upload_version))
        .route("/pipelines/names/{name}", get(pipelines::get_by_name))
        .route(
            "/pipelines/{id}",
            get(pipelines::get)
                .delete(pipelines::delete)
                .patch(pipelines::update),
        )
        .route(
            "/pipelines/{id}/versions",
            get(pipelines::list_versions).post(pipelines::create_version),
        )
        .route(
            "/pipelines/{id}/versions/{version_id}",
            get(pipelines::get_version)
                .delete(pipelines::delete_version)
                .patch(pipelines::update_version),
        )
        .route(
            "/pipelines/{id}/versions/{version_id}/yaml",
            get(pipelines::download_version),
        )
        .route("/runs", get(runs::list).post(runs::create))
        .route(
            "/runs/{id}",
            get(runs::get).delete(runs::delete).post(runs::action),
        )
        .route(
            "/recurringruns",
            get(recurring::list).post(recurring::create),
        )
        .route(
            "/recurringruns/{id}",
            get(recurring::get)
                .delete(recurring::delete)
                .post(recurring::action)
                .put(recurring::update)
                .patch(recurring::update),
        )
        .route_layer(axum::middleware::from_fn(move |request, next| {
            crate::auth::require_token(auth_token.clone(), request, next)
        }))
        .with_state(state)
}

async fn healthz() -> Json<Value> {
    Json(json!({"multi_user": false, "pipeline_store": "database"}))
}

/// `run-id:archive` in one path segment: the id and the custom method.
fn split_action(segment: &str) -> ApiResult<(&str, &str)> {
    segment.split_once(':').ok_or_else(|| {
        ApiError::not_found(format!(
            "no such method `{segment}`; custom methods look like `{{id}}:archive`"
        ))
    })
}

/// An id from the path; a malformed id names nothing, so it is NOT_FOUND.
fn parse_id<T: FromStr>(kind: &str, text: &str) -> ApiResult<T> {
    text.parse()
        .map_err(|_| ApiError::not_found(format!("{kind} `{text}` not found")))
}

fn empty() -> Json<Value> {
    Json(json!({}))
}
