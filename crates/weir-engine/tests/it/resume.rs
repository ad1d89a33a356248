//! A run whose Weir stopped mid-run resumes on a new engine over the same store.

use weir_engine::RunControl;
use weir_types::{RunState, TaskState};

use crate::fake::{Attempt, Gate};
use crate::loops::{iterations, list_argument, PARALLEL_FOR_TAGS};
use crate::support::{assert_chain_ran_second_twice, start, TestBed};

/// The run is dropped while `second` runs, as a crash leaves it: the run and `second` RUNNING.
/// A new engine recovers `second` and runs it again; `first` is not launched again.
#[tokio::test]
async fn a_crashed_run_resumes_without_redoing_finished_steps() {
    let bed = TestBed::new().await;
    let never_opened = Gate::new();
    bed.fake.script(
        "second",
        vec![Attempt::echo().after(&never_opened), Attempt::echo()],
    );
    let engine = bed.engine();
    let run_id = bed.submit(&engine, "chain.yaml").await;
    let running = start(&engine, run_id, RunControl::default());
    bed.fake.wait_launched("root/second", 1).await;
    let while_second_runs = [
        ("root", TaskState::Running),
        ("root/first", TaskState::Succeeded),
        ("root/second", TaskState::Running),
    ];
    bed.assert_states(run_id, &while_second_runs).await;

    running.crash(&bed.fake).await;
    drop(engine);
    assert_eq!(bed.run_state(run_id).await, RunState::Running);
    bed.assert_states(run_id, &while_second_runs).await;
    bed.assert_attempts(run_id, &[("root/second", 1)]).await;

    let restarted = bed.engine();
    let run = start(&restarted, run_id, RunControl::default())
        .finish()
        .await;
    assert_chain_ran_second_twice(&bed, &run).await;
    assert_eq!(
        bed.fake.log().recovered,
        ["root/second"],
        "the interrupted step is recovered"
    );
}

/// A crash inside a ParallelFor (parallelism 2) after iteration 0 ended, with iterations 1 and
/// 2 running: the resumed run recovers and reruns those two, runs 3 to 5 still two at a time,
/// and collects every tag in item order.
#[tokio::test]
async fn a_crashed_parallel_for_resumes_where_it_stopped() {
    let bed = TestBed::new().await;
    let tag = |index: usize| format!("root/for-loop-1[{index}]/tag");
    let gates: Vec<_> = (0..3).map(|_| Gate::new()).collect();
    for (index, gate) in gates.iter().enumerate() {
        bed.fake.script(
            &tag(index),
            vec![Attempt::echo().after(gate), Attempt::echo()],
        );
    }
    let engine = bed.engine();
    let run_id = bed.submit(&engine, "parallel_for.yaml").await;
    let running = start(&engine, run_id, RunControl::default());
    bed.fake.wait_launched(&tag(1), 1).await;
    gates[0].open(1);
    bed.fake.wait_launched(&tag(2), 1).await;
    running.crash(&bed.fake).await;
    drop(engine);
    let mut at_the_crash = vec![
        ("root".to_owned(), TaskState::Running),
        ("root/for-loop-1".to_owned(), TaskState::Running),
    ];
    at_the_crash.extend(iterations("root/for-loop-1", 0..3, |index| match index {
        0 => TaskState::Succeeded,
        _ => TaskState::Running,
    }));
    bed.assert_states(run_id, &at_the_crash).await;

    let restarted = bed.engine();
    let run = start(&restarted, run_id, RunControl::default())
        .finish()
        .await;
    assert_eq!(run.state, RunState::Succeeded);
    let log = bed.fake.log();
    let mut recovered = log.recovered.clone();
    recovered.sort();
    assert_eq!(recovered, [tag(1), tag(2)]);
    let counts: Vec<usize> = (0..6).map(|index| log.launches_of(&tag(index))).collect();
    assert_eq!(counts, [1, 2, 2, 1, 1, 1]);
    assert_eq!(log.most_running, 2);
    let mut expected = vec![
        ("root".to_owned(), TaskState::Succeeded),
        ("root/for-loop-1".to_owned(), TaskState::Succeeded),
        ("root/collect".to_owned(), TaskState::Succeeded),
    ];
    expected.extend(iterations("root/for-loop-1", 0..6, |_| {
        TaskState::Succeeded
    }));
    bed.assert_states(run_id, &expected).await;
    assert_eq!(list_argument(&bed, "root/collect"), PARALLEL_FOR_TAGS);
}
