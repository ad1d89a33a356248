//! What a task container is made of.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::PullPolicy;
use crate::process::ResourceLimits;

/// How a container reaches the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NetworkMode {
    /// Loopback only (the default for pipeline steps).
    #[default]
    None,
    /// The engine's default bridge network.
    Bridge,
    /// The host's network stack.
    Host,
}

impl NetworkMode {
    /// `none`, `bridge` or `host`.
    pub fn parse(text: &str) -> Option<NetworkMode> {
        match text.trim().to_ascii_lowercase().as_str() {
            "none" | "off" | "" => Some(NetworkMode::None),
            "bridge" | "on" | "default" => Some(NetworkMode::Bridge),
            "host" => Some(NetworkMode::Host),
            _ => None,
        }
    }

    pub(super) fn api_name(self) -> &'static str {
        match self {
            NetworkMode::None => "none",
            NetworkMode::Bridge => "bridge",
            NetworkMode::Host => "host",
        }
    }
}

/// A host path visible in the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bind {
    pub source: PathBuf,
    pub target: String,
    pub read_only: bool,
}

impl Bind {
    /// `SOURCE:TARGET[:ro|:rw]`, as `docker run -v` takes it.
    pub fn parse(text: &str) -> Option<Bind> {
        let mut parts = text.split(':');
        let source = parts.next().filter(|s| s.starts_with('/'))?;
        let target = parts.next().filter(|t| t.starts_with('/'))?;
        let read_only = match parts.next() {
            None | Some("rw") => false,
            Some("ro") => true,
            Some(_) => return None,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(Bind {
            source: PathBuf::from(source),
            target: target.to_owned(),
            read_only,
        })
    }
}

/// What to run in a container and how.
#[derive(Debug, Clone)]
pub struct ContainerTask {
    /// The image, already mapped (see [`ImageMap`]).
    pub image: String,
    pub pull_policy: PullPolicy,
    /// The resolved command and arguments; they replace the image's entrypoint and command.
    pub argv: Vec<String>,
    /// The environment, without `PATH`: the container gets the image's `PATH` with
    /// [`ContainerTask::path_prefix`] in front.
    pub env: BTreeMap<String, String>,
    pub path_prefix: Vec<PathBuf>,
    pub binds: Vec<Bind>,
    pub limits: ResourceLimits,
    /// GPUs asked for (a device request to the engine; Docker with the NVIDIA toolkit).
    pub gpus: Option<u32>,
    pub network: NetworkMode,
    /// The run and task ids, as labels (see [`RUN_LABEL`], [`TASK_LABEL`]).
    pub run_id: String,
    pub task_id: String,
    /// stdout and stderr are appended here as they arrive.
    pub log_path: PathBuf,
    pub timeout: Option<Duration>,
    /// Time between the stop signal and SIGKILL when the container is stopped.
    pub kill_grace: Duration,
}
