//! The control layer's one error, [`ControlError`], and its stable [`ErrorCode`].
//!
//! Every variant has one code; the adapters map codes, never variants: the REST API to an HTTP
//! status and a `google.rpc.Status` body, the UI to a page's status, the CLI to its exit code.
//! The message (`Display`) names the thing at fault and is safe to show, except for the
//! [`ErrorCode::Internal`] ones, whose message is for the log.

use weir_engine::EngineError;
use weir_spec::Diagnostic;
use weir_store::StoreError;
use weir_types::{PipelineId, RunId};

/// What kind of failure an error is, for machines: gRPC's codes, which KFP's API speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The request is wrong whatever the state: a field, a spec, a parameter, a schedule.
    InvalidArgument,
    /// A thing the request names does not exist.
    NotFound,
    /// A thing the request would create exists already.
    AlreadyExists,
    /// The request is valid but the state does not allow it now (a run still executing).
    FailedPrecondition,
    /// The service cannot take the request now; the same request may work later.
    Unavailable,
    /// A fault of ours (the database, a stored record that does not read); see the log.
    Internal,
}

impl ErrorCode {
    /// The code's gRPC name, as KFP writes it (`INVALID_ARGUMENT`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidArgument => "INVALID_ARGUMENT",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::AlreadyExists => "ALREADY_EXISTS",
            ErrorCode::FailedPrecondition => "FAILED_PRECONDITION",
            ErrorCode::Unavailable => "UNAVAILABLE",
            ErrorCode::Internal => "INTERNAL",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a use case was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// A request field the caller got wrong; the message names it.
    #[error("{0}")]
    InvalidArgument(String),
    /// A pipeline that does not read or validate: `what` names it (a file, `pipeline_spec`),
    /// `errors` holds every error diagnostic.
    #[error("{what} is not a valid pipeline:\n{}", .errors.join("\n"))]
    InvalidPipeline { what: String, errors: Vec<String> },
    /// The engine refused the spec when the run was submitted.
    #[error("the pipeline is invalid:\n{}", .0.iter().map(|d| format!("  {d}")).collect::<Vec<_>>().join("\n"))]
    InvalidSpec(Vec<Diagnostic>),
    /// A parameter value the pipeline does not take.
    #[error("parameter `{name}`: {message}")]
    InvalidParameter { name: String, message: String },
    #[error("{kind} `{id}` not found")]
    NotFound { kind: &'static str, id: String },
    #[error("{0}")]
    AlreadyExists(String),
    #[error("run {0} is still executing; only FAILED or CANCELED runs can be retried")]
    RunStillExecuting(RunId),
    #[error("run {0} is still stopping; try again")]
    RunStillStopping(RunId),
    #[error("pipeline {0} has no versions")]
    PipelineHasNoVersions(PipelineId),
    /// Another state that does not allow the request now; the message says which.
    #[error("{0}")]
    FailedPrecondition(String),
    /// A fault of ours, for the log.
    #[error("internal error: {0}")]
    Internal(String),
    /// The store failed (the database, a record that does not read).
    #[error(transparent)]
    Store(StoreError),
}

impl ControlError {
    /// The stable code of this error; one per variant.
    pub fn code(&self) -> ErrorCode {
        match self {
            ControlError::InvalidArgument(_)
            | ControlError::InvalidPipeline { .. }
            | ControlError::InvalidSpec(_)
            | ControlError::InvalidParameter { .. } => ErrorCode::InvalidArgument,
            ControlError::NotFound { .. } => ErrorCode::NotFound,
            ControlError::AlreadyExists(_) => ErrorCode::AlreadyExists,
            ControlError::RunStillExecuting(_)
            | ControlError::RunStillStopping(_)
            | ControlError::PipelineHasNoVersions(_)
            | ControlError::FailedPrecondition(_) => ErrorCode::FailedPrecondition,
            ControlError::Internal(_) | ControlError::Store(_) => ErrorCode::Internal,
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> ControlError {
        ControlError::InvalidArgument(message.into())
    }
}

/// The store's refusals keep their meaning; its faults are [`ControlError::Store`].
impl From<StoreError> for ControlError {
    fn from(error: StoreError) -> ControlError {
        match error {
            StoreError::NotFound { kind, id } => ControlError::NotFound { kind, id },
            StoreError::Conflict(message) => ControlError::AlreadyExists(message),
            StoreError::InvalidArgument(message) => ControlError::InvalidArgument(message),
            StoreError::FailedPrecondition(message) => ControlError::FailedPrecondition(message),
            StoreError::InvalidTransition(refused) => {
                ControlError::FailedPrecondition(refused.to_string())
            }
            fault => ControlError::Store(fault),
        }
    }
}

impl From<EngineError> for ControlError {
    fn from(error: EngineError) -> ControlError {
        match error {
            EngineError::InvalidSpec(diagnostics) => ControlError::InvalidSpec(diagnostics),
            EngineError::InvalidParameter { name, message } => {
                ControlError::InvalidParameter { name, message }
            }
            EngineError::FailedPrecondition(message) => ControlError::FailedPrecondition(message),
            EngineError::Store(store) => store.into(),
            EngineError::Internal(message) => ControlError::Internal(message),
        }
    }
}

pub type ControlResult<T> = Result<T, ControlError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_refusals_keep_their_code_and_message() {
        let missing: ControlError = StoreError::NotFound {
            kind: "run",
            id: "abc".to_owned(),
        }
        .into();
        assert_eq!(missing.code(), ErrorCode::NotFound);
        assert_eq!(missing.to_string(), "run `abc` not found");
        let taken: ControlError = StoreError::Conflict("name taken".to_owned()).into();
        assert_eq!(taken.code(), ErrorCode::AlreadyExists);
        assert_eq!(taken.to_string(), "name taken");
        let fault: ControlError = StoreError::Corrupt {
            what: "run",
            message: "bad".to_owned(),
        }
        .into();
        assert_eq!(fault.code(), ErrorCode::Internal);
    }

    #[test]
    fn engine_refusals_keep_their_message() {
        let parameter: ControlError = EngineError::InvalidParameter {
            name: "n".to_owned(),
            message: "expects NUMBER_INTEGER".to_owned(),
        }
        .into();
        assert_eq!(parameter.code(), ErrorCode::InvalidArgument);
        assert_eq!(
            parameter.to_string(),
            "parameter `n`: expects NUMBER_INTEGER"
        );
        let refused: ControlError =
            EngineError::FailedPrecondition("run x is RUNNING".into()).into();
        assert_eq!(refused.code(), ErrorCode::FailedPrecondition);
        assert_eq!(refused.to_string(), "run x is RUNNING");
    }
}
