use weir_types::{InvalidTransition, RunId, TaskId};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{kind} `{id}` not found")]
    NotFound { kind: &'static str, id: String },
    #[error("{0}")]
    Conflict(String),
    /// A request the store cannot answer as asked: an unknown list field, a filter value of the
    /// wrong type, a page cursor that does not fit the sort order.
    #[error("{0}")]
    InvalidArgument(String),
    /// The request is valid but the stored state does not allow it now (a pipeline that still has
    /// versions, a run whose experiment is archived).
    #[error("{0}")]
    FailedPrecondition(String),
    #[error(transparent)]
    InvalidTransition(#[from] InvalidTransition),
    #[error("stored {what} is unreadable: {message}")]
    Corrupt { what: &'static str, message: String },
    /// A task's inputs, outputs or details that do not decode as the typed data they hold.
    #[error(
        "the stored {field} of task {task_id} in run {run_id} are unreadable: {message}; \
         the database was changed outside Weir or by a newer version"
    )]
    CorruptTaskData {
        run_id: RunId,
        task_id: TaskId,
        /// The column: `inputs`, `outputs` or `details`.
        field: &'static str,
        message: String,
    },
    #[error("database error: {0}")]
    Backend(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    pub(crate) fn not_found(kind: &'static str, id: impl ToString) -> Self {
        StoreError::NotFound {
            kind,
            id: id.to_string(),
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, StoreError::NotFound { .. })
    }
}
