//! The README's demo: the digits pipeline (scikit-learn, a ParallelFor sweep, fan-in, an If)
//! runs to SUCCEEDED and produces its metrics and model.

use std::path::Path;

use serde_json::Value;

use crate::weir;

#[test]
fn digits_demo_runs_end_to_end() {
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/weir-tests");
    let data = target.join("demo-digits");
    if data.exists() {
        let _ = std::process::Command::new("chmod")
            .arg("-R")
            .arg("u+w")
            .arg(&data)
            .status();
        std::fs::remove_dir_all(&data).expect("old demo data removed");
    }
    std::fs::create_dir_all(&data).expect("data dir");
    let shared_envs = target.join("pyenvs");
    std::fs::create_dir_all(&shared_envs).expect("env cache");
    std::os::unix::fs::symlink(
        std::fs::canonicalize(&shared_envs).expect("canonical"),
        data.join("pyenvs"),
    )
    .expect("link");
    let pipeline = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/digits/digits.yaml");
    let output = weir()
        .arg("--data-dir")
        .arg(&data)
        .arg("run")
        .arg(&pipeline)
        .args(["--output", "json"])
        .output()
        .expect("weir runs");
    let run: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&output.stderr)));
    assert_eq!(
        run["state"],
        "SUCCEEDED",
        "{}",
        serde_json::to_string_pretty(&run["tasks"]).unwrap_or_default()
    );
    let tasks = run["tasks"].as_array().expect("tasks");
    let trainings: Vec<&Value> = tasks
        .iter()
        .filter(|t| t["name"] == "train-and-evaluate")
        .collect();
    assert_eq!(trainings.len(), 4, "one training per config");
    for training in &trainings {
        let metrics = &training["outputs"]["artifacts"]["metrics"][0]["metadata"];
        let accuracy = metrics["accuracy"].as_f64().expect("accuracy logged");
        assert!((0.5..=1.0).contains(&accuracy), "{accuracy}");
        let classification = &training["outputs"]["artifacts"]["classification"][0]["metadata"];
        assert_eq!(
            classification["confusionMatrix"]["rows"]
                .as_array()
                .map(Vec::len),
            Some(10)
        );
        assert!(classification["confidenceMetrics"]
            .as_array()
            .is_some_and(|c| !c.is_empty()));
    }
    let best = tasks
        .iter()
        .find(|t| t["name"] == "pick-best")
        .expect("pick-best");
    let best_accuracy = best["outputs"]["parameters"]["best_accuracy"]
        .as_f64()
        .expect("best accuracy");
    assert!(best_accuracy > 0.9);
    let register = tasks
        .iter()
        .find(|t| t["name"] == "register-model")
        .expect("register-model");
    assert_eq!(register["state"], "SUCCEEDED");
    let card = register["outputs"]["artifacts"]["model_card"][0]["uri"]
        .as_str()
        .expect("model card");
    assert!(std::fs::read_to_string(card)
        .expect("card written")
        .contains("digits"));
    let rejection = tasks
        .iter()
        .find(|t| t["name"] == "condition-4")
        .expect("else branch");
    assert_eq!(rejection["state"], "SKIPPED");
}
