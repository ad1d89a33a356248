//! Runs.

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection, SqlitePool};
use weir_types::{RunId, RunState};

use super::convert::{
    append_history, json, now_millis, optional_parsed, optional_time, parsed, storage_state,
    stored_json, time, to_json, STORAGE_STATES,
};
use super::list::{list_page, Field, Resource};
use super::values;
use crate::{check_tags, ListQuery, NewRun, Page, Result, Run, RunQuery, StoreError};

/// The values of `runs.state`: the names of [`RunState`].
const RUN_STATES: &[&str] = &[
    "PENDING",
    "RUNNING",
    "SUCCEEDED",
    "FAILED",
    "CANCELING",
    "CANCELED",
];

pub(super) const RUNS: Resource = Resource {
    what: "runs",
    table: "runs",
    fields: &[
        Field::text(&["run_id", "id"], "id"),
        Field::text(&["display_name", "name"], "display_name"),
        Field::text(&["description"], "description"),
        Field::time(&["created_at", "scheduled_at"], "created_at"),
        Field::nullable_time(&["finished_at"], "finished_at"),
        Field::closed_set(&["state"], "state", RUN_STATES),
        Field::closed_set(&["storage_state"], "storage_state", STORAGE_STATES),
        Field::nullable_text(&["experiment_id"], "experiment_id"),
        Field::text(&["namespace"], "namespace"),
        Field::nullable_text(&["recurring_run_id"], "recurring_run_id"),
        Field::nullable_text(&["pipeline_version_id"], "pipeline_version_id"),
        Field::member(&["tag", "tags"], "run_tags", "run_id", "tag"),
        Field::values(&super::values::PREFIXES),
    ],
};

pub(super) async fn create_run(pool: &SqlitePool, run: &NewRun) -> Result<Run> {
    let tags = check_tags(&run.tags).map_err(StoreError::InvalidArgument)?;
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let experiment_id = run.experiment_id.map(|e| e.to_string());
    let created_at = now_millis();
    // An empty namespace is the experiment's.
    let row = sqlx::query(
        "INSERT INTO runs (id, experiment_id, display_name, description, pipeline_name, pipeline_spec, \
         runtime_config, options, state, pipeline_version_id, recurring_run_id, created_at, \
         namespace, service_account, pipeline_id, tags) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, \
         COALESCE(NULLIF(?13, ''), (SELECT namespace FROM experiments WHERE id = ?2), ''), ?14, ?15, ?16) \
         RETURNING *",
    )
    .bind(run.id.to_string())
    .bind(&experiment_id)
    .bind(&run.display_name)
    .bind(&run.description)
    .bind(&run.pipeline_name)
    .bind(run.pipeline_spec.text())
    .bind(to_json(&run.runtime_config)?)
    .bind(to_json(&run.options)?)
    .bind(RunState::Pending.as_str())
    .bind(&run.pipeline_version_id)
    .bind(&run.recurring_run_id)
    .bind(created_at)
    .bind(&run.namespace)
    .bind(&run.service_account)
    .bind(run.pipeline_id.map(|p| p.to_string()))
    .bind(to_json(&tags)?)
    .fetch_one(&mut *tx)
    .await?;
    let created = self::run(&row)?;
    drop(row);
    insert_tags(&mut tx, &run.id.to_string(), &tags).await?;
    values::put_parameters(&mut tx, &run.id.to_string(), &run.runtime_config.parameters).await?;
    if let Some(experiment_id) = &experiment_id {
        sqlx::query("UPDATE experiments SET last_run_created_at = ? WHERE id = ?")
            .bind(created_at)
            .bind(experiment_id)
            .execute(&mut *tx)
            .await?;
    }
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
    // The row as written (RETURNING), not read back: one round trip less per create.
    Ok(created)
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
    if query.tag.is_some() {
        sql.push_str(" AND id IN (SELECT run_id FROM run_tags WHERE tag = ?)");
    }
    sql.push_str(" ORDER BY created_at DESC, id DESC LIMIT ?");
    let mut statement = sqlx::query(&sql);
    for state in &query.states {
        statement = statement.bind(state.as_str());
    }
    if let Some(experiment) = query.experiment_id {
        statement = statement.bind(experiment.to_string());
    }
    if let Some(tag) = &query.tag {
        statement = statement.bind(tag.as_str());
    }
    let rows = statement
        .bind(i64::from(query.limit.unwrap_or(u32::MAX)))
        .fetch_all(pool)
        .await?;
    rows.iter().map(run).collect()
}

pub(super) async fn list_runs_page(pool: &SqlitePool, query: &ListQuery) -> Result<Page<Run>> {
    list_page(pool, &RUNS, None, query, run).await
}

pub(super) async fn set_run_archived(pool: &SqlitePool, id: RunId, archived: bool) -> Result<()> {
    let key = id.to_string();
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let row = sqlx::query(
        "SELECT runs.experiment_id, experiments.storage_state AS experiment_storage_state \
         FROM runs LEFT JOIN experiments ON experiments.id = runs.experiment_id WHERE runs.id = ?",
    )
    .bind(&key)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| StoreError::not_found("run", id))?;
    let experiment_storage_state: Option<String> = row.try_get("experiment_storage_state")?;
    if !archived && experiment_storage_state.as_deref() == Some("ARCHIVED") {
        let experiment_id: Option<String> = row.try_get("experiment_id")?;
        return Err(StoreError::FailedPrecondition(format!(
            "run {id} belongs to the archived experiment {}; unarchive the experiment first",
            experiment_id.unwrap_or_default()
        )));
    }
    sqlx::query("UPDATE runs SET storage_state = ? WHERE id = ?")
        .bind(storage_state(archived))
        .bind(&key)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn change_run_state(
    pool: &SqlitePool,
    id: RunId,
    state: RunState,
    message: Option<&str>,
) -> Result<()> {
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
    Ok(())
}

pub(super) async fn set_run_tags(pool: &SqlitePool, id: RunId, tags: &[String]) -> Result<Run> {
    let tags = check_tags(tags).map_err(StoreError::InvalidArgument)?;
    let key = id.to_string();
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let updated = sqlx::query("UPDATE runs SET tags = ? WHERE id = ?")
        .bind(to_json(&tags)?)
        .bind(&key)
        .execute(&mut *tx)
        .await?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::not_found("run", id));
    }
    sqlx::query("DELETE FROM run_tags WHERE run_id = ?")
        .bind(&key)
        .execute(&mut *tx)
        .await?;
    insert_tags(&mut tx, &key, &tags).await?;
    tx.commit().await?;
    get_run(pool, id).await
}

async fn insert_tags(tx: &mut SqliteConnection, run_id: &str, tags: &[String]) -> Result<()> {
    for tag in tags {
        sqlx::query("INSERT INTO run_tags (tag, run_id) VALUES (?, ?)")
            .bind(tag)
            .bind(run_id)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
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
        pipeline_spec: stored_json(row, "pipeline_spec")?,
        runtime_config: json(row, "runtime_config")?,
        options: json(row, "options")?,
        state: parsed(row, "state")?,
        error: row.try_get("error")?,
        archived: storage_state == "ARCHIVED",
        pipeline_version_id: row.try_get("pipeline_version_id")?,
        recurring_run_id: row.try_get("recurring_run_id")?,
        namespace: row.try_get("namespace")?,
        service_account: row.try_get("service_account")?,
        pipeline_id: optional_parsed(row, "pipeline_id")?,
        tags: json(row, "tags")?,
        created_at: time(row.try_get("created_at")?),
        started_at: optional_time(row.try_get("started_at")?),
        finished_at: optional_time(row.try_get("finished_at")?),
    })
}

#[cfg(test)]
mod tests {
    use super::super::list::{explain, Statements};
    use super::super::SqliteStore;
    use super::*;
    use crate::FilterValue::String as Text;
    use crate::{PageCursor, Predicate, PredicateOp::*, SortBy};

    fn predicate(field: &str, op: crate::PredicateOp, value: &str) -> Predicate {
        Predicate::new(field, op, Text(value.to_owned()))
    }

    /// The lists the UI and the SDK ask for are index range scans in sort order: no full table
    /// scan, no sort of the matching rows.
    #[tokio::test]
    async fn common_run_lists_are_index_scans() {
        let store = SqliteStore::in_memory().await.expect("store");
        let cursor = Some(PageCursor {
            sort_value: serde_json::json!(1_700_000_000_000_i64),
            id: "0192f0c1-7c1e-7a4e-9b1d-3f5c2a1e4b6d".into(),
        });
        let name_cursor = Some(PageCursor {
            sort_value: serde_json::json!("run 7"),
            id: "0192f0c1-7c1e-7a4e-9b1d-3f5c2a1e4b6d".into(),
        });
        let experiment = "0192f0c1-7c1e-7a4e-9b1d-3f5c2a1e4b6d";
        let queries = [
            ListQuery::default(),
            ListQuery {
                after: cursor.clone(),
                ..Default::default()
            }
            .sorted_by(SortBy::descending("created_at")),
            ListQuery {
                after: name_cursor.clone(),
                ..Default::default()
            }
            .sorted_by(SortBy::ascending("display_name")),
            ListQuery {
                after: name_cursor,
                ..Default::default()
            }
            .sorted_by(SortBy::descending("name")),
            ListQuery {
                after: cursor.clone(),
                ..Default::default()
            }
            .with_predicate(predicate("experiment_id", Equals, experiment))
            .sorted_by(SortBy::descending("created_at")),
            ListQuery {
                after: cursor.clone(),
                ..Default::default()
            }
            .with_predicate(predicate("experiment_id", Equals, experiment))
            .with_predicate(predicate("storage_state", NotEquals, "ARCHIVED"))
            .sorted_by(SortBy::descending("created_at")),
            ListQuery {
                after: cursor.clone(),
                ..Default::default()
            }
            .with_predicate(predicate("storage_state", Equals, "AVAILABLE"))
            .sorted_by(SortBy::descending("created_at")),
            ListQuery {
                after: cursor.clone(),
                ..Default::default()
            }
            .with_predicate(predicate("state", Equals, "RUNNING"))
            .sorted_by(SortBy::descending("created_at")),
            ListQuery {
                after: cursor,
                ..Default::default()
            }
            .with_predicate(predicate("namespace", Equals, "team-a")),
        ];
        for query in queries {
            let statements = Statements::new(&RUNS, None, &query).expect("valid query");
            let page_plan = explain(&store.pool, &statements.page, &statements.page_binds).await;
            let count_plan = explain(&store.pool, &statements.count, &statements.count_binds).await;
            assert!(
                page_plan.contains("USING INDEX") && !page_plan.contains("TEMP B-TREE"),
                "{query:?}: {page_plan}"
            );
            assert!(
                count_plan.contains("USING COVERING INDEX"),
                "{query:?}: {count_plan}"
            );
        }
    }

    #[test]
    fn run_states_list_every_state() {
        let names: Vec<&str> = RunState::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(names, RUN_STATES);
    }
}
