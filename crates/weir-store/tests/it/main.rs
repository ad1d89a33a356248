//! The store suite: every `MetadataStore` must pass these. Run here for SQLite in memory and on
//! disk; a PostgreSQL store will run the same functions.

use serde_json::json;
use weir_store::*;
use weir_types::{RunId, RunState, TaskId, TaskKind, TaskState};

macro_rules! store_suite {
    ($($test:ident),* $(,)?) => {
        mod in_memory {
            $(#[tokio::test] async fn $test() { super::$test(&weir_store::SqliteStore::in_memory().await.expect("store opens")).await; })*
        }
        mod on_disk {
            $(#[tokio::test] async fn $test() {
                let dir = tempfile::tempdir().expect("temp dir");
                let store = weir_store::SqliteStore::open(&dir.path().join("weir.db")).await.expect("store opens");
                super::$test(&store).await;
            })*
        }
    };
}

mod experiments;
mod lists;
mod pipelines;
mod recurring;
mod tags;
mod task_data;
mod task_writes;
mod values;

store_suite!(
    runs_move_through_their_states,
    tasks_are_unique_per_path_and_follow_the_state_machine,
    artifacts_and_cache_entries,
    secrets_round_trip,
    deleting_a_run_removes_everything_it_owns,
);

fn new_run(name: &str) -> NewRun {
    NewRun {
        id: RunId::new(),
        experiment_id: None,
        display_name: name.to_owned(),
        description: String::new(),
        pipeline_name: "p".to_owned(),
        pipeline_spec: json!({"pipeline_spec": {"pipelineInfo": {"name": "p"}}}).into(),
        runtime_config: RuntimeConfig::default(),
        options: RunOptions::default(),
        ..Default::default()
    }
}

fn new_task(run_id: RunId, path: &str, state: TaskState) -> NewTask {
    NewTask {
        id: TaskId::new(),
        run_id,
        parent_id: None,
        path: path.to_owned(),
        name: path.rsplit('/').next().unwrap_or(path).to_owned(),
        display_name: path.to_owned(),
        kind: TaskKind::Container,
        iteration_index: None,
        state,
        inputs: parameters(&[("n", json!(3))]),
        details: TaskDetails::default(),
        message: None,
        outputs: TaskIo::default(),
        log_path: None,
    }
}

/// Inputs or outputs with these parameters.
fn parameters(values: &[(&str, serde_json::Value)]) -> TaskIo {
    TaskIo {
        parameters: values
            .iter()
            .map(|(name, value)| ((*name).to_owned(), value.clone()))
            .collect(),
        ..Default::default()
    }
}

async fn runs_move_through_their_states(store: &impl MetadataStore) {
    let experiment = store
        .ensure_experiment("Default")
        .await
        .expect("experiment");
    assert_eq!(
        store
            .ensure_experiment("Default")
            .await
            .expect("same experiment")
            .id,
        experiment.id
    );
    let mut spec = new_run("first");
    spec.experiment_id = Some(experiment.id);
    let run = store.create_run(&spec).await.expect("created");
    assert_eq!(run.state, RunState::Pending);
    let run = store
        .set_run_state(run.id, RunState::Running, None)
        .await
        .expect("running");
    assert!(run.started_at.is_some() && run.finished_at.is_none());
    let run = store
        .set_run_state(run.id, RunState::Failed, Some("step x failed"))
        .await
        .expect("failed");
    assert_eq!(run.error.as_deref(), Some("step x failed"));
    assert!(run.finished_at.is_some());
    assert!(
        store
            .set_run_state(run.id, RunState::Succeeded, None)
            .await
            .is_err(),
        "FAILED -> SUCCEEDED is refused"
    );
    let run = store
        .set_run_state(run.id, RunState::Running, Some("retry"))
        .await
        .expect("retried");
    assert!(run.finished_at.is_none() && run.error.is_none());
    let history: Vec<String> = store
        .run_state_history(run.id)
        .await
        .expect("history")
        .into_iter()
        .map(|h| h.state)
        .collect();
    assert_eq!(history, ["PENDING", "RUNNING", "FAILED", "RUNNING"]);
    let second = store.create_run(&new_run("second")).await.expect("created");
    let listed = store.list_runs(&RunQuery::default()).await.expect("listed");
    assert_eq!(
        listed.iter().map(|r| r.id).collect::<Vec<_>>(),
        [second.id, run.id],
        "newest first"
    );
    let running = store
        .list_runs(&RunQuery {
            states: vec![RunState::Running],
            ..Default::default()
        })
        .await
        .expect("listed");
    assert_eq!(running.len(), 1);
    assert!(store
        .get_run(RunId::new())
        .await
        .expect_err("missing")
        .is_not_found());
}

async fn tasks_are_unique_per_path_and_follow_the_state_machine(store: &impl MetadataStore) {
    let run = store.create_run(&new_run("r")).await.expect("run");
    let task = store
        .create_task(&new_task(run.id, "root/a", TaskState::Pending))
        .await
        .expect("task");
    let duplicate = store
        .create_task(&new_task(run.id, "root/a", TaskState::Pending))
        .await;
    assert!(matches!(duplicate, Err(StoreError::Conflict(_))));
    let task = store
        .update_task(task.id, &TaskUpdate::state(TaskState::Running))
        .await
        .expect("running");
    assert!(task.started_at.is_some());
    let update = TaskUpdate {
        state: Some(TaskState::Succeeded),
        outputs: Some(parameters(&[("Output", json!(4))])),
        ..Default::default()
    };
    let task = store
        .update_task(task.id, &update)
        .await
        .expect("succeeded");
    assert_eq!(task.outputs.parameters["Output"], 4);
    assert!(task.finished_at.is_some());
    assert_eq!(task.inputs.parameters["n"], 3, "untouched fields stay");
    let refused = store
        .update_task(task.id, &TaskUpdate::state(TaskState::Running))
        .await;
    assert!(matches!(refused, Err(StoreError::InvalidTransition(_))));
    let history: Vec<String> = store
        .task_state_history(task.id)
        .await
        .expect("history")
        .into_iter()
        .map(|h| h.state)
        .collect();
    assert_eq!(history, ["PENDING", "RUNNING", "SUCCEEDED"]);
    let all = store.run_task_histories(run.id).await.expect("histories");
    let states: Vec<&str> = all[&task.id].iter().map(|h| h.state.as_str()).collect();
    assert_eq!(states, ["PENDING", "RUNNING", "SUCCEEDED"]);
    let failed = store
        .create_task(&new_task(run.id, "root/b", TaskState::Running))
        .await
        .expect("task");
    let failed = store
        .update_task(
            failed.id,
            &TaskUpdate {
                error: Some(Some("exit 1".into())),
                ..TaskUpdate::state(TaskState::Failed)
            },
        )
        .await
        .expect("failed");
    let reset = TaskUpdate {
        error: Some(None),
        finished_at: Some(None),
        ..TaskUpdate::state(TaskState::Pending)
    };
    let again = store
        .update_task(failed.id, &reset)
        .await
        .expect("retry resets");
    assert_eq!(again.error, None);
    assert_eq!(again.finished_at, None);
    let tasks = store.list_tasks(run.id).await.expect("listed");
    assert_eq!(
        tasks.iter().map(|t| t.path.as_str()).collect::<Vec<_>>(),
        ["root/a", "root/b"]
    );
    // Created in the state it ends in, with its outputs and log path, in one write.
    let cached = store
        .create_task(&NewTask {
            outputs: parameters(&[("Output", json!(4))]),
            log_path: Some("/logs/c.log".into()),
            message: Some("reused".into()),
            ..new_task(run.id, "root/c", TaskState::Cached)
        })
        .await
        .expect("created cached");
    assert_eq!(cached, store.get_task(cached.id).await.expect("read back"));
    assert_eq!(cached.outputs.parameters["Output"], 4);
    assert_eq!(cached.log_path.as_deref(), Some("/logs/c.log"));
    assert!(cached.finished_at.is_some() && cached.started_at.is_none());
    assert_eq!(cached.error, None, "a message is an error only for FAILED");
    let history = store.task_state_history(cached.id).await.expect("history");
    assert_eq!(history.len(), 1);
    assert_eq!(
        (history[0].state.as_str(), history[0].message.as_deref()),
        ("CACHED", Some("reused"))
    );
}

async fn artifacts_and_cache_entries(store: &impl MetadataStore) {
    let run = store.create_run(&new_run("r")).await.expect("run");
    let task = store
        .create_task(&new_task(run.id, "root/a", TaskState::Succeeded))
        .await
        .expect("task");
    let artifact = store
        .create_artifact(&NewArtifact {
            run_id: run.id,
            task_id: Some(task.id),
            name: "model".into(),
            uri: "/data/artifacts/p/r/a/model".into(),
            schema_title: "system.Model".into(),
            metadata: json!({"accuracy": 0.9}),
        })
        .await
        .expect("artifact");
    assert_eq!(
        store.get_artifact(artifact.id).await.expect("read back"),
        artifact
    );
    assert_eq!(
        store.list_run_artifacts(run.id).await.expect("listed"),
        vec![artifact]
    );
    assert_eq!(
        store
            .find_cache_entry("f1", "pipeline/p")
            .await
            .expect("lookup"),
        None
    );
    let older = store
        .create_task(&new_task(run.id, "root/old", TaskState::Succeeded))
        .await
        .expect("task");
    for (task_id, age) in [(older.id, 10), (task.id, 0)] {
        let entry = CacheEntry {
            fingerprint: "f1".into(),
            pipeline_name: "pipeline/p".into(),
            task_id,
            run_id: run.id,
            created_at: chrono::Utc::now() - chrono::Duration::seconds(age),
        };
        store.put_cache_entry(&entry).await.expect("stored");
    }
    let hit = store
        .find_cache_entry("f1", "pipeline/p")
        .await
        .expect("lookup")
        .expect("hit");
    assert_eq!(hit.task_id, task.id, "the newest entry wins");
    let cached = store
        .find_cached_task("f1", "pipeline/p")
        .await
        .expect("lookup")
        .expect("hit");
    assert_eq!(cached, task, "the newest entry's task, as stored");
    assert_eq!(
        store
            .find_cached_task("f1", "pipeline/other")
            .await
            .expect("lookup"),
        None,
        "scoped by pipeline"
    );
    assert_eq!(
        store
            .find_cache_entry("f1", "pipeline/other")
            .await
            .expect("lookup"),
        None,
        "scoped by pipeline"
    );
}

async fn secrets_round_trip(store: &impl MetadataStore) {
    let data: SecretData = [("username".to_owned(), "user1".to_owned())].into();
    store.set_secret("test-secret-1", &data).await.expect("set");
    assert_eq!(
        store.get_secret("test-secret-1").await.expect("get"),
        Some(data)
    );
    let replaced: SecretData = [("password".to_owned(), "x".to_owned())].into();
    store
        .set_secret("test-secret-1", &replaced)
        .await
        .expect("replace");
    assert_eq!(
        store.get_secret("test-secret-1").await.expect("get"),
        Some(replaced)
    );
    assert_eq!(store.list_secrets().await.expect("list"), ["test-secret-1"]);
    assert!(store.delete_secret("test-secret-1").await.expect("delete"));
    assert!(!store
        .delete_secret("test-secret-1")
        .await
        .expect("delete again"));
    assert_eq!(store.get_secret("test-secret-1").await.expect("get"), None);
}

async fn deleting_a_run_removes_everything_it_owns(store: &impl MetadataStore) {
    let run = store.create_run(&new_run("r")).await.expect("run");
    let task = store
        .create_task(&new_task(run.id, "root/a", TaskState::Succeeded))
        .await
        .expect("task");
    let entry = CacheEntry {
        fingerprint: "f".into(),
        pipeline_name: "pipeline/p".into(),
        task_id: task.id,
        run_id: run.id,
        created_at: chrono::Utc::now(),
    };
    store.put_cache_entry(&entry).await.expect("cache entry");
    store.delete_run(run.id).await.expect("deleted");
    assert!(store
        .get_task(task.id)
        .await
        .expect_err("gone")
        .is_not_found());
    assert_eq!(
        store
            .find_cache_entry("f", "pipeline/p")
            .await
            .expect("lookup"),
        None
    );
    assert_eq!(
        store
            .find_cached_task("f", "pipeline/p")
            .await
            .expect("lookup"),
        None
    );
    assert!(store
        .delete_run(run.id)
        .await
        .expect_err("already gone")
        .is_not_found());
}

/// A store reopened from disk has everything the first one committed.
#[tokio::test]
async fn committed_state_survives_reopening() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("weir.db");
    let run_id = {
        let store = SqliteStore::open(&path).await.expect("opens");
        let run = store.create_run(&new_run("durable")).await.expect("run");
        store
            .set_run_state(run.id, RunState::Running, None)
            .await
            .expect("running");
        run.id
    };
    let store = SqliteStore::open(&path).await.expect("reopens");
    assert_eq!(
        store.get_run(run_id).await.expect("still there").state,
        RunState::Running
    );
}
