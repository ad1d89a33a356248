//! Retries: a failed run retried from its failed step, and a step's own retry policy.

use weir_engine::RunControl;
use weir_types::{RunState, TaskState};

use crate::fake::Attempt;
use crate::support::{assert_chain_ran_second_twice, start, TestBed};

/// `second` fails, so `third` is skipped and the run fails; after `prepare_retry` only `second`
/// and `third` are launched, and `first`'s result is reused.
#[tokio::test]
async fn retry_runs_only_the_failed_and_never_run_steps() {
    let bed = TestBed::new().await;
    bed.fake
        .script("second", vec![Attempt::fail(3), Attempt::echo()]);
    let engine = bed.engine();
    let run_id = bed.submit(&engine, "chain.yaml").await;

    let run = start(&engine, run_id, RunControl::default()).finish().await;
    assert_eq!(run.state, RunState::Failed);
    bed.assert_states(
        run_id,
        &[
            ("root", TaskState::Failed),
            ("root/first", TaskState::Succeeded),
            ("root/second", TaskState::Failed),
            ("root/third", TaskState::Skipped),
        ],
    )
    .await;

    let run = engine.prepare_retry(run_id).await.expect("retry");
    assert_eq!(run.state, RunState::Running);
    bed.assert_states(
        run_id,
        &[
            ("root", TaskState::Pending),
            ("root/first", TaskState::Succeeded),
            ("root/second", TaskState::Pending),
        ],
    )
    .await;

    let run = start(&engine, run_id, RunControl::default()).finish().await;
    assert_chain_ran_second_twice(&bed, &run).await;
}

/// A step with `retryPolicy` (two retries) that fails twice succeeds on its third attempt, in
/// the same run.
#[tokio::test]
async fn a_retry_policy_runs_a_failing_step_again() {
    let bed = TestBed::new().await;
    bed.fake.script(
        "flaky",
        vec![Attempt::fail(1), Attempt::fail(1), Attempt::echo()],
    );
    let engine = bed.engine();
    let run_id = bed.submit(&engine, "retry_policy.yaml").await;
    let run = start(&engine, run_id, RunControl::default()).finish().await;
    assert_eq!(run.state, RunState::Succeeded);
    bed.assert_states(
        run_id,
        &[
            ("root", TaskState::Succeeded),
            ("root/flaky", TaskState::Succeeded),
        ],
    )
    .await;
    bed.assert_attempts(run_id, &[("root/flaky", 3)]).await;
    let attempts: Vec<i64> = bed.fake.log().launches.iter().map(|l| l.attempt).collect();
    assert_eq!(
        attempts,
        [1, 2, 3],
        "each attempt is RUNNING with its number before it runs"
    );
}
