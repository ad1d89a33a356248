//! Creating and updating tasks: each call one statement list, one round trip (`hot.rs`).

use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteArguments;
use sqlx::Arguments;
use weir_types::{TaskId, TaskState};

use super::convert::{millis, now_millis, to_json};
use super::hot::Hot;
use super::tasks::task as read_task;
use crate::{NewTask, Result, StoreError, Task, TaskUpdate};

/// Rows per multi-row INSERT of a batch (17 parameters a row, well under SQLite's limit).
const BATCH_ROWS: usize = 100;

const INSERT_TASK: &str = "INSERT INTO tasks (id, run_id, parent_id, path, name, display_name, \
     kind, iteration_index, state, inputs, outputs, details, error, log_path, created_at, \
     started_at, finished_at) VALUES ";
const TASK_ROW: &str = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/// A statement list and its parameters, bound in the order the `?` appear (sqlx binds plain
/// `?` across the statements of a list in order; numbered ones would not survive gaps).
struct List<'q> {
    sql: String,
    args: SqliteArguments<'q>,
}

impl<'q> List<'q> {
    fn new() -> Self {
        List {
            sql: String::from("BEGIN IMMEDIATE; "),
            args: SqliteArguments::default(),
        }
    }

    fn sql(&mut self, text: &str) -> &mut Self {
        self.sql.push_str(text);
        self
    }

    fn bind<T>(&mut self, value: T) -> Result<&mut Self>
    where
        T: sqlx::Encode<'q, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite> + 'q,
    {
        self.args
            .add(value)
            .map_err(|e| StoreError::Backend(sqlx::Error::Encode(e)))?;
        Ok(self)
    }

    /// One row of `INSERT_TASK` at `at` (milliseconds).
    fn task_row(&mut self, task: &NewTask, at: i64) -> Result<()> {
        self.sql(TASK_ROW);
        self.bind(task.id.to_string())?
            .bind(task.run_id.to_string())?
            .bind(task.parent_id.map(|p| p.to_string()))?
            .bind(task.path.clone())?
            .bind(task.name.clone())?
            .bind(task.display_name.clone())?
            .bind(task.kind.as_str())?
            .bind(task.iteration_index)?
            .bind(task.state.as_str())?
            .bind(to_json(&task.inputs)?)?
            .bind(to_json(&task.outputs)?)?
            .bind(to_json(&task.details)?)?
            .bind(
                task.message
                    .clone()
                    .filter(|_| task.state == TaskState::Failed),
            )?
            .bind(task.log_path.clone())?
            .bind(at)?
            .bind((task.state == TaskState::Running).then_some(at))?
            .bind(task.state.is_terminal().then_some(at))?;
        Ok(())
    }

    async fn run(self, hot: &Hot, persistent: bool) -> Result<Vec<sqlx::sqlite::SqliteRow>> {
        let mut sql = self.sql;
        sql.push_str("COMMIT");
        hot.transaction(sqlx::query_with(&sql, self.args).persistent(persistent))
            .await
    }
}

pub(super) async fn create_task(hot: &Hot, task: &NewTask) -> Result<Task> {
    let now = now_millis();
    let id = task.id.to_string();
    // The row (returned as written) and its first history entry, which is only added when the
    // row was (`changes()` is 0 when the path is taken and the INSERT did nothing).
    let mut list = List::new();
    list.sql(INSERT_TASK);
    list.task_row(task, now)?;
    list.sql(
        " ON CONFLICT (run_id, path) DO NOTHING RETURNING *; \
         INSERT INTO task_state_history (task_id, seq, state, at, message) SELECT ?, \
         (SELECT COALESCE(MAX(seq), 0) + 1 FROM task_state_history WHERE task_id = ?), ?, ?, ? \
         WHERE changes() = 1; ",
    )
    .bind(id.clone())?
    .bind(id)?
    .bind(task.state.as_str())?
    .bind(now)?
    .bind(task.message.clone())?;
    let rows = list.run(hot, true).await?;
    let Some(inserted) = rows.first() else {
        return Err(StoreError::Conflict(format!(
            "run {} already has a task at {}",
            task.run_id, task.path
        )));
    };
    read_task(inserted)
}

/// Creates tasks in one transaction, each as [`NewTask::created`] describes at its time, with
/// its first history entry. A path already taken fails the whole batch with a conflict.
pub(super) async fn create_tasks(hot: &Hot, tasks: &[(NewTask, DateTime<Utc>)]) -> Result<()> {
    if tasks.is_empty() {
        return Ok(());
    }
    let mut list = List::new();
    for chunk in tasks.chunks(BATCH_ROWS) {
        list.sql(INSERT_TASK);
        for (i, (task, at)) in chunk.iter().enumerate() {
            if i > 0 {
                list.sql(", ");
            }
            list.task_row(task, millis(&task.created(*at).created_at))?;
        }
        list.sql("; INSERT INTO task_state_history (task_id, seq, state, at, message) VALUES ");
        for (i, (task, at)) in chunk.iter().enumerate() {
            list.sql(if i > 0 {
                ", (?, 1, ?, ?, ?)"
            } else {
                "(?, 1, ?, ?, ?)"
            })
            .bind(task.id.to_string())?
            .bind(task.state.as_str())?
            .bind(millis(&task.created(*at).created_at))?
            .bind(task.message.clone())?;
        }
        list.sql("; ");
    }
    // Not kept prepared: the text depends on the batch's size.
    match list.run(hot, false).await {
        Ok(_) => Ok(()),
        Err(StoreError::Backend(sqlx::Error::Database(error))) if error.is_unique_violation() => {
            Err(StoreError::Conflict(format!(
                "a task of the batch is already stored: {error}"
            )))
        }
        Err(error) => Err(error),
    }
}

/// The columns an update sets whatever the state: `SET` pairs, then their values in order.
fn set_fields<'q>(list: &mut List<'q>, update: &TaskUpdate) -> Result<()> {
    list.sql(
        "inputs = COALESCE(?, inputs), outputs = COALESCE(?, outputs), \
         details = COALESCE(?, details), error = CASE WHEN ? THEN ? ELSE error END, \
         attempt = COALESCE(?, attempt), log_path = COALESCE(?, log_path), \
         started_at = CASE WHEN ? THEN ? ELSE started_at END, \
         finished_at = CASE WHEN ? THEN ? ELSE finished_at END",
    )
    .bind(update.inputs.as_ref().map(to_json).transpose()?)?
    .bind(update.outputs.as_ref().map(to_json).transpose()?)?
    .bind(update.details.as_ref().map(to_json).transpose()?)?
    .bind(update.error.is_some())?
    .bind(update.error.clone().flatten())?
    .bind(update.attempt)?
    .bind(update.log_path.clone())?;
    Ok(())
}

fn bind_time<'q>(list: &mut List<'q>, time: Option<Option<i64>>) -> Result<()> {
    list.bind(time.is_some())?.bind(time.flatten())?;
    Ok(())
}

pub(super) async fn update_task(hot: &Hot, id: TaskId, update: &TaskUpdate) -> Result<Task> {
    let now = now_millis();
    let key = id.to_string();
    let explicit_started = update.started_at.map(|t| t.map(|t| millis(&t)));
    let explicit_finished = update.finished_at.map(|t| t.map(|t| millis(&t)));
    let target = update.state;
    let mut list = List::new();
    if let Some(target) = target {
        // A state change: the row changes only from a state allowed to go to `target`, so the
        // state machine is checked by the UPDATE itself, in the same round trip.
        let from: Vec<String> = TaskState::ALL
            .iter()
            .filter(|s| **s != target && s.transition(target).is_ok())
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        let from = if from.is_empty() {
            "NULL".to_owned()
        } else {
            from.join(", ")
        };
        list.sql("UPDATE tasks SET state = ?, ")
            .bind(target.as_str())?;
        set_fields(&mut list, update)?;
        let started =
            explicit_started.or_else(|| (target == TaskState::Running).then_some(Some(now)));
        let finished = explicit_finished.or_else(|| target.is_terminal().then_some(Some(now)));
        bind_time(&mut list, started)?;
        bind_time(&mut list, finished)?;
        list.sql(&format!(
            " WHERE id = ? AND state IN ({from}) RETURNING *; \
             INSERT INTO task_state_history (task_id, seq, state, at, message) SELECT ?, \
             (SELECT COALESCE(MAX(seq), 0) + 1 FROM task_state_history WHERE task_id = ?), ?, ?, ? \
             WHERE changes() = 1; "
        ))
        .bind(key.clone())?
        .bind(key.clone())?
        .bind(key.clone())?
        .bind(target.as_str())?
        .bind(now)?
        .bind(update.message.clone())?;
    }
    // No state change (none asked, or the state it is in already): the other fields only, the
    // times only when given. After a state change, `changes()` (the history entry's) is 1.
    list.sql("UPDATE tasks SET ");
    set_fields(&mut list, update)?;
    bind_time(&mut list, explicit_started)?;
    bind_time(&mut list, explicit_finished)?;
    list.sql(" WHERE id = ?").bind(key.clone())?;
    if let Some(target) = target {
        list.sql(" AND state = ? AND changes() = 0")
            .bind(target.as_str())?;
    }
    list.sql(" RETURNING *; ");
    if let Some(cache) = &update.cache_entry {
        // Only when the update applied: the task is in the state it was to reach.
        list.sql(
            "INSERT INTO cache_entries (fingerprint, pipeline_name, task_id, run_id, created_at) \
             SELECT ?, ?, id, run_id, ? FROM tasks WHERE id = ? AND state = COALESCE(?, state) \
             ON CONFLICT DO NOTHING; ",
        )
        .bind(cache.fingerprint.clone())?
        .bind(cache.pipeline_name.clone())?
        .bind(now)?
        .bind(key)?
        .bind(target.map(|s| s.as_str()))?;
    }
    let rows = list.run(hot, true).await?;
    match rows.last() {
        Some(row) => read_task(row),
        None => Err(refusal(hot, id, target).await),
    }
}

/// Why an update changed nothing: the task is missing, or its state may not go to `target`.
async fn refusal(hot: &Hot, id: TaskId, target: Option<TaskState>) -> StoreError {
    let current = hot
        .fetch_optional(sqlx::query("SELECT state FROM tasks WHERE id = ?").bind(id.to_string()))
        .await;
    let row = match current {
        Ok(Some(row)) => row,
        Ok(None) => return StoreError::not_found("task", id),
        Err(error) => return error,
    };
    let current = match super::convert::parsed::<TaskState>(&row, "state") {
        Ok(state) => state,
        Err(error) => return error,
    };
    match target.map(|t| current.transition(t)) {
        Some(Err(invalid)) => invalid.into(),
        _ => StoreError::Conflict(format!(
            "task {id} changed while it was updated (now {current})"
        )),
    }
}
