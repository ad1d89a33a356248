use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use weir_executors::{ProcessSpec, ResourceLimits};

/// A spec running `sh -c script` in `dir`, logging to `dir/task.log`, with only `PATH` set.
pub fn sh(dir: &Path, script: &str) -> ProcessSpec {
    ProcessSpec {
        argv: vec!["sh".to_owned(), "-c".to_owned(), script.to_owned()],
        env: BTreeMap::from([("PATH".to_owned(), host_path())]),
        cwd: dir.to_owned(),
        log_path: dir.join("logs/task.log"),
        timeout: None,
        kill_grace: Duration::from_secs(2),
        limits: ResourceLimits::default(),
        pid_file: None,
    }
}

/// The test process's own `PATH`, so that `python3` is found as the developer has it.
pub fn host_path() -> String {
    std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".to_owned())
}

pub fn read_log(spec: &ProcessSpec) -> String {
    std::fs::read_to_string(&spec.log_path).unwrap_or_default()
}

pub fn on_path(program: &str) -> Option<PathBuf> {
    host_path()
        .split(':')
        .map(|dir| Path::new(dir).join(program))
        .find(|candidate| candidate.is_file())
}

/// `shared/kfp-conformance`, next to the repository (or `WEIR_CONFORMANCE_DIR`).
pub fn conformance_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("WEIR_CONFORMANCE_DIR") {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/kfp-conformance")
}
