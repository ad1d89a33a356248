//! The resource commands with `--endpoint` against a real `weir server`: a round trip per
//! noun, JSON and table output, and the exit codes (0 ok, 1 a run that did not succeed while
//! waiting, 2 usage and network errors).

use std::time::Duration;

use serde_json::Value;

use crate::live::{
    describe, free_port, parse_json, release, resume_fixture, stderr, stdout, wait_for, LiveServer,
};
use crate::weir;

fn text(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"))
        .to_owned()
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|item| text(&item["display_name"]))
        .collect()
}

/// Runs a command that must fail with exit code 2 and returns its stderr.
fn fails_with_usage_error(output: std::process::Output) -> String {
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    stderr(&output)
}

#[test]
fn experiments_round_trip() {
    let server = LiveServer::start();
    let created = server.json(&["experiments", "create", "exp-a", "-d", "first"]);
    let id = text(&created["experiment_id"]);
    assert_eq!(created["description"], "first");
    let table = server.cli(&["experiments", "list"]);
    assert_eq!(table.status.code(), Some(0), "{}", describe(&table));
    assert!(stdout(&table).starts_with("ID "), "{}", stdout(&table));
    assert!(stdout(&table).contains("exp-a"), "{}", stdout(&table));
    assert_eq!(
        server.json(&["experiments", "get", &id])["display_name"],
        "exp-a"
    );
    let archived = server.json(&["experiments", "archive", "--experiment-name", "exp-a"]);
    assert_eq!(archived["storage_state"], "ARCHIVED");
    let unarchived = server.json(&["experiments", "unarchive", &id]);
    assert_eq!(unarchived["storage_state"], "AVAILABLE");

    // Without --endpoint, `experiments list` and `get` read the data dir (the server's here).
    let local = weir()
        .arg("--data-dir")
        .arg(&server.data_dir)
        .args(["experiments", "list", "--output", "json"])
        .env_remove("WEIR_ENDPOINT")
        .output()
        .expect("weir runs");
    assert_eq!(local.status.code(), Some(0), "{}", describe(&local));
    assert!(names(&parse_json(&local)).contains(&"exp-a".to_owned()));

    assert_eq!(
        server.json(&["experiments", "delete", &id]),
        Value::from(id.clone())
    );
    let error = fails_with_usage_error(server.cli(&["experiments", "get", &id]));
    assert!(error.contains("not found"), "{error}");
    assert!(error.contains(&server.endpoint), "{error}");
}

#[test]
fn pipelines_round_trip() {
    let server = LiveServer::start();
    let package = resume_fixture().display().to_string();
    let created = server.json(&["pipelines", "create", "-p", "my-pipe", &package]);
    let pipeline_id = text(&created["pipeline_id"]);
    let table = server.cli(&["pipelines", "list"]);
    assert!(stdout(&table).contains("my-pipe"), "{}", describe(&table));
    assert_eq!(
        server.json(&["pipelines", "get", &pipeline_id])["display_name"],
        "my-pipe"
    );
    let version = server.json(&[
        "pipelines",
        "create-version",
        &package,
        "-n",
        "my-pipe",
        "-v",
        "v2",
    ]);
    let version_id = text(&version["pipeline_version_id"]);
    assert_eq!(version["pipeline_id"], pipeline_id.as_str());
    let versions = server.json(&["pipelines", "list-versions", &pipeline_id]);
    assert_eq!(versions.as_array().map(Vec::len), Some(2), "{versions}");
    let versions_table = server.cli(&["pipelines", "list-versions", &pipeline_id]);
    assert!(stdout(&versions_table).contains("PARENT ID"));
    assert!(stdout(&versions_table).contains("v2"));
    let fetched = server.json(&["pipelines", "get-version", &pipeline_id, &version_id]);
    assert_eq!(fetched["name"], "v2");

    // A run of the stored pipeline: parameters are typed by the stored spec.
    let dir = server.released_work_dir("stored");
    let run = server.json(&[
        "runs",
        "create",
        "-n",
        "my-pipe",
        "-r",
        "from-stored",
        &format!("dir={}", dir.display()),
        "--timeout",
        "120",
    ]);
    assert_eq!(run["state"], "SUCCEEDED", "{run}");
    assert_eq!(
        run["pipeline_version_reference"]["pipeline_version_id"],
        version_id.as_str()
    );

    let deleted = server.cli(&["pipelines", "delete-version", &pipeline_id, &version_id]);
    assert!(
        stdout(&deleted).contains("deleted"),
        "{}",
        describe(&deleted)
    );
    let versions = server.json(&["pipelines", "list-versions", &pipeline_id]);
    assert_eq!(versions.as_array().map(Vec::len), Some(1), "{versions}");
    assert_eq!(
        server.json(&["pipelines", "delete", &pipeline_id, "--cascade"]),
        Value::from(pipeline_id.clone())
    );
    let error = fails_with_usage_error(server.cli(&["pipelines", "get", &pipeline_id]));
    assert!(error.contains("not found"), "{error}");
}

#[test]
fn runs_round_trip_with_exit_codes_for_the_outcome() {
    let server = LiveServer::start();
    let package = resume_fixture().display().to_string();
    let released = server.released_work_dir("runs");
    let succeeded = server.json(&[
        "runs",
        "create",
        "-e",
        "exp-runs",
        "-r",
        "ok-run",
        "-f",
        &package,
        &format!("dir={}", released.display()),
        "--timeout",
        "120",
    ]);
    assert_eq!(succeeded["state"], "SUCCEEDED", "{succeeded}");
    let experiment_id = text(&succeeded["experiment_id"]);

    // A step that fails: exit 1 while waiting, with the run printed.
    let failing = server.cli(&[
        "runs",
        "create",
        "-e",
        "exp-runs",
        "-r",
        "bad-run",
        "-f",
        &package,
        "dir=/nonexistent/weir-test",
        "--watch",
        "--output",
        "json",
    ]);
    assert_eq!(failing.status.code(), Some(1), "{}", describe(&failing));
    assert_eq!(parse_json(&failing)["state"], "FAILED");

    let listed = server.json(&["runs", "list", "-e", &experiment_id]);
    let mut listed_names = names(&listed);
    listed_names.sort();
    assert_eq!(listed_names, ["bad-run", "ok-run"]);
    let one_page = server.cli(&["runs", "list", "-e", &experiment_id, "-m", "1"]);
    assert_eq!(
        stdout(&one_page).lines().count(),
        2,
        "{}",
        describe(&one_page)
    );
    assert!(
        stderr(&one_page).contains("--page-token"),
        "{}",
        describe(&one_page)
    );
    let table = server.cli(&["runs", "get", &text(&succeeded["run_id"])]);
    for expected in ["ok-run", "SUCCEEDED", "TASK", "third"] {
        assert!(
            stdout(&table).contains(expected),
            "{expected}: {}",
            describe(&table)
        );
    }

    // Held at its second step: terminate, watch it end CANCELED (exit 1), retry it.
    let held = server.work_dir("held");
    let created = server.json(&[
        "runs",
        "create",
        "-r",
        "held-run",
        "-f",
        &package,
        &format!("dir={}", held.display()),
    ]);
    let run_id = text(&created["run_id"]);
    wait_for("the second step", Duration::from_secs(60), || {
        held.join("second.log").exists()
    });
    let timed_out = server.cli(&[
        "runs",
        "create",
        "-r",
        "also-held",
        "-f",
        &package,
        &format!("dir={}", held.display()),
        "--no-cache",
        "--timeout",
        "1",
    ]);
    assert_eq!(timed_out.status.code(), Some(1), "{}", describe(&timed_out));
    assert!(stderr(&timed_out).contains("did not finish within 1 s"));
    server.json(&["runs", "terminate", &run_id]);
    let canceled = server.cli(&["runs", "get", &run_id, "--watch", "--output", "json"]);
    assert_eq!(canceled.status.code(), Some(1), "{}", describe(&canceled));
    assert_eq!(parse_json(&canceled)["state"], "CANCELED");
    release(&held);
    let retried = server.cli(&["runs", "retry", &run_id, "--watch", "--output", "json"]);
    assert_eq!(retried.status.code(), Some(0), "{}", describe(&retried));
    assert_eq!(parse_json(&retried)["state"], "SUCCEEDED");

    let archived = server.json(&["runs", "archive", &run_id]);
    assert_eq!(archived["storage_state"], "ARCHIVED");
    let unarchived = server.cli(&["runs", "unarchive", &run_id]);
    assert!(
        stdout(&unarchived).contains("AVAILABLE"),
        "{}",
        describe(&unarchived)
    );
    let deleted = server.cli(&["runs", "delete", &run_id]);
    assert!(stdout(&deleted).contains(&format!("Run {run_id} deleted.")));
    let error = fails_with_usage_error(server.cli(&["runs", "get", &run_id]));
    assert!(error.contains("not found"), "{error}");
}

#[test]
fn recurring_runs_round_trip() {
    let server = LiveServer::start();
    let package = resume_fixture().display().to_string();
    let dir = server.released_work_dir("recurring");
    let created = server.json(&[
        "recurring-runs",
        "create",
        "--job-name",
        "nightly",
        "-e",
        "exp-recurring",
        "--interval-second",
        "3600",
        "--no-catchup",
        "--disabled",
        "-f",
        &package,
        &format!("dir={}", dir.display()),
    ]);
    let id = text(&created["recurring_run_id"]);
    assert_eq!(created["status"], "DISABLED");
    assert_eq!(
        created["trigger"]["periodic_schedule"]["interval_second"],
        "3600"
    );
    let table = server.cli(&["recurring-runs", "list"]);
    assert!(stdout(&table).contains("nightly"), "{}", describe(&table));
    assert!(stdout(&table).contains("EXPERIMENT ID"));
    assert_eq!(
        server.json(&["recurring-runs", "get", &id])["display_name"],
        "nightly"
    );
    assert_eq!(
        server.json(&["recurring-runs", "enable", &id])["status"],
        "ENABLED"
    );
    assert_eq!(
        server.json(&["recurring-runs", "disable", &id])["status"],
        "DISABLED"
    );
    let cron = server.json(&[
        "recurring-runs",
        "create",
        "--job-name",
        "weekdays",
        "--cron-expression",
        "0 0 9 * * 1-5",
        "--disabled",
        "-f",
        &package,
        &format!("dir={}", dir.display()),
    ]);
    assert_eq!(cron["trigger"]["cron_schedule"]["cron"], "0 0 9 * * 1-5");
    assert_eq!(
        server.json(&["recurring-runs", "delete", &id]),
        Value::from(id.clone())
    );
    fails_with_usage_error(server.cli(&["recurring-runs", "get", &id]));
    let no_schedule = server.cli(&[
        "recurring-runs",
        "create",
        "--job-name",
        "x",
        "-f",
        &package,
    ]);
    fails_with_usage_error(no_schedule);
}

#[test]
fn errors_exit_two_with_a_message_naming_the_endpoint() {
    let nobody = format!("http://127.0.0.1:{}", free_port());
    let unreachable = weir()
        .args(["--endpoint", &nobody, "experiments", "list"])
        .output()
        .expect("weir runs");
    let error = fails_with_usage_error(unreachable);
    assert!(
        error.contains(&format!("cannot reach the server at {nobody}")),
        "{error}"
    );

    let from_env = weir()
        .args(["runs", "list"])
        .env("WEIR_ENDPOINT", &nobody)
        .output()
        .expect("weir runs");
    assert!(fails_with_usage_error(from_env).contains(&nobody));

    let invalid = weir()
        .args(["--endpoint", "ftp://example.com", "pipelines", "list"])
        .output()
        .expect("weir runs");
    assert!(fails_with_usage_error(invalid).contains("invalid endpoint"));

    let temp = tempfile::tempdir().expect("temp dir");
    let local = |args: &[&str]| {
        weir()
            .arg("--data-dir")
            .arg(temp.path())
            .args(args)
            .env_remove("WEIR_ENDPOINT")
            .output()
            .expect("weir runs")
    };
    let package = resume_fixture().display().to_string();
    for (args, expected) in [
        (vec!["pipelines", "list"], "--endpoint"),
        (vec!["recurring-runs", "list"], "--endpoint"),
        (vec!["experiments", "create", "x"], "--endpoint"),
        (vec!["runs", "create", "-f", &package], "weir run FILE"),
        (vec!["runs", "list", "--filter", "{}"], "--endpoint"),
        (
            vec!["experiments", "list", "--output", "dot"],
            "table or json",
        ),
    ] {
        let error = fails_with_usage_error(local(&args));
        assert!(error.contains(expected), "{args:?}: {error}");
    }

    let server = LiveServer::start_with_token("s3cret");
    let refused = fails_with_usage_error(server.cli(&["experiments", "list"]));
    assert!(refused.contains("--auth-token"), "{refused}");
    let with_token = server.cli(&["--auth-token", "s3cret", "experiments", "list"]);
    assert_eq!(
        with_token.status.code(),
        Some(0),
        "{}",
        describe(&with_token)
    );
    let logs = fails_with_usage_error(server.cli(&["--auth-token", "s3cret", "logs", "some-run"]));
    assert!(logs.contains("no log endpoint"), "{logs}");
    let resume = fails_with_usage_error(server.cli(&["runs", "resume", "some-run"]));
    assert!(resume.contains("local data dir"), "{resume}");
}
