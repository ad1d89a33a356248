//! The one place where errors become HTTP responses: a status code and KFP's
//! `google.rpc.Status` body `{code, message, details}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use weir_control::{ControlError, ErrorCode};
use weir_store::StoreError;

/// gRPC codes, as the body's `code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    InvalidArgument = 3,
    NotFound = 5,
    AlreadyExists = 6,
    PermissionDenied = 7,
    FailedPrecondition = 9,
    Internal = 13,
    Unavailable = 14,
    Unauthenticated = 16,
}

#[derive(Debug)]
pub struct ApiError {
    pub code: Code,
    /// Safe to show to the caller; causes stay in the server log.
    pub message: String,
}

impl ApiError {
    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError {
            code: Code::InvalidArgument,
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError {
            code: Code::NotFound,
            message: message.into(),
        }
    }

    pub fn precondition(message: impl Into<String>) -> ApiError {
        ApiError {
            code: Code::FailedPrecondition,
            message: message.into(),
        }
    }

    pub fn unauthenticated() -> ApiError {
        ApiError {
            code: Code::Unauthenticated,
            message: "this server needs a token: send `Authorization: Bearer <token>` (kfp.Client(existing_token=...))".to_owned(),
        }
    }

    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %cause, "internal error");
        ApiError {
            code: Code::Internal,
            message: "internal error; see the server log".to_owned(),
        }
    }

    pub(crate) fn status(&self) -> StatusCode {
        match self.code {
            Code::InvalidArgument => StatusCode::BAD_REQUEST,
            Code::NotFound => StatusCode::NOT_FOUND,
            Code::AlreadyExists => StatusCode::CONFLICT,
            Code::PermissionDenied => StatusCode::FORBIDDEN,
            Code::FailedPrecondition => StatusCode::BAD_REQUEST,
            Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body =
            serde_json::json!({"code": self.code as i32, "message": self.message, "details": []});
        (self.status(), Json(body)).into_response()
    }
}

/// A use case's error keeps its code and its message; an internal one is logged and answered
/// with a message that tells nothing of the cause.
impl From<ControlError> for ApiError {
    fn from(error: ControlError) -> ApiError {
        let code = match error.code() {
            ErrorCode::InvalidArgument => Code::InvalidArgument,
            ErrorCode::NotFound => Code::NotFound,
            ErrorCode::AlreadyExists => Code::AlreadyExists,
            ErrorCode::FailedPrecondition => Code::FailedPrecondition,
            ErrorCode::Unavailable => Code::Unavailable,
            ErrorCode::Internal => return ApiError::internal(error),
        };
        ApiError {
            code,
            message: error.to_string(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        ControlError::from(error).into()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
