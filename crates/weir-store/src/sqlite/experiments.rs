//! Experiments.

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqlitePool};
use weir_types::ExperimentId;

use super::convert::{
    conflict_or_backend, now_millis, optional_time, parsed, storage_state, time, STORAGE_STATES,
};
use super::list::{list_page, Field, Resource};
use crate::{Experiment, ListQuery, NewExperiment, Page, Result, StoreError};

pub(super) const EXPERIMENTS: Resource = Resource {
    what: "experiments",
    table: "experiments",
    fields: &[
        Field::text(&["experiment_id", "id"], "id"),
        Field::text(&["display_name", "name"], "name"),
        Field::text(&["description"], "description"),
        Field::time(&["created_at"], "created_at"),
        Field::nullable_time(&["last_run_created_at"], "last_run_created_at"),
        Field::text(&["namespace"], "namespace"),
        Field::closed_set(&["storage_state"], "storage_state", STORAGE_STATES),
    ],
};

/// The experiment with this name in the default (`""`) namespace, created when missing.
pub(super) async fn ensure_experiment(pool: &SqlitePool, name: &str) -> Result<Experiment> {
    // A read first: it almost always exists, and a read does not wait for the writer as the
    // INSERT would (every run created without an experiment comes here).
    let existing = sqlx::query("SELECT * FROM experiments WHERE namespace = '' AND name = ?")
        .bind(name)
        .fetch_optional(pool)
        .await?;
    if let Some(row) = existing {
        return experiment(&row);
    }
    sqlx::query(
        "INSERT INTO experiments (id, name, namespace, created_at) VALUES (?, ?, '', ?) \
         ON CONFLICT (namespace, name) DO NOTHING",
    )
    .bind(ExperimentId::new().to_string())
    .bind(name)
    .bind(now_millis())
    .execute(pool)
    .await?;
    let row = sqlx::query("SELECT * FROM experiments WHERE namespace = '' AND name = ?")
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

pub(super) async fn create_experiment(
    pool: &SqlitePool,
    new: &NewExperiment,
) -> Result<Experiment> {
    let id = new.id.to_string();
    sqlx::query(
        "INSERT INTO experiments (id, name, description, namespace, created_at) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(&id)
    .bind(&new.name)
    .bind(&new.description)
    .bind(&new.namespace)
    .bind(now_millis())
    .execute(pool)
    .await
    .map_err(|e| {
        conflict_or_backend(e, || {
            format!(
                "an experiment named `{}` already exists in namespace `{}` (or the id {id} is taken); choose another name",
                new.name, new.namespace
            )
        })
    })?;
    get_experiment(pool, &id).await
}

pub(super) async fn list_experiments(
    pool: &SqlitePool,
    query: &ListQuery,
) -> Result<Page<Experiment>> {
    list_page(pool, &EXPERIMENTS, None, query, experiment).await
}

pub(super) async fn set_experiment_archived(
    pool: &SqlitePool,
    id: ExperimentId,
    archived: bool,
) -> Result<()> {
    let key = id.to_string();
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let updated = sqlx::query("UPDATE experiments SET storage_state = ? WHERE id = ?")
        .bind(storage_state(archived))
        .bind(&key)
        .execute(&mut *tx)
        .await?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::not_found("experiment", id));
    }
    if archived {
        sqlx::query(
            "UPDATE runs SET storage_state = 'ARCHIVED' WHERE experiment_id = ? AND storage_state <> 'ARCHIVED'",
        )
        .bind(&key)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE recurring_runs SET status = 'DISABLED', updated_at = MAX(?, updated_at + 1) \
             WHERE experiment_id = ? AND status = 'ENABLED'",
        )
        .bind(now_millis())
        .bind(&key)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn delete_experiment(pool: &SqlitePool, id: ExperimentId) -> Result<()> {
    // Runs (and through them tasks, histories, artifact records and cache entries) and recurring
    // runs go with it through ON DELETE CASCADE, in this one statement.
    let deleted = sqlx::query("DELETE FROM experiments WHERE id = ?")
        .bind(id.to_string())
        .execute(pool)
        .await?;
    if deleted.rows_affected() == 0 {
        return Err(StoreError::not_found("experiment", id));
    }
    Ok(())
}

fn experiment(row: &SqliteRow) -> Result<Experiment> {
    let storage_state: String = row.try_get("storage_state")?;
    Ok(Experiment {
        id: parsed(row, "id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        namespace: row.try_get("namespace")?,
        archived: storage_state == "ARCHIVED",
        created_at: time(row.try_get("created_at")?),
        last_run_created_at: optional_time(row.try_get("last_run_created_at")?),
    })
}
