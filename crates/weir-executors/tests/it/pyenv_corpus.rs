//! `PythonEnvs::requirements` on every executor of the KFP conformance corpus.

use std::path::Path;

use serde::Deserialize as _;
use weir_executors::{PipInstall, PythonEnvs, Requirements};

use crate::common::conformance_dir;

const TYPING_EXTENSIONS: &str = "typing-extensions>=3.7.4,<5; python_version<\"3.9\"";
const PYPI_INDEX: [&str; 4] = [
    "--index-url",
    "https://pypi.org/simple",
    "--trusted-host",
    "https://pypi.org/simple",
];

struct Executor {
    file: String,
    name: String,
    argv: Vec<String>,
}

fn strings(value: Option<&serde_norway::Value>) -> Vec<String> {
    value
        .and_then(serde_norway::Value::as_sequence)
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Every container executor of every pipeline in the corpus, as command + args.
fn corpus_executors() -> Vec<Executor> {
    let root = conformance_dir();
    let mut executors = Vec::new();
    let mut pending = vec![root.clone()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir)
            .expect("corpus folder is readable")
            .flatten()
        {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "yaml") {
                executors.extend(file_executors(&root, &path));
            }
        }
    }
    executors.sort_by(|a, b| (&a.file, &a.name).cmp(&(&b.file, &b.name)));
    executors
}

fn file_executors(root: &Path, path: &Path) -> Vec<Executor> {
    let text = std::fs::read_to_string(path).expect("corpus file is readable");
    let file = path
        .strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned();
    let mut executors = Vec::new();
    for document in serde_norway::Deserializer::from_str(&text) {
        let value = serde_norway::Value::deserialize(document).expect("corpus YAML is valid");
        let Some(map) = value
            .get("deploymentSpec")
            .and_then(|spec| spec.get("executors"))
            .and_then(serde_norway::Value::as_mapping)
        else {
            continue;
        };
        for (name, executor) in map {
            let Some(container) = executor.get("container") else {
                continue;
            };
            let mut argv = strings(container.get("command"));
            argv.extend(strings(container.get("args")));
            executors.push(Executor {
                file: file.clone(),
                name: name.as_str().unwrap_or_default().to_owned(),
                argv,
            });
        }
    }
    executors
}

fn find<'a>(executors: &'a [Executor], file: &str, name: &str) -> &'a Executor {
    executors
        .iter()
        .find(|executor| executor.file == file && executor.name == name)
        .unwrap_or_else(|| panic!("{file} has no executor {name}"))
}

fn install(options: &[&str], specs: &[&str]) -> PipInstall {
    PipInstall {
        options: options.iter().map(|option| (*option).to_owned()).collect(),
        specs: specs.iter().map(|spec| (*spec).to_owned()).collect(),
    }
}

#[test]
fn every_pip_preamble_in_the_corpus_is_understood() {
    let executors = corpus_executors();
    let mut with_pip = 0;
    for executor in &executors {
        let has_pip_line = executor
            .argv
            .iter()
            .any(|arg| arg.contains("-m pip install"));
        let found = PythonEnvs::requirements(&executor.argv);
        let context = format!("{} {}", executor.file, executor.name);
        if !has_pip_line {
            assert_eq!(found, None, "{context}");
            continue;
        }
        with_pip += 1;
        let found = found.unwrap_or_else(|| panic!("{context}: preamble not understood"));
        for pip in &found.installs {
            assert!(!pip.specs.is_empty(), "{context}");
            assert!(
                pip.specs.iter().all(|spec| !spec.starts_with('-')),
                "{context}"
            );
            assert!(
                pip.options
                    .iter()
                    .all(|option| option != "--quiet" && option != "--no-warn-script-location"),
                "{context}"
            );
        }
        let installs_kfp = found
            .installs
            .iter()
            .flat_map(|pip| &pip.specs)
            .any(|spec| spec.starts_with("kfp=="));
        assert_eq!(installs_kfp, !found.script_creates_venv, "{context}");
    }
    assert!(
        with_pip >= 100,
        "only {with_pip} executors install packages"
    );
}

#[test]
fn plain_kfp_component() {
    let executors = corpus_executors();
    let executor = find(&executors, "critical/add_numbers.yaml", "exec-add-numbers");
    let kfp_version = executor
        .argv
        .iter()
        .find_map(|arg| arg.split("'kfp==").nth(1))
        .and_then(|rest| rest.split('\'').next())
        .expect("the preamble pins kfp");
    let kfp = format!("kfp=={kfp_version}");
    assert_eq!(
        PythonEnvs::requirements(&executor.argv),
        Some(Requirements {
            installs: vec![install(&["--no-deps"], &[&kfp, TYPING_EXTENSIONS])],
            script_creates_venv: false,
        })
    );
}

#[test]
fn packages_to_install_with_index_urls() {
    let executors = corpus_executors();
    let executor = find(
        &executors,
        "essential/component_with_pip_index_urls.yaml",
        "exec-component-op",
    );
    assert_eq!(
        PythonEnvs::requirements(&executor.argv),
        Some(Requirements {
            installs: vec![
                install(&PYPI_INDEX, &["yapf"]),
                install(
                    &[&PYPI_INDEX[..], &["--no-deps"]].concat(),
                    &["kfp==2.14.3", TYPING_EXTENSIONS]
                ),
            ],
            script_creates_venv: false,
        })
    );
}

#[test]
fn several_packages_before_kfp() {
    let executors = corpus_executors();
    let executor = find(
        &executors,
        "critical/notebook_component_simple.yaml",
        "exec-run-train-notebook",
    );
    assert_eq!(
        PythonEnvs::requirements(&executor.argv),
        Some(Requirements {
            installs: vec![
                install(
                    &[],
                    &[
                        "nbclient>=0.10,<1",
                        "ipykernel>=6,<7",
                        "jupyter_client>=7,<9"
                    ]
                ),
                install(&["--no-deps"], &["kfp==2.14.2", TYPING_EXTENSIONS]),
            ],
            script_creates_venv: false,
        })
    );
}

#[test]
fn packages_after_kfp() {
    let executors = corpus_executors();
    let executor = executors
        .iter()
        .find(|executor| {
            executor.file == "essential/iris_pipeline_compiled.yaml"
                && executor.argv.iter().any(|arg| arg.contains("scikit-learn"))
        })
        .expect("the iris pipeline installs scikit-learn");
    assert_eq!(
        PythonEnvs::requirements(&executor.argv),
        Some(Requirements {
            installs: vec![
                install(&["--no-deps"], &["kfp==2.14.3", TYPING_EXTENSIONS]),
                install(&[], &["pandas==2.2.0", "scikit-learn==1.4.0"]),
            ],
            script_creates_venv: false,
        })
    );
}

#[test]
fn component_with_its_own_venv() {
    let executors = corpus_executors();
    let executor = find(
        &executors,
        "essential/component_with_pip_install_in_venv.yaml",
        "exec-component-with-pip-install",
    );
    assert_eq!(
        PythonEnvs::requirements(&executor.argv),
        Some(Requirements {
            installs: vec![install(&PYPI_INDEX, &["yapf"])],
            script_creates_venv: true,
        })
    );
}

#[test]
fn containerized_components_need_no_env() {
    let executors = corpus_executors();
    let containerized: Vec<_> = executors
        .iter()
        .filter(|executor| executor.file == "critical/two_step_pipeline_containerized.yaml")
        .collect();
    assert!(!containerized.is_empty());
    for executor in containerized {
        assert_eq!(PythonEnvs::requirements(&executor.argv), None);
    }
}
