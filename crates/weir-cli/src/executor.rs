//! The executor flags, shared by every command that runs steps (`run`, `runs resume`, `runs
//! retry`, `server`): global flags, read once at startup (see [`configure`]).

use std::path::PathBuf;
use std::sync::OnceLock;

use anyhow::{bail, Context, Result};
use clap::ValueEnum;
use weir_engine::{Bind, ContainerOptions, ExecutorConfig, ImageMap, NetworkMode};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ExecutorKind {
    /// Each step is a host process (the image is recorded only).
    #[default]
    Process,
    /// Each step runs in its image through the Docker Engine API (Docker or podman).
    Container,
}

#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Executor (run, runs resume/retry, server)")]
pub struct ExecutorArgs {
    /// How steps run: host processes, or containers from their images.
    #[arg(
        long,
        global = true,
        value_enum,
        env = "WEIR_EXECUTOR",
        default_value = "process"
    )]
    pub executor: ExecutorKind,
    /// The Docker Engine API to use: `unix:///path.sock` or `tcp://host:port` [default:
    /// DOCKER_HOST, then unix:///var/run/docker.sock].
    #[arg(long, global = true, env = "WEIR_CONTAINER_HOST", value_name = "URL")]
    pub container_host: Option<String>,
    /// Run image FROM as TO (`python:3.11=localhost/weir-python:3.11`); repeatable, wins over
    /// --image-map-file.
    #[arg(long = "image-map", global = true, value_name = "FROM=TO")]
    pub image_map: Vec<String>,
    /// A file of image mappings: one `FROM=TO` per line, `#` comments.
    #[arg(long, global = true, env = "WEIR_IMAGE_MAP_FILE", value_name = "FILE")]
    pub image_map_file: Option<PathBuf>,
    /// A host folder every container gets (`/usr:/usr:ro`); repeatable.
    #[arg(long = "container-volume", global = true, value_name = "SRC:DST[:ro]")]
    pub container_volumes: Vec<String>,
    /// The network of steps that set no `WEIR_NETWORK` in their env: none, bridge or host.
    #[arg(
        long,
        global = true,
        env = "WEIR_CONTAINER_NETWORK",
        default_value = "none"
    )]
    pub container_network: String,
    /// Start each KFP lightweight Python step as a fresh `python3` instead of forking it from a
    /// warm interpreter that has imported the KFP executor once (process executor only).
    #[arg(long, global = true, env = "WEIR_NO_WARM_PYTHON")]
    pub no_warm_python: bool,
}

static EXECUTOR: OnceLock<ExecutorArgs> = OnceLock::new();

/// Records the flags of this invocation for [`config`]; called once by `main`.
pub fn configure(args: ExecutorArgs) {
    let _ = EXECUTOR.set(args);
}

/// Whether Python steps may start from a warm interpreter (no `--no-warm-python`).
pub fn warm_python() -> bool {
    !EXECUTOR.get().is_some_and(|args| args.no_warm_python)
}

/// The engine's executor configuration from the flags.
pub fn config() -> Result<ExecutorConfig> {
    let args = EXECUTOR.get().cloned().unwrap_or_default();
    if args.executor == ExecutorKind::Process {
        return Ok(ExecutorConfig::Process);
    }
    let mut image_map = ImageMap::default();
    if let Some(file) = &args.image_map_file {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("failed to read the image map {}", file.display()))?;
        image_map.add_file_text(&text, &file.display().to_string())?;
    }
    for entry in &args.image_map {
        image_map.add(entry, "--image-map")?;
    }
    let mut volumes = Vec::new();
    for volume in &args.container_volumes {
        let Some(bind) = Bind::parse(volume) else {
            bail!("--container-volume `{volume}` is not SRC:DST[:ro] with absolute paths");
        };
        volumes.push(bind);
    }
    let Some(network) = NetworkMode::parse(&args.container_network) else {
        bail!(
            "--container-network `{}` is not none, bridge or host",
            args.container_network
        );
    };
    Ok(ExecutorConfig::Container(ContainerOptions {
        host: args.container_host.filter(|h| !h.is_empty()),
        image_map,
        volumes,
        network,
    }))
}
