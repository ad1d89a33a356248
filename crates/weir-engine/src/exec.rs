//! Which executor runs a step: a host process (the default) or a container through the Docker
//! Engine API. The job calls [`run_step`] where it would start a process; everything that
//! differs between the two lives here.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;
use weir_executors::{
    run_container, run_process, Bind, ContainerEngine, ContainerTask, ImageMap, NetworkMode,
    PreparedEnv, ProcessOutcome, ProcessSpec, PullPolicy, Termination, WarmPythons,
};
use weir_store::MetadataStore;
use weir_types::RunId;

use crate::context::Layout;
use crate::io::local_path;
use crate::launch::LaunchPlan;
use crate::platform::{wrap_with_mounts, PlatformSetup};

/// The step environment variable that opts a step into a network (`bridge` or `host`) under
/// the container executor; without it a step gets [`ContainerOptions::network`].
pub const NETWORK_ENV: &str = "WEIR_NETWORK";

/// KFP's mount points for remote artifact URIs (`gs://b/k` is read at `/gcs/b/k`).
const KFP_REMOTE_MOUNTS: [&str; 3] = ["/gcs", "/minio", "/s3"];
/// Where some KFP components expect their output parameter files.
const KFP_OUTPUTS_DIR: &str = "/tmp/kfp/outputs";
/// Interpreter prefixes that are never mounted over an image's own.
const SYSTEM_PREFIXES: [&str; 3] = ["/", "/usr", "/usr/local"];

/// How steps run.
#[derive(Debug, Clone, Default)]
pub enum ExecutorConfig {
    /// Each step is a supervised host process (the default).
    #[default]
    Process,
    /// Each step runs in its image.
    Container(ContainerOptions),
}

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

pub(crate) enum Executor {
    /// Host processes; KFP lightweight Python steps in a warm interpreter when there is one.
    Process(Option<WarmPythons>),
    Container(Box<ContainerExecutor>),
}

pub(crate) struct ContainerExecutor {
    options: ContainerOptions,
    layout: Layout,
    engine: OnceCell<ContainerEngine>,
}

/// The Python environment a step runs with, for mounting it into a container.
pub(crate) struct PythonForContainer {
    pub prepared: PreparedEnv,
    pub envs_root: PathBuf,
    pub interpreter: PathBuf,
}

impl Executor {
    /// `warm_python`: KFP lightweight Python steps start from a warm interpreter (whose steps
    /// get `kill_grace` between SIGTERM and SIGKILL if Weir goes away while they run).
    pub(crate) fn new(
        config: &ExecutorConfig,
        layout: &Layout,
        warm_python: bool,
        kill_grace: Duration,
    ) -> Executor {
        match config {
            ExecutorConfig::Process => Executor::Process(
                warm_python
                    .then(|| WarmPythons::new(layout.python_envs().join("warm"), kill_grace)),
            ),
            ExecutorConfig::Container(options) => {
                Executor::Container(Box::new(ContainerExecutor {
                    options: options.clone(),
                    layout: layout.clone(),
                    engine: OnceCell::new(),
                }))
            }
        }
    }

    /// Connects to the container engine now (a no-op for processes), so that a missing engine
    /// is reported before any run starts, and removes the containers that runs of this store
    /// left behind once they ended (a Weir killed before it could remove them). Containers of
    /// unfinished runs are removed when their step runs again; those of other stores are kept.
    pub(crate) async fn check(&self, store: &dyn MetadataStore) -> Result<Option<String>, String> {
        let Executor::Container(container) = self else {
            return Ok(None);
        };
        let engine = container.engine().await?;
        let found = engine.containers_by_run().await.unwrap_or_else(|error| {
            tracing::warn!(%error, "cannot list the containers earlier runs left behind");
            Vec::new()
        });
        for (id, run) in found {
            let Ok(run_id) = run.parse::<RunId>() else {
                continue;
            };
            let ended = match store.get_run(run_id).await {
                Ok(run) => run.state.is_terminal(),
                Err(_) => false,
            };
            if ended {
                tracing::warn!(container = %id, run = %run_id, "removing a container of a run that has ended");
                engine.remove(&id).await;
            }
        }
        Ok(Some(engine.host().to_owned()))
    }
}

/// Gives the step the platform's mounts and pull policy: containers mount them; processes run
/// in a private mount namespace (`platform::wrap_with_mounts`).
pub(crate) fn attach_platform(
    executor: &Executor,
    plan: &mut LaunchPlan,
    setup: &PlatformSetup,
) -> Result<(), String> {
    match executor {
        Executor::Process(_) => {
            plan.argv = wrap_with_mounts(std::mem::take(&mut plan.argv), &setup.mounts)?;
        }
        Executor::Container(_) => {
            plan.mounts = setup.mounts.clone();
            if let Some(policy) = setup
                .recorded
                .image_pull_policy
                .as_deref()
                .filter(|p| !p.is_empty())
            {
                plan.pull_policy = PullPolicy::parse(policy).ok_or_else(|| {
                    format!("the image pull policy `{policy}` is not IfNotPresent, Always or Never")
                })?;
            }
        }
    }
    Ok(())
}

/// Runs one attempt of a step with the configured executor.
pub(crate) async fn run_step(
    executor: &Executor,
    plan: &LaunchPlan,
    spec: &ProcessSpec,
    python: Option<&PythonForContainer>,
    cancel: &CancellationToken,
) -> ProcessOutcome {
    match executor {
        Executor::Process(warm) => {
            if let Some(warm) = warm {
                if let Some(outcome) = warm.run(spec, cancel).await {
                    return outcome;
                }
            }
            run_process(spec, cancel).await
        }
        Executor::Container(container) => container.run(plan, spec, python, cancel).await,
    }
}

impl ContainerExecutor {
    async fn engine(&self) -> Result<&ContainerEngine, String> {
        self.engine
            .get_or_try_init(|| ContainerEngine::connect(self.options.host.as_deref()))
            .await
            .map_err(|e| e.to_string())
    }

    async fn run(
        &self,
        plan: &LaunchPlan,
        spec: &ProcessSpec,
        python: Option<&PythonForContainer>,
        cancel: &CancellationToken,
    ) -> ProcessOutcome {
        let engine = match self.engine().await {
            Ok(engine) => engine,
            Err(message) => {
                return ProcessOutcome {
                    termination: Termination::SpawnFailed { message },
                    started_at: std::time::SystemTime::now(),
                    duration: std::time::Duration::ZERO,
                    log_tail: String::new(),
                }
            }
        };
        let network = plan
            .env
            .get(NETWORK_ENV)
            .and_then(|n| NetworkMode::parse(n))
            .unwrap_or(self.options.network);
        let task = ContainerTask {
            image: self.options.image_map.resolve(&plan.image).to_owned(),
            pull_policy: plan.pull_policy,
            argv: spec.argv.clone(),
            env: spec.env.clone(),
            path_prefix: python
                .map(|p| p.prepared.bin_dir.clone())
                .into_iter()
                .collect(),
            binds: self.binds(plan, python),
            limits: spec.limits.clone(),
            gpus: plan.gpus,
            network,
            run_id: run_id_of(plan),
            task_id: plan.task_id.to_string(),
            log_path: spec.log_path.clone(),
            timeout: spec.timeout,
            kill_grace: spec.kill_grace,
        };
        tracing::info!(image = %task.image, task = %task.task_id, "running a step in a container");
        run_container(engine, &task, cancel).await
    }

    /// What the container sees of the host: every path in the ExecutorInput at the same path
    /// (inputs read-only, the step's outputs and scratch space writable), KFP's fixed paths, the
    /// platform's mounts, the Python environment, and the configured volumes. One bind per
    /// target; the first wins.
    fn binds(&self, plan: &LaunchPlan, python: Option<&PythonForContainer>) -> Vec<Bind> {
        let same_path = |path: &Path, read_only: bool| Bind {
            source: path.to_path_buf(),
            target: path.display().to_string(),
            read_only,
        };
        let home = self.layout.home();
        if let Err(error) = std::fs::create_dir_all(&home) {
            tracing::warn!(path = %home.display(), %error, "cannot create the steps' HOME");
        }
        let mut binds = vec![
            same_path(&plan.scratch, false),
            same_path(&plan.task_root, false),
            Bind {
                source: plan.scratch.join("outputs"),
                target: KFP_OUTPUTS_DIR.to_owned(),
                read_only: false,
            },
            same_path(&home, false),
        ];
        binds.extend(
            input_artifact_paths(&plan.executor_input)
                .into_iter()
                .filter(|path| path.exists() && !path.starts_with(&plan.task_root))
                .map(|path| same_path(&path, true)),
        );
        for mount in &plan.mounts {
            binds.push(Bind {
                source: mount.source.clone(),
                target: mount.target.clone(),
                read_only: mount.read_only,
            });
            // `{{$.workspace_path}}` resolves to the host folder.
            if mount.target == "/kfp-workspace" {
                binds.push(same_path(&mount.source, false));
            }
        }
        binds.extend(
            KFP_REMOTE_MOUNTS
                .iter()
                .map(Path::new)
                .filter(|dir| dir.is_dir())
                .map(|dir| same_path(dir, false)),
        );
        if let Some(python) = python {
            binds.push(same_path(&python.envs_root, true));
            if let Some(prefix) = interpreter_prefix(&python.interpreter) {
                binds.push(same_path(&prefix, true));
            }
        }
        binds.extend(self.options.volumes.iter().cloned());
        let mut targets = BTreeSet::new();
        binds.retain(|bind| targets.insert(bind.target.clone()));
        binds
    }
}

/// `WEIR_RUN_ID` from the step's environment (the launch plan always sets it).
fn run_id_of(plan: &LaunchPlan) -> String {
    plan.env.get("WEIR_RUN_ID").cloned().unwrap_or_default()
}

/// Local paths of the input artifacts in an ExecutorInput.
fn input_artifact_paths(executor_input: &serde_json::Value) -> Vec<PathBuf> {
    let Some(inputs) = executor_input
        .pointer("/inputs/artifacts")
        .and_then(|a| a.as_object())
    else {
        return Vec::new();
    };
    inputs
        .values()
        .filter_map(|list| list.get("artifacts").and_then(|a| a.as_array()))
        .flatten()
        .filter_map(|artifact| artifact.get("uri").and_then(|u| u.as_str()))
        .map(|uri| PathBuf::from(local_path(uri)))
        .filter(|path| path.is_absolute())
        .collect()
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

    #[test]
    fn input_artifacts_map_remote_uris_to_kfp_paths() {
        let executor_input = serde_json::json!({"inputs": {"artifacts": {
            "a": {"artifacts": [{"uri": "/data/x"}, {"uri": "gs://bucket/k"}]},
            "b": {"artifacts": [{"uri": "relative"}]},
        }}});
        assert_eq!(
            input_artifact_paths(&executor_input),
            vec![PathBuf::from("/data/x"), PathBuf::from("/gcs/bucket/k")]
        );
    }
}
