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
pub mod process;
pub mod pyenv;
pub mod warm;

pub use container::{
    run_container, Bind, ContainerEngine, ContainerError, ContainerTask, ImageMap, ImageMapError,
    NetworkMode, PullPolicy,
};
pub use process::{
    run_process, stop_leftover_group, ProcessOutcome, ProcessSpec, ResourceLimits, Termination,
};
pub use pyenv::{PipInstall, PreparedEnv, PyEnvError, PythonEnvs, Requirements};
pub use warm::WarmPythons;
