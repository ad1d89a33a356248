//! ParallelFor: iterations up to the parallelism limit, and their outputs collected in
//! iteration order (dsl.Collected).

use std::ops::Range;
use std::sync::Arc;

use weir_engine::RunControl;
use weir_types::{RunState, TaskState};

use crate::fake::{Attempt, Gate};
use crate::support::{start, Events, TestBed};

/// One gate per path, each path's only attempt echoing after it.
fn gated(bed: &TestBed, paths: &[String]) -> Vec<Arc<Gate>> {
    paths
        .iter()
        .map(|path| {
            let gate = Gate::new();
            bed.fake.script(path, vec![Attempt::echo().after(&gate)]);
            gate
        })
        .collect()
}

/// The iterations `indices` of the loop at `loop_path` and their `tag` steps, each in the
/// state `state_of` gives its index.
pub fn iterations(
    loop_path: &str,
    indices: Range<usize>,
    state_of: impl Fn(usize) -> TaskState,
) -> Vec<(String, TaskState)> {
    indices
        .flat_map(|index| {
            let state = state_of(index);
            [
                (format!("{loop_path}[{index}]"), state),
                (format!("{loop_path}[{index}]/tag"), state),
            ]
        })
        .collect()
}

/// The list argument a consumer was launched with.
pub fn list_argument(bed: &TestBed, path: &str) -> Vec<String> {
    let arguments = bed.fake.log().arguments_of(path);
    serde_json::from_str(&arguments[0]).expect("a JSON list of strings")
}

/// The tags `parallel_for.yaml` collects, in item order.
pub const PARALLEL_FOR_TAGS: [&str; 6] = ["id-a", "id-b", "id-c", "id-d", "id-e", "id-f"];

/// Six items, parallelism 2, released out of order (1, 0, 3, 2, 5, 4): the iterations exist
/// in index order, never more than two run at once, each one that ends lets the next start,
/// and `collect` gets every tag in item order.
#[tokio::test]
async fn parallel_for_runs_at_most_parallelism_iterations_at_once() {
    let bed = TestBed::new().await;
    let count = PARALLEL_FOR_TAGS.len();
    let tag = |index: usize| format!("root/for-loop-1[{index}]/tag");
    let gates = gated(&bed, &(0..count).map(tag).collect::<Vec<_>>());
    let engine = bed.engine();
    let run_id = bed.submit(&engine, "parallel_for.yaml").await;
    let mut events = Events::of(&engine);
    let running = start(&engine, run_id, RunControl::default());

    bed.fake.wait_launched(&tag(0), 1).await;
    bed.fake.wait_launched(&tag(1), 1).await;
    let mut created = 2;
    let mut ended = Vec::new();
    for released in [1, 0, 3, 2, 5, 4] {
        let mut expected = vec![
            ("root".to_owned(), TaskState::Running),
            ("root/for-loop-1".to_owned(), TaskState::Running),
        ];
        expected.extend(iterations(
            "root/for-loop-1",
            0..created,
            |index| match ended.contains(&index) {
                true => TaskState::Succeeded,
                false => TaskState::Running,
            },
        ));
        bed.assert_states(run_id, &expected).await;
        assert_eq!(bed.fake.log().running, created - ended.len());

        gates[released].open(1);
        ended.push(released);
        if created < count {
            bed.fake.wait_launched(&tag(created), 1).await;
            created += 1;
        } else if ended.len() < count {
            let iteration = format!("root/for-loop-1[{released}]");
            events.wait(&iteration, TaskState::Succeeded).await;
        }
    }

    let run = running.finish().await;
    assert_eq!(run.state, RunState::Succeeded);
    let mut expected = vec![
        ("root".to_owned(), TaskState::Succeeded),
        ("root/for-loop-1".to_owned(), TaskState::Succeeded),
        ("root/collect".to_owned(), TaskState::Succeeded),
    ];
    expected.extend(iterations("root/for-loop-1", 0..count, |_| {
        TaskState::Succeeded
    }));
    bed.assert_states(run_id, &expected).await;
    assert_eq!(bed.fake.log().most_running, 2);
    assert_eq!(list_argument(&bed, "root/collect"), PARALLEL_FOR_TAGS);
}

/// dsl.Collected inside a sub-pipeline: the iterations end last to first, yet `consume-inner`
/// (in the same DAG as the loop) and `consume-outer` (through the sub-pipeline's output) get
/// the tags in item order.
#[tokio::test]
async fn collected_outputs_are_in_iteration_order() {
    let bed = TestBed::new().await;
    let count = 3;
    let iteration = |index: usize| format!("root/collecting/for-loop-1[{index}]");
    let tags: Vec<String> = (0..count)
        .map(|index| format!("{}/tag", iteration(index)))
        .collect();
    let gates = gated(&bed, &tags);
    let engine = bed.engine();
    let run_id = bed.submit(&engine, "collected.yaml").await;
    let mut events = Events::of(&engine);
    let running = start(&engine, run_id, RunControl::default());

    for tag in &tags {
        bed.fake.wait_launched(tag, 1).await;
    }
    for released in (0..count).rev() {
        let mut expected = vec![
            ("root".to_owned(), TaskState::Running),
            ("root/collecting".to_owned(), TaskState::Running),
            ("root/collecting/for-loop-1".to_owned(), TaskState::Running),
        ];
        expected.extend(iterations(
            "root/collecting/for-loop-1",
            0..count,
            |index| match index > released {
                true => TaskState::Succeeded,
                false => TaskState::Running,
            },
        ));
        bed.assert_states(run_id, &expected).await;

        gates[released].open(1);
        if released > 0 {
            events
                .wait(&iteration(released), TaskState::Succeeded)
                .await;
        }
    }

    let run = running.finish().await;
    assert_eq!(run.state, RunState::Succeeded);
    let mut expected = vec![
        ("root".to_owned(), TaskState::Succeeded),
        ("root/collecting".to_owned(), TaskState::Succeeded),
        (
            "root/collecting/for-loop-1".to_owned(),
            TaskState::Succeeded,
        ),
        (
            "root/collecting/consume-inner".to_owned(),
            TaskState::Succeeded,
        ),
        ("root/consume-outer".to_owned(), TaskState::Succeeded),
    ];
    expected.extend(iterations("root/collecting/for-loop-1", 0..count, |_| {
        TaskState::Succeeded
    }));
    bed.assert_states(run_id, &expected).await;
    let tags = ["id-a", "id-b", "id-c"];
    assert_eq!(list_argument(&bed, "root/collecting/consume-inner"), tags);
    assert_eq!(list_argument(&bed, "root/consume-outer"), tags);
}
