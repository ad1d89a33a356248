//! `PythonEnvs::ensure` with the real interpreter and the real package registry.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use weir_executors::{run_process, PipInstall, PyEnvError, PythonEnvs, Requirements};

use crate::common::{host_path, read_log, sh};

fn requirements(specs: &[&str]) -> Requirements {
    Requirements {
        installs: vec![PipInstall {
            options: Vec::new(),
            specs: specs.iter().map(|spec| (*spec).to_owned()).collect(),
        }],
        script_creates_venv: false,
    }
}

/// Names in `root/envs`, sorted.
fn env_entries(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root.join("envs"))
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn count_venv_creations(log: &str) -> usize {
    log.lines()
        .filter(|line| line.starts_with("weir: creating python env:") && line.contains(" -m venv "))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_once_then_hits_the_cache() {
    let dir = tempfile::tempdir().expect("temp dir");
    let envs = PythonEnvs::new(dir.path().join("pyenvs"))
        .await
        .expect("python3 is installed");
    assert!(envs.interpreter().is_absolute());
    assert!(!envs.interpreter().to_string_lossy().contains("shims"));
    let log_path = dir.path().join("env.log");
    let six = requirements(&["six==1.16.0"]);

    let created = envs.ensure(&six, &log_path).await.expect("env is created");
    let log_after_creation = std::fs::read_to_string(&log_path).expect("creation log");
    assert_eq!(count_venv_creations(&log_after_creation), 1);
    assert!(log_after_creation.contains("six"), "{log_after_creation}");
    assert!(created.venv_dir.join("bin/python").exists());
    assert_eq!(created.bin_dir, created.venv_dir.join("bin"));
    assert_eq!(created.python_path, None);

    let start = Instant::now();
    let hit = envs.ensure(&six, &log_path).await.expect("cache hit");
    assert!(
        start.elapsed() < Duration::from_millis(500),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(hit, created);
    let log_after_hit = std::fs::read_to_string(&log_path).expect("creation log");
    assert_eq!(
        log_after_hit, log_after_creation,
        "the cache hit ran something"
    );

    // The component's own preamble, run unchanged with the venv on PATH, installs nothing.
    let task_dir = dir.path().join("task");
    std::fs::create_dir(&task_dir).expect("task dir");
    let mut spec = sh(
        &task_dir,
        "PIP_DISABLE_PIP_VERSION_CHECK=1 python3 -m pip install --no-warn-script-location 'six==1.16.0' \
         && python3 -c 'import six, sys; print(\"prefix\", sys.prefix, six.__version__)'",
    );
    spec.env = BTreeMap::from([("PATH".to_owned(), host_path())]);
    hit.apply(&mut spec.env);
    let outcome = run_process(&spec, &CancellationToken::new()).await;
    let task_log = read_log(&spec);
    assert!(outcome.succeeded(), "{task_log}");
    assert!(
        task_log.contains("Requirement already satisfied: six==1.16.0"),
        "{task_log}"
    );
    let expected = format!("prefix {} 1.16.0", hit.venv_dir.display());
    assert!(task_log.contains(&expected), "{task_log}");

    // KFP's use_venv=True: the command makes its own venv with --system-site-packages and
    // still sees the preamble's packages, the same cached env serving it.
    let own_venv = Requirements {
        script_creates_venv: true,
        ..six
    };
    let prepared = envs.ensure(&own_venv, &log_path).await.expect("cache hit");
    assert_eq!(prepared.venv_dir, created.venv_dir);
    assert!(prepared
        .python_path
        .as_ref()
        .is_some_and(|path| path.ends_with("site-packages")));
    let mut spec = sh(
        &task_dir,
        "python3 -m venv --without-pip --system-site-packages inner \
         && inner/bin/python -c 'import six, sys; print(\"inner\", sys.prefix, six.__version__)'",
    );
    spec.env = BTreeMap::from([("PATH".to_owned(), host_path())]);
    prepared.apply(&mut spec.env);
    let outcome = run_process(&spec, &CancellationToken::new()).await;
    let task_log = read_log(&spec);
    assert!(outcome.succeeded(), "{task_log}");
    let expected = format!("inner {} 1.16.0", task_dir.join("inner").display());
    assert!(task_log.contains(&expected), "{task_log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_build_one_env() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("pyenvs");
    let first = PythonEnvs::new(root.clone())
        .await
        .expect("python3 is installed");
    // A second cache over the same folder, as another Weir process would have.
    let second = PythonEnvs::new(root.clone())
        .await
        .expect("python3 is installed");
    let log_path = dir.path().join("env.log");
    let six = requirements(&["six>=1.16,<2"]);
    let (a, b, c) = tokio::join!(
        first.ensure(&six, &log_path),
        first.ensure(&six, &log_path),
        second.ensure(&six, &log_path),
    );
    let venvs: Vec<PathBuf> = [a, b, c]
        .into_iter()
        .map(|env| env.expect("env is created").venv_dir)
        .collect();
    assert!(venvs.iter().all(|venv| *venv == venvs[0]), "{venvs:?}");
    let log = std::fs::read_to_string(&log_path).expect("creation log");
    assert_eq!(count_venv_creations(&log), 1, "{log}");
    let entries = env_entries(&root);
    assert_eq!(entries.len(), 2, "one venv and its link: {entries:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_install_is_explained_and_leaves_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("pyenvs");
    let envs = PythonEnvs::new(root.clone())
        .await
        .expect("python3 is installed");
    let log_path = dir.path().join("env.log");
    let missing = requirements(&["weir-no-such-package-xyz==0.0.1"]);
    let error = envs
        .ensure(&missing, &log_path)
        .await
        .expect_err("the package does not exist");
    let PyEnvError::InstallFailed {
        command,
        log_path: reported_log,
        log_tail,
        ..
    } = &error
    else {
        panic!("expected an install failure, got {error}");
    };
    assert!(
        command.contains("weir-no-such-package-xyz==0.0.1"),
        "{command}"
    );
    assert_eq!(*reported_log, log_path);
    assert!(log_tail.contains("weir-no-such-package-xyz"), "{log_tail}");
    let message = error.to_string();
    assert!(
        message.contains(&log_path.display().to_string()),
        "{message}"
    );
    assert!(message.contains(log_tail.as_str()), "{message}");
    assert_eq!(env_entries(&root), Vec::<String>::new());
}
