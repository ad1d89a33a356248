//! [`ContainerExecutor`]: each step in its image through the Docker Engine API.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;

use super::{run_container, Bind, ContainerEngine, ContainerTask, ImageMap, NetworkMode};
use crate::contract::{Leftover, PythonMount, StepExecutor, StepLaunch, StepRef};
use crate::{ProcessOutcome, Termination};

/// The step environment variable that opts a step into a network (`bridge` or `host`); without
/// it a step gets [`ContainerOptions::network`].
pub const NETWORK_ENV: &str = "WEIR_NETWORK";

/// KFP's mount points for remote artifact URIs (`gs://b/k` is read at `/gcs/b/k`).
const KFP_REMOTE_MOUNTS: [&str; 3] = ["/gcs", "/minio", "/s3"];
/// Where some KFP components expect their output parameter files.
const KFP_OUTPUTS_DIR: &str = "/tmp/kfp/outputs";
/// Interpreter prefixes that are never mounted over an image's own.
const SYSTEM_PREFIXES: [&str; 3] = ["/", "/usr", "/usr/local"];

/// Settings of the container executor.
#[derive(Debug, Clone, Default)]
pub struct ContainerOptions {
    /// `unix:///path.sock` or `tcp://host:port`; `None`: `DOCKER_HOST`, then the Docker socket.
    pub host: Option<String>,
    pub image_map: ImageMap,
    /// Host folders given to every container (`--container-volume /usr:/usr:ro`).
    pub volumes: Vec<Bind>,
    /// The network of steps that do not ask for one with [`NETWORK_ENV`].
    pub network: NetworkMode,
}

/// Containers, on an engine connected to on first use.
pub struct ContainerExecutor {
    options: ContainerOptions,
    engine: OnceCell<ContainerEngine>,
}

impl ContainerExecutor {
    pub fn new(options: ContainerOptions) -> ContainerExecutor {
        ContainerExecutor {
            options,
            engine: OnceCell::new(),
        }
    }

    async fn engine(&self) -> Result<&ContainerEngine, String> {
        self.engine
            .get_or_try_init(|| ContainerEngine::connect(self.options.host.as_deref()))
            .await
            .map_err(|e| e.to_string())
    }

    fn task(&self, launch: &StepLaunch) -> ContainerTask {
        let spec = &launch.process;
        let network = spec
            .env
            .get(NETWORK_ENV)
            .and_then(|n| NetworkMode::parse(n))
            .unwrap_or(self.options.network);
        ContainerTask {
            image: self.options.image_map.resolve(&launch.image).to_owned(),
            pull_policy: launch.pull_policy,
            argv: spec.argv.clone(),
            env: spec.env.clone(),
            path_prefix: launch
                .python
                .as_ref()
                .map(|p| p.bin_dir.clone())
                .into_iter()
                .collect(),
            binds: self.binds(launch),
            limits: spec.limits.clone(),
            gpus: launch.gpus,
            network,
            run_id: launch.run_id.clone(),
            task_id: launch.task_id.clone(),
            log_path: spec.log_path.clone(),
            timeout: spec.timeout,
            kill_grace: spec.kill_grace,
        }
    }

    /// What the container sees of the host: the step's paths at the same path (so the
    /// ExecutorInput needs no rewriting), its outputs at KFP's fixed path, the mounts, KFP's
    /// remote-URI folders, the Python environment, and the configured volumes. One bind per
    /// target; the first wins.
    fn binds(&self, launch: &StepLaunch) -> Vec<Bind> {
        let mut binds = launch.paths.clone();
        binds.push(Bind {
            source: launch.outputs_dir.clone(),
            target: KFP_OUTPUTS_DIR.to_owned(),
            read_only: false,
        });
        binds.extend(launch.mounts.iter().cloned());
        binds.extend(
            KFP_REMOTE_MOUNTS
                .iter()
                .map(Path::new)
                .filter(|dir| dir.is_dir())
                .map(|dir| same_path(dir, false)),
        );
        if let Some(python) = &launch.python {
            binds.extend(python_binds(python));
        }
        binds.extend(self.options.volumes.iter().cloned());
        let mut targets = BTreeSet::new();
        binds.retain(|bind| targets.insert(bind.target.clone()));
        binds
    }
}

#[async_trait]
impl StepExecutor for ContainerExecutor {
    fn kind(&self) -> &'static str {
        "container"
    }

    fn mounts_every_folder(&self) -> bool {
        true
    }

    async fn connect(&self) -> Result<Option<String>, String> {
        Ok(Some(self.engine().await?.host().to_owned()))
    }

    async fn leftovers(&self) -> Vec<Leftover> {
        let Ok(engine) = self.engine().await else {
            return Vec::new();
        };
        let found = engine.containers_by_run().await.unwrap_or_else(|error| {
            tracing::warn!(%error, "cannot list the containers earlier runs left behind");
            Vec::new()
        });
        found
            .into_iter()
            .map(|(handle, run_id)| Leftover { handle, run_id })
            .collect()
    }

    async fn discard(&self, leftover: &Leftover) {
        if let Ok(engine) = self.engine().await {
            tracing::warn!(container = %leftover.handle, run = %leftover.run_id, "removing a container of a run that has ended");
            engine.remove(&leftover.handle).await;
        }
    }

    fn prepare(&self, _launch: &mut StepLaunch) -> Result<(), String> {
        Ok(())
    }

    async fn run(&self, launch: &StepLaunch, cancel: &CancellationToken) -> ProcessOutcome {
        let engine = match self.engine().await {
            Ok(engine) => engine,
            Err(message) => {
                return ProcessOutcome {
                    termination: Termination::SpawnFailed { message },
                    started_at: SystemTime::now(),
                    duration: Duration::ZERO,
                    log_tail: String::new(),
                }
            }
        };
        let task = self.task(launch);
        tracing::info!(image = %task.image, task = %task.task_id, "running a step in a container");
        run_container(engine, &task, cancel).await
    }

    async fn recover(&self, step: StepRef<'_>, grace: Duration) {
        if let Ok(engine) = self.engine().await {
            engine.remove_task_container(step.task_id, grace).await;
        }
    }
}

/// A host path seen at the same path in the container.
pub fn same_path(path: &Path, read_only: bool) -> Bind {
    Bind {
        source: path.to_path_buf(),
        target: path.display().to_string(),
        read_only,
    }
}

/// Weir's Python environments and the interpreter they were built from, read-only.
fn python_binds(python: &PythonMount) -> Vec<Bind> {
    let mut binds = vec![same_path(&python.envs_root, true)];
    if let Some(prefix) = interpreter_prefix(&python.interpreter) {
        binds.push(same_path(&prefix, true));
    }
    binds
}

/// The installation prefix of an interpreter (`<prefix>/bin/python3.11`), unless it is a system
/// prefix that would hide the image's own files.
fn interpreter_prefix(interpreter: &Path) -> Option<PathBuf> {
    let prefix = interpreter.parent()?.parent()?;
    let system = SYSTEM_PREFIXES.iter().any(|s| prefix == Path::new(s));
    (!system).then(|| prefix.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpreter_prefixes_skip_system_folders() {
        assert_eq!(
            interpreter_prefix(Path::new("/root/.pyenv/versions/3.11.7/bin/python3.11")),
            Some(PathBuf::from("/root/.pyenv/versions/3.11.7"))
        );
        assert_eq!(interpreter_prefix(Path::new("/usr/bin/python3.11")), None);
        assert_eq!(
            interpreter_prefix(Path::new("/usr/local/bin/python3")),
            None
        );
    }
}
