//! Runs one leaf task of a pipeline as a local host process or in a container ([`container`],
//! through the Docker Engine API), and manages the cached Python
//! environments that KFP lightweight Python components install their packages into.
//!
//! Owns: supervising a child process ([`process`]: process group, log capture, timeout,
//! cancellation, resource limits) and Weir-managed virtual environments ([`pyenv`]: reading a
//! KFP component's `pip install` preamble, building a matching venv once, sharing it).
//!
//! Must not know: databases, HTTP, the pipeline model (`weir-spec`), run or task state. The
//! caller turns a task into a [`process::ProcessSpec`] and an outcome back into task state.

pub mod container;
mod contract;
pub mod process;
pub mod pyenv;
pub mod warm;

pub use container::{
    run_container, same_path, Bind, ContainerEngine, ContainerError, ContainerExecutor,
    ContainerOptions, ContainerTask, ImageMap, ImageMapError, NetworkMode, PullPolicy, NETWORK_ENV,
};
pub use contract::{Leftover, PythonMount, StepExecutor, StepLaunch, StepRef, TASK_ID_ENV};
pub use process::{
    pid_file, run_process, stop_leftover_group, ProcessExecutor, ProcessOutcome, ProcessSpec,
    ResourceLimits, Termination,
};
pub use pyenv::{PipInstall, PreparedEnv, PyEnvError, PythonEnvs, Requirements};
pub use warm::WarmPythons;
