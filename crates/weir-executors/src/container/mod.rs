//! A leaf task run in its image through the Docker Engine API (Docker itself, or podman's
//! Docker-compatible service), with the same outcome type as a host process.
//!
//! One container per attempt, named `weir-<task id>` and labelled with [`RUN_LABEL`] and
//! [`TASK_LABEL`]; containers an earlier Weir left behind for the task are removed before it
//! starts again ([`ContainerEngine::remove_task_container`]). The image is resolved by its pull
//! policy ([`PullPolicy`]); stdout and stderr are appended to the log file as they arrive; the
//! container runs with an init process, so a stop request reaches the command: cancellation and
//! timeout stop it (SIGTERM, then SIGKILL after the grace period). An OOM kill by the memory
//! limit is [`Termination::OutOfMemory`]. The container is removed once it has ended.

mod create;
mod executor;
mod image;
mod list;
mod logs;
mod task;
#[cfg(test)]
mod tests;

use std::time::{Duration, Instant, SystemTime};

use bollard::Docker;
use futures_util::StreamExt as _;
use tokio_util::sync::CancellationToken;

pub use executor::{same_path, ContainerExecutor, ContainerOptions, NETWORK_ENV};
pub use image::{ImageMap, ImageMapError, PullPolicy};
pub use task::{Bind, ContainerTask, NetworkMode};

use crate::process::{ProcessOutcome, Termination};

/// The label holding the run id on every container Weir creates.
pub const RUN_LABEL: &str = "weir.run-id";
/// The label holding the task id on every container Weir creates.
pub const TASK_LABEL: &str = "weir.task-id";

/// How long one API call (other than waiting for the container) may take.
const API_CALL_TIMEOUT: Duration = Duration::from_secs(120);
/// Reads of an ended container's record before its OOM flag is given up on.
const INSPECT_ATTEMPTS: usize = 5;
/// How long to wait for the log stream to end once the container has ended.
const LOG_DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Errors talking to the container engine.
#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    #[error("cannot reach the container engine at {host}: {message}; start Docker, or podman's service (`podman system service --time=0 unix:///path.sock`), and pass --container-host")]
    Unreachable { host: String, message: String },
    #[error("the container engine at {host} failed to list containers: {message}")]
    List { host: String, message: String },
}

/// A connection to a Docker Engine API.
#[derive(Debug, Clone)]
pub struct ContainerEngine {
    docker: Docker,
    host: String,
}

impl ContainerEngine {
    /// Connects to `host` (`unix:///path.sock`, `tcp://host:port` or `http://...`), or to
    /// `DOCKER_HOST`, or to `/var/run/docker.sock`, and agrees on an API version.
    pub async fn connect(host: Option<&str>) -> Result<ContainerEngine, ContainerError> {
        let host = host
            .map(str::to_owned)
            .or_else(|| std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty()))
            .unwrap_or_else(|| "unix:///var/run/docker.sock".to_owned());
        let unreachable = |message: String| ContainerError::Unreachable {
            host: host.clone(),
            message,
        };
        // Waiting for a container is one long request: the client's own limit must not cut it.
        let no_limit = 365 * 24 * 3600;
        let docker = if host.starts_with("unix://") || host.starts_with('/') {
            Docker::connect_with_unix(&host, no_limit, bollard::API_DEFAULT_VERSION)
        } else {
            let address = host.replacen("tcp://", "http://", 1);
            Docker::connect_with_http(&address, no_limit, bollard::API_DEFAULT_VERSION)
        }
        .map_err(|e| unreachable(e.to_string()))?;
        let negotiated = tokio::time::timeout(API_CALL_TIMEOUT, docker.negotiate_version())
            .await
            .map_err(|_| unreachable("no answer in 120 s".to_owned()))?
            .map_err(|e| unreachable(e.to_string()))?;
        Ok(ContainerEngine {
            docker: negotiated,
            host,
        })
    }

    /// Where this engine listens.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Stops (the stop signal, `grace`, then SIGKILL) and removes the container of this task
    /// that an earlier Weir left behind when it was killed; containers are named after their
    /// task. Nothing happens when there is none.
    pub async fn remove_task_container(&self, task_id: &str, grace: Duration) {
        let name = container_name(task_id);
        let options = bollard::query_parameters::StopContainerOptions {
            t: Some(i32::try_from(grace.as_secs()).unwrap_or(i32::MAX)),
            signal: None,
        };
        let stopped = tokio::time::timeout(
            grace + API_CALL_TIMEOUT,
            self.docker.stop_container(&name, Some(options)),
        )
        .await;
        if let Ok(Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        })) = stopped
        {
            return;
        }
        tracing::warn!(container = %name, "removing a container left behind by an earlier Weir");
        self.remove(&name).await;
    }

    /// Every container Weir created on this engine, as (container id, run id), from any data dir.
    pub async fn containers_by_run(&self) -> Result<Vec<(String, String)>, ContainerError> {
        let version = self.docker.client_version().to_string();
        list::containers_by_run(&self.host, &version, API_CALL_TIMEOUT)
            .await
            .map_err(|message| ContainerError::List {
                host: self.host.clone(),
                message,
            })
    }

    /// Force-removes a container (killing it if it still runs); a missing one is fine.
    pub async fn remove(&self, id: &str) {
        let options = bollard::query_parameters::RemoveContainerOptions {
            force: true,
            v: true,
            ..Default::default()
        };
        let removed = tokio::time::timeout(
            API_CALL_TIMEOUT,
            self.docker.remove_container(id, Some(options)),
        )
        .await;
        match removed {
            Ok(Ok(())) => {}
            Ok(Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            })) => {}
            Ok(Err(error)) => {
                tracing::warn!(container = id, %error, "failed to remove a container")
            }
            Err(_) => tracing::warn!(container = id, "removing a container timed out"),
        }
    }

    /// Stops a container: the stop signal, `grace`, then SIGKILL.
    async fn stop(&self, id: &str, grace: Duration) {
        let seconds = i32::try_from(grace.as_secs()).unwrap_or(i32::MAX);
        let options = bollard::query_parameters::StopContainerOptions {
            t: Some(seconds),
            signal: None,
        };
        let stopped = tokio::time::timeout(
            grace + API_CALL_TIMEOUT,
            self.docker.stop_container(id, Some(options)),
        )
        .await;
        if !matches!(stopped, Ok(Ok(()))) {
            tracing::warn!(
                container = id,
                "stopping a container failed; removing it by force"
            );
        }
    }
}

/// Runs `task` to completion, cancellation or timeout. Never fails: a container that cannot be
/// created or started is [`Termination::SpawnFailed`] with the reason.
pub async fn run_container(
    engine: &ContainerEngine,
    task: &ContainerTask,
    cancel: &CancellationToken,
) -> ProcessOutcome {
    let started_at = SystemTime::now();
    let start = Instant::now();
    let outcome = |termination: Termination, log_tail: String| ProcessOutcome {
        termination,
        started_at,
        duration: start.elapsed(),
        log_tail,
    };
    if cancel.is_cancelled() {
        return outcome(Termination::Canceled, String::new());
    }
    let id = tokio::select! {
        created = create_and_start(engine, task) => match created {
            Ok(id) => id,
            Err(message) => {
                tracing::warn!(%message, "failed to start a task container");
                return outcome(Termination::SpawnFailed { message }, String::new());
            }
        },
        () = cancel.cancelled() => return outcome(Termination::Canceled, String::new()),
    };
    let (termination, log_tail) = supervise(engine, task, &id, cancel).await;
    engine.remove(&id).await;
    outcome(termination, log_tail)
}

/// Removes what an earlier attempt left, resolves the image, creates and starts the container.
async fn create_and_start(
    engine: &ContainerEngine,
    task: &ContainerTask,
) -> Result<String, String> {
    if task.argv.is_empty() {
        return Err("the command is empty: the step has no command or args".to_owned());
    }
    engine
        .remove_task_container(&task.task_id, task.kill_grace)
        .await;
    let image_path = image::ensure(engine, &task.image, task.pull_policy).await?;
    let body = create::body(task, &image_path);
    let options = bollard::query_parameters::CreateContainerOptions {
        name: Some(container_name(&task.task_id)),
        ..Default::default()
    };
    let created = tokio::time::timeout(
        API_CALL_TIMEOUT,
        engine.docker.create_container(Some(options), body),
    )
    .await
    .map_err(|_| "creating the container timed out".to_owned())?
    .map_err(|e| {
        format!(
            "cannot create a container from `{}`: {}",
            task.image,
            describe(&e)
        )
    })?;
    let started = tokio::time::timeout(
        API_CALL_TIMEOUT,
        engine.docker.start_container(&created.id, None),
    )
    .await;
    match started {
        Ok(Ok(())) => Ok(created.id),
        Ok(Err(error)) => {
            engine.remove(&created.id).await;
            Err(format!(
                "cannot start the container from `{}`: {}",
                task.image,
                describe(&error)
            ))
        }
        Err(_) => {
            engine.remove(&created.id).await;
            Err("starting the container timed out".to_owned())
        }
    }
}

/// The name of a task's container: one per task at a time.
fn container_name(task_id: &str) -> String {
    format!("weir-{task_id}")
}

/// The engine's own message for a server error, without bollard's wrapping.
fn describe(error: &bollard::errors::Error) -> String {
    match error {
        bollard::errors::Error::DockerResponseServerError { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

enum StopReason {
    Canceled,
    TimedOut,
}

async fn supervise(
    engine: &ContainerEngine,
    task: &ContainerTask,
    id: &str,
    cancel: &CancellationToken,
) -> (Termination, String) {
    let log_pump = tokio::spawn(logs::pump(
        engine.docker.clone(),
        id.to_owned(),
        task.log_path.clone(),
    ));
    let timeout = async {
        match task.timeout {
            Some(timeout) => tokio::time::sleep(timeout).await,
            None => std::future::pending().await,
        }
    };
    let mut wait = engine
        .docker
        .wait_container(id, None::<bollard::query_parameters::WaitContainerOptions>);
    let ended = tokio::select! {
        biased;
        waited = wait.next() => Ok(waited),
        () = cancel.cancelled() => Err(StopReason::Canceled),
        () = timeout => Err(StopReason::TimedOut),
    };
    drop(wait);
    let waited = match ended {
        Ok(waited) => waited,
        Err(reason) => {
            engine.stop(id, task.kill_grace).await;
            let log_tail = logs::drain(log_pump, LOG_DRAIN_TIMEOUT).await;
            let termination = match reason {
                StopReason::Canceled => Termination::Canceled,
                StopReason::TimedOut => Termination::TimedOut,
            };
            return (termination, log_tail);
        }
    };
    let log_tail = logs::drain(log_pump, LOG_DRAIN_TIMEOUT).await;
    let exit_code = match waited {
        Some(Ok(response)) => Ok(response.status_code),
        Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => Ok(code),
        Some(Err(error)) => Err(describe(&error)),
        None => Err("the engine ended the wait without an exit code".to_owned()),
    };
    (classify_exit(engine, task, id, exit_code).await, log_tail)
}

/// The exit code from the wait, and the OOM flag from the engine's record of the container
/// (read again when the engine is still settling it: podman's transient `stopped` state is not
/// one the typed record knows).
async fn classify_exit(
    engine: &ContainerEngine,
    task: &ContainerTask,
    id: &str,
    waited: Result<i64, String>,
) -> Termination {
    let mut oom_killed = None;
    let mut recorded_code = None;
    for _ in 0..INSPECT_ATTEMPTS {
        let inspected =
            tokio::time::timeout(API_CALL_TIMEOUT, engine.docker.inspect_container(id, None)).await;
        if let Ok(Ok(inspected)) = inspected {
            let state = inspected.state.unwrap_or_default();
            oom_killed = state.oom_killed;
            recorded_code = state.exit_code;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let code = match (waited, recorded_code) {
        (Ok(code), _) | (Err(_), Some(code)) => code,
        (Err(message), None) => {
            return Termination::SpawnFailed {
                message: format!("cannot learn how the container ended: {message}"),
            }
        }
    };
    let killed_at_memory_limit = code == 137 && task.limits.memory_bytes.is_some();
    if oom_killed == Some(true) || killed_at_memory_limit {
        return Termination::OutOfMemory;
    }
    Termination::Exited {
        code: i32::try_from(code).unwrap_or(-1),
    }
}
