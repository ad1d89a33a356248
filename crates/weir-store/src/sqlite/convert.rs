//! Conversions between SQLite values and the store's types.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteExecutor};

use crate::{Result, StateChange, StoreError};

pub(super) fn now_millis() -> i64 {
    Utc::now().timestamp_millis()
}

pub(super) fn millis(time: &DateTime<Utc>) -> i64 {
    time.timestamp_millis()
}

pub(super) fn time(millis: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(millis).unwrap_or_default()
}

pub(super) fn optional_time(millis: Option<i64>) -> Option<DateTime<Utc>> {
    millis.map(time)
}

/// A JSON column kept as its text (checked to be JSON).
pub(super) fn stored_json(row: &SqliteRow, column: &'static str) -> Result<crate::StoredJson> {
    let text: String = row.try_get(column)?;
    crate::StoredJson::from_text(text).map_err(|e| StoreError::Corrupt {
        what: column,
        message: e.to_string(),
    })
}

pub(super) fn json<T: DeserializeOwned>(row: &SqliteRow, column: &'static str) -> Result<T> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
        what: column,
        message: e.to_string(),
    })
}

pub(super) fn parsed<T: FromStr>(row: &SqliteRow, column: &'static str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    let text: String = row.try_get(column)?;
    text.parse().map_err(|e: T::Err| StoreError::Corrupt {
        what: column,
        message: e.to_string(),
    })
}

pub(super) fn optional_parsed<T: FromStr>(
    row: &SqliteRow,
    column: &'static str,
) -> Result<Option<T>>
where
    T::Err: std::fmt::Display,
{
    let text: Option<String> = row.try_get(column)?;
    text.map(|t| {
        t.parse().map_err(|e: T::Err| StoreError::Corrupt {
            what: column,
            message: e.to_string(),
        })
    })
    .transpose()
}

pub(super) fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt {
        what: "json",
        message: e.to_string(),
    })
}

/// Appends a state change to a history table (`run_state_history` or `task_state_history`).
pub(super) async fn append_history<'e>(
    executor: impl SqliteExecutor<'e>,
    table: &'static str,
    key_column: &'static str,
    key: &str,
    state: &str,
    message: Option<&str>,
) -> Result<()> {
    let sql = format!(
        "INSERT INTO {table} ({key_column}, seq, state, at, message) \
         VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM {table} WHERE {key_column} = ?1), ?2, ?3, ?4)"
    );
    sqlx::query(&sql)
        .bind(key)
        .bind(state)
        .bind(now_millis())
        .bind(message)
        .execute(executor)
        .await?;
    Ok(())
}

pub(super) async fn history<'e>(
    executor: impl SqliteExecutor<'e>,
    table: &'static str,
    key_column: &'static str,
    key: &str,
) -> Result<Vec<StateChange>> {
    let sql = format!("SELECT state, at, message FROM {table} WHERE {key_column} = ? ORDER BY seq");
    let rows = sqlx::query(&sql).bind(key).fetch_all(executor).await?;
    rows.iter()
        .map(|row| {
            Ok(StateChange {
                state: row.try_get("state")?,
                at: time(row.try_get("at")?),
                message: row.try_get("message")?,
            })
        })
        .collect()
}

/// Whether an insert or update failed on a UNIQUE or PRIMARY KEY constraint.
pub(super) fn is_unique_violation(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|e| e.is_unique_violation())
}

/// A unique violation as a [`StoreError::Conflict`] with `message`; other errors as they are.
pub(super) fn conflict_or_backend(
    error: sqlx::Error,
    message: impl FnOnce() -> String,
) -> StoreError {
    if is_unique_violation(&error) {
        StoreError::Conflict(message())
    } else {
        StoreError::Backend(error)
    }
}

pub(super) fn storage_state(archived: bool) -> &'static str {
    if archived {
        "ARCHIVED"
    } else {
        "AVAILABLE"
    }
}

/// The values of the `storage_state` columns.
pub(super) const STORAGE_STATES: &[&str] = &["AVAILABLE", "ARCHIVED"];
