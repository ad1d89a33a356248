//! Nested conditions: a false condition skips its DAG and nothing below it is created.

use weir_engine::RunControl;
use weir_types::{RunState, TaskState};

use crate::fake::{Attempt, OUTPUT};
use crate::support::{start, TestBed};

/// With `pick` = "small": condition-1 holds, and inside it condition-2 holds while
/// condition-3 does not; condition-4 at the root does not. With "big", condition-2 and
/// condition-3 change places. Only the steps of the conditions that hold are launched.
#[tokio::test]
async fn nested_conditions_run_the_true_branches_and_skip_the_false_ones() {
    let cases = [
        ("small", "condition-2", "condition-3"),
        ("big", "condition-3", "condition-2"),
    ];
    for (pick, holds, does_not_hold) in cases {
        let bed = TestBed::new().await;
        bed.fake
            .script("pick", vec![Attempt::succeed(&[(OUTPUT, pick)])]);
        let engine = bed.engine();
        let run_id = bed.submit(&engine, "nested_conditions.yaml").await;
        let run = start(&engine, run_id, RunControl::default()).finish().await;
        assert_eq!(run.state, RunState::Succeeded);
        let taken = format!("root/condition-1/{holds}");
        let inner_step = format!("{taken}/in-{pick}");
        let not_taken = format!("root/condition-1/{does_not_hold}");
        let expected: [(&str, TaskState); 8] = [
            ("root", TaskState::Succeeded),
            ("root/pick", TaskState::Succeeded),
            ("root/condition-1", TaskState::Succeeded),
            ("root/condition-1/in-outer", TaskState::Succeeded),
            (&taken, TaskState::Succeeded),
            (&inner_step, TaskState::Succeeded),
            (&not_taken, TaskState::Skipped),
            ("root/condition-4", TaskState::Skipped),
        ];
        bed.assert_states(run_id, &expected).await;
        bed.fake.log().assert_launch_counts(&[
            ("root/pick", 1),
            ("root/condition-1/in-outer", 1),
            (&inner_step, 1),
        ]);
    }
}
