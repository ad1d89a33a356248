//! Experiments and runs.

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqlitePool};
use weir_types::{ExperimentId, RunId, RunState};

use super::convert::{
    append_history, json, now_millis, optional_parsed, optional_time, parsed, time, to_json,
};
use crate::{Experiment, NewRun, Result, Run, RunQuery, StoreError};

pub(super) async fn ensure_experiment(pool: &SqlitePool, name: &str) -> Result<Experiment> {
    sqlx::query("INSERT INTO experiments (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING")
        .bind(ExperimentId::new().to_string())
        .bind(name)
        .bind(now_millis())
        .execute(pool)
        .await?;
    let row = sqlx::query("SELECT * FROM experiments WHERE name = ?")
        .bind(name)
        .fetch_one(pool)
        .await?;
    experiment(&row)
}

pub(super) async fn get_experiment(pool: &SqlitePool, id: &str) -> Result<Experiment> {
    let row = sqlx::query("SELECT * FROM experiments WHERE id = ?")
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| StoreError::not_found("experiment", id))?;
    experiment(&row)
}

fn experiment(row: &SqliteRow) -> Result<Experiment> {
    Ok(Experiment {
        id: parsed(row, "id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        created_at: time(row.try_get("created_at")?),
    })
}

pub(super) async fn create_run(pool: &SqlitePool, run: &NewRun) -> Result<Run> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    sqlx::query(
        "INSERT INTO runs (id, experiment_id, display_name, description, pipeline_name, pipeline_spec, \
         runtime_config, options, state, pipeline_version_id, recurring_run_id, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(run.id.to_string())
    .bind(run.experiment_id.map(|e| e.to_string()))
    .bind(&run.display_name)
    .bind(&run.description)
    .bind(&run.pipeline_name)
    .bind(to_json(&run.pipeline_spec)?)
    .bind(to_json(&run.runtime_config)?)
    .bind(to_json(&run.options)?)
    .bind(RunState::Pending.as_str())
    .bind(&run.pipeline_version_id)
    .bind(&run.recurring_run_id)
    .bind(now_millis())
    .execute(&mut *tx)
    .await?;
    let id = run.id.to_string();
    append_history(
        &mut *tx,
        "run_state_history",
        "run_id",
        &id,
        RunState::Pending.as_str(),
        None,
    )
    .await?;
    tx.commit().await?;
    get_run(pool, run.id).await
}

pub(super) async fn get_run(pool: &SqlitePool, id: RunId) -> Result<Run> {
    let row = sqlx::query("SELECT * FROM runs WHERE id = ?")
        .bind(id.to_string())
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| StoreError::not_found("run", id))?;
    run(&row)
}

pub(super) async fn list_runs(pool: &SqlitePool, query: &RunQuery) -> Result<Vec<Run>> {
    let mut sql = String::from("SELECT * FROM runs WHERE 1 = 1");
    if !query.states.is_empty() {
        let placeholders = vec!["?"; query.states.len()].join(", ");
        sql.push_str(&format!(" AND state IN ({placeholders})"));
    }
    if query.experiment_id.is_some() {
        sql.push_str(" AND experiment_id = ?");
    }
    sql.push_str(" ORDER BY created_at DESC, id DESC LIMIT ?");
    let mut statement = sqlx::query(&sql);
    for state in &query.states {
        statement = statement.bind(state.as_str());
    }
    if let Some(experiment) = query.experiment_id {
        statement = statement.bind(experiment.to_string());
    }
    let rows = statement
        .bind(i64::from(query.limit.unwrap_or(u32::MAX)))
        .fetch_all(pool)
        .await?;
    rows.iter().map(run).collect()
}

pub(super) async fn set_run_state(
    pool: &SqlitePool,
    id: RunId,
    state: RunState,
    message: Option<&str>,
) -> Result<Run> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let key = id.to_string();
    let current: String = sqlx::query_scalar("SELECT state FROM runs WHERE id = ?")
        .bind(&key)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::not_found("run", id))?;
    let current: RunState = current.parse().map_err(|message| StoreError::Corrupt {
        what: "state",
        message,
    })?;
    if current != state {
        current.transition(state)?;
        let now = now_millis();
        let (started, finished) = match state {
            RunState::Running => (Some(now), None),
            s if s.is_terminal() => (None, Some(now)),
            _ => (None, None),
        };
        // A run going back to RUNNING (resume, retry) is unfinished again.
        let clear_finished = matches!(state, RunState::Running | RunState::Pending);
        sqlx::query(
            "UPDATE runs SET state = ?, error = CASE WHEN ? THEN NULL ELSE COALESCE(?, error) END, \
             started_at = COALESCE(started_at, ?), \
             finished_at = CASE WHEN ? THEN NULL ELSE COALESCE(?, finished_at) END WHERE id = ?",
        )
        .bind(state.as_str())
        .bind(clear_finished)
        .bind(message.filter(|_| state == RunState::Failed))
        .bind(started)
        .bind(clear_finished)
        .bind(finished)
        .bind(&key)
        .execute(&mut *tx)
        .await?;
        append_history(
            &mut *tx,
            "run_state_history",
            "run_id",
            &key,
            state.as_str(),
            message,
        )
        .await?;
    }
    tx.commit().await?;
    get_run(pool, id).await
}

pub(super) async fn delete_run(pool: &SqlitePool, id: RunId) -> Result<()> {
    let deleted = sqlx::query("DELETE FROM runs WHERE id = ?")
        .bind(id.to_string())
        .execute(pool)
        .await?;
    if deleted.rows_affected() == 0 {
        return Err(StoreError::not_found("run", id));
    }
    Ok(())
}

fn run(row: &SqliteRow) -> Result<Run> {
    let storage_state: String = row.try_get("storage_state")?;
    Ok(Run {
        id: parsed(row, "id")?,
        experiment_id: optional_parsed(row, "experiment_id")?,
        display_name: row.try_get("display_name")?,
        description: row.try_get("description")?,
        pipeline_name: row.try_get("pipeline_name")?,
        pipeline_spec: json(row, "pipeline_spec")?,
        runtime_config: json(row, "runtime_config")?,
        options: json(row, "options")?,
        state: parsed(row, "state")?,
        error: row.try_get("error")?,
        archived: storage_state == "ARCHIVED",
        pipeline_version_id: row.try_get("pipeline_version_id")?,
        recurring_run_id: row.try_get("recurring_run_id")?,
        created_at: time(row.try_get("created_at")?),
        started_at: optional_time(row.try_get("started_at")?),
        finished_at: optional_time(row.try_get("finished_at")?),
    })
}
