//! `weir-server`: the KFP v2beta1 REST API and the web UI over Weir's control layer, on one
//! port.
//!
//! `api/` holds one module per resource (experiments, pipelines, runs, recurring runs); each
//! handler extracts its request, calls a use case of `weir-control` (or reads the store), and
//! converts records to the `weir-api-model` JSON shapes (`api/convert.rs`). The web UI is
//! `weir-ui`, an adapter over the same use cases; `app` puts their routes together. `error.rs` is the only place that maps errors to HTTP status codes and the
//! `google.rpc.Status` body.
//!
//! This crate and `weir-ui` are the only ones that serve HTTP.

mod api;
mod auth;
mod error;
mod state;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use weir_control::Control;

pub use error::ApiError;
pub use state::ServerConfig;

/// Serves until `shutdown` is canceled; then stops taking work, lets running tasks' state
/// settle and returns.
pub async fn serve(
    config: ServerConfig,
    control: Control,
    shutdown: tokio_util::sync::CancellationToken,
) -> std::io::Result<()> {
    let address = SocketAddr::new(config.host, config.port);
    let listener = tokio::net::TcpListener::bind(address).await?;
    let control = Arc::new(control);
    control.resume_unfinished().await;
    let scheduler = tokio::spawn(weir_control::scheduler::run(
        control.clone(),
        shutdown.clone(),
    ));
    let app = app(control.clone(), config.auth_token.clone());
    tracing::info!(%address, "serving the KFP v2beta1 API");
    let graceful = shutdown.clone();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { graceful.cancelled().await })
        .await?;
    scheduler.abort();
    control.shutdown().await;
    Ok(())
}

/// The UI at `/`, the API under `/apis/v2beta1`, with one body limit for both (a package upload
/// may be as large as a spec may be).
fn app(control: Arc<Control>, auth_token: Option<String>) -> Router {
    Router::new()
        .merge(weir_ui::router(control.clone(), auth_token.clone()))
        .nest("/apis/v2beta1", api::router(control, auth_token))
        .layer(axum::extract::DefaultBodyLimit::max(
            weir_spec::parse::MAX_INPUT_BYTES + 1024 * 1024,
        ))
        .fallback(|| async {
            ApiError::not_found("no such API path; this server speaks /apis/v2beta1")
        })
}
