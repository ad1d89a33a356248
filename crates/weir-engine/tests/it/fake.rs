//! A scripted `StepExecutor`: each step attempt does what the test says (echo its arguments
//! into its output, succeed with given outputs, fail, hang until canceled), optionally after
//! waiting at a gate the test opens, so that the test can look at the task table while the
//! step is RUNNING. It records every launch, every recovery and how many steps ran at once.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use async_trait::async_trait;
use tokio::sync::{watch, Semaphore};
use tokio_util::sync::CancellationToken;
use weir_executors::{ProcessOutcome, StepExecutor, StepLaunch, StepRef, Termination};
use weir_store::{MetadataStore, Task};
use weir_types::TaskId;

use crate::support::within;

/// The output parameter every fixture's components declare, which [`Outcome::Echo`] writes.
pub const OUTPUT: &str = "out";

/// What an attempt does once it is past its gate.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Exits 0 with output [`OUTPUT`] set to its arguments (the command line after the command)
    /// joined, which is how the fixtures pass values on.
    Echo,
    /// Exits 0 with these output parameter values.
    Succeed(Vec<(String, String)>),
    /// Exits with this code.
    Fail(i32),
    /// Runs until it is canceled.
    Hang,
}

/// One attempt of a step, as a test scripts it.
#[derive(Debug, Clone)]
pub struct Attempt {
    gate: Option<Arc<Gate>>,
    outcome: Outcome,
}

impl Attempt {
    pub fn echo() -> Attempt {
        Attempt::from(Outcome::Echo)
    }

    pub fn succeed(outputs: &[(&str, &str)]) -> Attempt {
        let outputs = outputs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        Attempt::from(Outcome::Succeed(outputs))
    }

    pub fn fail(code: i32) -> Attempt {
        Attempt::from(Outcome::Fail(code))
    }

    pub fn hang() -> Attempt {
        Attempt::from(Outcome::Hang)
    }

    /// Waits at `gate` until the test opens it (or the step is canceled) first.
    pub fn after(mut self, gate: &Arc<Gate>) -> Attempt {
        self.gate = Some(gate.clone());
        self
    }
}

impl From<Outcome> for Attempt {
    fn from(outcome: Outcome) -> Attempt {
        Attempt {
            gate: None,
            outcome,
        }
    }
}

/// Holds the attempts scripted to wait at it until the test lets them through.
#[derive(Debug)]
pub struct Gate {
    passes: Semaphore,
}

impl Gate {
    pub fn new() -> Arc<Gate> {
        Arc::new(Gate {
            passes: Semaphore::new(0),
        })
    }

    /// Lets `steps` more attempts through, waiting ones first.
    pub fn open(&self, steps: usize) {
        self.passes.add_permits(steps);
    }

    async fn pass(&self) {
        self.passes
            .acquire()
            .await
            .expect("a gate's semaphore is never closed")
            .forget();
    }
}

/// One call of `run`: the step's task path, its attempt as the store had it, its command line.
#[derive(Debug, Clone)]
pub struct Launch {
    pub path: String,
    pub attempt: i64,
    pub argv: Vec<String>,
}

/// What the fake saw.
#[derive(Debug, Clone, Default)]
pub struct Log {
    pub launches: Vec<Launch>,
    /// Paths of the steps `recover` was called for.
    pub recovered: Vec<String>,
    /// Attempts inside `run` now, and the most there ever were at once.
    pub running: usize,
    pub most_running: usize,
}

impl Log {
    pub fn launches_of(&self, path: &str) -> usize {
        self.launches.iter().filter(|l| l.path == path).count()
    }

    /// The arguments (after the command) of the last launch of `path`.
    pub fn arguments_of(&self, path: &str) -> Vec<String> {
        let launch = self
            .launches
            .iter()
            .rev()
            .find(|l| l.path == path)
            .unwrap_or_else(|| panic!("{path} was never launched"));
        launch.argv[1..].to_vec()
    }

    /// Checks that exactly these steps were launched, each this many times.
    pub fn assert_launch_counts(&self, expected: &[(&str, usize)]) {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for launch in &self.launches {
            *counts.entry(launch.path.as_str()).or_default() += 1;
        }
        let expected: BTreeMap<&str, usize> = expected.iter().copied().collect();
        assert_eq!(counts, expected, "launches by path");
    }
}

pub struct FakeExecutor {
    store: Arc<dyn MetadataStore>,
    /// By task path, or by task name for every step of that name; attempt n does entry n-1,
    /// the last entry repeating. Unscripted steps echo.
    scripts: Mutex<HashMap<String, Vec<Attempt>>>,
    log: watch::Sender<Log>,
}

impl FakeExecutor {
    /// A fake that finds a launch's step in `store`.
    pub fn new(store: Arc<dyn MetadataStore>) -> Arc<FakeExecutor> {
        Arc::new(FakeExecutor {
            store,
            scripts: Mutex::new(HashMap::new()),
            log: watch::Sender::new(Log::default()),
        })
    }

    /// Scripts the attempts of `step`: a task path (`root/for-loop-1[2]/tag`), or a task name
    /// for every step of that name.
    pub fn script(&self, step: &str, attempts: Vec<Attempt>) {
        assert!(!attempts.is_empty(), "a script has at least one attempt");
        self.scripts
            .lock()
            .expect("scripts lock")
            .insert(step.to_owned(), attempts);
    }

    pub fn log(&self) -> Log {
        self.log.borrow().clone()
    }

    /// Waits until what the fake saw satisfies `condition`.
    pub async fn wait_until(&self, what: &str, condition: impl FnMut(&Log) -> bool) {
        let mut log = self.log.subscribe();
        within(what, async {
            log.wait_for(condition)
                .await
                .map(|_| ())
                .expect("the fake is alive");
        })
        .await;
    }

    /// Waits until `path` has been launched `count` times in all.
    pub async fn wait_launched(&self, path: &str, count: usize) {
        let what = format!("launch {count} of {path}");
        self.wait_until(&what, |log| log.launches_of(path) >= count)
            .await;
    }

    async fn task(&self, task_id: &str) -> Result<Task, String> {
        let id: TaskId = task_id.parse().map_err(|e| format!("bad task id: {e}"))?;
        self.store
            .get_task(id)
            .await
            .map_err(|e| format!("the step's task cannot be read: {e}"))
    }

    /// The scripted attempt for the next launch of `task`.
    fn next_attempt(&self, task: &Task) -> Attempt {
        let launched = self.log.borrow().launches_of(&task.path);
        let scripts = self.scripts.lock().expect("scripts lock");
        let Some(script) = scripts.get(&task.path).or_else(|| scripts.get(&task.name)) else {
            return Attempt::echo();
        };
        script[launched.min(script.len() - 1)].clone()
    }

    /// Records a launch; the attempt counts as running until the guard is dropped (also when
    /// the job is dropped mid-run, as when the engine is stopped).
    fn enter(&self, launch: Launch) -> RunningGuard<'_> {
        self.log.send_modify(|log| {
            log.launches.push(launch);
            log.running += 1;
            log.most_running = log.most_running.max(log.running);
        });
        RunningGuard { log: &self.log }
    }

    async fn attempt(&self, launch: &StepLaunch, cancel: &CancellationToken) -> Termination {
        let task = match self.task(&launch.task_id).await {
            Ok(task) => task,
            Err(message) => return Termination::SpawnFailed { message },
        };
        let attempt = self.next_attempt(&task);
        let _running = self.enter(Launch {
            path: task.path,
            attempt: task.attempt,
            argv: launch.process.argv.clone(),
        });
        if let Some(gate) = &attempt.gate {
            tokio::select! {
                _ = gate.pass() => {}
                _ = cancel.cancelled() => return Termination::Canceled,
            }
        }
        let outputs = match attempt.outcome {
            Outcome::Echo => vec![(OUTPUT.to_owned(), launch.process.argv[1..].concat())],
            Outcome::Succeed(outputs) => outputs,
            Outcome::Fail(code) => return Termination::Exited { code },
            Outcome::Hang => {
                cancel.cancelled().await;
                return Termination::Canceled;
            }
        };
        match write_outputs(&launch.outputs_dir, &outputs) {
            Ok(()) => Termination::Exited { code: 0 },
            Err(error) => Termination::SpawnFailed {
                message: format!("cannot write the outputs: {error}"),
            },
        }
    }
}

struct RunningGuard<'a> {
    log: &'a watch::Sender<Log>,
}

impl Drop for RunningGuard<'_> {
    fn drop(&mut self) {
        self.log.send_modify(|log| log.running -= 1);
    }
}

/// Output parameters as a step writes them: one file per name in its outputs folder.
fn write_outputs(outputs_dir: &Path, outputs: &[(String, String)]) -> std::io::Result<()> {
    std::fs::create_dir_all(outputs_dir)?;
    for (name, value) in outputs {
        std::fs::write(outputs_dir.join(name), value)?;
    }
    Ok(())
}

#[async_trait]
impl StepExecutor for FakeExecutor {
    fn kind(&self) -> &'static str {
        "fake"
    }

    async fn connect(&self) -> Result<Option<String>, String> {
        Ok(None)
    }

    fn prepare(&self, _launch: &mut StepLaunch) -> Result<(), String> {
        Ok(())
    }

    async fn run(&self, launch: &StepLaunch, cancel: &CancellationToken) -> ProcessOutcome {
        let started_at = SystemTime::now();
        let termination = self.attempt(launch, cancel).await;
        ProcessOutcome {
            termination,
            started_at,
            duration: started_at.elapsed().unwrap_or_default(),
            log_tail: String::new(),
        }
    }

    async fn recover(&self, step: StepRef<'_>, _grace: std::time::Duration) {
        let path = match self.task(step.task_id).await {
            Ok(task) => task.path,
            Err(message) => message,
        };
        self.log.send_modify(|log| log.recovered.push(path));
    }
}
