//! The engine through the CLI: durable state across `kill -9`, cancellation, retries from the
//! failed step, caching, parameter checking.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::weir;

pub(crate) fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub(crate) fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

pub(crate) fn wait_for(what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(started.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn run_json(data: &Path, args: &[&str]) -> (Option<i32>, Value) {
    let output = weir()
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .args(["--output", "json"])
        .output()
        .expect("weir runs");
    let value = serde_json::from_slice(&output.stdout).unwrap_or_else(|_| {
        panic!(
            "no JSON from {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code(), value)
}

/// A process's identity: its pid and start time (a pid can be reused by a new process).
fn identity(pid: u32) -> Option<(u32, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid ... starttime(22nd field)`; comm may hold spaces.
    let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    if fields.first() == Some(&"Z") {
        // A zombie has ended; orphans may wait long for init to reap them.
        return None;
    }
    Some((pid, fields.get(19)?.parse().ok()?))
}

/// Processes whose environment says they belong to this run.
fn processes_of_run(run_id: &str) -> Vec<u32> {
    let marker = format!("WEIR_RUN_ID={run_id}");
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .map(|env| {
                    env.split(|b| *b == 0)
                        .any(|entry| entry == marker.as_bytes())
                })
                .unwrap_or(false)
        })
        .collect()
}

pub(crate) fn task<'a>(run: &'a Value, name: &str) -> &'a Value {
    run["tasks"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["name"] == name))
        .unwrap_or_else(|| panic!("no task {name} in {run}"))
}

/// `kill -9` of `weir run` mid-run, then `weir runs resume`: finished steps do not run again.
#[test]
fn a_killed_run_resumes_without_redoing_finished_steps() {
    let temp = tempfile::tempdir().expect("temp dir");
    let (data, work) = (temp.path().join("data"), temp.path().join("work"));
    std::fs::create_dir_all(&work).expect("work dir");
    let mut child = weir()
        .arg("--data-dir")
        .arg(&data)
        .arg("run")
        .arg(fixture("resume.yaml"))
        .arg("--param")
        .arg(format!("dir={}", work.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("weir starts");
    wait_for("the second step to start", Duration::from_secs(60), || {
        lines(&work.join("second.log")) == 1
    });
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");

    let (_, runs) = run_json(&data, &["runs", "list"]);
    let run_id = runs[0]["id"].as_str().expect("a run").to_owned();
    assert_eq!(
        runs[0]["state"], "RUNNING",
        "the killed run is still RUNNING in the store"
    );
    let orphans: Vec<(u32, u64)> = processes_of_run(&run_id)
        .into_iter()
        .filter_map(identity)
        .collect();
    assert!(
        !orphans.is_empty(),
        "the waiting step outlived the killed weir"
    );

    let resume = weir()
        .arg("--data-dir")
        .arg(&data)
        .args(["runs", "resume", &run_id, "--output", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("weir resumes");
    wait_for(
        "the second step to start again",
        Duration::from_secs(60),
        || lines(&work.join("second.log")) == 2,
    );
    for (pid, started) in &orphans {
        let alive = identity(*pid) == Some((*pid, *started));
        assert!(
            !alive,
            "the left-behind step {pid} was stopped before it ran again"
        );
    }
    std::fs::write(work.join("release"), "").expect("release the waiting step");
    let output = resume.wait_with_output().expect("resume ends");
    let run: Value = serde_json::from_slice(&output.stdout).expect("run JSON");
    assert_eq!(output.status.code(), Some(0), "{run}");
    assert_eq!(run["state"], "SUCCEEDED");
    assert_eq!(
        lines(&work.join("first.log")),
        1,
        "the finished step did not run again"
    );
    assert_eq!(
        lines(&work.join("second.log")),
        2,
        "the interrupted step ran again"
    );
    assert_eq!(lines(&work.join("third.log")), 1);
    assert_eq!(task(&run, "second")["attempt"], 2);
    let root = run["tasks"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["kind"] == "ROOT"))
        .expect("root");
    assert_eq!(root["outputs"]["parameters"]["last"], "third");
}

/// Ctrl-C: the running step gets SIGTERM, the exit handler still runs, the run ends CANCELED.
#[test]
fn interrupting_a_run_cancels_it_and_runs_the_exit_handler() {
    let temp = tempfile::tempdir().expect("temp dir");
    let (data, work) = (temp.path().join("data"), temp.path().join("work"));
    std::fs::create_dir_all(&work).expect("work dir");
    let child = weir()
        .arg("--data-dir")
        .arg(&data)
        .arg("run")
        .arg(fixture("cancel.yaml"))
        .arg("--param")
        .arg(format!("dir={}", work.display()))
        .args(["--output", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("weir starts");
    wait_for("the long step to start", Duration::from_secs(60), || {
        lines(&work.join("long.log")) >= 1
    });
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let output = child.wait_with_output().expect("weir ends");
    assert_eq!(
        output.status.code(),
        Some(1),
        "a canceled run is not a success"
    );
    let run: Value = serde_json::from_slice(&output.stdout).expect("run JSON");
    assert_eq!(run["state"], "CANCELED");
    assert_eq!(task(&run, "long")["state"], "CANCELED");
    assert_eq!(
        task(&run, "cleanup")["state"],
        "SUCCEEDED",
        "the exit handler ran"
    );
    let long_log = std::fs::read_to_string(work.join("long.log")).expect("long.log");
    assert!(
        long_log.contains("term"),
        "the step got SIGTERM: {long_log:?}"
    );
    let status: Value =
        serde_json::from_str(&std::fs::read_to_string(work.join("exit.log")).expect("exit.log"))
            .expect("status JSON");
    assert_eq!(status["state"], "CANCELED");
    assert_eq!(status["pipelineTaskName"], "exit-handler-1");
}

/// A retried run runs only what failed and what did not run; the rest is reused.
#[test]
fn retry_runs_only_the_failed_and_unfinished_steps() {
    let temp = tempfile::tempdir().expect("temp dir");
    let (data, work) = (temp.path().join("data"), temp.path().join("work"));
    std::fs::create_dir_all(&work).expect("work dir");
    // `second` fails while there is no release file.
    let failing = std::fs::read_to_string(fixture("resume.yaml"))
        .expect("fixture")
        .replace(
            "while [ ! -e \\\"$0/release\\\" ]; do sleep 0.05; done",
            "[ -e \\\"$0/release\\\" ]",
        )
        .replace(
            r#"while [ ! -e "$0/release" ]; do sleep 0.05; done"#,
            r#"[ -e "$0/release" ]"#,
        );
    let pipeline = temp.path().join("retry.yaml");
    std::fs::write(&pipeline, failing).expect("pipeline");
    let dir = format!("dir={}", work.display());
    let (code, run) = run_json(
        &data,
        &["run", pipeline.to_str().expect("utf-8"), "--param", &dir],
    );
    assert_eq!(code, Some(1));
    assert_eq!(run["state"], "FAILED");
    assert_eq!(task(&run, "second")["state"], "FAILED");
    assert_eq!(task(&run, "third")["state"], "SKIPPED");
    std::fs::write(work.join("release"), "").expect("release");
    let run_id = run["id"].as_str().expect("id");
    let (code, run) = run_json(&data, &["runs", "retry", run_id]);
    assert_eq!(code, Some(0), "{run}");
    assert_eq!(run["state"], "SUCCEEDED");
    assert_eq!(
        lines(&work.join("first.log")),
        1,
        "the succeeded step was reused"
    );
    assert_eq!(lines(&work.join("second.log")), 2);
    assert_eq!(lines(&work.join("third.log")), 1);
}

/// A second identical run reuses every step from the cache and says where from; --no-cache runs them.
#[test]
fn identical_runs_hit_the_cache() {
    let temp = tempfile::tempdir().expect("temp dir");
    let (data, work) = (temp.path().join("data"), temp.path().join("work"));
    std::fs::create_dir_all(&work).expect("work dir");
    std::fs::write(work.join("release"), "").expect("release");
    let dir = format!("dir={}", work.display());
    let pipeline = fixture("resume.yaml");
    let pipeline = pipeline.to_str().expect("utf-8");
    let (_, first) = run_json(&data, &["run", pipeline, "--param", &dir]);
    assert_eq!(first["state"], "SUCCEEDED");
    let (_, second) = run_json(&data, &["run", pipeline, "--param", &dir]);
    assert_eq!(second["state"], "SUCCEEDED");
    for name in ["first", "second", "third"] {
        let step = task(&second, name);
        assert_eq!(step["state"], "CACHED", "{name}");
        assert_eq!(step["details"]["cached_from"]["run_id"], first["id"]);
        assert_eq!(step["outputs"], task(&first, name)["outputs"]);
    }
    assert_eq!(
        lines(&work.join("first.log")),
        1,
        "a cached step does not run"
    );
    let (_, third) = run_json(&data, &["run", pipeline, "--param", &dir, "--no-cache"]);
    assert_eq!(task(&third, "first")["state"], "SUCCEEDED");
    assert_eq!(lines(&work.join("first.log")), 2);
}

/// Parameters are parsed by their declared types and checked before anything runs.
#[test]
fn bad_parameters_are_refused_before_anything_runs() {
    let temp = tempfile::tempdir().expect("temp dir");
    let data = temp.path().join("data");
    let hello = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/hello/hello.yaml");
    let cases: [(&[&str], &str); 3] = [
        (
            &["--param", "count=many"],
            "parameter `count` expects NUMBER_INTEGER",
        ),
        (&["--param", "colour=red"], "no parameter `colour`"),
        (&["--param", "count"], "must be NAME=VALUE"),
    ];
    for (args, expected) in cases {
        let output = weir()
            .arg("--data-dir")
            .arg(&data)
            .arg("run")
            .arg(&hello)
            .args(args)
            .output()
            .expect("weir runs");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    let missing = weir()
        .arg("--data-dir")
        .arg(&data)
        .arg("run")
        .arg(fixture("resume.yaml"))
        .output()
        .expect("weir runs");
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("`dir`"));
    let (_, runs) = run_json(&data, &["runs", "list"]);
    assert_eq!(
        runs.as_array().map(Vec::len),
        Some(0),
        "nothing was recorded"
    );
}

/// Consumers read producers' outputs in place; one that changes them fails, naming the input.
#[test]
fn a_step_that_modifies_its_input_artifact_fails() {
    let temp = tempfile::tempdir().expect("temp dir");
    let data = temp.path().join("data");
    let pipeline = fixture("tamper.yaml");
    let (code, run) = run_json(&data, &["run", pipeline.to_str().expect("utf-8")]);
    assert_eq!(code, Some(1));
    let tamper = task(&run, "tamper");
    assert_eq!(tamper["state"], "FAILED");
    let error = tamper["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("modified its input artifact `data`"),
        "{error}"
    );
    let produced = &task(&run, "produce")["outputs"]["artifacts"]["data"][0];
    assert_eq!(
        produced["uri"], tamper["inputs"]["artifacts"]["data"][0]["uri"],
        "the consumer got the producer's file, not a copy"
    );
}

/// `weir run --tag` labels a run; `weir runs list --tag` finds it; a bad tag records nothing.
#[test]
fn runs_are_tagged_and_listed_by_tag() {
    let temp = tempfile::tempdir().expect("temp dir");
    let data = temp.path().join("data");
    let pipeline = fixture("tamper.yaml");
    let pipeline = pipeline.to_str().expect("utf-8");
    let (_, run) = run_json(
        &data,
        &["run", pipeline, "--tag", "nightly", "--tag", "team=vision"],
    );
    assert_eq!(run["tags"], serde_json::json!(["nightly", "team=vision"]));
    let (_, listed) = run_json(&data, &["runs", "list", "--tag", "nightly"]);
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed[0]["id"], run["id"]);
    let (_, none) = run_json(&data, &["runs", "list", "--tag", "weekly"]);
    assert_eq!(none.as_array().map(Vec::len), Some(0), "{none}");

    let refused = weir()
        .arg("--data-dir")
        .arg(&data)
        .args(["run", pipeline, "--tag", "two words"])
        .output()
        .expect("weir runs");
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains("tag `two words` is not valid"),
        "{message}"
    );
    let (_, all) = run_json(&data, &["runs", "list"]);
    assert_eq!(
        all.as_array().map(Vec::len),
        Some(1),
        "nothing more was recorded"
    );
}
