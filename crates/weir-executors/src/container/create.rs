//! The create request of a task container.

use std::collections::HashMap;

use bollard::models::{ContainerCreateBody, DeviceRequest, HostConfig, Mount, MountType};

use super::{ContainerTask, RUN_LABEL, TASK_LABEL};

/// The container for `task`, whose image sets `image_path` as its `PATH`.
pub(super) fn body(task: &ContainerTask, image_path: &str) -> ContainerCreateBody {
    let mut env: Vec<String> = task
        .env
        .iter()
        .filter(|(name, _)| name.as_str() != "PATH")
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    env.push(format!("PATH={}", container_path(task, image_path)));
    let labels = HashMap::from([
        (RUN_LABEL.to_owned(), task.run_id.clone()),
        (TASK_LABEL.to_owned(), task.task_id.clone()),
    ]);
    let (entrypoint, cmd) = match task.argv.split_first() {
        Some((program, args)) => (vec![program.clone()], args.to_vec()),
        None => (Vec::new(), Vec::new()),
    };
    ContainerCreateBody {
        image: Some(task.image.clone()),
        entrypoint: Some(entrypoint),
        cmd: Some(cmd),
        env: Some(env),
        labels: Some(labels),
        attach_stdin: Some(false),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        tty: Some(false),
        host_config: Some(host_config(task)),
        ..Default::default()
    }
}

/// The venv and other prefixes first, then the image's own `PATH`.
fn container_path(task: &ContainerTask, image_path: &str) -> String {
    task.path_prefix
        .iter()
        .map(|dir| dir.display().to_string())
        .chain(std::iter::once(image_path.to_owned()))
        .collect::<Vec<_>>()
        .join(":")
}

fn host_config(task: &ContainerTask) -> HostConfig {
    let mounts = task
        .binds
        .iter()
        .map(|bind| Mount {
            source: Some(bind.source.display().to_string()),
            target: Some(bind.target.clone()),
            typ: Some(MountType::BIND),
            read_only: Some(bind.read_only),
            ..Default::default()
        })
        .collect();
    let memory = task
        .limits
        .memory_bytes
        .and_then(|bytes| i64::try_from(bytes).ok());
    let nano_cpus = task
        .limits
        .cpu_cores
        .filter(|cores| cores.is_finite() && *cores > 0.0)
        .map(|cores| (cores * 1e9) as i64);
    let device_requests = task.gpus.filter(|count| *count > 0).map(|count| {
        vec![DeviceRequest {
            driver: Some(String::new()),
            count: Some(i64::from(count)),
            capabilities: Some(vec![vec!["gpu".to_owned()]]),
            ..Default::default()
        }]
    });
    HostConfig {
        mounts: Some(mounts),
        memory,
        // Without swap, so that the limit is the limit and an overrun is an OOM kill.
        memory_swap: memory,
        nano_cpus,
        device_requests,
        network_mode: Some(task.network.api_name().to_owned()),
        init: Some(true),
        ..Default::default()
    }
}
