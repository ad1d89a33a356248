//! Hostile and random input: refused with a diagnostic, quickly, never a panic.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use weir_spec::{check, Code};

fn assert_refused_quickly(text: &str, code: Code) {
    let started = Instant::now();
    let parsed = check(text);
    let elapsed = started.elapsed();
    assert!(parsed.document.is_none(), "hostile input was accepted");
    assert!(
        parsed.diagnostics.iter().any(|d| d.code == code),
        "expected {code}, got {:?}",
        parsed.diagnostics
    );
    // Generous bound for a slow debug build on a loaded machine; the real cost is milliseconds.
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
}

#[test]
fn yaml_alias_bomb_is_refused() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = i - 1;
        text.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    text.push_str("root: *a11\n");
    assert_refused_quickly(&text, Code::InputTooLarge);
}

#[test]
fn deep_yaml_nesting_is_refused() {
    let text = format!("root: {}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert_refused_quickly(&text, Code::InputTooLarge);
    let block: String = (0..10_000)
        .map(|i| format!("{}- \n", "  ".repeat(i)))
        .collect();
    assert!(check(&block).document.is_none());
}

#[test]
fn deep_json_nesting_is_refused() {
    let text = format!(
        "{{\"root\": {}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    assert_refused_quickly(&text, Code::InputTooLarge);
}

#[test]
fn fifty_megabytes_are_refused_before_parsing() {
    let text = format!("root: \"{}\"\n", "x".repeat(50 * 1024 * 1024));
    assert_refused_quickly(&text, Code::InputTooLarge);
}

#[test]
fn non_finite_numbers_are_refused() {
    let parsed = check("root: {inputDefinitions: {parameters: {x: {parameterType: NUMBER_DOUBLE, defaultValue: .nan}}}}\n");
    assert!(parsed.document.is_none());
    assert_eq!(parsed.diagnostics[0].code, Code::SyntaxError);
}

#[test]
fn syntax_errors_carry_line_and_column() {
    let parsed = check("pipelineInfo:\n  name: x\nroot: [unclosed\n");
    let location = parsed.diagnostics[0].location.expect("has a location");
    assert_eq!(parsed.diagnostics[0].code, Code::SyntaxError);
    assert!(location.line >= 3, "{location:?}");
}

/// Mutations of a real pipeline: pieces cut out, bytes flipped, lines repeated.
fn corpus_sample() -> String {
    std::fs::read_to_string(crate::conformance_dir().join("critical/flip_coin.yaml"))
        .expect("corpus file is readable")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,400}") {
        let _ = check(&text);
    }

    #[test]
    fn yaml_like_text_never_panics(text in "([a-z{}\\[\\]:,'\"&*!|>#-]|\n|  ){0,300}") {
        let _ = check(&text);
    }

    #[test]
    fn truncated_and_corrupted_pipelines_never_panic(cut in 0usize..4000, flip in 0usize..4000, byte in 0u8..128) {
        let sample = corpus_sample();
        let mut bytes = sample.into_bytes();
        let len = bytes.len();
        bytes[flip % len] = byte;
        bytes.truncate(len - cut.min(len));
        let text = String::from_utf8_lossy(&bytes);
        let _ = check(&text);
    }

    #[test]
    fn arbitrary_json_structures_never_panic(value in arbitrary_json()) {
        let _ = weir_spec::parse_value(value.clone());
        let wrapped = serde_json::json!({"root": value.clone(), "components": value.clone(), "deploymentSpec": value});
        if let Some(document) = weir_spec::parse_value(wrapped).document {
            let _ = weir_spec::validate(&document);
            let _ = weir_spec::outline::outline(&document).to_text();
        }
    }
}

fn arbitrary_json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(Value::from),
        "[a-zA-Z{}$.'\\[\\] -]{0,20}".prop_map(Value::String),
        prop_oneof![
            Just("dag"),
            Just("tasks"),
            Just("componentRef"),
            Just("executorLabel"),
            Just("inputs")
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("dag".to_owned()),
                    Just("tasks".to_owned()),
                    Just("componentRef".to_owned()),
                    Just("name".to_owned()),
                    Just("inputs".to_owned()),
                    Just("parameters".to_owned()),
                    Just("executorLabel".to_owned()),
                    Just("container".to_owned()),
                    Just("command".to_owned()),
                    "[a-z]{1,6}",
                ],
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}
