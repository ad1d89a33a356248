//! Checks of component definitions and executors.

use super::Checker;
use crate::diagnostic::Code;
use crate::model::{
    ComponentSpec, ContainerSpec, ExecutorKind, ExecutorSpec, ImporterSpec, ParameterType,
};
use crate::placeholder::{segments, CommandItem, Placeholder, Segment};

pub(super) fn check_definitions(checker: &mut Checker<'_>, path: &str, component: &ComponentSpec) {
    for (section, definitions) in [
        ("inputDefinitions", &component.input_definitions),
        ("outputDefinitions", &component.output_definitions),
    ] {
        let Some(definitions) = definitions else {
            continue;
        };
        for (name, parameter) in &definitions.parameters {
            let parameter_path = format!("{path}.{section}.parameters.{name}");
            if definitions.artifacts.contains_key(name) {
                checker.error(
                    Code::DuplicateName,
                    parameter_path.clone(),
                    format!("`{name}` is declared both as a parameter and as an artifact"),
                    "give the parameter and the artifact different names",
                );
            }
            match &parameter.parameter_type {
                None => checker.error(
                    Code::UnknownParameterType,
                    format!("{parameter_path}.parameterType"),
                    format!("the parameter `{name}` has no `parameterType`"),
                    "use NUMBER_INTEGER, NUMBER_DOUBLE, STRING, BOOLEAN, LIST or STRUCT",
                ),
                Some(ParameterType::Unknown(type_name)) => checker.error(
                    Code::UnknownParameterType,
                    format!("{parameter_path}.parameterType"),
                    format!("`{type_name}` is not a KFP parameter type"),
                    "use NUMBER_INTEGER, NUMBER_DOUBLE, STRING, BOOLEAN, LIST, STRUCT or TASK_FINAL_STATUS",
                ),
                Some(parameter_type) => {
                    if let Some(default) = &parameter.default_value {
                        if !default.is_null() && !parameter_type.accepts(default) {
                            checker.error(
                                Code::InvalidDefault,
                                format!("{parameter_path}.defaultValue"),
                                format!("the default {default} of `{name}` is not a {parameter_type}"),
                                "change the default to a value of the declared type",
                            );
                        }
                    }
                }
            }
        }
    }
}

/// `users`: the components (and the root) whose `executorLabel` is `label`.
pub(super) fn check_executor(
    checker: &mut Checker<'_>,
    label: &str,
    executor: &ExecutorSpec,
    users: &[&ComponentSpec],
) {
    let path = format!("deploymentSpec.executors.{label}");
    match executor.kind() {
        ExecutorKind::Container(container) => {
            for component in users {
                check_container(checker, &path, container, component);
            }
            if users.is_empty() {
                check_container(checker, &path, container, &ComponentSpec::default());
            }
        }
        ExecutorKind::Importer(importer) => {
            for component in users {
                check_importer(checker, &path, importer, component);
            }
        }
        ExecutorKind::Resolver => checker.error(
            Code::UnsupportedFeature,
            format!("{path}.resolver"),
            "resolver executors are not supported (KFP's backend refuses them too)",
            "replace the resolver with an importer or a container step",
        ),
        ExecutorKind::CustomJob => checker.error(
            Code::UnsupportedFeature,
            format!("{path}.customJob"),
            "custom jobs run only on Google Cloud Vertex AI",
            "use a container component instead",
        ),
        ExecutorKind::Invalid => checker.error(
            Code::InvalidImplementation,
            path,
            "the executor must have exactly one of `container` or `importer`",
            "keep one of them",
        ),
    }
}

fn check_container(
    checker: &mut Checker<'_>,
    path: &str,
    container: &ContainerSpec,
    component: &ComponentSpec,
) {
    if container.image.trim().is_empty() {
        checker.error(
            Code::InvalidField,
            format!("{path}.container.image"),
            "the container has no image",
            "set `image`, e.g. python:3.11",
        );
    }
    let lists = [("command", &container.command), ("args", &container.args)];
    for (field, items) in lists {
        for (index, arg) in items.iter().enumerate() {
            let arg_path = format!("{path}.container.{field}[{index}]");
            match CommandItem::parse(arg) {
                Ok(item) => check_command_item(checker, &arg_path, &item, component),
                Err(error) => checker.error(
                    Code::UnknownPlaceholder,
                    arg_path,
                    error.0,
                    "write `{\"Concat\": [...]}` or `{\"IfPresent\": {\"InputName\": ..., \"Then\": [...]}}`",
                ),
            }
        }
    }
    for (index, env) in container.env.iter().enumerate() {
        if env.name.trim().is_empty() {
            checker.error(
                Code::InvalidField,
                format!("{path}.container.env[{index}].name"),
                "an environment variable has no name",
                "give every env entry a `name`",
            );
        }
    }
}

fn check_command_item(
    checker: &mut Checker<'_>,
    path: &str,
    item: &CommandItem,
    component: &ComponentSpec,
) {
    let mut texts = Vec::new();
    let mut present_checks = Vec::new();
    item.visit(&mut |t| texts.push(t.to_owned()), &mut |i| {
        present_checks.push(i.to_owned())
    });
    for input in present_checks {
        let declared = component.input_parameter(&input).is_some()
            || component.input_artifact(&input).is_some();
        if !declared {
            checker.error(
                Code::UnknownPlaceholder,
                path.to_owned(),
                format!(
                    "`IfPresent` tests the input `{input}`, which the component does not declare"
                ),
                "declare the input, or fix `InputName`",
            );
        }
    }
    for text in texts {
        for segment in segments(&text) {
            match segment {
                Segment::Text(_) => {}
                Segment::Unknown(raw) => checker.error(
                    Code::UnknownPlaceholder,
                    path.to_owned(),
                    format!("`{raw}` is not a KFP placeholder"),
                    "see docs/errors/SPEC0015.md for the placeholders KFP defines",
                ),
                Segment::Placeholder(placeholder) => {
                    if let Some(message) = undeclared(&placeholder, component) {
                        checker.error(
                            Code::UnknownPlaceholder,
                            path.to_owned(),
                            message,
                            "declare it in the component's inputDefinitions/outputDefinitions, or fix the name",
                        );
                    }
                }
            }
        }
    }
}

/// A message when a placeholder names an input or output the component does not declare.
fn undeclared(placeholder: &Placeholder, component: &ComponentSpec) -> Option<String> {
    let (kind, name, declared) = match placeholder {
        Placeholder::InputParameter(name) => (
            "input parameter",
            name,
            component.input_parameter(name).is_some(),
        ),
        Placeholder::InputArtifactPath(name)
        | Placeholder::InputArtifactUri(name)
        | Placeholder::InputArtifactMetadata(name, _)
        | Placeholder::InputArtifactList(name) => (
            "input artifact",
            name,
            component.input_artifact(name).is_some(),
        ),
        Placeholder::OutputParameterFile(name) => (
            "output parameter",
            name,
            component.output_parameter(name).is_some(),
        ),
        Placeholder::OutputArtifactPath(name)
        | Placeholder::OutputArtifactUri(name)
        | Placeholder::OutputArtifactMetadata(name, _) => (
            "output artifact",
            name,
            component.output_artifact(name).is_some(),
        ),
        _ => return None,
    };
    (!declared).then(|| {
        format!("the placeholder names the {kind} `{name}`, which the component does not declare")
    })
}

fn check_importer(
    checker: &mut Checker<'_>,
    path: &str,
    importer: &ImporterSpec,
    component: &ComponentSpec,
) {
    let uri = importer.artifact_uri.as_ref();
    let constant = uri.and_then(|u| u.constant.as_ref());
    let runtime = uri.and_then(|u| u.runtime_parameter.as_deref());
    match (constant, runtime) {
        (Some(serde_json::Value::String(_)), None) => {}
        (None, Some(name)) => {
            if component.input_parameter(name).is_none() {
                checker.error(
                    Code::InvalidImporter,
                    format!("{path}.importer.artifactUri.runtimeParameter"),
                    format!("the importer reads its URI from the input `{name}`, which the component does not declare"),
                    "declare the input parameter, or fix `runtimeParameter`",
                );
            }
        }
        _ => checker.error(
            Code::InvalidImporter,
            format!("{path}.importer.artifactUri"),
            "the importer needs `artifactUri` with a string `constant` or a `runtimeParameter`",
            "set `artifactUri: {constant: \"gs://bucket/file\"}` or `{runtimeParameter: uri}`",
        ),
    }
}
