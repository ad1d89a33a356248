//! Each broken fixture declares, in `# expect: CODE [path]` lines, the diagnostics it must produce.

use std::path::Path;

use weir_spec::{check, Code, Severity};

use crate::yaml_files;

fn fixtures(kind: &str) -> Vec<std::path::PathBuf> {
    yaml_files(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(kind),
    )
}

#[test]
fn every_invalid_fixture_reports_its_expected_codes() {
    let files = fixtures("invalid");
    assert!(files.len() >= 20, "expected at least 20 invalid fixtures");
    for file in files {
        let text = std::fs::read_to_string(&file).expect("fixture is readable");
        let expectations: Vec<(&str, Option<&str>)> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# expect: "))
            .map(|e| match e.split_once(' ') {
                Some((code, path)) => (code, Some(path)),
                None => (e, None),
            })
            .collect();
        assert!(
            !expectations.is_empty(),
            "{} has no `# expect:` line",
            file.display()
        );
        let diagnostics = check(&text).diagnostics;
        for (code, path) in expectations {
            let found = diagnostics
                .iter()
                .any(|d| d.code.as_str() == code && path.is_none_or(|p| d.path == p));
            assert!(
                found,
                "{}: expected {code} at {path:?}, got:\n{}",
                file.display(),
                diagnostics
                    .iter()
                    .map(|d| format!("  {d}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }
}

/// Every error code is exercised by at least one fixture, except the size limit (tested in
/// robustness.rs with generated input) and codes that need shapes no fixture can hold.
#[test]
fn fixtures_cover_every_code() {
    let mut covered = std::collections::BTreeSet::new();
    for file in fixtures("invalid") {
        let text = std::fs::read_to_string(&file).expect("fixture is readable");
        for line in text.lines().filter_map(|l| l.strip_prefix("# expect: ")) {
            covered.insert(line.split(' ').next().unwrap_or_default().to_owned());
        }
    }
    let untested: Vec<&str> = Code::ALL
        .iter()
        .map(|c| c.as_str())
        .filter(|c| !covered.contains(*c) && *c != Code::InputTooLarge.as_str())
        .collect();
    assert!(untested.is_empty(), "codes without a fixture: {untested:?}");
}

#[test]
fn valid_fixtures_have_no_errors() {
    for file in fixtures("valid") {
        let text = std::fs::read_to_string(&file).expect("fixture is readable");
        let parsed = check(&text);
        let errors: Vec<_> = parsed
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", file.display());
        assert!(parsed.document.is_some());
    }
}

/// A v1 component becomes the same IR the kfp SDK makes of it.
#[test]
fn v1_component_becomes_a_one_step_pipeline() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/valid/v1_word_count.yaml"),
    )
    .expect("fixture is readable");
    let document = check(&text).document.expect("parses");
    let spec = &document.spec;
    assert_eq!(spec.name(), "word-count");
    let task = &spec.root.dag.as_ref().expect("has a root DAG").tasks["word-count"];
    assert_eq!(task.component_ref.name, "comp-word-count");
    let component = &spec.components["comp-word-count"];
    let repeat = component
        .input_parameter("repeat")
        .expect("declares repeat");
    assert_eq!(repeat.default_value, Some(serde_json::json!(2)));
    assert_eq!(repeat.is_optional, Some(true));
    assert_eq!(
        component
            .output_artifact("words")
            .map(|a| a.artifact_type.title()),
        Some("system.Dataset")
    );
    let container = spec
        .executor("exec-word-count")
        .and_then(|e| e.container.as_ref())
        .expect("container executor");
    assert_eq!(
        container.command[3],
        "{{$.outputs.parameters['count'].output_file}}"
    );
    assert_eq!(
        container.command[4],
        "{{$.outputs.artifacts['words'].path}}"
    );
    let concat: serde_json::Value =
        serde_json::from_str(&container.command[5]).expect("Concat is JSON");
    assert_eq!(concat["Concat"][0], "{{$.inputs.parameters['text']}}");
    let if_present: serde_json::Value =
        serde_json::from_str(&container.command[6]).expect("IfPresent is JSON");
    assert_eq!(if_present["IfPresent"]["InputName"], "mode");
    assert_eq!(
        if_present["IfPresent"]["Else"],
        serde_json::json!(["--no-mode"])
    );
}

/// Every code has a documentation page, and every page a code.
#[test]
fn every_code_has_a_docs_page() {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/errors");
    for code in Code::ALL {
        let page = docs.join(format!("{}.md", code.as_str()));
        let text =
            std::fs::read_to_string(&page).unwrap_or_else(|_| panic!("missing {}", page.display()));
        assert!(
            text.starts_with(&format!("# {}:", code.as_str())),
            "{} has no title line",
            page.display()
        );
    }
    let pages = std::fs::read_dir(&docs)
        .expect("docs/errors exists")
        .flatten()
        .count();
    assert_eq!(
        pages,
        Code::ALL.len() + 1,
        "docs/errors holds one page per code plus README.md"
    );
}
