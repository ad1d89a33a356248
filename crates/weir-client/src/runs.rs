//! `/apis/v2beta1/runs`

use std::time::{Duration, Instant};

use reqwest::Method;
use weir_api_model::{ListRunsResponse, Run, RuntimeState};

use crate::{Client, ClientError, ListParams};

/// How often [`Client::wait_for_run`] asks.
const WAIT_POLL_INTERVAL: Duration = Duration::from_millis(500);

/// Whether a run may reuse earlier executions of identical tasks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Caching {
    /// As each task's `cachingOptions` say.
    #[default]
    AsSpecified,
    /// Run every task (Weir's `disable_cache` query parameter; KFP ignores it).
    Disabled,
}

/// Whether a run has ended: SUCCEEDED, SKIPPED, FAILED or CANCELED.
pub fn run_is_finished(state: Option<RuntimeState>) -> bool {
    matches!(
        state,
        Some(
            RuntimeState::Succeeded
                | RuntimeState::Skipped
                | RuntimeState::Failed
                | RuntimeState::Canceled
        )
    )
}

impl Client {
    /// Creates and starts a run. The pipeline is `pipeline_spec` (the compiled IR as JSON) or
    /// `pipeline_version_reference` (a stored pipeline; its latest version when the version
    /// id is left out).
    pub async fn create_run(&self, run: &Run, caching: Caching) -> Result<Run, ClientError> {
        let query = match caching {
            Caching::AsSpecified => Vec::new(),
            Caching::Disabled => vec![("disable_cache", "true".to_owned())],
        };
        self.send(self.call(Method::POST, &["runs"]).query(&query).json(run))
            .await
    }

    /// A run with its task details.
    pub async fn get_run(&self, run_id: &str) -> Result<Run, ClientError> {
        self.send(self.call(Method::GET, &["runs", run_id])).await
    }

    /// Runs, of one experiment when `experiment_id` is given.
    pub async fn list_runs(
        &self,
        experiment_id: Option<&str>,
        params: &ListParams,
    ) -> Result<ListRunsResponse, ClientError> {
        let mut query = params.query();
        if let Some(experiment_id) = experiment_id.filter(|e| !e.is_empty()) {
            query.push(("experiment_id", experiment_id.to_owned()));
        }
        self.send(self.call(Method::GET, &["runs"]).query(&query))
            .await
    }

    /// Asks a run to stop; it is CANCELING, then CANCELED once its tasks have stopped.
    pub async fn terminate_run(&self, run_id: &str) -> Result<(), ClientError> {
        self.run_action(run_id, "terminate").await
    }

    /// Runs the failed and unfinished tasks of a FAILED or CANCELED run again.
    pub async fn retry_run(&self, run_id: &str) -> Result<(), ClientError> {
        self.run_action(run_id, "retry").await
    }

    pub async fn archive_run(&self, run_id: &str) -> Result<(), ClientError> {
        self.run_action(run_id, "archive").await
    }

    pub async fn unarchive_run(&self, run_id: &str) -> Result<(), ClientError> {
        self.run_action(run_id, "unarchive").await
    }

    /// Deletes a run with its records, logs and artifacts; a running run is terminated first.
    pub async fn delete_run(&self, run_id: &str) -> Result<(), ClientError> {
        self.send_empty(self.call(Method::DELETE, &["runs", run_id]))
            .await
    }

    /// Polls a run until it has finished ([`run_is_finished`]) and returns it. With a
    /// `timeout`, gives up after it with [`ClientError::WaitTimedOut`].
    pub async fn wait_for_run(
        &self,
        run_id: &str,
        timeout: Option<Duration>,
    ) -> Result<Run, ClientError> {
        let started = Instant::now();
        loop {
            let run = self.get_run(run_id).await?;
            if run_is_finished(run.state) {
                return Ok(run);
            }
            if let Some(timeout) = timeout {
                if started.elapsed() >= timeout {
                    return Err(ClientError::WaitTimedOut {
                        run_id: run_id.to_owned(),
                        waited_seconds: timeout.as_secs(),
                        state: run.state.unwrap_or_default().to_string(),
                    });
                }
            }
            tokio::time::sleep(WAIT_POLL_INTERVAL).await;
        }
    }

    async fn run_action(&self, run_id: &str, verb: &str) -> Result<(), ClientError> {
        let action = format!("{run_id}:{verb}");
        self.send_empty(self.call(Method::POST, &["runs", &action]))
            .await
    }
}
