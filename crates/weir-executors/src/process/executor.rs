//! [`ProcessExecutor`]: steps as supervised host processes, KFP lightweight Python steps forked
//! from a warm interpreter when there is one.

use std::time::Duration;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use super::mounts::wrap_with_mounts;
use super::{run_process, stop_leftover_group, ProcessOutcome};
use crate::contract::{StepExecutor, StepLaunch, StepRef, TASK_ID_ENV};
use crate::WarmPythons;

/// The file in a step's scratch folder where its process group id is written.
pub fn pid_file(scratch: &std::path::Path) -> std::path::PathBuf {
    scratch.join("pid")
}

/// Host processes. Steps with fixed mount paths run in a private mount namespace.
pub struct ProcessExecutor {
    warm: Option<WarmPythons>,
}

impl ProcessExecutor {
    /// `warm`: where KFP lightweight Python steps start from, if anywhere.
    pub fn new(warm: Option<WarmPythons>) -> ProcessExecutor {
        ProcessExecutor { warm }
    }
}

#[async_trait]
impl StepExecutor for ProcessExecutor {
    fn kind(&self) -> &'static str {
        "process"
    }

    async fn connect(&self) -> Result<Option<String>, String> {
        Ok(None)
    }

    fn prepare(&self, launch: &mut StepLaunch) -> Result<(), String> {
        let argv = std::mem::take(&mut launch.process.argv);
        launch.process.argv = wrap_with_mounts(argv, &launch.mounts, &launch.process.cwd)?;
        Ok(())
    }

    async fn run(&self, launch: &StepLaunch, cancel: &CancellationToken) -> ProcessOutcome {
        // A step with mounts runs wrapped, as written; the warm interpreter declines it.
        if let Some(warm) = self.warm.as_ref().filter(|_| launch.mounts.is_empty()) {
            if let Some(outcome) = warm.run(&launch.process, cancel).await {
                return outcome;
            }
        }
        run_process(&launch.process, cancel).await
    }

    async fn recover(&self, step: StepRef<'_>, grace: Duration) {
        let marker = format!("{TASK_ID_ENV}={}", step.task_id);
        stop_leftover_group(&pid_file(step.scratch), &marker, grace).await;
    }
}
