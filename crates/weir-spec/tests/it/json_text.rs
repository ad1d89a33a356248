//! `parse_json` reads JSON text without a value tree; it must read every pipeline, broken or
//! not, exactly as the value path does.

use serde_json::{json, Value};
use weir_spec::{parse_json, parse_value};

use crate::{conformance_dir, yaml_files};

/// Each YAML file as the JSON the REST API would receive: the bare spec, or the wrapper when
/// there is a platform document.
fn as_json(text: &str) -> Option<Value> {
    let documents: Vec<Value> = serde_norway::Deserializer::from_str(text)
        .map(serde::Deserialize::deserialize)
        .collect::<Result<_, _>>()
        .ok()?;
    match documents.as_slice() {
        [spec] => Some(spec.clone()),
        [spec, platform] => Some(json!({"pipeline_spec": spec, "platform_spec": platform})),
        _ => None,
    }
}

#[test]
fn json_text_reads_like_a_value() {
    let mut compared = 0;
    for file in yaml_files(&conformance_dir()) {
        let text = std::fs::read_to_string(&file).expect("file is readable");
        let Some(value) = as_json(&text) else {
            continue;
        };
        for value in [value.clone(), json!({"pipeline_spec": value})] {
            let from_value = parse_value(value.clone());
            let from_text = parse_json(&value.to_string());
            assert_eq!(
                from_text.document,
                from_value.document,
                "{}: documents differ",
                file.display()
            );
            assert_eq!(
                from_text.diagnostics,
                from_value.diagnostics,
                "{}: diagnostics differ",
                file.display()
            );
            compared += 1;
        }
    }
    assert!(compared > 100, "only {compared} files compared");
}

#[test]
fn json_text_refuses_duplicate_keys_at_any_depth() {
    let text = r#"{"pipelineInfo": {"name": "p", "name": "q"}, "root": {}}"#;
    let parsed = parse_json(text);
    assert!(parsed.document.is_none());
    assert_eq!(parsed.diagnostics.len(), 1);
    assert!(
        parsed.diagnostics[0]
            .message
            .contains("duplicate key `name`"),
        "{:?}",
        parsed.diagnostics
    );
    assert_eq!(
        parsed.diagnostics[0].location.map(|l| l.line),
        Some(1),
        "the duplicate is located"
    );
}

#[test]
fn json_text_wrapper_keeps_warnings_and_platform_checks() {
    let spec = json!({"pipelineInfo": {"name": "p"}, "root": {"dag": {"tasks": {}}}});
    let text = json!({"pipeline_spec": spec, "platform_spec": {"x": 1}, "other": 2}).to_string();
    let from_text = parse_json(&text);
    let from_value = parse_value(serde_json::from_str(&text).expect("JSON"));
    assert_eq!(from_text.diagnostics, from_value.diagnostics);
    assert_eq!(
        from_text.diagnostics.len(),
        2,
        "{:?}",
        from_text.diagnostics
    );
    let null_platform = json!({"pipeline_spec": spec, "platform_spec": null}).to_string();
    let parsed = parse_json(&null_platform);
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    assert!(parsed.document.expect("parses").platform.is_none());
}

#[test]
fn json_text_that_is_not_a_pipeline_says_so() {
    for text in [
        "[1, 2]",
        "{\"a\": 1}",
        "{",
        "",
        "{\"implementation\": {\"container\": {\"image\": \"x\"}}, \"name\": \"c\"}",
    ] {
        let from_text = parse_json(text);
        let from_general = weir_spec::parse(text);
        assert_eq!(from_text.document, from_general.document, "{text}");
        assert_eq!(from_text.diagnostics, from_general.diagnostics, "{text}");
    }
}
