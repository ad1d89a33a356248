//! `weir-ui`: the web UI, served at `/` on the API's port by `weir-server` ([`router`]).
//!
//! Pages are rendered on the server from askama templates (`templates/`, compiled into the
//! binary, escaping everything by default); CSS and JS are embedded (`static/`). Every page and
//! form works without JavaScript; `app.js` adds live updates (server-sent events), the task
//! panel without reloads, the log tail and the graph's edges. Handlers are an adapter over
//! `weir-control`, as the REST API's are: changes go through its use cases, pages read its
//! store, and its errors become pages with the matching status.
//!
//! Nothing a user supplies is marked safe: the only markup inserted unescaped is what this
//! crate builds itself with every text escaped (SVG plots) and Markdown after ammonia.

mod artifacts;
mod auth;
mod compare;
mod create_run;
mod experiments;
mod format;
mod graph;
mod html;
mod live;
mod pipelines;
mod plots;
mod preview;
mod recurring;
mod run_detail;
mod runs_list;
mod task_panel;
mod visualize;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{middleware, Router};
use weir_control::{Control, ControlError, ErrorCode};

/// What every page handler gets: the control layer, for its use cases and its store's reads.
pub type Shared = std::sync::Arc<Control>;

/// The UI's routes. With a token, every page but the login form needs it (cookie or bearer).
pub fn router(state: Shared, auth_token: Option<String>) -> Router {
    let guard_token = auth_token.clone();
    let pages = Router::new()
        .route("/", get(|| async { Redirect::to("/runs") }))
        .route("/runs", get(runs_list::page))
        .route("/runs/bulk", post(runs_list::bulk))
        .route("/runs/new", get(create_run::form).post(create_run::submit))
        .route("/runs/{id}", get(run_detail::page))
        .route("/runs/{id}/live", get(run_detail::live_fragment))
        .route("/runs/{id}/events", get(live::run_events))
        .route("/runs/{id}/do/{action}", post(run_detail::action))
        .route("/runs/{id}/tags", post(run_detail::set_tags))
        .route("/runs/{id}/tasks/{task}", get(task_panel::fragment))
        .route("/runs/{id}/tasks/{task}/log", get(task_panel::log))
        .route("/runs/{id}/tasks/{task}/log/stream", get(live::log_stream))
        .route("/artifacts/{id}", get(artifacts::page))
        .route("/artifacts/{id}/raw", get(artifacts::raw))
        .route("/compare", get(compare::page))
        .route("/pipelines", get(pipelines::list))
        .route(
            "/pipelines/upload",
            get(pipelines::upload_form).post(pipelines::upload),
        )
        .route("/pipelines/{id}", get(pipelines::detail))
        .route("/pipelines/{id}/do/delete", post(pipelines::delete))
        .route(
            "/experiments",
            get(experiments::list).post(experiments::create),
        )
        .route("/experiments/{id}/do/{action}", post(experiments::action))
        .route("/recurring", get(recurring::list))
        .route(
            "/recurring/new",
            get(recurring::new_form).post(recurring::create),
        )
        .route(
            "/recurring/{id}",
            get(recurring::edit_form).post(recurring::update),
        )
        .route("/recurring/{id}/do/{action}", post(recurring::action))
        .route_layer(middleware::from_fn(move |request, next| {
            auth::guard(guard_token.clone(), request, next)
        }))
        .with_state(state);
    Router::new()
        .merge(pages)
        .merge(auth::routes(auth_token))
        .route("/static/{file}", get(static_file))
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .layer(middleware::map_response(security_headers))
}

const APP_CSS: &str = include_str!("../static/app.css");
const APP_JS: &str = include_str!("../static/app.js");

async fn static_file(axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    let (content_type, body) = match file.as_str() {
        "app.css" => ("text/css; charset=utf-8", APP_CSS),
        "app.js" => ("text/javascript; charset=utf-8", APP_JS),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        body,
    )
        .into_response()
}

/// Scripts only from this server, nothing from elsewhere, no framing of these pages.
/// `srcdoc` frames inherit this policy, on top of their sandbox.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; \
    base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// What a page handler fails with: rendered as an HTML page with the matching status.
#[derive(Debug)]
pub struct UiError {
    status: StatusCode,
    message: String,
}

impl UiError {
    pub fn bad_request(message: impl Into<String>) -> UiError {
        UiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> UiError {
        UiError {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn internal(cause: impl std::fmt::Display) -> UiError {
        tracing::error!(error = %cause, "ui page failed");
        UiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: "internal error; see the server log".to_owned(),
        }
    }
}

/// A use case's error keeps its message; its code chooses the page's status. An internal one
/// is logged and shown as such.
impl From<ControlError> for UiError {
    fn from(error: ControlError) -> UiError {
        let status = match error.code() {
            ErrorCode::InvalidArgument | ErrorCode::FailedPrecondition => StatusCode::BAD_REQUEST,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::AlreadyExists => StatusCode::CONFLICT,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => return UiError::internal(error),
        };
        UiError {
            status,
            message: error.to_string(),
        }
    }
}

impl From<weir_store::StoreError> for UiError {
    fn from(error: weir_store::StoreError) -> UiError {
        ControlError::from(error).into()
    }
}

#[derive(askama::Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    reason: &'a str,
    message: &'a str,
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let page = ErrorPage {
            status: self.status.as_u16(),
            reason: self.status.canonical_reason().unwrap_or("Error"),
            message: &self.message,
        };
        match askama::Template::render(&page) {
            Ok(body) => (self.status, Html(body)).into_response(),
            Err(_) => (self.status, self.message).into_response(),
        }
    }
}

pub type UiResult<T = Response> = Result<T, UiError>;

/// Renders a page template into a response.
pub fn render(template: &impl askama::Template) -> UiResult {
    let body = template.render().map_err(UiError::internal)?;
    Ok(Html(body).into_response())
}

/// A 303 to a local path; anything else goes to `fallback`, so a form's `return` field cannot
/// send the browser elsewhere.
pub fn see_other(target: Option<&str>, fallback: &str) -> Response {
    let local = target
        .filter(|t| html::is_local_path(t))
        .unwrap_or(fallback);
    Redirect::to(local).into_response()
}

/// An id from a path; a malformed one names nothing.
pub fn parse_id<T: std::str::FromStr>(kind: &str, text: &str) -> UiResult<T> {
    text.parse()
        .map_err(|_| UiError::not_found(format!("{kind} `{text}` not found")))
}
