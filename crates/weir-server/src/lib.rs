//! `weir-server`: the KFP v2beta1 REST API over Weir's engine and store, on one port.
//!
//! `api/` holds one module per resource (experiments, pipelines, runs, recurring runs); each
//! handler extracts its request, calls the store or the run manager, and converts records to the
//! `weir-api-model` JSON shapes (`api/convert.rs`). `runs.rs` owns the runs being executed: it
//! starts them, terminates them, and resumes the unfinished ones when the server starts.
//! `scheduler.rs` fires recurring runs. `error.rs` is the only place that maps errors to HTTP
//! status codes and the `google.rpc.Status` body.
//!
//! This is the only crate that knows HTTP.

mod api;
mod auth;
mod error;
mod package;
mod runs;
mod scheduler;
mod state;
mod ui;

use std::net::SocketAddr;
use std::sync::Arc;

pub use error::ApiError;
pub use state::{AppState, ServerConfig};

/// Serves until `shutdown` is canceled; then stops taking work, lets running tasks' state
/// settle and returns.
pub async fn serve(
    config: ServerConfig,
    state: AppState,
    shutdown: tokio_util::sync::CancellationToken,
) -> std::io::Result<()> {
    let address = SocketAddr::new(config.host, config.port);
    let listener = tokio::net::TcpListener::bind(address).await?;
    let state = Arc::new(state);
    state.runs.resume_unfinished().await;
    let scheduler = tokio::spawn(scheduler::run(state.clone(), shutdown.clone()));
    let app = api::router(state.clone(), config.auth_token.clone());
    tracing::info!(%address, "serving the KFP v2beta1 API");
    let graceful = shutdown.clone();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { graceful.cancelled().await })
        .await?;
    scheduler.abort();
    state.runs.shutdown().await;
    Ok(())
}
