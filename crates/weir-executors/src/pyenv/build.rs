//! Building, publishing and finding venvs in the cache (see the layout in the module doc).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::AsyncWriteExt as _;
use tokio_util::sync::CancellationToken;

use super::{PyEnvError, PythonEnvs, Requirements};
use crate::process::{self, ProcessSpec, ResourceLimits};

/// Written into a venv as its last build step; lists what it was built from.
const COMPLETE_MARKER: &str = "weir-env.txt";
/// A hung `pip` must not hold the lock of its key forever.
const STEP_TIMEOUT: Duration = Duration::from_secs(30 * 60);
const STEP_KILL_GRACE: Duration = Duration::from_secs(5);
/// Environment variables of Weir's own that must not reach `venv` and `pip`: they would point
/// them at another interpreter or venv.
const UNINHERITED_PREFIXES: [&str; 3] = ["PYTHON", "VIRTUAL_ENV", "__PYVENV_LAUNCHER__"];

/// Returns the published venv for `key`, building it first if there is none.
pub(super) async fn ensure_venv(
    envs: &PythonEnvs,
    key: &str,
    requirements: &Requirements,
    log_path: &Path,
) -> Result<PathBuf, PyEnvError> {
    let envs_dir = envs.root.join("envs");
    let published_link = envs_dir.join(key);
    if let Some(venv_dir) = published_venv(&published_link).await {
        tracing::debug!(venv = %venv_dir.display(), "python env cache hit");
        return Ok(venv_dir);
    }
    for dir in [&envs_dir, &envs.root.join("locks")] {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(PyEnvError::io("create", dir))?;
    }
    let _lock = lock_key(envs.root.join("locks").join(format!("{key}.lock"))).await?;
    // Another creator may have finished while this one waited for the lock.
    if let Some(venv_dir) = published_venv(&published_link).await {
        return Ok(venv_dir);
    }
    remove_unpublished_builds(&envs_dir, key).await;
    let venv_dir = envs_dir.join(format!("{key}-{}", unique_suffix()));
    let built = build_venv(envs, &venv_dir, requirements, log_path).await;
    let published = match built {
        Ok(()) => publish(&venv_dir, &published_link).await,
        Err(error) => Err(error),
    };
    if let Err(error) = published {
        remove_dir(&venv_dir).await;
        return Err(error);
    }
    tracing::info!(venv = %venv_dir.display(), "created a python env");
    Ok(venv_dir)
}

/// The venv `link` points at, when it is complete.
async fn published_venv(link: &Path) -> Option<PathBuf> {
    let target = tokio::fs::read_link(link).await.ok()?;
    let venv_dir = link.parent()?.join(target);
    tokio::fs::try_exists(venv_dir.join(COMPLETE_MARKER))
        .await
        .ok()?
        .then_some(venv_dir)
}

/// Takes the exclusive lock of one key; it is released when the returned file is dropped.
async fn lock_key(lock_path: PathBuf) -> Result<std::fs::File, PyEnvError> {
    let locked = tokio::task::spawn_blocking({
        let lock_path = lock_path.clone();
        move || {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&lock_path)?;
            fs4::fs_std::FileExt::lock_exclusive(&file)?;
            Ok(file)
        }
    })
    .await
    .unwrap_or_else(|join_error| Err(std::io::Error::other(join_error)));
    locked.map_err(PyEnvError::io("lock", &lock_path))
}

/// Removes venvs of `key` that were never published (a creator died). Called with the key's
/// lock held and no venv published, so none of them is in use.
async fn remove_unpublished_builds(envs_dir: &Path, key: &str) {
    let Ok(mut entries) = tokio::fs::read_dir(envs_dir).await else {
        return;
    };
    let prefix = format!("{key}-");
    while let Ok(Some(entry)) = entries.next_entry().await {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            tracing::info!(path = %entry.path().display(), "removing an unfinished python env");
            remove_dir(&entry.path()).await;
        }
    }
}

async fn remove_dir(dir: &Path) {
    if let Err(error) = tokio::fs::remove_dir_all(dir).await {
        if error.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(%error, path = %dir.display(), "failed to remove an unfinished python env");
        }
    }
}

fn unique_suffix() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.subsec_nanos());
    format!("{}{nanos:09}", std::process::id())
}

async fn build_venv(
    envs: &PythonEnvs,
    venv_dir: &Path,
    requirements: &Requirements,
    log_path: &Path,
) -> Result<(), PyEnvError> {
    let interpreter = envs.interpreter.to_string_lossy().into_owned();
    let venv = venv_dir.to_string_lossy().into_owned();
    run_step(
        vec![interpreter, "-m".into(), "venv".into(), venv],
        &envs.root,
        log_path,
    )
    .await?;
    let venv_python = venv_dir.join("bin/python").to_string_lossy().into_owned();
    for install in &requirements.installs {
        let argv = [
            &venv_python,
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
        ]
        .into_iter()
        .map(str::to_owned)
        .chain(install.options.iter().cloned())
        .chain(install.specs.iter().cloned())
        .collect();
        run_step(argv, &envs.root, log_path).await?;
    }
    let marker_path = venv_dir.join(COMPLETE_MARKER);
    let marker = format!(
        "interpreter: {}\nversion: {}\ninstalls: {:?}\n",
        envs.interpreter.display(),
        envs.interpreter_version,
        requirements.installs
    );
    tokio::fs::write(&marker_path, marker)
        .await
        .map_err(PyEnvError::io("write", &marker_path))
}

/// Runs one build step with its output appended to `log_path`.
async fn run_step(argv: Vec<String>, cwd: &Path, log_path: &Path) -> Result<(), PyEnvError> {
    let command = argv.join(" ");
    append_line(log_path, &format!("weir: creating python env: {command}")).await?;
    let spec = ProcessSpec {
        argv,
        env: build_env(),
        cwd: cwd.to_owned(),
        log_path: log_path.to_owned(),
        timeout: Some(STEP_TIMEOUT),
        kill_grace: STEP_KILL_GRACE,
        limits: ResourceLimits::default(),
        pid_file: None,
    };
    let outcome = process::run_process(&spec, &CancellationToken::new()).await;
    if outcome.succeeded() {
        return Ok(());
    }
    Err(PyEnvError::InstallFailed {
        command,
        termination: outcome.termination,
        log_path: log_path.to_owned(),
        log_tail: outcome.log_tail,
    })
}

async fn append_line(log_path: &Path, line: &str) -> Result<(), PyEnvError> {
    if let Some(parent) = log_path.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(PyEnvError::io("create", parent))?;
    }
    let mut log = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path)
        .await
        .map_err(PyEnvError::io("open", log_path))?;
    log.write_all(format!("{line}\n").as_bytes())
        .await
        .map_err(PyEnvError::io("write", log_path))
}

/// Weir's environment (for `PATH`, `HOME`, proxies and `PIP_*` settings) without variables
/// that select another interpreter or venv.
fn build_env() -> BTreeMap<String, String> {
    let mut env: BTreeMap<String, String> = std::env::vars()
        .filter(|(name, _)| {
            !UNINHERITED_PREFIXES
                .iter()
                .any(|prefix| name.starts_with(prefix))
        })
        .collect();
    env.insert("PIP_DISABLE_PIP_VERSION_CHECK".into(), "1".into());
    env.insert("PIP_NO_INPUT".into(), "1".into());
    env
}

/// Makes `venv_dir` the venv of its key: a new symlink renamed over `link` (atomic).
async fn publish(venv_dir: &Path, link: &Path) -> Result<(), PyEnvError> {
    let target = venv_dir
        .file_name()
        .map(PathBuf::from)
        .unwrap_or_else(|| venv_dir.to_owned());
    let mut staging_name = link.as_os_str().to_owned();
    staging_name.push(format!(".link-{}", unique_suffix()));
    let staging = PathBuf::from(staging_name);
    tokio::fs::symlink(&target, &staging)
        .await
        .map_err(PyEnvError::io("create symlink", &staging))?;
    if let Err(error) = tokio::fs::rename(&staging, link).await {
        let _ = tokio::fs::remove_file(&staging).await;
        return Err(PyEnvError::Io {
            action: "publish",
            path: link.to_owned(),
            source: error,
        });
    }
    Ok(())
}
