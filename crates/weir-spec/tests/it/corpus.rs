//! The 74 pipelines KFP compiles for its own end-to-end tests must all validate and round-trip.

use weir_spec::{check, parse, Severity};

use crate::{conformance_dir, yaml_files};

fn corpus() -> Vec<std::path::PathBuf> {
    let files: Vec<_> = yaml_files(&conformance_dir())
        .into_iter()
        .filter(|p| !p.components().any(|c| c.as_os_str() == "fixtures"))
        .collect();
    assert_eq!(
        files.len(),
        74,
        "expected the 74 KFP conformance pipelines in {}",
        conformance_dir().display()
    );
    files
}

#[test]
fn every_corpus_pipeline_validates_without_errors() {
    let mut failures = Vec::new();
    for file in corpus() {
        let text = std::fs::read_to_string(&file).expect("corpus file is readable");
        let parsed = check(&text);
        assert!(
            parsed.document.is_some(),
            "{} did not parse",
            file.display()
        );
        for diagnostic in parsed
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
        {
            failures.push(format!("{}: {diagnostic}", file.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "corpus errors:\n{}",
        failures.join("\n")
    );
}

/// Parsing keeps every field, known or not: serializing gives back the same JSON.
#[test]
fn every_corpus_pipeline_round_trips() {
    for file in corpus() {
        let text = std::fs::read_to_string(&file).expect("corpus file is readable");
        let originals: Vec<serde_json::Value> = serde_norway::Deserializer::from_str(&text)
            .map(|doc| serde::Deserialize::deserialize(doc).expect("corpus YAML is valid"))
            .collect();
        let document = parse(&text).document.expect("corpus pipeline parses");
        let spec = serde_json::to_value(&document.spec).expect("spec serializes");
        assert_eq!(spec, originals[0], "{} did not round-trip", file.display());
        if let Some(platform) = &document.platform {
            let platform = serde_json::to_value(platform).expect("platform serializes");
            assert_eq!(
                platform,
                originals[1],
                "{} platform spec did not round-trip",
                file.display()
            );
        }
    }
}

/// The REST API receives `{pipeline_spec, platform_spec}`; it must read the same as the file.
#[test]
fn api_wrapper_reads_like_the_file() {
    let file = conformance_dir().join("critical/pipeline_with_secret_as_env.yaml");
    let text = std::fs::read_to_string(file).expect("corpus file is readable");
    let from_file = parse(&text).document.expect("parses");
    let wrapper = serde_json::json!({
        "pipeline_spec": serde_json::to_value(&from_file.spec).expect("serializes"),
        "platform_spec": serde_json::to_value(from_file.platform.as_ref().expect("has a platform spec")).expect("serializes"),
    });
    let from_wrapper = weir_spec::parse_value(wrapper.clone())
        .document
        .expect("wrapper parses");
    assert_eq!(from_wrapper, from_file);
    let from_json_text = parse(&wrapper.to_string())
        .document
        .expect("JSON text parses");
    assert_eq!(from_json_text, from_file);
}
