//! The runs this process executes: one engine drive per run, started on create (in the
//! background, or in the foreground for `weir run`), resumed at startup, canceled on
//! terminate, drained on shutdown.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::task::TaskTracker;
use weir_engine::{Engine, RunControl};
use weir_store::{Run, RunQuery};
use weir_types::{RunId, RunState};

use crate::error::{ControlError, ControlResult};

/// The runs this process drives, by id, with the tokens that stop them.
pub(crate) struct RunManager {
    engine: Engine,
    active: Arc<Mutex<HashMap<RunId, RunControl>>>,
    tracker: TaskTracker,
}

impl RunManager {
    pub fn new(engine: Engine) -> RunManager {
        RunManager {
            engine,
            active: Arc::new(Mutex::new(HashMap::new())),
            tracker: TaskTracker::new(),
        }
    }

    /// Starts driving a recorded run in the background.
    pub fn start(&self, run_id: RunId) {
        let control = RunControl::default();
        if !self.register(run_id, &control) {
            return;
        }
        let engine = self.engine.clone();
        let active = self.active.clone();
        self.tracker.spawn(async move {
            match engine.execute(run_id, control).await {
                Ok(run) => tracing::info!(run_id = %run_id, state = %run.state, "run stopped"),
                Err(error) => {
                    tracing::error!(run_id = %run_id, error = %error, "run could not be driven")
                }
            }
            unregister(&active, run_id);
        });
    }

    /// Drives a recorded run here until it stops, with the caller's `control` (the Ctrl-C of
    /// `weir run`); [`RunManager::terminate`] reaches it meanwhile.
    pub async fn drive(&self, run_id: RunId, control: RunControl) -> ControlResult<Run> {
        if !self.register(run_id, &control) {
            return Err(ControlError::FailedPrecondition(format!(
                "run {run_id} is already executing here, or this process is shutting down"
            )));
        }
        let result = self.engine.execute(run_id, control).await;
        unregister(&self.active, run_id);
        Ok(result?)
    }

    /// Records that `run_id` is driven with `control`; false when it is already, or when the
    /// manager is shutting down (checked under the lock that [`RunManager::shutdown`] takes).
    fn register(&self, run_id: RunId, control: &RunControl) -> bool {
        let Ok(mut active) = self.active.lock() else {
            return false;
        };
        if active.contains_key(&run_id) || self.tracker.is_closed() {
            return false;
        }
        active.insert(run_id, control.clone());
        true
    }

    /// Cancels a run: running steps are stopped, exit handlers run, the run ends CANCELED.
    pub async fn terminate(&self, run_id: RunId) -> ControlResult<()> {
        let control = self
            .active
            .lock()
            .ok()
            .and_then(|a| a.get(&run_id).cloned());
        match control {
            Some(control) => {
                control.cancel.cancel();
                Ok(())
            }
            None => {
                let run = self.engine.store().get_run(run_id).await?;
                if !run.state.is_terminal() {
                    self.engine
                        .store()
                        .change_run_state(run_id, RunState::Canceled, Some("terminated"))
                        .await?;
                }
                Ok(())
            }
        }
    }

    /// Deletes a run with its tasks, logs, artifacts and cache entries; a running run is
    /// terminated first (up to a minute for its steps to stop).
    pub async fn delete(&self, run_id: RunId) -> ControlResult<()> {
        self.engine.store().get_run(run_id).await?;
        if self.is_active(run_id) {
            self.terminate(run_id).await?;
            let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
            while self.is_active(run_id) && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            if self.is_active(run_id) {
                return Err(ControlError::RunStillStopping(run_id));
            }
        }
        Ok(self.engine.delete_run(run_id).await?)
    }

    /// Retries a FAILED or CANCELED run from its failed steps, in the background.
    pub async fn retry(&self, run_id: RunId) -> ControlResult<()> {
        self.prepare_retry(run_id).await?;
        self.start(run_id);
        Ok(())
    }

    /// Readies a FAILED or CANCELED run that is not executing to run its failed steps again.
    pub async fn prepare_retry(&self, run_id: RunId) -> ControlResult<Run> {
        if self.is_active(run_id) {
            return Err(ControlError::RunStillExecuting(run_id));
        }
        Ok(self.engine.prepare_retry(run_id).await?)
    }

    pub fn is_active(&self, run_id: RunId) -> bool {
        self.active
            .lock()
            .map(|a| a.contains_key(&run_id))
            .unwrap_or(false)
    }

    /// Picks up the runs that were executing when the server stopped.
    pub async fn resume_unfinished(&self) {
        let query = RunQuery {
            states: vec![RunState::Pending, RunState::Running, RunState::Canceling],
            ..Default::default()
        };
        match self.engine.store().list_runs(&query).await {
            Ok(runs) => {
                for run in runs {
                    tracing::info!(run_id = %run.id, "resuming run");
                    let canceling = run.state == RunState::Canceling;
                    self.start(run.id);
                    if canceling {
                        let _ = self.terminate(run.id).await;
                    }
                }
            }
            Err(error) => tracing::error!(error = %error, "cannot list unfinished runs"),
        }
    }

    /// Stops taking work and leaves running runs to be resumed: running steps get `grace` to
    /// finish, then they are stopped and count as interrupted.
    pub async fn shutdown(&self) {
        self.tracker.close();
        let controls: Vec<RunControl> = self
            .active
            .lock()
            .map(|a| a.values().cloned().collect())
            .unwrap_or_default();
        for control in &controls {
            control.drain.cancel();
        }
        let grace = Duration::from_secs(10);
        if tokio::time::timeout(grace, self.tracker.wait())
            .await
            .is_err()
        {
            for control in &controls {
                control.kill.cancel();
            }
            self.tracker.wait().await;
        }
    }
}

fn unregister(active: &Mutex<HashMap<RunId, RunControl>>, run_id: RunId) {
    if let Ok(mut active) = active.lock() {
        active.remove(&run_id);
    }
}
