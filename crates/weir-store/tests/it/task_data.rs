//! Task data on SQLite: rows written before it was typed still read, and a row that does not
//! decode is an error that names its run and task. Rows are written with raw SQL next to the
//! store, on the same database file.

use std::path::Path;

use serde_json::{json, Value};
use sqlx::{Connection, SqliteConnection};
use weir_store::*;
use weir_types::{RunId, TaskKind, TaskState};

use super::{new_run, new_task};

/// Two runs of `tests/fixtures/legacy_tasks.yaml`, the second all cache hits.
const LEGACY_ROWS: &str = include_str!("../fixtures/legacy_tasks.sql");

async fn open(dir: &Path) -> (SqliteStore, SqliteConnection) {
    let path = dir.join("weir.db");
    let store = SqliteStore::open(&path).await.expect("store opens");
    let raw = SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("raw connection");
    (store, raw)
}

/// A JSON value without its `null` members, as the typed data writes it.
fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

/// The task at `path` among `tasks`.
fn at<'a>(tasks: &'a [Task], path: &str) -> &'a Task {
    tasks
        .iter()
        .find(|t| t.path == path)
        .unwrap_or_else(|| panic!("no task at {path}"))
}

#[tokio::test]
async fn rows_written_before_task_data_was_typed_still_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (store, mut raw) = open(dir.path()).await;
    sqlx::raw_sql(LEGACY_ROWS)
        .execute(&mut raw)
        .await
        .expect("legacy rows load");
    let stored: Vec<(String, String, String, String)> =
        sqlx::query_as("SELECT id, inputs, outputs, details FROM tasks")
            .fetch_all(&mut raw)
            .await
            .expect("raw rows");
    let runs: Vec<(String,)> = sqlx::query_as("SELECT id FROM runs ORDER BY created_at")
        .fetch_all(&mut raw)
        .await
        .expect("runs");
    let [first, second]: [RunId; 2] = runs
        .iter()
        .map(|(id,)| id.parse().expect("run id"))
        .collect::<Vec<_>>()
        .try_into()
        .expect("two runs");
    let mut tasks = store.list_tasks(first).await.expect("first run reads");
    let cached = store.list_tasks(second).await.expect("second run reads");
    assert_eq!(tasks.len() + cached.len(), stored.len());
    // Written back, every row is what was stored (less the `null`s the old code wrote).
    for (id, inputs, outputs, details) in &stored {
        let task = tasks
            .iter()
            .chain(&cached)
            .find(|t| t.id.to_string() == *id)
            .expect("every row read");
        for (typed, text) in [
            (json!(task.inputs), inputs),
            (json!(task.outputs), outputs),
            (json!(task.details), details),
        ] {
            let text: Value = serde_json::from_str(text).expect("stored JSON");
            assert_eq!(typed, without_nulls(text), "{}", task.path);
        }
    }
    let produce = at(&tasks, "root/exit-handler-1/produce");
    let launch = &produce.details;
    assert_eq!(launch.component.as_deref(), Some("comp-produce"));
    assert_eq!(launch.image.as_deref(), Some("alpine"));
    assert!(launch.command.as_ref().is_some_and(|c| c[0] == "sh"));
    assert!(launch.fingerprint.is_some() && launch.executor_input.is_some());
    assert_eq!(
        (launch.memory_limit_bytes, launch.cpu_limit),
        (Some(2_000_000_000), Some(1.5))
    );
    let platform = launch.platform.as_ref().expect("platform details");
    assert_eq!(platform.image_pull_policy.as_deref(), Some("IfNotPresent"));
    assert_eq!(platform.labels.as_ref().expect("labels")["team"], "weir");
    assert_eq!(platform.tolerations.len(), 1);
    let data = &produce.outputs.artifacts["data"][0];
    assert_eq!(data.artifact_type.title(), "system.Dataset");
    assert_eq!(produce.outputs.parameters["out"], "hello");
    let limited = &at(&tasks, "root/exit-handler-1/for-loop-1").details;
    assert_eq!(
        (limited.items.clone(), limited.parallelism),
        (Some(vec![json!(1), json!(2), json!(3)]), Some(2))
    );
    let unlimited = &at(&tasks, "root/exit-handler-1/for-loop-2").details;
    assert_eq!(
        (unlimited.iteration_count, unlimited.parallelism),
        (Some(1), None)
    );
    assert!(at(&tasks, "root/cleanup").details.exit_task);
    let importer = at(&tasks, "root/exit-handler-1/importer");
    assert_eq!(
        importer.outputs.artifacts["artifact"][0].metadata,
        json!({"key": "value"})
    );
    let hit = at(&cached, "root/exit-handler-1/produce");
    let from = hit.details.cached_from.as_ref().expect("cached from");
    assert_eq!((from.run_id, from.task_id), (first, produce.id));
    assert_eq!(hit.outputs, produce.outputs);
    // Without details: the same tasks, with default details.
    let brief = store
        .list_tasks_without_details(first)
        .await
        .expect("brief");
    for task in &mut tasks {
        task.details = TaskDetails::default();
    }
    assert_eq!(brief, tasks);
}

#[tokio::test]
async fn a_task_whose_data_does_not_decode_is_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (store, mut raw) = open(dir.path()).await;
    let run = store.create_run(&new_run("r")).await.expect("run");
    let task = store
        .create_task(&NewTask {
            kind: TaskKind::Loop,
            ..new_task(run.id, "root/loop", TaskState::Running)
        })
        .await
        .expect("task");
    for (column, corrupt) in [
        ("details", r#"{"items": 3}"#),
        ("inputs", "{not json"),
        ("outputs", r#"{"artifacts": {"a": [{"id": "one"}]}}"#),
    ] {
        let update = format!("UPDATE tasks SET {column} = ? WHERE id = ?");
        sqlx::query(&update)
            .bind(corrupt)
            .bind(task.id.to_string())
            .execute(&mut raw)
            .await
            .expect("corrupted");
        let read = store.get_task(task.id).await;
        match &read {
            Err(StoreError::CorruptTaskData {
                run_id,
                task_id,
                field,
                ..
            }) => assert_eq!((*run_id, *task_id, *field), (run.id, task.id, column)),
            other => panic!("{column}: expected an error naming the task, got {other:?}"),
        }
        let message = read.expect_err("an error").to_string();
        assert!(
            message.contains(&run.id.to_string()) && message.contains(&task.id.to_string()),
            "{message}"
        );
        let listed = store.list_tasks(run.id).await;
        assert!(
            matches!(listed, Err(StoreError::CorruptTaskData { .. })),
            "{listed:?}"
        );
        let fix = format!("UPDATE tasks SET {column} = '{{}}' WHERE id = ?");
        sqlx::query(&fix)
            .bind(task.id.to_string())
            .execute(&mut raw)
            .await
            .expect("mended");
    }
    store
        .get_task(task.id)
        .await
        .expect("reads again once mended");
}
