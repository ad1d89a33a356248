//! What every test sets up: an in-memory store, a data folder, the fake executor, engines on
//! them, and the task table as paths and states.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use weir_engine::{Engine, EngineConfig, EngineError, EngineEvent, Layout, RunControl};
use weir_engine::{RunLinks, SubmitRequest};
use weir_store::{MetadataStore, Run, RunOptions, SqliteStore};
use weir_types::{RunId, RunState, TaskState};

use crate::fake::FakeExecutor;

/// How long any one wait may take before the test fails; every wait ends in milliseconds
/// unless the engine is stuck.
const PATIENCE: Duration = Duration::from_secs(20);

/// Awaits `future`, failing the test if it takes longer than [`PATIENCE`].
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(PATIENCE, future)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

pub struct TestBed {
    pub store: Arc<dyn MetadataStore>,
    pub fake: Arc<FakeExecutor>,
    data: tempfile::TempDir,
}

impl TestBed {
    pub async fn new() -> TestBed {
        let store: Arc<dyn MetadataStore> =
            Arc::new(SqliteStore::in_memory().await.expect("in-memory store"));
        TestBed {
            fake: FakeExecutor::new(store.clone()),
            store,
            data: tempfile::tempdir().expect("data dir"),
        }
    }

    /// A new engine on the same store, data folder and fake executor (a Weir started again).
    /// Its slots are not what limits the tests' steps.
    pub fn engine(&self) -> Engine {
        let config = EngineConfig {
            max_parallel: 16,
            kill_grace: Duration::from_millis(10),
            ..EngineConfig::default()
        };
        let layout = Layout::new(self.data.path());
        Engine::with_executor(self.store.clone(), layout, config, self.fake.clone())
    }

    /// Records a run of the fixture `name` with its default parameters.
    pub async fn submit(&self, engine: &Engine, name: &str) -> RunId {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name);
        let text = std::fs::read_to_string(&path).expect("fixture");
        let parsed = weir_spec::check(&text);
        let document = parsed
            .document
            .unwrap_or_else(|| panic!("{name} parses: {:?}", parsed.diagnostics));
        let request = SubmitRequest {
            document,
            display_name: None,
            experiment: None,
            parameters: serde_json::Map::new(),
            options: RunOptions::default(),
            pipeline_root: None,
            links: RunLinks::default(),
        };
        engine.submit(request).await.expect("submitted").id
    }

    pub async fn run_state(&self, run_id: RunId) -> RunState {
        self.store.get_run(run_id).await.expect("run").state
    }

    /// The task table: every execution's state by path.
    pub async fn states(&self, run_id: RunId) -> BTreeMap<String, TaskState> {
        let tasks = self.store.list_tasks(run_id).await.expect("tasks");
        tasks.into_iter().map(|t| (t.path, t.state)).collect()
    }

    /// Checks that the run has exactly these executions, in these states.
    pub async fn assert_states<P: AsRef<str>>(&self, run_id: RunId, expected: &[(P, TaskState)]) {
        let expected: BTreeMap<String, TaskState> = expected
            .iter()
            .map(|(path, state)| (path.as_ref().to_owned(), *state))
            .collect();
        assert_eq!(self.states(run_id).await, expected, "the task table");
    }

    /// Checks the attempt counts of these executions.
    pub async fn assert_attempts(&self, run_id: RunId, expected: &[(&str, i64)]) {
        let tasks = self.store.list_tasks(run_id).await.expect("tasks");
        let attempts: BTreeMap<&str, i64> = tasks
            .iter()
            .map(|t| (t.path.as_str(), t.attempt))
            .filter(|(path, _)| expected.iter().any(|(p, _)| p == path))
            .collect();
        let expected: BTreeMap<&str, i64> = expected.iter().copied().collect();
        assert_eq!(attempts, expected, "attempts");
    }
}

/// Drives a run in the background, as the server does.
pub fn start(engine: &Engine, run_id: RunId, control: RunControl) -> Running {
    let engine = engine.clone();
    Running(tokio::spawn(async move {
        engine.execute(run_id, control).await
    }))
}

pub struct Running(JoinHandle<Result<Run, EngineError>>);

impl Running {
    /// Waits for the run to end.
    pub async fn finish(self) -> Run {
        within("the run to end", self.0)
            .await
            .expect("the driver does not panic")
            .expect("the run is driven")
    }

    /// Drops the driver and its jobs where they are, as a crash leaves them, and waits until
    /// the fake's attempts of them are gone.
    pub async fn crash(self, fake: &FakeExecutor) {
        self.0.abort();
        let stopped = self.0.await;
        assert!(
            stopped.is_err_and(|e| e.is_cancelled()),
            "the run was still going"
        );
        fake.wait_until("the crashed run's attempts to stop", |log| log.running == 0)
            .await;
    }
}

/// Task state changes as the engine announces them, after it has written them.
pub struct Events(broadcast::Receiver<EngineEvent>);

impl Events {
    pub fn of(engine: &Engine) -> Events {
        Events(engine.subscribe())
    }

    /// Waits until the task at `path` has been recorded in `state`.
    pub async fn wait(&mut self, path: &str, state: TaskState) {
        let what = format!("{path} to be {state}");
        within(&what, async {
            loop {
                match self.0.recv().await.expect("events keep coming") {
                    EngineEvent::TaskChanged {
                        path: changed,
                        state: now,
                        ..
                    } if changed == path && now == state => return,
                    _ => {}
                }
            }
        })
        .await;
    }
}

/// A run of `chain.yaml` ended SUCCEEDED with `second` launched twice (attempts 1 and 2) and
/// `first` and `third` once, `third` getting what `second`'s second attempt produced.
pub async fn assert_chain_ran_second_twice(bed: &TestBed, run: &Run) {
    assert_eq!(run.state, RunState::Succeeded);
    bed.assert_states(
        run.id,
        &[
            ("root", TaskState::Succeeded),
            ("root/first", TaskState::Succeeded),
            ("root/second", TaskState::Succeeded),
            ("root/third", TaskState::Succeeded),
        ],
    )
    .await;
    let once_twice_once = [("root/first", 1), ("root/second", 2), ("root/third", 1)];
    bed.assert_attempts(run.id, &once_twice_once).await;
    let log = bed.fake.log();
    log.assert_launch_counts(&once_twice_once.map(|(path, count)| (path, count as usize)));
    assert_eq!(
        log.arguments_of("root/third"),
        ["start/first/second", "/", "third"]
    );
}
