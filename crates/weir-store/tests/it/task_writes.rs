//! Task writes of the per-step path: batches of created tasks, updates checked against the state
//! machine in the UPDATE itself, and a cache entry written with a task's update.

use serde_json::json;
use weir_store::*;
use weir_types::TaskState;

use super::{new_run, new_task, parameters};

store_suite!(
    a_batch_is_stored_as_described,
    a_refused_batch_writes_nothing,
    updates_check_the_state_machine,
    a_cache_entry_is_written_with_the_update_that_applies,
    tasks_are_listed_without_their_details,
);

async fn a_batch_is_stored_as_described(store: &impl MetadataStore) {
    let run = store.create_run(&new_run("r")).await.expect("run");
    let start = chrono::Utc::now();
    let states = [TaskState::Cached, TaskState::Failed, TaskState::Skipped];
    // More than one multi-row INSERT's worth.
    let batch: Vec<(NewTask, chrono::DateTime<chrono::Utc>)> = (0..250)
        .map(|i| {
            let task = NewTask {
                outputs: parameters(&[("Output", json!(i))]),
                message: Some(format!("message {i}")),
                ..new_task(run.id, &format!("root/t{i}"), states[i % 3])
            };
            (task, start + chrono::Duration::milliseconds(i as i64))
        })
        .collect();
    store.create_tasks(&batch).await.expect("batch");
    store.create_tasks(&[]).await.expect("an empty batch");
    let stored = store.list_tasks(run.id).await.expect("listed");
    let described: Vec<Task> = batch.iter().map(|(t, at)| t.created(*at)).collect();
    assert_eq!(stored, described, "as `NewTask::created` says, in order");
    assert_eq!(stored[1].error.as_deref(), Some("message 1"), "FAILED");
    assert_eq!(
        stored[0].error, None,
        "a message is an error only for FAILED"
    );
    let single = store
        .create_task(&NewTask {
            message: Some("m".into()),
            ..new_task(run.id, "root/single", TaskState::Cached)
        })
        .await
        .expect("one task");
    assert_eq!(
        single,
        NewTask {
            id: single.id,
            message: Some("m".into()),
            ..new_task(run.id, "root/single", TaskState::Cached)
        }
        .created(single.created_at),
        "create_task writes what `created` describes"
    );
    let history = store
        .task_state_history(stored[4].id)
        .await
        .expect("history");
    assert_eq!(history.len(), 1);
    assert_eq!(
        (history[0].state.as_str(), history[0].message.as_deref()),
        ("FAILED", Some("message 4"))
    );
    assert_eq!(history[0].at, stored[4].created_at);
}

async fn a_refused_batch_writes_nothing(store: &impl MetadataStore) {
    let run = store.create_run(&new_run("r")).await.expect("run");
    store
        .create_task(&new_task(run.id, "root/t150", TaskState::Pending))
        .await
        .expect("task");
    let now = chrono::Utc::now();
    // The taken path is in the batch's second INSERT: the first one's rows go too.
    let batch: Vec<(NewTask, _)> = (0..200)
        .map(|i| {
            (
                new_task(run.id, &format!("root/t{i}"), TaskState::Cached),
                now,
            )
        })
        .collect();
    let refused = store.create_tasks(&batch).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "{refused:?}"
    );
    assert_eq!(store.list_tasks(run.id).await.expect("listed").len(), 1);
    // Nothing was left open: the next writes commit and every connection sees them.
    let task = store
        .create_task(&new_task(run.id, "root/next", TaskState::Pending))
        .await
        .expect("next task");
    store
        .update_task(task.id, &TaskUpdate::state(TaskState::Running))
        .await
        .expect("running");
    let listed = store.list_tasks(run.id).await.expect("listed");
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[1].state, TaskState::Running);
}

async fn updates_check_the_state_machine(store: &impl MetadataStore) {
    let run = store.create_run(&new_run("r")).await.expect("run");
    let task = store
        .create_task(&new_task(run.id, "root/a", TaskState::Pending))
        .await
        .expect("task");
    let running = TaskUpdate {
        attempt: Some(1),
        ..TaskUpdate::state(TaskState::Running).with_message("attempt 1")
    };
    let first = store.update_task(task.id, &running).await.expect("running");
    assert_eq!(first.attempt, 1);
    // The same state again is no change: no history entry, the start time kept.
    let again = TaskUpdate {
        attempt: Some(2),
        ..TaskUpdate::state(TaskState::Running).with_message("attempt 2")
    };
    let second = store.update_task(task.id, &again).await.expect("again");
    assert_eq!(second.attempt, 2);
    assert_eq!(second.started_at, first.started_at);
    let details = TaskUpdate {
        details: Some(TaskDetails {
            fingerprint: Some("x".to_owned()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let third = store.update_task(task.id, &details).await.expect("details");
    assert_eq!(
        (third.details.fingerprint.as_deref(), third.state),
        (Some("x"), TaskState::Running)
    );
    let cached = store
        .update_task(task.id, &TaskUpdate::state(TaskState::Cached))
        .await;
    assert!(
        matches!(cached, Err(StoreError::InvalidTransition(_))),
        "RUNNING cannot become CACHED: {cached:?}"
    );
    let missing = store
        .update_task(
            weir_types::TaskId::new(),
            &TaskUpdate::state(TaskState::Running),
        )
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound { .. })),
        "{missing:?}"
    );
    let missing = store.update_task(weir_types::TaskId::new(), &details).await;
    assert!(
        matches!(missing, Err(StoreError::NotFound { .. })),
        "{missing:?}"
    );
    let history: Vec<String> = store
        .task_state_history(task.id)
        .await
        .expect("history")
        .into_iter()
        .map(|h| h.state)
        .collect();
    assert_eq!(history, ["PENDING", "RUNNING"]);
    let stored = store.get_task(task.id).await.expect("read back");
    assert_eq!(stored, third, "a refused update changed nothing");
}

async fn a_cache_entry_is_written_with_the_update_that_applies(store: &impl MetadataStore) {
    let run = store.create_run(&new_run("r")).await.expect("run");
    let key = CacheKey {
        fingerprint: "f".into(),
        pipeline_name: "pipeline/p".into(),
    };
    let done = store
        .create_task(&new_task(run.id, "root/done", TaskState::Succeeded))
        .await
        .expect("task");
    let refused = TaskUpdate {
        cache_entry: Some(key.clone()),
        ..TaskUpdate::state(TaskState::Running)
    };
    assert!(store.update_task(done.id, &refused).await.is_err());
    assert_eq!(
        store
            .find_cache_entry("f", "pipeline/p")
            .await
            .expect("lookup"),
        None,
        "no entry when the update is refused"
    );
    let task = store
        .create_task(&new_task(run.id, "root/a", TaskState::Running))
        .await
        .expect("task");
    let succeeded = TaskUpdate {
        outputs: Some(parameters(&[("Output", json!(4))])),
        cache_entry: Some(key),
        ..TaskUpdate::state(TaskState::Succeeded)
    };
    let task = store.update_task(task.id, &succeeded).await.expect("done");
    let entry = store
        .find_cache_entry("f", "pipeline/p")
        .await
        .expect("lookup")
        .expect("an entry");
    assert_eq!((entry.task_id, entry.run_id), (task.id, run.id));
    let hit = store
        .find_cached_task("f", "pipeline/p")
        .await
        .expect("lookup")
        .expect("hit");
    assert_eq!(hit, task);
}

async fn tasks_are_listed_without_their_details(store: &impl MetadataStore) {
    let run = store.create_run(&new_run("r")).await.expect("run");
    for i in 0..3 {
        let task = NewTask {
            details: TaskDetails {
                command: Some(vec!["true".to_owned()]),
                executor_input: Some(json!({"n": i})),
                ..Default::default()
            },
            ..new_task(run.id, &format!("root/t{i}"), TaskState::Pending)
        };
        store.create_task(&task).await.expect("task");
    }
    let full = store.list_tasks(run.id).await.expect("listed");
    assert_eq!(full[2].details.executor_input, Some(json!({"n": 2})));
    let brief = store
        .list_tasks_without_details(run.id)
        .await
        .expect("listed without details");
    let expected: Vec<Task> = full
        .into_iter()
        .map(|task| Task {
            details: TaskDetails::default(),
            ..task
        })
        .collect();
    assert_eq!(brief, expected, "everything else as list_tasks reads it");
}
