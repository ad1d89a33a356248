//! Tasks (executions), artifacts and cache entries.

use serde::de::DeserializeOwned;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqlitePool};
use weir_types::{RunId, TaskId};

use super::convert::{
    json, millis, now_millis, optional_parsed, optional_time, parsed, time, to_json,
};
use super::hot::Hot;
use super::values;
use crate::{Artifact, CacheEntry, NewArtifact, Result, StoreError, Task};

pub(super) async fn get_task(pool: &SqlitePool, id: TaskId) -> Result<Task> {
    let row = sqlx::query("SELECT * FROM tasks WHERE id = ?")
        .bind(id.to_string())
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| StoreError::not_found("task", id))?;
    task(&row)
}

/// The columns [`list_tasks`] reads: all of them, or all but `details` (read as `{}`, the
/// default details).
pub(super) const WITH_DETAILS: &str = "*";
pub(super) const WITHOUT_DETAILS: &str = "id, run_id, parent_id, path, name, display_name, kind, \
     iteration_index, state, inputs, outputs, '{}' AS details, error, attempt, log_path, \
     created_at, started_at, finished_at";

pub(super) async fn list_tasks(
    pool: &SqlitePool,
    run_id: RunId,
    columns: &'static str,
) -> Result<Vec<Task>> {
    let sql = format!("SELECT {columns} FROM tasks WHERE run_id = ? ORDER BY created_at, rowid");
    let rows = sqlx::query(&sql)
        .bind(run_id.to_string())
        .fetch_all(pool)
        .await?;
    rows.iter().map(task).collect()
}

pub(super) async fn run_task_histories(
    pool: &SqlitePool,
    run_id: RunId,
) -> Result<std::collections::BTreeMap<TaskId, Vec<crate::StateChange>>> {
    let rows = sqlx::query(
        "SELECT h.task_id, h.state, h.at, h.message FROM task_state_history h \
         JOIN tasks t ON t.id = h.task_id WHERE t.run_id = ? ORDER BY h.task_id, h.seq",
    )
    .bind(run_id.to_string())
    .fetch_all(pool)
    .await?;
    let mut histories: std::collections::BTreeMap<TaskId, Vec<crate::StateChange>> =
        Default::default();
    for row in &rows {
        let task_id: TaskId = parsed(row, "task_id")?;
        histories
            .entry(task_id)
            .or_default()
            .push(crate::StateChange {
                state: row.try_get("state")?,
                at: time(row.try_get("at")?),
                message: row.try_get("message")?,
            });
    }
    Ok(histories)
}

pub(super) async fn delete_task(pool: &SqlitePool, id: TaskId) -> Result<()> {
    // Children go with their parent through `ON DELETE CASCADE` on parent_id.
    let deleted = sqlx::query("DELETE FROM tasks WHERE id = ?")
        .bind(id.to_string())
        .execute(pool)
        .await?;
    if deleted.rows_affected() == 0 {
        return Err(StoreError::not_found("task", id));
    }
    Ok(())
}

pub(super) fn task(row: &SqliteRow) -> Result<Task> {
    let id: TaskId = parsed(row, "id")?;
    let run_id: RunId = parsed(row, "run_id")?;
    let data = TaskData { row, run_id, id };
    Ok(Task {
        id,
        run_id,
        parent_id: optional_parsed(row, "parent_id")?,
        path: row.try_get("path")?,
        name: row.try_get("name")?,
        display_name: row.try_get("display_name")?,
        kind: parsed(row, "kind")?,
        iteration_index: row.try_get("iteration_index")?,
        state: parsed(row, "state")?,
        inputs: data.decode("inputs")?,
        outputs: data.decode("outputs")?,
        details: data.decode("details")?,
        error: row.try_get("error")?,
        attempt: row.try_get("attempt")?,
        log_path: row.try_get("log_path")?,
        created_at: time(row.try_get("created_at")?),
        started_at: optional_time(row.try_get("started_at")?),
        finished_at: optional_time(row.try_get("finished_at")?),
    })
}

/// The JSON columns of one task's row, decoded into their types; an error names the task.
struct TaskData<'r> {
    row: &'r SqliteRow,
    run_id: RunId,
    id: TaskId,
}

impl TaskData<'_> {
    fn decode<T: DeserializeOwned>(&self, column: &'static str) -> Result<T> {
        let text: &str = self.row.try_get(column)?;
        serde_json::from_str(text).map_err(|e| StoreError::CorruptTaskData {
            run_id: self.run_id,
            task_id: self.id,
            field: column,
            message: e.to_string(),
        })
    }
}

pub(super) async fn create_artifact(pool: &SqlitePool, artifact: &NewArtifact) -> Result<Artifact> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO artifacts (run_id, task_id, name, uri, schema_title, metadata, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(artifact.run_id.to_string())
    .bind(artifact.task_id.map(|t| t.to_string()))
    .bind(&artifact.name)
    .bind(&artifact.uri)
    .bind(&artifact.schema_title)
    .bind(to_json(&artifact.metadata)?)
    .bind(now_millis())
    .fetch_one(&mut *tx)
    .await?;
    if artifact.schema_title == values::METRICS_SCHEMA {
        let run_id = artifact.run_id.to_string();
        values::put_metrics(&mut tx, &run_id, &artifact.metadata).await?;
    }
    tx.commit().await?;
    get_artifact(pool, id).await
}

pub(super) async fn get_artifact(pool: &SqlitePool, id: i64) -> Result<Artifact> {
    let row = sqlx::query("SELECT * FROM artifacts WHERE id = ?")
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| StoreError::not_found("artifact", id))?;
    artifact(&row)
}

pub(super) async fn list_run_artifacts(pool: &SqlitePool, run_id: RunId) -> Result<Vec<Artifact>> {
    let rows = sqlx::query("SELECT * FROM artifacts WHERE run_id = ? ORDER BY id")
        .bind(run_id.to_string())
        .fetch_all(pool)
        .await?;
    rows.iter().map(artifact).collect()
}

fn artifact(row: &SqliteRow) -> Result<Artifact> {
    Ok(Artifact {
        id: row.try_get("id")?,
        run_id: parsed(row, "run_id")?,
        task_id: optional_parsed(row, "task_id")?,
        name: row.try_get("name")?,
        uri: row.try_get("uri")?,
        schema_title: row.try_get("schema_title")?,
        metadata: json(row, "metadata")?,
        created_at: time(row.try_get("created_at")?),
    })
}

pub(super) async fn find_cache_entry(
    pool: &SqlitePool,
    fingerprint: &str,
    pipeline_name: &str,
) -> Result<Option<CacheEntry>> {
    let row = sqlx::query(
        "SELECT * FROM cache_entries WHERE fingerprint = ? AND pipeline_name = ? ORDER BY created_at DESC LIMIT 1",
    )
    .bind(fingerprint)
    .bind(pipeline_name)
    .fetch_optional(pool)
    .await?;
    row.map(|row| {
        Ok(CacheEntry {
            fingerprint: row.try_get("fingerprint")?,
            pipeline_name: row.try_get("pipeline_name")?,
            task_id: parsed(&row, "task_id")?,
            run_id: parsed(&row, "run_id")?,
            created_at: time(row.try_get("created_at")?),
        })
    })
    .transpose()
}

pub(super) async fn find_cached_task(
    hot: &Hot,
    fingerprint: &str,
    pipeline_name: &str,
) -> Result<Option<Task>> {
    let row = hot
        .fetch_optional(
            sqlx::query(
                "SELECT t.* FROM (SELECT task_id FROM cache_entries WHERE fingerprint = ? AND pipeline_name = ? \
         ORDER BY created_at DESC LIMIT 1) e JOIN tasks t ON t.id = e.task_id",
            )
            .bind(fingerprint)
            .bind(pipeline_name),
        )
        .await?;
    row.as_ref().map(task).transpose()
}

pub(super) async fn put_cache_entry(hot: &Hot, entry: &CacheEntry) -> Result<()> {
    hot.fetch_optional(
        sqlx::query(
            "INSERT INTO cache_entries (fingerprint, pipeline_name, task_id, run_id, created_at) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&entry.fingerprint)
        .bind(&entry.pipeline_name)
        .bind(entry.task_id.to_string())
        .bind(entry.run_id.to_string())
        .bind(millis(&entry.created_at)),
    )
    .await?;
    Ok(())
}
