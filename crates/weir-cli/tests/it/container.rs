//! The container executor against a real Docker Engine API: podman's service, set up by
//! `scripts/setup-containers` (local images `weir-busybox` and `weir-hostusr`, no registry).
//! `scripts/test` exports the socket as `WEIR_TEST_CONTAINER_HOST`. Without an engine these tests
//! say so and pass, except on CI (`CI=true`), where they fail.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::engine::{fixture, lines, task, wait_for};
use crate::{conformance_dir, weir};

const DEFAULT_SOCKET: &str = "/tmp/weir-podman.sock";
/// The corpus's images, and the local images that stand in for them.
const IMAGE_MAP: &str = "\
# images the corpus names -> local images built by scripts/setup-containers
alpine=localhost/weir-busybox:latest
ghcr.io/containerd/busybox=localhost/weir-busybox:latest
python:alpine3.9=localhost/weir-hostusr:latest
python:3.11=localhost/weir-hostusr:latest
";

/// The engine's socket path, or `None` (after saying why) where there is none and this is not CI.
fn engine_socket() -> Option<PathBuf> {
    let host = std::env::var("WEIR_TEST_CONTAINER_HOST")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| format!("unix://{DEFAULT_SOCKET}"));
    let socket = PathBuf::from(host.strip_prefix("unix://").unwrap_or(&host));
    let answer = api_get(&socket, "/_ping");
    if answer.as_deref().is_ok_and(|a| a.contains("OK")) {
        return Some(socket);
    }
    let reason = format!(
        "no container engine answers at {} ({answer:?}); run scripts/setup-containers and set WEIR_TEST_CONTAINER_HOST",
        socket.display()
    );
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{reason}");
    eprintln!("skipped: {reason}");
    None
}

/// A GET on the Docker Engine API; returns the body.
fn api_get(socket: &Path, path: &str) -> Result<String, String> {
    api_call(socket, "GET", path, "")
}

/// A call on the Docker Engine API; returns the body of a 2xx answer.
fn api_call(socket: &Path, method: &str, path: &str, body: &str) -> Result<String, String> {
    let mut stream = std::os::unix::net::UnixStream::connect(socket).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: d\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .map_err(|e| e.to_string())?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| e.to_string())?;
    let (head, body) = response.split_once("\r\n\r\n").ok_or("no HTTP response")?;
    let status = head.split(' ').nth(1).unwrap_or_default();
    if !head.starts_with("HTTP/1.") || !status.starts_with('2') {
        return Err(format!("unexpected answer: {head}"));
    }
    Ok(body.to_owned())
}

/// The API path listing the containers (running or not) with a label.
fn list_path(label: &str) -> String {
    let filter = format!("{{\"label\":[\"{label}\"]}}");
    let encoded: String = filter
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("/containers/json?all=1&filters={encoded}")
}

/// Containers (running or not) with a label, as (id, state).
fn containers_labelled(socket: &Path, label: &str) -> Vec<(String, String)> {
    let body = api_get(socket, &list_path(label)).expect("the engine lists containers");
    let list: Value = serde_json::from_str(&body).expect("a JSON list");
    list.as_array()
        .expect("a list")
        .iter()
        .map(|c| {
            (
                c["Id"].as_str().unwrap_or_default().to_owned(),
                c["State"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// A data dir sharing the tests' Python environment cache, and the image map file.
struct Setup {
    _temp: tempfile::TempDir,
    data: PathBuf,
    work: PathBuf,
    image_map: PathBuf,
    socket: PathBuf,
}

impl Setup {
    fn new(socket: PathBuf) -> Setup {
        let temp = tempfile::tempdir().expect("temp dir");
        let (data, work) = (temp.path().join("data"), temp.path().join("work"));
        std::fs::create_dir_all(&data).expect("data dir");
        std::fs::create_dir_all(&work).expect("work dir");
        let shared_envs =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/weir-tests/pyenvs");
        std::fs::create_dir_all(&shared_envs).expect("shared env cache");
        std::os::unix::fs::symlink(
            std::fs::canonicalize(&shared_envs).expect("canonical"),
            data.join("pyenvs"),
        )
        .expect("link the env cache");
        let image_map = temp.path().join("images.txt");
        std::fs::write(&image_map, IMAGE_MAP).expect("image map");
        Setup {
            _temp: temp,
            data,
            work,
            image_map,
            socket,
        }
    }

    /// `weir --data-dir D <args> --executor container ...`: the host's /usr for the hostusr
    /// image, and the work folder the fixtures write their marks into.
    fn weir(&self, args: &[&str]) -> Command {
        let mut command = weir();
        command
            .arg("--data-dir")
            .arg(&self.data)
            .args(args)
            .args(["--executor", "container", "--container-host"])
            .arg(format!("unix://{}", self.socket.display()))
            .arg("--image-map-file")
            .arg(&self.image_map)
            .args(["--container-volume", "/usr:/usr:ro", "--container-volume"])
            .arg(format!("{0}:{0}", self.work.display()));
        command
    }

    fn run_json(&self, file: &Path, extra: &[&str]) -> (Option<i32>, Value, String) {
        let output = self
            .weir(&["run"])
            .arg(file)
            .args(extra)
            .args(["--output", "json"])
            .output()
            .expect("weir runs");
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let run = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|_| panic!("no run JSON from {}: {stderr}", file.display()));
        (output.status.code(), run, stderr)
    }
}

/// A failed test can leave a step's container running (a waiting step loops until released):
/// remove every container of this data dir's runs.
impl Drop for Setup {
    fn drop(&mut self) {
        let Ok(output) = weir()
            .arg("--data-dir")
            .arg(&self.data)
            .args(["runs", "list", "--output", "json"])
            .output()
        else {
            return;
        };
        let runs: Value = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
        for run in runs.as_array().into_iter().flatten() {
            let Some(run_id) = run["id"].as_str() else {
                continue;
            };
            let label = format!("weir.run-id={run_id}");
            let Ok(body) = api_get(&self.socket, &list_path(&label)) else {
                continue;
            };
            let list: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            for id in list
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c["Id"].as_str())
            {
                let _ = api_call(
                    &self.socket,
                    "DELETE",
                    &format!("/containers/{id}?force=1"),
                    "",
                );
            }
        }
    }
}

/// Corpus pipelines whose steps use plain images (and one with a Python component), each
/// mapped to a local image.
#[test]
fn container_corpus_pipelines_run_in_their_images() {
    let Some(socket) = engine_socket() else {
        return;
    };
    let setup = Setup::new(socket);
    let mut failures = Vec::new();
    for name in [
        "critical/two_step_pipeline_containerized.yaml",
        "critical/pipeline_with_env.yaml",
        "essential/pipeline_with_after.yaml",
        "essential/placeholder_with_if_placeholder_none_input_value.yaml",
        "essential/pipeline_with_nested_conditions_yaml.yaml",
    ] {
        let (code, run, stderr) = setup.run_json(&conformance_dir().join(name), &[]);
        if code != Some(0) || run["state"] != "SUCCEEDED" {
            failures.push(format!("{name}: {} {stderr}\n{run:#}", run["state"]));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    let log = std::fs::read_dir(setup.data.join("logs"))
        .expect("logs")
        .flatten()
        .flat_map(|run| {
            std::fs::read_dir(run.path())
                .into_iter()
                .flatten()
                .flatten()
        })
        .map(|log| std::fs::read_to_string(log.path()).unwrap_or_default())
        .collect::<String>();
    assert!(
        log.contains("Hello KFP Containerized!"),
        "the two-step pipeline's consumer read the producer's artifact: {log}"
    );
}

/// A lightweight Python pipeline compiled by the kfp SDK, in a container: Weir's environment
/// for the component is mounted in, the output artifact is read in place downstream.
#[test]
fn container_python_components_run_with_the_cached_environment() {
    let Some(socket) = engine_socket() else {
        return;
    };
    let setup = Setup::new(socket);
    let (code, run, stderr) =
        setup.run_json(&fixture("container_python.yaml"), &["--param", "count=5"]);
    assert_eq!(code, Some(0), "{stderr}\n{run:#}");
    let root = run["tasks"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["kind"] == "ROOT"))
        .expect("root");
    assert_eq!(root["outputs"]["parameters"]["Output"], 5, "{run:#}");
    let log_path = task(&run, "write-lines")["log_path"]
        .as_str()
        .expect("a log path")
        .to_owned();
    let log = std::fs::read_to_string(&log_path).expect("the step's log");
    assert!(log.contains("in a container: True"), "{log}");
}

/// A step over its memory limit is killed by the engine; the task says it ran out of memory.
#[test]
fn container_memory_limit_kills_the_step_with_a_clear_error() {
    let Some(socket) = engine_socket() else {
        return;
    };
    let setup = Setup::new(socket);
    let (code, run, stderr) = setup.run_json(&fixture("container_oom.yaml"), &[]);
    assert_eq!(code, Some(1), "{stderr}");
    let hog = task(&run, "hog");
    assert_eq!(hog["state"], "FAILED");
    let error = hog["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("ran out of memory (limit 16 MiB)"),
        "{error}"
    );
}

/// An image that is neither present nor pullable fails the step with a message naming the image
/// and the way out (nothing resolves under `.invalid`).
#[test]
fn container_missing_image_fails_with_a_clear_error() {
    let Some(socket) = engine_socket() else {
        return;
    };
    let setup = Setup::new(socket);
    let file = conformance_dir().join("critical/two_step_pipeline_containerized.yaml");
    let (code, run, _) = setup.run_json(&file, &["--image-map", "alpine=weir.invalid/missing:1"]);
    assert_eq!(code, Some(1));
    let error = task(&run, "component1")["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        error.contains("image `weir.invalid/missing:1` is not present and pulling it failed")
            && error.contains("--image-map"),
        "{error}"
    );
}

/// Ctrl-C: the running container is stopped (its command gets SIGTERM), the exit handler still
/// runs in its own container, the run ends CANCELED and no container is left.
#[test]
fn container_cancel_stops_the_running_container() {
    let Some(socket) = engine_socket() else {
        return;
    };
    let setup = Setup::new(socket);
    let child = setup
        .weir(&["run"])
        .arg(fixture("cancel.yaml"))
        .arg("--param")
        .arg(format!("dir={}", setup.work.display()))
        .args(["--output", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("weir starts");
    wait_for("the long step to start", Duration::from_secs(60), || {
        lines(&setup.work.join("long.log")) >= 1
    });
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let output = child.wait_with_output().expect("weir ends");
    assert_eq!(output.status.code(), Some(1));
    let run: Value = serde_json::from_slice(&output.stdout).expect("run JSON");
    assert_eq!(run["state"], "CANCELED");
    assert_eq!(task(&run, "long")["state"], "CANCELED");
    assert_eq!(task(&run, "cleanup")["state"], "SUCCEEDED");
    let long_log = std::fs::read_to_string(setup.work.join("long.log")).expect("long.log");
    assert!(
        long_log.contains("term"),
        "the step got SIGTERM: {long_log:?}"
    );
    let run_id = run["id"].as_str().expect("run id");
    let left = containers_labelled(&setup.socket, &format!("weir.run-id={run_id}"));
    assert!(left.is_empty(), "containers left behind: {left:?}");
}

/// `kill -9` of `weir run` while a step's container runs, then `weir runs resume`: the container
/// left behind is removed before the step runs again, finished steps are not redone.
#[test]
fn container_left_by_a_killed_weir_is_removed_on_resume() {
    let Some(socket) = engine_socket() else {
        return;
    };
    let setup = Setup::new(socket);
    let mut child = setup
        .weir(&["run"])
        .arg(fixture("resume.yaml"))
        .arg("--param")
        .arg(format!("dir={}", setup.work.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("weir starts");
    let second_log = setup.work.join("second.log");
    wait_for("the second step to start", Duration::from_secs(60), || {
        lines(&second_log) == 1
    });
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    let runs = weir()
        .arg("--data-dir")
        .arg(&setup.data)
        .args(["runs", "list", "--output", "json"])
        .output()
        .expect("weir runs");
    let runs: Value = serde_json::from_slice(&runs.stdout).expect("runs JSON");
    let run_id = runs[0]["id"].as_str().expect("a run").to_owned();
    let label = format!("weir.run-id={run_id}");
    let left = containers_labelled(&setup.socket, &label);
    assert!(
        left.len() == 1 && left[0].1 == "running",
        "the waiting step's container outlived the killed weir: {left:?}"
    );

    let resume = setup
        .weir(&["runs", "resume", &run_id, "--output", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("weir resumes");
    wait_for(
        "the second step to start again",
        Duration::from_secs(60),
        || lines(&second_log) == 2,
    );
    let now = containers_labelled(&setup.socket, &label);
    assert!(
        !now.iter().any(|(id, _)| *id == left[0].0),
        "the left-behind container was removed: {now:?}"
    );
    std::fs::write(setup.work.join("release"), "").expect("release the waiting step");
    let output = resume.wait_with_output().expect("resume ends");
    let run: Value = serde_json::from_slice(&output.stdout).expect("run JSON");
    assert_eq!(output.status.code(), Some(0), "{run}");
    assert_eq!(
        lines(&setup.work.join("first.log")),
        1,
        "first did not run again"
    );
    assert_eq!(lines(&second_log), 2);
    assert_eq!(lines(&setup.work.join("third.log")), 1);
    assert!(containers_labelled(&setup.socket, &label).is_empty());
}

/// `kill -9` of `weir server` while a step's container runs, then a new server on the same data
/// dir: the run resumes, the container left behind is removed before the step runs again, and
/// finished steps are not redone.
#[test]
fn container_left_by_a_killed_server_is_removed_when_it_restarts() {
    let Some(socket) = engine_socket() else {
        return;
    };
    let setup = Setup::new(socket);
    let port = crate::live::free_port().to_string();
    let endpoint = format!("http://127.0.0.1:{port}");
    let start_server = || {
        setup
            .weir(&["server", "--port", &port])
            .env_remove("WEIR_AUTH_TOKEN")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("weir server starts")
    };
    let client = |args: &[&str]| -> Value {
        let output = weir()
            .arg("--data-dir")
            .arg(setup.work.join("client-data"))
            .args(["--endpoint", &endpoint])
            .args(args)
            .args(["--output", "json"])
            .env_remove("WEIR_AUTH_TOKEN")
            .output()
            .expect("weir runs");
        serde_json::from_slice(&output.stdout).unwrap_or(Value::Null)
    };
    let mut server = start_server();
    let dir_param = format!("dir={}", setup.work.display());
    let resume_file = fixture("resume.yaml");
    let resume_file = resume_file.to_str().expect("a UTF-8 path");
    let mut created = Value::Null;
    wait_for("the server to take a run", Duration::from_secs(60), || {
        created = client(&[
            "runs",
            "create",
            "-r",
            "recover",
            "-f",
            resume_file,
            &dir_param,
        ]);
        created["run_id"].is_string()
    });
    let run_id = created["run_id"].as_str().expect("run id").to_owned();
    let second_log = setup.work.join("second.log");
    wait_for("the second step to start", Duration::from_secs(60), || {
        lines(&second_log) == 1
    });
    server.kill().expect("SIGKILL");
    server.wait().expect("reaped");
    let label = format!("weir.run-id={run_id}");
    let left = containers_labelled(&setup.socket, &label);
    assert!(
        left.len() == 1 && left[0].1 == "running",
        "the waiting step's container outlived the killed server: {left:?}"
    );

    let mut server = start_server();
    wait_for(
        "the second step to start again",
        Duration::from_secs(60),
        || lines(&second_log) == 2,
    );
    let now = containers_labelled(&setup.socket, &label);
    assert!(
        !now.iter().any(|(id, _)| *id == left[0].0),
        "the left-behind container was removed: {now:?}"
    );
    std::fs::write(setup.work.join("release"), "").expect("release the waiting step");
    let mut state = Value::Null;
    wait_for("the run to end", Duration::from_secs(60), || {
        state = client(&["runs", "get", &run_id])["state"].clone();
        state == "SUCCEEDED" || state == "FAILED"
    });
    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    let _ = server.wait();
    assert_eq!(state, "SUCCEEDED");
    assert_eq!(
        lines(&setup.work.join("first.log")),
        1,
        "first did not run again"
    );
    assert_eq!(lines(&second_log), 2);
    assert_eq!(lines(&setup.work.join("third.log")), 1);
    assert!(containers_labelled(&setup.socket, &label).is_empty());
}

/// A container of a run that has ended, left behind by a Weir killed before it removed it, is
/// removed when Weir next starts with the container executor.
#[test]
fn container_of_an_ended_run_is_removed_at_the_next_start() {
    let Some(socket) = engine_socket() else {
        return;
    };
    let setup = Setup::new(socket);
    let (_, run, _) = setup.run_json(&fixture("container_oom.yaml"), &[]);
    let run_id = run["id"].as_str().expect("run id").to_owned();
    assert_eq!(run["state"], "FAILED");
    let label = format!("weir.run-id={run_id}");
    let planted = format!(
        "{{\"Image\":\"localhost/weir-busybox:latest\",\"Cmd\":[\"sleep\",\"300\"],\"Labels\":{{\"weir.run-id\":\"{run_id}\",\"weir.task-id\":\"planted\"}},\"HostConfig\":{{\"NetworkMode\":\"none\"}}}}"
    );
    let created = api_call(&setup.socket, "POST", "/containers/create", &planted)
        .expect("the engine creates a container");
    let id = serde_json::from_str::<Value>(&created).expect("JSON")["Id"]
        .as_str()
        .expect("an id")
        .to_owned();
    assert_eq!(containers_labelled(&setup.socket, &label).len(), 1);
    let (code, _, stderr) = setup.run_json(&fixture("container_oom.yaml"), &[]);
    assert_eq!(code, Some(1), "{stderr}");
    let left = containers_labelled(&setup.socket, &label);
    let _ = api_call(
        &setup.socket,
        "DELETE",
        &format!("/containers/{id}?force=1"),
        "",
    );
    assert!(
        left.is_empty(),
        "the ended run's container was removed: {left:?}"
    );
}

/// Steps get no network unless they ask for one (`WEIR_NETWORK`), and their CPU limit is a
/// CPU quota.
#[test]
fn container_network_is_off_unless_asked_and_cpu_is_limited() {
    let Some(socket) = engine_socket() else {
        return;
    };
    let setup = Setup::new(socket);
    let (code, run, stderr) = setup.run_json(&fixture("container_sandbox.yaml"), &[]);
    assert_eq!(code, Some(0), "{stderr}\n{run:#}");
    let log_of = |name: &str| {
        let path = task(&run, name)["log_path"]
            .as_str()
            .expect("a log path")
            .to_owned();
        std::fs::read_to_string(path).expect("the step's log")
    };
    let isolated = log_of("isolated");
    assert!(
        isolated.contains("interfaces: lo \n"),
        "loopback only: {isolated}"
    );
    assert!(
        isolated.starts_with("50000\n") || isolated.starts_with("50000 100000\n"),
        "half a core: {isolated}"
    );
    let host_interfaces = std::fs::read_dir("/sys/class/net").map_or(0, |d| d.count());
    let online = log_of("online");
    let interfaces = online
        .trim()
        .strip_prefix("interfaces:")
        .map_or(0, |list| list.split_whitespace().count());
    assert_eq!(interfaces, host_interfaces, "the host's network: {online}");
}

/// Kubernetes platform settings in a container: a secret as env and as read-only files, a
/// config map as files, a PVC as a writable volume, pull policy Never with a present image.
#[test]
fn container_platform_settings_become_mounts_and_env() {
    let Some(socket) = engine_socket() else {
        return;
    };
    let setup = Setup::new(socket);
    for args in [
        ["secrets", "set", "db", "password=s3cret"],
        ["configmaps", "set", "settings", "mode=fast"],
    ] {
        let status = weir()
            .arg("--data-dir")
            .arg(&setup.data)
            .args(args)
            .status()
            .expect("weir runs");
        assert!(status.success(), "{args:?}");
    }
    let status = weir()
        .arg("--data-dir")
        .arg(&setup.data)
        .args(["volumes", "create", "shared"])
        .status()
        .expect("weir runs");
    assert!(status.success());
    let (code, run, stderr) = setup.run_json(&fixture("container_platform.yaml"), &[]);
    assert_eq!(code, Some(0), "{stderr}\n{run:#}");
    let path = task(&run, "check")["log_path"]
        .as_str()
        .expect("a log path")
        .to_owned();
    let log = std::fs::read_to_string(path).expect("the step's log");
    for expected in [
        "env: s3cret\n",
        "file: s3cret\n",
        "config: fast\n",
        "secrets read-only\n",
    ] {
        assert!(log.contains(expected), "missing `{expected}` in {log}");
    }
    let mark = std::fs::read_to_string(setup.data.join("volumes/shared/mark")).expect("the mark");
    assert_eq!(mark, "mark\n");
}

/// A non-zero exit and a timeout are task errors that say what happened, with the output's
/// last lines; the timed-out container is stopped and removed.
#[test]
fn container_exit_codes_and_timeouts_are_clear_task_errors() {
    let Some(socket) = engine_socket() else {
        return;
    };
    let setup = Setup::new(socket);
    let started = Instant::now();
    let (code, run, stderr) = setup.run_json(&fixture("container_failures.yaml"), &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(40),
        "the step was stopped at its timeout, not after its 60 s sleep"
    );
    assert_eq!(
        task(&run, "exits")["error"],
        "the step exited with code 3\nabout to fail"
    );
    assert_eq!(task(&run, "sleeps")["error"], "the step timed out after 1s");
    let run_id = run["id"].as_str().expect("run id");
    let left = containers_labelled(&setup.socket, &format!("weir.run-id={run_id}"));
    assert!(left.is_empty(), "containers left behind: {left:?}");
}

/// Issue 12 in containers: a fresh home per step and a volume per run. The isolation fixture
/// twice in a row with the cache off (its `mkdir ~/.ssh` and the `mkdir` in the volume fail on
/// a second run that shares either), and its fixed mount paths never appear on the host.
#[test]
fn container_steps_get_fresh_homes_and_a_volume_per_run() {
    let Some(socket) = engine_socket() else {
        return;
    };
    let setup = Setup::new(socket);
    crate::isolation::assert_no_mount_paths_on_the_host("before the test");
    crate::isolation::set_the_secret(weir().arg("--data-dir").arg(&setup.data));
    let mut volumes = Vec::new();
    for _ in 0..2 {
        let (code, run, stderr) = setup.run_json(&fixture("isolation.yaml"), &["--no-cache"]);
        assert_eq!(code, Some(0), "{stderr}\n{run:#}");
        volumes.push(task(&run, "createpvc")["outputs"]["parameters"]["name"].clone());
    }
    assert_ne!(volumes[0], volumes[1]);
    crate::isolation::assert_no_mount_paths_on_the_host("after two runs in containers");
}
