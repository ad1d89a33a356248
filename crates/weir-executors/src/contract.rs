//! The one contract every executor implements: host processes ([`ProcessExecutor`]), containers
//! ([`ContainerExecutor`]), and later Slurm and Kubernetes. The engine holds an
//! `Arc<dyn StepExecutor>` and knows nothing else of how a step runs.
//!
//! [`ProcessExecutor`]: crate::ProcessExecutor
//! [`ContainerExecutor`]: crate::ContainerExecutor

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::AsyncSeekExt as _;
use tokio_util::sync::CancellationToken;

use crate::{Bind, ProcessOutcome, ProcessSpec, PullPolicy};

/// The environment variable every step gets with its execution id; a leftover process is
/// recognised by it.
pub const TASK_ID_ENV: &str = "WEIR_TASK_ID";

/// One attempt of a step, as every executor takes it: what to run and what it must see.
#[derive(Debug, Clone)]
pub struct StepLaunch {
    /// The run and the step's execution, as text (labels, names, leftovers).
    pub run_id: String,
    pub task_id: String,
    /// The command, its environment, working directory (the step's scratch folder), log,
    /// timeout and limits.
    pub process: ProcessSpec,
    /// The image as the spec names it (executors that run images map and pull it).
    pub image: String,
    pub pull_policy: PullPolicy,
    /// GPUs the step asks for.
    pub gpus: Option<u32>,
    /// Folders the step sees at fixed paths: volumes, secrets, config maps, the workspace.
    pub mounts: Vec<Bind>,
    /// Host paths the step reaches at the same path: its scratch and output folders and the
    /// shared caches (writable), its input artifacts (read-only).
    pub paths: Vec<Bind>,
    /// The step's output parameter folder, which KFP components may also find at
    /// `/tmp/kfp/outputs`.
    pub outputs_dir: PathBuf,
    /// The Python environment the step runs with, when it has one.
    pub python: Option<PythonMount>,
}

/// A Weir-managed Python environment, for executors that must make it visible to the step.
#[derive(Debug, Clone)]
pub struct PythonMount {
    /// Put first on the step's `PATH`.
    pub bin_dir: PathBuf,
    /// Where every environment lives.
    pub envs_root: PathBuf,
    /// The interpreter the environments were built from.
    pub interpreter: PathBuf,
}

/// A step, as recovery and logs name it.
#[derive(Debug, Clone, Copy)]
pub struct StepRef<'a> {
    pub run_id: &'a str,
    pub task_id: &'a str,
    /// The step's scratch folder (its working directory; its pid file is there).
    pub scratch: &'a Path,
    pub log_path: &'a Path,
}

/// Something an earlier Weir left behind on an executor, found at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leftover {
    /// The executor's handle for it (a container id).
    pub handle: String,
    /// The run it belongs to.
    pub run_id: String,
}

/// Runs steps. Every method is safe to call from many tasks at once.
#[async_trait]
pub trait StepExecutor: Send + Sync {
    /// A short name for messages: `process`, `container`.
    fn kind(&self) -> &'static str;

    /// Whether every folder of a step must exist before it runs (an executor that mounts them
    /// all); otherwise only the folders the step can reach are made.
    fn mounts_every_folder(&self) -> bool {
        false
    }

    /// Connects to whatever runs the steps, so that a missing engine or cluster is reported
    /// before a run starts; says where steps run (`None` for this machine's processes).
    async fn connect(&self) -> Result<Option<String>, String>;

    /// What earlier Weirs left running or created, with the runs they belong to.
    async fn leftovers(&self) -> Vec<Leftover> {
        Vec::new()
    }

    /// Removes a leftover whose run has ended.
    async fn discard(&self, _leftover: &Leftover) {}

    /// Turns a step's launch into what this executor runs (the process executor wraps a
    /// command that has mounts in a private mount namespace). Called once per attempt, before
    /// [`run`](StepExecutor::run); an error fails the attempt with its message.
    fn prepare(&self, launch: &mut StepLaunch) -> Result<(), String>;

    /// Runs one prepared attempt to its end, its timeout or `cancel`. Never fails: a step that
    /// cannot start is [`crate::Termination::SpawnFailed`] with the reason.
    async fn run(&self, launch: &StepLaunch, cancel: &CancellationToken) -> ProcessOutcome;

    /// Stops what a killed Weir left running of this step, if anything: its process group, its
    /// container. `grace`: between the stop signal and SIGKILL.
    async fn recover(&self, step: StepRef<'_>, grace: Duration);

    /// The step's log from `offset` on. Executors that keep logs elsewhere override it.
    async fn open_log(&self, step: StepRef<'_>, offset: u64) -> std::io::Result<tokio::fs::File> {
        let mut file = tokio::fs::File::open(step.log_path).await?;
        file.seek(std::io::SeekFrom::Start(offset)).await?;
        Ok(file)
    }
}
