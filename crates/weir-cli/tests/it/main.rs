//! Runs the built `weir` binary the way users do.

mod client;
mod conformance;
mod container;
mod demo;
mod engine;
mod isolation;
mod live;
mod remote;

use std::path::{Path, PathBuf};
use std::process::Command;

fn weir() -> Command {
    Command::new(env!("CARGO_BIN_EXE_weir"))
}

/// `shared/kfp-conformance`, next to the repository (or `WEIR_CONFORMANCE_DIR`).
fn conformance_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("WEIR_CONFORMANCE_DIR") {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/kfp-conformance")
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture(kind: &str, name: &str) -> PathBuf {
    repo()
        .join("crates/weir-spec/tests/fixtures")
        .join(kind)
        .join(name)
}

#[test]
fn validate_exits_zero_for_valid_files() {
    let output = weir()
        .arg("validate")
        .arg(repo().join("examples/hello/hello.yaml"))
        .arg(fixture("valid", "v1_word_count.yaml"))
        .output()
        .expect("weir runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("hello.yaml: valid"), "{stdout}");
}

#[test]
fn validate_exits_one_and_reports_every_problem() {
    let output = weir()
        .args(["validate", "--output", "json"])
        .arg(fixture("invalid", "bad_retry.yaml"))
        .arg(repo().join("examples/hello/hello.yaml"))
        .output()
        .expect("weir runs");
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON output");
    let first = &report["files"][0];
    assert_eq!(first["valid"], false);
    let codes: Vec<&str> = first["diagnostics"]
        .as_array()
        .expect("diagnostics list")
        .iter()
        .filter_map(|d| d["code"].as_str())
        .collect();
    assert_eq!(
        codes,
        ["SPEC0021", "SPEC0021"],
        "both retry problems are reported"
    );
    assert_eq!(
        first["diagnostics"][0]["path"],
        "root.dag.tasks.produce.retryPolicy.backoffDuration"
    );
    assert!(first["diagnostics"][0]["hint"].is_string());
    assert_eq!(report["files"][1]["valid"], true);
}

#[test]
fn syntax_errors_name_the_line_and_column() {
    let output = weir()
        .arg("validate")
        .arg(fixture("invalid", "syntax_error.yaml"))
        .output()
        .expect("weir runs");
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("error[SPEC0001] "), "{stdout}");
    let located = stdout.lines().any(|l| {
        l.split("SPEC0001] ").nth(1).is_some_and(|rest| {
            rest.split(':').count() >= 2 && rest.chars().next().is_some_and(|c| c.is_ascii_digit())
        })
    });
    assert!(located, "no line:column in {stdout}");
}

#[test]
fn usage_and_io_errors_exit_two() {
    let missing = weir()
        .args(["validate", "/nonexistent/pipeline.yaml"])
        .output()
        .expect("weir runs");
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/pipeline.yaml"));
    let no_files = weir().arg("validate").output().expect("weir runs");
    assert_eq!(no_files.status.code(), Some(2));
    let bad_flag = weir()
        .args(["validate", "--output", "xml", "x.yaml"])
        .output()
        .expect("weir runs");
    assert_eq!(bad_flag.status.code(), Some(2));
}

#[test]
fn oversized_files_are_refused_without_reading_them_whole() {
    let dir = std::env::temp_dir().join(format!("weir-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let big = dir.join("big.yaml");
    let file = std::fs::File::create(&big).expect("create");
    file.set_len(50 * 1024 * 1024).expect("sparse 50 MB file");
    let output = weir()
        .arg("validate")
        .arg(&big)
        .output()
        .expect("weir runs");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stdout).contains("SPEC0002"));
}

#[test]
fn inspect_prints_the_task_tree() {
    let output = weir()
        .arg("inspect")
        .arg(repo().join("examples/hello/hello.yaml"))
        .output()
        .expect("weir runs");
    assert_eq!(output.status.code(), Some(0));
    let text = String::from_utf8_lossy(&output.stdout);
    for expected in [
        "pipeline hello-weir",
        "count: NUMBER_INTEGER = 4",
        "exit-handler-1 \"main\" [exit-handler]",
        "for-loop-2 [parallel-for] after make-numbers",
        "(parallelism 2)",
        "condition-4 [condition] if int(",
        "goodbye [container python:3.11] after exit-handler-1 (runs even if upstream fails)",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }
}

#[test]
fn inspect_json_and_dot() {
    let file = repo().join("examples/hello/hello.yaml");
    let json = weir()
        .args(["inspect", "--output", "json"])
        .arg(&file)
        .output()
        .expect("weir runs");
    let outline: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON output");
    assert_eq!(outline["name"], "hello-weir");
    assert_eq!(outline["tasks"][0]["kind"], "exit_handler");
    assert_eq!(outline["tasks"][0]["children"][1]["kind"], "loop");
    let dot = weir()
        .args(["inspect", "--output", "dot"])
        .arg(&file)
        .output()
        .expect("weir runs");
    let dot = String::from_utf8_lossy(&dot.stdout);
    assert!(dot.starts_with("digraph pipeline {"));
    assert!(dot.contains("subgraph \"cluster_exit-handler-1\""));
    assert!(dot.contains("\"exit-handler-1/make-numbers\" -> \"exit-handler-1/total\";"));
}
