//! `weir-engine`: runs compiled Kubeflow pipelines with KFP's semantics on this machine.
//!
//! [`Engine::submit`] validates a pipeline and its parameters and records a run;
//! [`Engine::execute`] drives a recorded run to its end, which is also how a run interrupted by a
//! crash is resumed. Each run has one driver (`driver/`) that owns the run's executions and
//! records every decision in the store before acting on it; container steps run as jobs
//! (`job.rs`) on an executor of `weir-executors`: a host process by default, or a container
//! (`exec.rs`, [`ExecutorConfig`]).
//!
//! The engine knows the store only through `MetadataStore` and the executors only through
//! `weir-executors`' `StepExecutor` contract. It does not know about HTTP or the command line.

mod cache;
mod context;
mod driver;
mod exec;
mod io;
mod job;
mod launch;
mod platform;
mod remote;
mod resolve;
mod submit;
mod value;
mod volumes;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, OnceCell, Semaphore};
use tokio_util::sync::CancellationToken;
use weir_executors::PythonEnvs;
use weir_spec::Diagnostic;
use weir_store::{MetadataStore, Run, StoreError};
use weir_types::{RunId, RunState, TaskId, TaskKind, TaskState};

pub use context::Layout;
pub use exec::ExecutorConfig;
pub use io::local_path;
pub use platform::config_map_key;
pub use submit::{complete_parameters, RunLinks, SubmitRequest};
pub use value::{parse_cli_value, text_form};
pub use weir_executors::{Bind, ImageMap, NetworkMode};
pub use weir_executors::{ContainerOptions, NETWORK_ENV};

/// Why the engine could not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("the pipeline is invalid:\n{}", .0.iter().map(|d| format!("  {d}")).collect::<Vec<_>>().join("\n"))]
    InvalidSpec(Vec<Diagnostic>),
    #[error("parameter `{name}`: {message}")]
    InvalidParameter { name: String, message: String },
    #[error("the run cannot do that now: {0}")]
    FailedPrecondition(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

/// Something that happened, for progress displays.
#[derive(Debug, Clone)]
pub enum EngineEvent {
    RunChanged {
        run_id: RunId,
        state: RunState,
    },
    TaskChanged {
        run_id: RunId,
        task_id: TaskId,
        path: String,
        display_name: String,
        kind: TaskKind,
        state: TaskState,
        message: Option<String>,
    },
}

/// Removes a folder tree, read-only outputs included; a missing folder is fine.
fn remove_tree(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    let mut pending = vec![path.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755));
        pending.extend(
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir() && !p.is_symlink()),
        );
    }
    if let Err(error) = std::fs::remove_dir_all(path) {
        if error.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(path = %path.display(), error = %error, "could not remove a run's files");
        }
    }
}

/// How a caller stops a run that [`Engine::execute`] drives.
#[derive(Debug, Clone, Default)]
pub struct RunControl {
    /// Cancel the run: no new tasks, running steps are stopped, exit handlers still run, the
    /// run ends CANCELED.
    pub cancel: CancellationToken,
    /// Stop every step at once, exit handlers included.
    pub kill: CancellationToken,
    /// Leave the run for later (server shutdown): no new tasks; once the running steps end (or
    /// `kill` stops them, which then count as interrupted), `execute` returns with the run still
    /// RUNNING, to be resumed.
    pub drain: CancellationToken,
}

/// How the engine runs things.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Container steps running at once, over all runs.
    pub max_parallel: usize,
    /// Time between SIGTERM and SIGKILL when a step is stopped.
    pub kill_grace: Duration,
    /// Host processes (the default) or containers.
    pub executor: ExecutorConfig,
    /// Start KFP lightweight Python steps from a warm interpreter (`weir_executors::warm`)
    /// under the process executor, instead of a fresh `python3` per step.
    pub warm_python: bool,
    /// The pipeline root of runs that name none (`--pipeline-root`): a local folder or an
    /// `s3://`/`minio://` URI. `None`: the data dir's `artifacts/`.
    pub pipeline_root: Option<String>,
    /// How remote pipeline roots are reached (the `AWS_*` variables by default).
    pub storage: weir_storage::StorageSettings,
}

impl Default for EngineConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        EngineConfig {
            max_parallel: cores,
            kill_grace: Duration::from_secs(10),
            executor: ExecutorConfig::default(),
            warm_python: true,
            pipeline_root: None,
            storage: weir_storage::StorageSettings::from_env(),
        }
    }
}

pub(crate) struct Shared {
    pub(crate) store: Arc<dyn MetadataStore>,
    pub(crate) layout: Layout,
    pub(crate) python: Arc<OnceCell<Arc<PythonEnvs>>>,
    pub(crate) slots: Arc<Semaphore>,
    pub(crate) kill_grace: Duration,
    pub(crate) host_path: String,
    pub(crate) events: broadcast::Sender<EngineEvent>,
    pub(crate) executor: Arc<dyn weir_executors::StepExecutor>,
    pub(crate) remote: Arc<remote::Remote>,
    pub(crate) default_pipeline_root: Option<String>,
}

impl Shared {
    pub(crate) fn emit(&self, event: EngineEvent) {
        // Nobody listening is fine.
        let _ = self.events.send(event);
    }
}

/// The engine. Cheap to clone; clones share the store, the slots and the Python environments.
#[derive(Clone)]
pub struct Engine {
    shared: Arc<Shared>,
}

impl Engine {
    /// An engine whose steps run on the executor `config.executor` names.
    pub fn new(store: Arc<dyn MetadataStore>, layout: Layout, config: EngineConfig) -> Engine {
        let executor = exec::executor_for(
            &config.executor,
            &layout,
            config.warm_python,
            config.kill_grace,
        );
        Engine::with_executor(store, layout, config, executor)
    }

    /// An engine whose steps run on `executor` (another backend, or a test's scripted one);
    /// `config.executor` and `config.warm_python`, which only choose an executor, are ignored.
    pub fn with_executor(
        store: Arc<dyn MetadataStore>,
        layout: Layout,
        config: EngineConfig,
        executor: Arc<dyn weir_executors::StepExecutor>,
    ) -> Engine {
        let (events, _) = broadcast::channel(4096);
        let host_path =
            std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".to_owned());
        Engine {
            shared: Arc::new(Shared {
                store,
                layout,
                python: Arc::new(OnceCell::new()),
                slots: Arc::new(Semaphore::new(config.max_parallel.max(1))),
                kill_grace: config.kill_grace,
                host_path,
                events,
                executor,
                remote: Arc::new(remote::Remote::new(config.storage.clone())),
                default_pipeline_root: config.pipeline_root.clone(),
            }),
        }
    }

    pub fn store(&self) -> &Arc<dyn MetadataStore> {
        &self.shared.store
    }

    pub fn layout(&self) -> &Layout {
        &self.shared.layout
    }

    /// Connects to the container engine when steps run in containers, so that a missing engine
    /// is reported before a run starts, and removes containers left by runs that have ended.
    /// Returns where the engine listens (`None` for host processes).
    pub async fn check_executor(&self) -> Result<Option<String>, String> {
        exec::check(self.shared.executor.as_ref(), self.shared.store.as_ref()).await
    }

    /// Events of every run this engine drives.
    pub fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        self.shared.events.subscribe()
    }

    /// Validates a pipeline and its parameters and records a PENDING run. Nothing runs yet.
    pub async fn submit(&self, request: SubmitRequest) -> Result<Run, EngineError> {
        submit::submit(&self.shared, request).await
    }

    /// Drives a recorded run until it ends: a new run, a run interrupted by a crash (finished
    /// tasks are kept, interrupted ones run again), or a failed or canceled run being retried
    /// (see [`Engine::prepare_retry`]). See [`RunControl`] for stopping it.
    pub async fn execute(&self, run_id: RunId, control: RunControl) -> Result<Run, EngineError> {
        let run = self.shared.store.get_run(run_id).await?;
        if run.state.is_terminal() {
            return Err(EngineError::FailedPrecondition(format!(
                "run {run_id} already ended {}",
                run.state
            )));
        }
        let ctx = submit::context(&self.shared, run)?;
        driver::Driver::new(self.shared.clone(), ctx, control)
            .drive()
            .await
    }

    /// Deletes a run that is not executing: its record, tasks, artifact records and cache entries
    /// (store cascades), and its files: artifacts under the pipeline root, logs, scratch space and
    /// workspace.
    pub async fn delete_run(&self, run_id: RunId) -> Result<(), EngineError> {
        let run = self.shared.store.get_run(run_id).await?;
        let ctx = submit::context(&self.shared, run)?;
        let layout = &self.shared.layout;
        let artifacts = ctx.run_root();
        let folders = [
            layout.run_logs(run_id),
            layout.run_scratch(run_id),
            layout.workspace(run_id),
        ];
        self.shared.store.delete_run(run_id).await?;
        for folder in folders {
            remove_tree(&folder);
        }
        match &artifacts {
            weir_storage::StorageUri::Local(folder) => remove_tree(folder),
            remote => {
                if let Err(error) = self.shared.remote.delete(&remote.to_string()).await {
                    tracing::warn!(%error, "could not delete a run's artifacts");
                }
            }
        }
        Ok(())
    }

    /// Makes a FAILED or CANCELED run runnable again: failed, canceled and skipped executions
    /// (and the DAGs above them) go back to PENDING so that `execute` runs only them again;
    /// everything that succeeded is kept.
    pub async fn prepare_retry(&self, run_id: RunId) -> Result<Run, EngineError> {
        submit::prepare_retry(&self.shared, run_id).await
    }
}
