//! The cache: an identical run reuses the outputs of the first.

use std::collections::BTreeMap;

use serde_json::Value;
use weir_engine::RunControl;
use weir_types::{RunId, RunState, TaskState};

use crate::fake::OUTPUT;
use crate::support::{start, TestBed};

const STEPS: [&str; 3] = ["root/first", "root/second", "root/third"];

/// The second of two identical runs launches nothing: its steps are CACHED with the outputs
/// the first run's steps produced.
#[tokio::test]
async fn an_identical_run_is_served_from_the_cache() {
    let bed = TestBed::new().await;
    let engine = bed.engine();
    let first_run = bed.submit(&engine, "chain.yaml").await;
    let run = start(&engine, first_run, RunControl::default())
        .finish()
        .await;
    assert_eq!(run.state, RunState::Succeeded);
    assert_eq!(bed.fake.log().launches.len(), 3);

    let second_run = bed.submit(&engine, "chain.yaml").await;
    let run = start(&engine, second_run, RunControl::default())
        .finish()
        .await;
    assert_eq!(run.state, RunState::Succeeded);
    assert_eq!(
        bed.fake.log().launches.len(),
        3,
        "nothing more was launched"
    );
    bed.assert_states(
        second_run,
        &[
            ("root", TaskState::Succeeded),
            ("root/first", TaskState::Cached),
            ("root/second", TaskState::Cached),
            ("root/third", TaskState::Cached),
        ],
    )
    .await;
    let produced = step_outputs(&bed, first_run).await;
    assert_eq!(step_outputs(&bed, second_run).await, produced);
    let expected = [
        ("root/first", "start/first"),
        ("root/second", "start/first/second"),
        ("root/third", "start/first/second/third"),
    ];
    let expected: BTreeMap<String, Option<Value>> = expected
        .iter()
        .map(|(path, out)| (path.to_string(), Some(Value::from(*out))))
        .collect();
    assert_eq!(produced, expected);
}

/// The output parameter `out` of the chain's steps, by path.
async fn step_outputs(bed: &TestBed, run_id: RunId) -> BTreeMap<String, Option<Value>> {
    let tasks = bed.store.list_tasks(run_id).await.expect("tasks");
    tasks
        .into_iter()
        .filter(|t| STEPS.contains(&t.path.as_str()))
        .map(|t| (t.path, t.outputs.parameters.get(OUTPUT).cloned()))
        .collect()
}
