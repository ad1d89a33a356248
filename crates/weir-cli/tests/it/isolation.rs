//! Steps and runs isolated as pods are on Kubeflow (issue 12): a volume of its own per run, a
//! fresh home per step, resource names unique per run, and fixed mount paths that leave nothing
//! on the host. `tests/fixtures/isolation.py` says what the pipeline does.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::engine::{fixture, task};
use crate::weir;

/// The fixed paths the fixture mounts at; neither may exist on the host before or after.
pub(crate) const MOUNT_PATHS: [&str; 2] = ["/weir-isolation-volume", "/etc/weir-isolation-key"];

pub(crate) fn assert_no_mount_paths_on_the_host(when: &str) {
    for path in MOUNT_PATHS {
        assert!(
            !Path::new(path).exists(),
            "{path} exists on the host {when} (remove it if an older Weir left it)"
        );
    }
}

/// `weir secrets set isolation token=s3cret` in the data dir.
pub(crate) fn set_the_secret(command: &mut Command) {
    let status = command
        .args(["secrets", "set", "isolation", "token=s3cret"])
        .status()
        .expect("weir runs");
    assert!(status.success());
}

/// What a finished run of the fixture shows: its volume's name and its resource name.
pub(crate) struct Seen {
    pub volume: String,
    pub resource: String,
}

pub(crate) fn finished(child: Child) -> (Value, Seen) {
    let output = child.wait_with_output().expect("weir ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let run: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("no JSON from weir run: {stderr}"));
    assert_eq!(output.status.code(), Some(0), "{stderr}\n{run:#}");
    let text = |value: &Value| value.as_str().expect("a text output").to_owned();
    let seen = Seen {
        volume: text(&task(&run, "createpvc")["outputs"]["parameters"]["name"]),
        resource: text(&task(&run, "setup")["outputs"]["parameters"]["resource"]),
    };
    (run, seen)
}

fn spawn_run(data: &Path, extra: &[&str]) -> Child {
    weir()
        .arg("--data-dir")
        .arg(data)
        .arg("run")
        .arg(fixture("isolation.yaml"))
        .args(["--output", "json"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("weir runs")
}

fn volumes_left(data: &Path) -> Vec<String> {
    std::fs::read_dir(data.join("volumes"))
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Two runs of one pipeline started at the same moment, with the cache on: each gets its own
/// volume (the second's `mkdir` in it would fail otherwise) and its own resource name, every
/// step a fresh home, both volumes are gone at the end, and the mount paths never appear on the
/// host. A third run is not served from the cache for the step that mounts its new volume.
#[test]
fn concurrent_runs_get_their_own_volumes_homes_and_names() {
    assert_no_mount_paths_on_the_host("before the test");
    let temp = tempfile::tempdir().expect("temp dir");
    let data = temp.path().join("data");
    set_the_secret(weir().arg("--data-dir").arg(&data));
    let children = [spawn_run(&data, &[]), spawn_run(&data, &[])];
    let [(first_run, first), (second_run, second)] = children.map(finished);
    assert_ne!(first.volume, second.volume, "one volume per run");
    assert!(first.volume.ends_with("-work"), "{}", first.volume);
    assert_ne!(first.resource, second.resource, "one resource name per run");
    assert!(
        first.resource.starts_with("isolation-"),
        "{}",
        first.resource
    );
    assert!(volumes_left(&data).is_empty(), "{:?}", volumes_left(&data));
    assert_no_mount_paths_on_the_host("after two runs");
    for run in [&first_run, &second_run] {
        let log_path = task(run, "check")["log_path"].as_str().expect("a log");
        let log = std::fs::read_to_string(log_path).expect("the check step's log");
        let resource = task(run, "setup")["outputs"]["parameters"]["resource"]
            .as_str()
            .expect("the resource name");
        assert!(
            log.contains(&format!("resource={resource} pod={resource}-check home=")),
            "{log}"
        );
    }

    let (third_run, third) = finished(spawn_run(&data, &[]));
    assert_eq!(
        task(&third_run, "setup")["state"],
        "SUCCEEDED",
        "not CACHED"
    );
    assert_ne!(third.volume, first.volume);
    assert_no_mount_paths_on_the_host("after a third run");
}
