//! `run_process` with real `sh` children.

use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use weir_executors::{run_process, ProcessSpec, ResourceLimits, Termination};

use crate::common::{on_path, read_log, sh};

async fn run(spec: &ProcessSpec) -> weir_executors::ProcessOutcome {
    run_process(spec, &CancellationToken::new()).await
}

/// Whether `pid` is a live process (a zombie waiting for a reaper counts as dead).
fn is_alive(pid: i32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next());
    state != Some("Z")
}

async fn wait_until_dead(pid: i32) -> bool {
    for _ in 0..40 {
        if !is_alive(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

async fn read_pids(path: &std::path::Path, count: usize) -> Vec<i32> {
    for _ in 0..100 {
        let text = tokio::fs::read_to_string(path).await.unwrap_or_default();
        let pids: Vec<i32> = text.lines().filter_map(|l| l.trim().parse().ok()).collect();
        if pids.len() >= count {
            return pids;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the child did not write {count} pids to {}", path.display());
}

#[tokio::test]
async fn reports_exit_codes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ok = run(&sh(dir.path(), "exit 0")).await;
    assert_eq!(ok.termination, Termination::Exited { code: 0 });
    assert!(ok.succeeded());
    let failed = run(&sh(dir.path(), "exit 7")).await;
    assert_eq!(failed.termination, Termination::Exited { code: 7 });
    assert!(!failed.succeeded());
}

#[tokio::test]
async fn reports_signals() {
    let dir = tempfile::tempdir().expect("temp dir");
    let outcome = run(&sh(dir.path(), "kill -USR1 $$")).await;
    assert_eq!(outcome.termination, Termination::Signaled { signal: 10 });
}

#[tokio::test]
async fn captures_both_streams_in_order_per_stream() {
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = sh(
        dir.path(),
        "for i in 1 2 3; do echo out$i; echo err$i >&2; done",
    );
    let outcome = run(&spec).await;
    assert!(outcome.succeeded());
    let log = read_log(&spec);
    let lines: Vec<&str> = log.lines().collect();
    let stream = |prefix: &str| -> Vec<&str> {
        let mut kept = lines.clone();
        kept.retain(|line| line.starts_with(prefix));
        kept
    };
    assert_eq!(lines.len(), 6, "{log}");
    assert_eq!(stream("out"), ["out1", "out2", "out3"]);
    assert_eq!(stream("err"), ["err1", "err2", "err3"]);
    assert_eq!(outcome.log_tail, log);
}

#[tokio::test]
async fn appends_to_an_existing_log_and_keeps_the_tail_of_this_run() {
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = sh(dir.path(), "seq 1 100");
    std::fs::create_dir_all(dir.path().join("logs")).expect("log dir");
    std::fs::write(&spec.log_path, "earlier attempt\n").expect("seed log");
    let outcome = run(&spec).await;
    assert!(outcome.succeeded());
    assert!(read_log(&spec).starts_with("earlier attempt\n1\n2\n"));
    assert_eq!(outcome.log_tail.lines().count(), 40);
    assert!(outcome.log_tail.starts_with("61\n") && outcome.log_tail.ends_with("100\n"));
}

#[tokio::test]
async fn log_grows_while_the_process_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = sh(dir.path(), "echo first; sleep 3; echo second");
    let running = tokio::spawn({
        let spec = spec.clone();
        async move { run(&spec).await }
    });
    let start = Instant::now();
    while !read_log(&spec).contains("first") {
        assert!(start.elapsed() < Duration::from_secs(2), "no live output");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!running.is_finished());
    assert!(!read_log(&spec).contains("second"));
    let outcome = running.await.expect("run task");
    assert!(outcome.succeeded());
    assert_eq!(read_log(&spec), "first\nsecond\n");
}

#[tokio::test]
async fn timeout_stops_the_process() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut spec = sh(dir.path(), "sleep 30");
    spec.timeout = Some(Duration::from_millis(300));
    let outcome = run(&spec).await;
    assert_eq!(outcome.termination, Termination::TimedOut);
    assert!(outcome.duration >= Duration::from_millis(300));
    assert!(
        outcome.duration < Duration::from_secs(2),
        "{:?}",
        outcome.duration
    );
}

#[tokio::test]
async fn cancellation_kills_the_whole_process_group() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pids = dir.path().join("pids");
    let spec = sh(
        dir.path(),
        &format!(
            "sleep 100 & echo $! > {0}; sleep 100 & echo $! >> {0}; wait",
            pids.display()
        ),
    );
    let cancel = CancellationToken::new();
    let running = tokio::spawn({
        let (spec, cancel) = (spec.clone(), cancel.clone());
        async move { run_process(&spec, &cancel).await }
    });
    let children = read_pids(&pids, 2).await;
    assert!(children.iter().all(|pid| is_alive(*pid)));
    cancel.cancel();
    let outcome = running.await.expect("run task");
    assert_eq!(outcome.termination, Termination::Canceled);
    assert!(outcome.duration < Duration::from_secs(3));
    for pid in children {
        assert!(wait_until_dead(pid).await, "child {pid} survived");
    }
}

#[tokio::test]
async fn already_canceled_does_not_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = sh(dir.path(), "echo started");
    let cancel = CancellationToken::new();
    cancel.cancel();
    let outcome = run_process(&spec, &cancel).await;
    assert_eq!(outcome.termination, Termination::Canceled);
    assert_eq!(read_log(&spec), "");
}

#[tokio::test]
async fn background_children_die_with_the_main_process() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pids = dir.path().join("pids");
    let spec = sh(
        dir.path(),
        &format!("sleep 100 & echo $! > {}; echo main done", pids.display()),
    );
    let outcome = run(&spec).await;
    assert!(outcome.succeeded());
    assert!(outcome.duration < Duration::from_secs(3));
    let children = read_pids(&pids, 1).await;
    assert!(
        wait_until_dead(children[0]).await,
        "background child survived"
    );
}

#[tokio::test]
async fn sigterm_first_then_sigkill_after_the_grace_period() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut spec = sh(
        dir.path(),
        "trap 'echo got TERM' TERM; echo ready; while true; do sleep 0.1; done",
    );
    spec.kill_grace = Duration::from_millis(800);
    spec.timeout = Some(Duration::from_millis(300));
    let outcome = run(&spec).await;
    assert_eq!(outcome.termination, Termination::TimedOut);
    assert!(read_log(&spec).contains("got TERM"), "{}", read_log(&spec));
    assert!(
        outcome.duration >= Duration::from_millis(1100),
        "killed before the grace period ended: {:?}",
        outcome.duration
    );
    assert!(outcome.duration < Duration::from_secs(3));
}

#[tokio::test]
async fn a_process_that_exits_on_sigterm_is_not_waited_for() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut spec = sh(dir.path(), "sleep 30");
    spec.kill_grace = Duration::from_secs(20);
    spec.timeout = Some(Duration::from_millis(200));
    let outcome = run(&spec).await;
    assert_eq!(outcome.termination, Termination::TimedOut);
    assert!(outcome.duration < Duration::from_secs(3));
}

#[tokio::test]
async fn environment_is_exactly_the_spec_env() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(std::env::var_os("CARGO_MANIFEST_DIR").is_some() || std::env::var_os("HOME").is_some());
    let mut spec = sh(
        dir.path(),
        "echo \"manifest=[$CARGO_MANIFEST_DIR] home=[$HOME] task=[$TASK_VALUE]\"",
    );
    spec.env.insert("TASK_VALUE".to_owned(), "42".to_owned());
    let outcome = run(&spec).await;
    assert!(outcome.succeeded());
    assert_eq!(read_log(&spec), "manifest=[] home=[] task=[42]\n");
}

#[tokio::test]
async fn working_directory_is_applied() {
    let dir = tempfile::tempdir().expect("temp dir");
    let work = dir.path().join("work");
    std::fs::create_dir(&work).expect("work dir");
    let mut spec = sh(dir.path(), "pwd -P");
    spec.cwd = work.clone();
    let outcome = run(&spec).await;
    assert!(outcome.succeeded());
    let expected = work.canonicalize().expect("canonical work dir");
    assert_eq!(read_log(&spec).trim_end(), expected.to_string_lossy());
}

#[tokio::test]
async fn missing_program_or_directory_is_a_spawn_failure() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut spec = sh(dir.path(), "true");
    spec.argv = vec!["weir-no-such-program".to_owned()];
    let outcome = run(&spec).await;
    let Termination::SpawnFailed { message } = &outcome.termination else {
        panic!("expected a spawn failure, got {:?}", outcome.termination);
    };
    assert!(message.contains("`weir-no-such-program`"), "{message}");

    let mut spec = sh(dir.path(), "true");
    spec.cwd = dir.path().join("missing");
    let outcome = run(&spec).await;
    let Termination::SpawnFailed { message } = &outcome.termination else {
        panic!("expected a spawn failure, got {:?}", outcome.termination);
    };
    assert!(message.contains("working directory"), "{message}");

    let mut spec = sh(dir.path(), "true");
    spec.argv.clear();
    let outcome = run(&spec).await;
    assert!(matches!(
        outcome.termination,
        Termination::SpawnFailed { .. }
    ));
}

#[tokio::test]
async fn memory_limit_stops_an_allocation_hungry_process() {
    if on_path("python3").is_none() || on_path("prlimit").is_none() {
        eprintln!("skipped: python3 or prlimit (util-linux) is not on PATH");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let mut spec = sh(dir.path(), "true");
    spec.argv = vec![
        "python3".to_owned(),
        "-c".to_owned(),
        "data = bytearray(2 * 1024 ** 3); print('allocated', len(data))".to_owned(),
    ];
    spec.limits = ResourceLimits {
        memory_bytes: Some(512 * 1024 * 1024),
        cpu_cores: Some(0.5),
    };
    let outcome = run(&spec).await;
    assert_eq!(
        outcome.termination,
        Termination::OutOfMemory,
        "log: {}",
        read_log(&spec)
    );
    assert!(!read_log(&spec).contains("allocated"));

    spec.limits.memory_bytes = None;
    spec.argv[2] = "data = bytearray(64 * 1024 ** 2); print('allocated', len(data))".to_owned();
    let outcome = run(&spec).await;
    assert!(outcome.succeeded(), "log: {}", read_log(&spec));
}
