//! Recurring runs and the schedule slots they have fired.

use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection, SqlitePool};
use weir_types::{RecurringRunId, RunId, RunState};

use super::convert::{
    conflict_or_backend, json, millis, now_millis, optional_parsed, optional_time, parsed, time,
    to_json,
};
use super::list::{list_page, Field, Resource};
use crate::{ListQuery, NewRecurringRun, Page, RecurringRun, Result, StoreError};

pub(super) const RECURRING_RUNS: Resource = Resource {
    what: "recurring runs",
    table: "recurring_runs",
    fields: &[
        Field::text(&["recurring_run_id", "id"], "id"),
        Field::text(&["display_name", "name"], "display_name"),
        Field::text(&["description"], "description"),
        Field::time(&["created_at"], "created_at"),
        Field::time(&["updated_at"], "updated_at"),
        Field::nullable_text(&["experiment_id"], "experiment_id"),
        Field::text(&["namespace"], "namespace"),
        Field::closed_set(&["status"], "status", &["ENABLED", "DISABLED"]),
    ],
};

fn status(enabled: bool) -> &'static str {
    if enabled {
        "ENABLED"
    } else {
        "DISABLED"
    }
}

pub(super) async fn create_recurring_run(
    pool: &SqlitePool,
    new: &NewRecurringRun,
) -> Result<RecurringRun> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    ensure_experiment_exists(&mut tx, new).await?;
    let now = now_millis();
    sqlx::query(
        "INSERT INTO recurring_runs (id, display_name, description, namespace, experiment_id, pipeline_id, \
         pipeline_version_id, service_account, max_concurrency, status, no_catchup, created_at, updated_at, \
         trigger_spec, runtime_config, pipeline_spec) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(new.id.to_string())
    .bind(&new.display_name)
    .bind(&new.description)
    .bind(&new.namespace)
    .bind(new.experiment_id.map(|e| e.to_string()))
    .bind(new.pipeline_id.map(|p| p.to_string()))
    .bind(new.pipeline_version_id.map(|v| v.to_string()))
    .bind(&new.service_account)
    .bind(new.max_concurrency)
    .bind(status(new.enabled))
    .bind(new.no_catchup)
    .bind(now)
    .bind(now)
    .bind(to_json(&new.trigger)?)
    .bind(to_json(&new.runtime_config)?)
    .bind(new.pipeline_spec.as_ref().map(to_json).transpose()?)
    .execute(&mut *tx)
    .await
    .map_err(|e| conflict_or_backend(e, || format!("recurring run {} already exists", new.id)))?;
    tx.commit().await?;
    get_recurring_run(pool, new.id).await
}

/// A recurring run in a missing experiment is a NotFound, not a foreign key error.
async fn ensure_experiment_exists(
    connection: &mut SqliteConnection,
    new: &NewRecurringRun,
) -> Result<()> {
    let Some(experiment_id) = new.experiment_id else {
        return Ok(());
    };
    let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM experiments WHERE id = ?")
        .bind(experiment_id.to_string())
        .fetch_optional(connection)
        .await?;
    exists
        .map(|_| ())
        .ok_or_else(|| StoreError::not_found("experiment", experiment_id))
}

pub(super) async fn get_recurring_run(
    pool: &SqlitePool,
    id: RecurringRunId,
) -> Result<RecurringRun> {
    let row = sqlx::query("SELECT * FROM recurring_runs WHERE id = ?")
        .bind(id.to_string())
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| StoreError::not_found("recurring run", id))?;
    recurring_run(&row)
}

pub(super) async fn list_recurring_runs(
    pool: &SqlitePool,
    query: &ListQuery,
) -> Result<Page<RecurringRun>> {
    list_page(pool, &RECURRING_RUNS, None, query, recurring_run).await
}

pub(super) async fn update_recurring_run(
    pool: &SqlitePool,
    new: &NewRecurringRun,
) -> Result<RecurringRun> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    ensure_experiment_exists(&mut tx, new).await?;
    // updated_at strictly increases, even within one millisecond.
    let updated = sqlx::query(
        "UPDATE recurring_runs SET display_name = ?, description = ?, namespace = ?, experiment_id = ?, \
         pipeline_id = ?, pipeline_version_id = ?, service_account = ?, max_concurrency = ?, status = ?, \
         no_catchup = ?, updated_at = MAX(?, updated_at + 1), trigger_spec = ?, runtime_config = ?, \
         pipeline_spec = ? WHERE id = ?",
    )
    .bind(&new.display_name)
    .bind(&new.description)
    .bind(&new.namespace)
    .bind(new.experiment_id.map(|e| e.to_string()))
    .bind(new.pipeline_id.map(|p| p.to_string()))
    .bind(new.pipeline_version_id.map(|v| v.to_string()))
    .bind(&new.service_account)
    .bind(new.max_concurrency)
    .bind(status(new.enabled))
    .bind(new.no_catchup)
    .bind(now_millis())
    .bind(to_json(&new.trigger)?)
    .bind(to_json(&new.runtime_config)?)
    .bind(new.pipeline_spec.as_ref().map(to_json).transpose()?)
    .bind(new.id.to_string())
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::not_found("recurring run", new.id));
    }
    tx.commit().await?;
    get_recurring_run(pool, new.id).await
}

pub(super) async fn set_recurring_run_enabled(
    pool: &SqlitePool,
    id: RecurringRunId,
    enabled: bool,
) -> Result<RecurringRun> {
    let updated = sqlx::query(
        "UPDATE recurring_runs SET status = ?, updated_at = MAX(?, updated_at + 1) WHERE id = ?",
    )
    .bind(status(enabled))
    .bind(now_millis())
    .bind(id.to_string())
    .execute(pool)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::not_found("recurring run", id));
    }
    get_recurring_run(pool, id).await
}

pub(super) async fn delete_recurring_run(pool: &SqlitePool, id: RecurringRunId) -> Result<()> {
    // Its slots go with it through ON DELETE CASCADE; its runs stay.
    let deleted = sqlx::query("DELETE FROM recurring_runs WHERE id = ?")
        .bind(id.to_string())
        .execute(pool)
        .await?;
    if deleted.rows_affected() == 0 {
        return Err(StoreError::not_found("recurring run", id));
    }
    Ok(())
}

pub(super) async fn claim_recurring_slot(
    pool: &SqlitePool,
    id: RecurringRunId,
    slot: DateTime<Utc>,
    run_id: RunId,
) -> Result<bool> {
    let key = id.to_string();
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM recurring_runs WHERE id = ?")
        .bind(&key)
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_none() {
        return Err(StoreError::not_found("recurring run", id));
    }
    let inserted = sqlx::query(
        "INSERT INTO recurring_run_slots (recurring_run_id, slot, run_id, claimed_at) VALUES (?, ?, ?, ?) \
         ON CONFLICT (recurring_run_id, slot) DO NOTHING",
    )
    .bind(&key)
    .bind(millis(&slot))
    .bind(run_id.to_string())
    .bind(now_millis())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(inserted.rows_affected() == 1)
}

pub(super) async fn last_claimed_slot(
    pool: &SqlitePool,
    id: RecurringRunId,
) -> Result<Option<DateTime<Utc>>> {
    let last: Option<Option<i64>> = sqlx::query_scalar(
        "SELECT (SELECT MAX(slot) FROM recurring_run_slots WHERE recurring_run_id = recurring_runs.id) \
         FROM recurring_runs WHERE id = ?",
    )
    .bind(id.to_string())
    .fetch_optional(pool)
    .await?;
    let last = last.ok_or_else(|| StoreError::not_found("recurring run", id))?;
    Ok(optional_time(last))
}

pub(super) async fn count_active_runs_of_recurring(
    pool: &SqlitePool,
    id: RecurringRunId,
) -> Result<i64> {
    let active: Vec<&str> = RunState::ALL
        .iter()
        .filter(|state| !state.is_terminal())
        .map(|state| state.as_str())
        .collect();
    let sql = format!(
        "SELECT count(*) FROM runs WHERE recurring_run_id = ? AND state IN ({})",
        vec!["?"; active.len()].join(", ")
    );
    let mut statement = sqlx::query_scalar(&sql).bind(id.to_string());
    for state in active {
        statement = statement.bind(state);
    }
    Ok(statement.fetch_one(pool).await?)
}

fn recurring_run(row: &SqliteRow) -> Result<RecurringRun> {
    let status: String = row.try_get("status")?;
    let pipeline_spec: Option<String> = row.try_get("pipeline_spec")?;
    let pipeline_spec = pipeline_spec
        .map(|text| {
            serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
                what: "pipeline_spec",
                message: e.to_string(),
            })
        })
        .transpose()?;
    Ok(RecurringRun {
        id: parsed(row, "id")?,
        display_name: row.try_get("display_name")?,
        description: row.try_get("description")?,
        namespace: row.try_get("namespace")?,
        experiment_id: optional_parsed(row, "experiment_id")?,
        pipeline_id: optional_parsed(row, "pipeline_id")?,
        pipeline_version_id: optional_parsed(row, "pipeline_version_id")?,
        pipeline_spec,
        runtime_config: json(row, "runtime_config")?,
        service_account: row.try_get("service_account")?,
        max_concurrency: row.try_get("max_concurrency")?,
        trigger: json(row, "trigger_spec")?,
        enabled: status == "ENABLED",
        no_catchup: row.try_get("no_catchup")?,
        created_at: time(row.try_get("created_at")?),
        updated_at: time(row.try_get("updated_at")?),
    })
}
