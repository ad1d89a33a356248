//! Canceling a run: running steps are stopped, exit handlers still run.

use serde::Deserialize;
use weir_engine::{Engine, RunControl};
use weir_types::{RunId, RunState, TaskState};

use crate::fake::{Attempt, Gate};
use crate::support::{start, Running, TestBed};

/// The part of KFP's `PipelineTaskFinalStatus` an exit handler gets that this test reads.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FinalStatus {
    state: String,
    pipeline_task_name: String,
}

/// How `exit_handler.yaml` ends when it is canceled while `work` runs.
const CANCELED: [(&str, TaskState); 4] = [
    ("root", TaskState::Canceled),
    ("root/exit-handler-1", TaskState::Canceled),
    ("root/exit-handler-1/work", TaskState::Canceled),
    ("root/cleanup", TaskState::Succeeded),
];

/// Runs `exit_handler.yaml` with `work` hanging, checks the table while `work` runs, cancels
/// the run and waits until its exit handler `cleanup` (scripted by the caller) is launched.
async fn cancel_while_work_runs(bed: &TestBed, engine: &Engine) -> (RunId, Running) {
    bed.fake.script("work", vec![Attempt::hang()]);
    let run_id = bed.submit(engine, "exit_handler.yaml").await;
    let control = RunControl::default();
    let running = start(engine, run_id, control.clone());
    bed.fake.wait_launched("root/exit-handler-1/work", 1).await;
    assert_eq!(bed.run_state(run_id).await, RunState::Running);
    bed.assert_states(
        run_id,
        &[
            ("root", TaskState::Running),
            ("root/exit-handler-1", TaskState::Running),
            ("root/exit-handler-1/work", TaskState::Running),
        ],
    )
    .await;
    control.cancel.cancel();
    bed.fake.wait_launched("root/cleanup", 1).await;
    (run_id, running)
}

/// `work` hangs and the run is canceled: `work` ends CANCELED, the exit handler `cleanup` runs
/// while the run is CANCELING, gets the CANCELED status and succeeds; the run ends CANCELED.
#[tokio::test]
async fn cancel_stops_the_running_step_and_runs_the_exit_handler() {
    let bed = TestBed::new().await;
    let cleanup_gate = Gate::new();
    bed.fake
        .script("cleanup", vec![Attempt::echo().after(&cleanup_gate)]);
    let engine = bed.engine();
    let (run_id, running) = cancel_while_work_runs(&bed, &engine).await;
    assert_eq!(bed.run_state(run_id).await, RunState::Canceling);
    bed.assert_states(
        run_id,
        &[
            ("root", TaskState::Running),
            ("root/exit-handler-1", TaskState::Canceled),
            ("root/exit-handler-1/work", TaskState::Canceled),
            ("root/cleanup", TaskState::Running),
        ],
    )
    .await;

    cleanup_gate.open(1);
    let run = running.finish().await;
    assert_eq!(run.state, RunState::Canceled);
    bed.assert_states(run_id, &CANCELED).await;
    let arguments = bed.fake.log().arguments_of("root/cleanup");
    let status: FinalStatus = serde_json::from_str(&arguments[0]).expect("a final status");
    assert_eq!(status.state, "CANCELED");
    assert_eq!(status.pipeline_task_name, "exit-handler-1");
}

/// Weir stops while the exit handler of a canceled run runs (the run CANCELING): a new engine
/// resumes the run still canceling, without being asked again: the exit handler is recovered
/// and runs again, `work` stays CANCELED, and the run ends CANCELED.
#[tokio::test]
async fn a_run_stopped_while_canceling_resumes_canceling() {
    let bed = TestBed::new().await;
    let never_opened = Gate::new();
    bed.fake.script(
        "cleanup",
        vec![Attempt::echo().after(&never_opened), Attempt::echo()],
    );
    let engine = bed.engine();
    let (run_id, running) = cancel_while_work_runs(&bed, &engine).await;
    running.crash(&bed.fake).await;
    drop(engine);
    assert_eq!(bed.run_state(run_id).await, RunState::Canceling);

    let restarted = bed.engine();
    let run = start(&restarted, run_id, RunControl::default())
        .finish()
        .await;
    assert_eq!(run.state, RunState::Canceled);
    bed.assert_states(run_id, &CANCELED).await;
    let log = bed.fake.log();
    assert_eq!(log.recovered, ["root/cleanup"]);
    log.assert_launch_counts(&[("root/exit-handler-1/work", 1), ("root/cleanup", 2)]);
}
