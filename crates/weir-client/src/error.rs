//! What can go wrong talking to a server.

use std::path::PathBuf;

/// A failed call. Every variant names the endpoint or the file it is about.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(
        "invalid endpoint `{endpoint}`: {reason}; expected a URL such as http://localhost:8888"
    )]
    InvalidEndpoint { endpoint: String, reason: String },
    /// No HTTP answer: connection refused, DNS, TLS, timeout.
    #[error("cannot reach the server at {endpoint}: {reason}")]
    Unreachable { endpoint: String, reason: String },
    /// The server answered with an error status; `message` is its `google.rpc.Status` message
    /// (or the body as text when it sent something else).
    #[error("{method} {path}: {message} (HTTP {status} from {endpoint})")]
    Api {
        endpoint: String,
        method: String,
        path: String,
        status: u16,
        /// The gRPC code of the status body (`5` not found, `16` unauthenticated, ...).
        code: Option<i32>,
        message: String,
    },
    /// A success status with a body that is not the JSON the API documents.
    #[error("{method} {path}: the server at {endpoint} sent an unexpected response: {reason}")]
    InvalidResponse {
        endpoint: String,
        method: String,
        path: String,
        reason: String,
    },
    #[error("failed to read the pipeline package {}: {reason}", path.display())]
    Package { path: PathBuf, reason: String },
    /// [`crate::Client::wait_for_run`] gave up; `state` is the run's last known state.
    #[error("run {run_id} did not finish within {waited_seconds} s; it is {state}")]
    WaitTimedOut {
        run_id: String,
        waited_seconds: u64,
        state: String,
    },
}

impl ClientError {
    /// The HTTP status of an [`ClientError::Api`] error.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// The server wants a token, or a different one.
    pub fn is_unauthenticated(&self) -> bool {
        self.status() == Some(401)
    }
}

/// A transport error as one line: the innermost cause says what happened ("Connection refused").
pub(crate) fn transport_reason(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "the request timed out".to_owned();
    }
    let mut innermost: &dyn std::error::Error = error;
    while let Some(source) = innermost.source() {
        innermost = source;
    }
    let reason = innermost.to_string();
    if error.is_connect() && !reason.to_lowercase().contains("connect") {
        return format!("failed to connect: {reason}");
    }
    reason
}
