use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::*;
use crate::process::ResourceLimits;

fn task() -> ContainerTask {
    ContainerTask {
        image: "localhost/weir-busybox:latest".to_owned(),
        pull_policy: PullPolicy::Never,
        argv: vec!["sh".to_owned(), "-c".to_owned(), "echo hi".to_owned()],
        env: BTreeMap::from([
            ("PATH".to_owned(), "/host/bin".to_owned()),
            ("A".to_owned(), "1".to_owned()),
        ]),
        path_prefix: vec![PathBuf::from("/venv/bin")],
        binds: vec![Bind::parse("/data/in:/data/in:ro").expect("valid bind")],
        limits: ResourceLimits {
            memory_bytes: Some(64 << 20),
            cpu_cores: Some(0.5),
        },
        gpus: Some(1),
        network: NetworkMode::None,
        run_id: "run".to_owned(),
        task_id: "task".to_owned(),
        log_path: PathBuf::from("/tmp/log"),
        timeout: None,
        kill_grace: Duration::from_secs(1),
    }
}

#[test]
fn the_create_request_carries_command_environment_mounts_and_limits() {
    let body = create::body(&task(), "/usr/bin:/bin");
    assert_eq!(body.entrypoint, Some(vec!["sh".to_owned()]));
    assert_eq!(body.cmd, Some(vec!["-c".to_owned(), "echo hi".to_owned()]));
    let env = body.env.expect("env");
    assert!(env.contains(&"A=1".to_owned()));
    assert!(
        env.contains(&"PATH=/venv/bin:/usr/bin:/bin".to_owned()),
        "{env:?}"
    );
    assert!(!env.iter().any(|e| e.contains("/host/bin")));
    let labels = body.labels.expect("labels");
    assert_eq!(labels[TASK_LABEL], "task");
    assert_eq!(labels[RUN_LABEL], "run");
    let host = body.host_config.expect("host config");
    assert_eq!(host.memory, Some(64 << 20));
    assert_eq!(host.memory_swap, Some(64 << 20));
    assert_eq!(host.nano_cpus, Some(500_000_000));
    assert_eq!(host.network_mode.as_deref(), Some("none"));
    assert_eq!(host.init, Some(true));
    let mounts = host.mounts.expect("mounts");
    assert_eq!(mounts[0].target.as_deref(), Some("/data/in"));
    assert_eq!(mounts[0].read_only, Some(true));
    assert_eq!(host.device_requests.expect("gpus")[0].count, Some(1));
}

#[test]
fn binds_and_network_modes_parse() {
    assert_eq!(
        Bind::parse("/usr:/usr:ro"),
        Some(Bind {
            source: PathBuf::from("/usr"),
            target: "/usr".to_owned(),
            read_only: true
        })
    );
    assert!(Bind::parse("/a:/b").is_some_and(|b| !b.read_only));
    assert_eq!(Bind::parse("relative:/b"), None);
    assert_eq!(Bind::parse("/a:/b:rx"), None);
    assert_eq!(NetworkMode::parse("host"), Some(NetworkMode::Host));
    assert_eq!(NetworkMode::parse("None"), Some(NetworkMode::None));
    assert_eq!(NetworkMode::parse("wifi"), None);
}
