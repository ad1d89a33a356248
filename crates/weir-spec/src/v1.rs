//! KFP v1 `component.yaml`, converted to the IR the way the `kfp` SDK converts it
//! (`kfp.dsl.structures.ComponentSpec.from_v1_component_spec`), wrapped in a one-step pipeline.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::diagnostic::{Code, Diagnostic};
use crate::model::{
    ArtifactSelector, ArtifactSpec, ArtifactTypeSchema, CachingOptions, ComponentRef,
    ComponentSpec, ContainerSpec, DagOutputArtifactSpec, DagOutputParameterSpec, DagOutputsSpec,
    DagSpec, DeploymentSpec, EnvVar, ExecutorSpec, InputArtifactSpec, InputDefinitions,
    InputParameterSpec, ParameterSelector, ParameterSpec, ParameterType, PipelineInfo,
    PipelineSpec, PipelineTaskSpec, TaskInfo, TaskInputsSpec,
};
use crate::parse::{typed, Parsed, PipelineDocument, SourceFormat};

#[derive(Debug, Deserialize)]
struct V1Component {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    inputs: Vec<V1Io>,
    #[serde(default)]
    outputs: Vec<V1Io>,
    #[serde(default)]
    implementation: Option<V1Implementation>,
}

#[derive(Debug, Deserialize)]
struct V1Io {
    name: String,
    #[serde(default, rename = "type")]
    io_type: Option<Value>,
    #[serde(default)]
    default: Option<Value>,
    #[serde(default)]
    optional: Option<bool>,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
struct V1Implementation {
    #[serde(default)]
    container: Option<V1Container>,
    #[serde(default)]
    graph: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct V1Container {
    image: String,
    #[serde(default)]
    command: Vec<Value>,
    #[serde(default)]
    args: Vec<Value>,
    #[serde(default)]
    env: BTreeMap<String, Value>,
}

/// Whether a top-level mapping is a v1 component rather than a pipeline.
pub(crate) fn looks_like_component(object: &Map<String, Value>) -> bool {
    object.contains_key("implementation")
        || (!object.contains_key("root")
            && (object.get("inputs").is_some_and(Value::is_array)
                || object.get("outputs").is_some_and(Value::is_array)))
}

/// Parses and converts a v1 component into a one-step pipeline.
pub(crate) fn parse_component(value: Value) -> Parsed {
    let mut diagnostics = Vec::new();
    let Some(component) = typed::<V1Component>(value, "", &mut diagnostics) else {
        return Parsed {
            document: None,
            diagnostics,
        };
    };
    let spec = Converter::new(&component, &mut diagnostics).convert();
    let failed = diagnostics.iter().any(Diagnostic::is_error);
    Parsed {
        document: spec.filter(|_| !failed).map(|spec| PipelineDocument {
            spec,
            platform: None,
            format: SourceFormat::V1Component,
        }),
        diagnostics,
    }
}

/// The IR type of a v1 input or output.
enum IoKind {
    Parameter(ParameterType),
    Artifact(String),
}

fn io_kind(io_type: Option<&Value>) -> IoKind {
    let Some(Value::String(name)) = io_type else {
        return IoKind::Artifact("system.Artifact".to_owned());
    };
    let name = name.strip_prefix("typing.").unwrap_or(name);
    let lower = name.to_lowercase();
    let outer = if lower.starts_with("list") || lower.starts_with("dict") {
        lower.split('[').next().unwrap_or_default().to_owned()
    } else {
        lower.clone()
    };
    let parameter = match outer.as_str() {
        "integer" | "int" => Some(ParameterType::NumberInteger),
        "double" | "float" => Some(ParameterType::NumberDouble),
        "string" | "str" | "text" => Some(ParameterType::String),
        "bool" | "boolean" => Some(ParameterType::Boolean),
        "dict" | "jsonobject" => Some(ParameterType::Struct),
        "list" | "jsonarray" => Some(ParameterType::List),
        _ => None,
    };
    if let Some(parameter) = parameter {
        return IoKind::Parameter(parameter);
    }
    if name == "PipelineTaskFinalStatus" {
        return IoKind::Parameter(ParameterType::TaskFinalStatus);
    }
    let known = [
        ("artifact", "system.Artifact"),
        ("model", "system.Model"),
        ("dataset", "system.Dataset"),
        ("metrics", "system.Metrics"),
        ("classificationmetrics", "system.ClassificationMetrics"),
        (
            "slicedclassificationmetrics",
            "system.SlicedClassificationMetrics",
        ),
        ("html", "system.HTML"),
        ("markdown", "system.Markdown"),
    ];
    let is_google_type = name.starts_with("google.")
        && name.len() > 7
        && name[7..].chars().all(|c| c.is_ascii_alphabetic());
    if is_google_type {
        return IoKind::Artifact(name.to_owned());
    }
    let title = known
        .iter()
        .find(|(key, _)| *key == lower)
        .map_or("system.Artifact", |(_, title)| title);
    IoKind::Artifact(title.to_owned())
}

/// `kfp.dsl.utils.sanitize_input_name`.
fn sanitize_input_name(name: &str) -> String {
    sanitize(name, '_', |c| {
        c.is_ascii_digit() || c.is_ascii_lowercase() || c == '_'
    })
}

/// `kfp.dsl.utils.maybe_rename_for_k8s`.
pub(crate) fn sanitize_k8s_name(name: &str) -> String {
    sanitize(name, '-', |c| {
        c.is_ascii_digit() || c.is_ascii_lowercase() || c == '-'
    })
}

fn sanitize(name: &str, separator: char, keep: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.to_lowercase().chars() {
        let c = if keep(c) { c } else { separator };
        if !(c == separator && out.ends_with(separator)) {
            out.push(c);
        }
    }
    out.trim_matches(separator).to_owned()
}

/// A v1 default is text; the SDK casts it by type (`deserialize_v1_component_yaml_default`).
fn cast_default(kind: &ParameterType, default: &Value) -> Result<Value, String> {
    let Value::String(text) = default else {
        return Ok(default.clone());
    };
    let trimmed = text.trim();
    match kind {
        ParameterType::NumberInteger => trimmed
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| format!("`{text}` is not an integer")),
        ParameterType::NumberDouble => trimmed
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| format!("`{text}` is not a number")),
        ParameterType::Boolean => match trimmed.to_lowercase().as_str() {
            "y" | "yes" | "t" | "true" | "on" | "1" => Ok(Value::Bool(true)),
            "n" | "no" | "f" | "false" | "off" | "0" => Ok(Value::Bool(false)),
            _ => Err(format!("`{text}` is not a boolean")),
        },
        ParameterType::List | ParameterType::Struct => {
            Ok(serde_json::from_str(text).unwrap_or_else(|_| default.clone()))
        }
        _ => Ok(default.clone()),
    }
}

struct Converter<'a> {
    component: &'a V1Component,
    diagnostics: &'a mut Vec<Diagnostic>,
    inputs: BTreeMap<String, IoKind>,
    outputs: BTreeMap<String, IoKind>,
}

impl<'a> Converter<'a> {
    fn new(component: &'a V1Component, diagnostics: &'a mut Vec<Diagnostic>) -> Self {
        Converter {
            component,
            diagnostics,
            inputs: BTreeMap::new(),
            outputs: BTreeMap::new(),
        }
    }

    fn convert(mut self) -> Option<PipelineSpec> {
        let component = self.component;
        let container = match &component.implementation {
            Some(V1Implementation {
                container: Some(container),
                ..
            }) => container,
            Some(V1Implementation { graph: Some(_), .. }) => {
                self.diagnostics.push(
                    Diagnostic::error(
                        Code::UnsupportedFeature,
                        "implementation.graph",
                        "v1 graph components are not supported",
                    )
                    .with_hint("recompile the graph as a pipeline with the kfp v2 SDK"),
                );
                return None;
            }
            _ => {
                self.diagnostics.push(
                    Diagnostic::error(
                        Code::InvalidImplementation,
                        "implementation",
                        "the component has no `implementation.container`",
                    )
                    .with_hint("add `implementation: {container: {image: ..., command: [...]}}`"),
                );
                return None;
            }
        };
        let input_definitions = self.definitions("inputs", &component.inputs, true);
        let output_definitions = self.definitions("outputs", &component.outputs, false);

        let mut command = Vec::new();
        for (i, item) in container.command.iter().enumerate() {
            let path = format!("implementation.container.command[{i}]");
            command.push(self.command_line(item, &path));
        }
        let mut args = Vec::new();
        for (i, item) in container.args.iter().enumerate() {
            let path = format!("implementation.container.args[{i}]");
            args.push(self.command_line(item, &path));
        }
        let env = container
            .env
            .iter()
            .map(|(name, value)| EnvVar {
                name: name.clone(),
                value: match value {
                    Value::String(s) => s.clone(),
                    other => {
                        self.command_line(other, &format!("implementation.container.env.{name}"))
                    }
                },
                extra: Default::default(),
            })
            .collect();

        let display = component
            .name
            .clone()
            .unwrap_or_else(|| "component".to_owned());
        let base = match sanitize_k8s_name(&display) {
            name if name.is_empty() => "component".to_owned(),
            name => name,
        };
        let component_name = format!("comp-{base}");
        let executor_label = format!("exec-{base}");
        let executor = ExecutorSpec {
            container: Some(ContainerSpec {
                image: container.image.clone(),
                command,
                args,
                env,
                ..Default::default()
            }),
            ..Default::default()
        };
        let task = self.task(&component_name, &input_definitions);
        let dag_outputs = self.dag_outputs(&base, &output_definitions);
        let leaf = ComponentSpec {
            input_definitions: Some(input_definitions.clone()).filter(has_any),
            output_definitions: Some(output_definitions.clone()).filter(has_any),
            executor_label: Some(executor_label.clone()),
            ..Default::default()
        };
        Some(PipelineSpec {
            pipeline_info: PipelineInfo {
                name: Some(base.clone()),
                description: component.description.clone(),
                ..Default::default()
            },
            components: BTreeMap::from([(component_name, leaf)]),
            deployment_spec: DeploymentSpec {
                executors: BTreeMap::from([(executor_label, executor)]),
                ..Default::default()
            },
            root: ComponentSpec {
                input_definitions: Some(input_definitions).filter(has_any),
                output_definitions: Some(output_definitions).filter(has_any),
                dag: Some(DagSpec {
                    tasks: BTreeMap::from([(base, task)]),
                    outputs: Some(dag_outputs)
                        .filter(|o| !o.parameters.is_empty() || !o.artifacts.is_empty()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            schema_version: Some("2.1.0".to_owned()),
            sdk_version: Some(format!("weir-{}", env!("CARGO_PKG_VERSION"))),
            ..Default::default()
        })
    }

    fn definitions(&mut self, section: &str, ios: &[V1Io], is_input: bool) -> InputDefinitions {
        let mut definitions = InputDefinitions::default();
        let mut seen = BTreeSet::new();
        for (i, io) in ios.iter().enumerate() {
            let path = format!("{section}[{i}]");
            let name = sanitize_input_name(&io.name);
            if !seen.insert(name.clone()) {
                self.diagnostics.push(
                    Diagnostic::error(
                        Code::DuplicateName,
                        format!("{path}.name"),
                        format!("{section} `{}` is declared twice", io.name),
                    )
                    .with_hint("give every input and output a distinct name"),
                );
                continue;
            }
            let kind = io_kind(io.io_type.as_ref());
            let optional = io.optional.unwrap_or(false) || io.default.is_some();
            match &kind {
                IoKind::Parameter(parameter_type) => {
                    let default_value =
                        match io.default.as_ref().map(|d| cast_default(parameter_type, d)) {
                            Some(Ok(value)) => Some(value),
                            Some(Err(message)) => {
                                self.diagnostics.push(
                                    Diagnostic::error(
                                        Code::InvalidDefault,
                                        format!("{path}.default"),
                                        message,
                                    )
                                    .with_hint(format!("give a default of type {parameter_type}")),
                                );
                                None
                            }
                            None => None,
                        };
                    definitions.parameters.insert(
                        name.clone(),
                        ParameterSpec {
                            parameter_type: Some(parameter_type.clone()),
                            default_value: default_value.filter(|_| is_input),
                            is_optional: Some(true).filter(|_| is_input && optional),
                            description: io.description.clone().filter(|_| is_input),
                            ..Default::default()
                        },
                    );
                }
                IoKind::Artifact(title) => {
                    definitions.artifacts.insert(
                        name.clone(),
                        ArtifactSpec {
                            artifact_type: ArtifactTypeSchema {
                                schema_title: Some(title.clone()),
                                schema_version: Some("0.0.1".to_owned()),
                                ..Default::default()
                            },
                            is_optional: Some(true).filter(|_| is_input && optional),
                            ..Default::default()
                        },
                    );
                }
            }
            if is_input {
                self.inputs.insert(name, kind);
            } else {
                self.outputs.insert(name, kind);
            }
        }
        definitions
    }

    /// One command or argument: a string, or a v1 placeholder structure.
    fn command_line(&mut self, item: &Value, path: &str) -> String {
        match self.placeholder(item, path) {
            Value::String(s) => s,
            structured => structured.to_string(),
        }
    }

    /// Converts a v1 placeholder into its IR form: a string, or a `Concat`/`IfPresent` object.
    fn placeholder(&mut self, item: &Value, path: &str) -> Value {
        let Value::Object(object) = item else {
            return match item {
                Value::String(_) => item.clone(),
                Value::Number(n) => Value::String(n.to_string()),
                Value::Bool(b) => Value::String(b.to_string()),
                _ => {
                    self.invalid(
                        path,
                        "a command-line item must be a string or a placeholder",
                    );
                    Value::String(String::new())
                }
            };
        };
        let Some((key, value)) = object.iter().next().filter(|_| object.len() == 1) else {
            self.invalid(path, "a placeholder is a mapping with exactly one key");
            return Value::String(String::new());
        };
        let name = value.as_str().map(sanitize_input_name);
        match (key.as_str(), name) {
            ("inputValue", Some(name)) => self.input_placeholder(&name, path, false),
            ("inputPath", Some(name)) => self.input_placeholder(&name, path, true),
            ("inputUri", Some(name)) => {
                self.require_input(&name, path);
                Value::String(format!("{{{{$.inputs.artifacts['{name}'].uri}}}}"))
            }
            ("outputPath", Some(name)) => match self.outputs.get(&name) {
                Some(IoKind::Parameter(_)) => Value::String(format!(
                    "{{{{$.outputs.parameters['{name}'].output_file}}}}"
                )),
                Some(IoKind::Artifact(_)) => {
                    Value::String(format!("{{{{$.outputs.artifacts['{name}'].path}}}}"))
                }
                None => self.unknown(Code::UnknownOutput, path, "output", &name),
            },
            ("outputUri", Some(name)) => {
                if !self.outputs.contains_key(&name) {
                    return self.unknown(Code::UnknownOutput, path, "output", &name);
                }
                Value::String(format!("{{{{$.outputs.artifacts['{name}'].uri}}}}"))
            }
            ("executorInput", _) => Value::String("{{$}}".to_owned()),
            ("concat", _) => {
                let Value::Array(items) = value else {
                    self.invalid(path, "`concat` takes a list");
                    return Value::String(String::new());
                };
                let items: Vec<Value> = items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| self.placeholder(v, &format!("{path}.concat[{i}]")))
                    .collect();
                json!({ "Concat": items })
            }
            ("if", _) => self.if_present(value, &format!("{path}.if")),
            _ => {
                self.invalid(
                    path,
                    &format!("`{key}` is not a v1 placeholder (inputValue, inputPath, inputUri, outputPath, outputUri, concat, if, executorInput)"),
                );
                Value::String(String::new())
            }
        }
    }

    fn if_present(&mut self, value: &Value, path: &str) -> Value {
        let input = value
            .pointer("/cond/isPresent")
            .and_then(Value::as_str)
            .map(sanitize_input_name);
        let Some(input) = input else {
            self.invalid(path, "`if` needs `cond: {isPresent: <input name>}`");
            return Value::String(String::new());
        };
        self.require_input(&input, &format!("{path}.cond.isPresent"));
        let mut body = Map::new();
        body.insert("InputName".to_owned(), Value::String(input));
        for (v1_key, ir_key) in [("then", "Then"), ("else", "Else")] {
            let branch_path = format!("{path}.{v1_key}");
            let converted = match value.get(v1_key) {
                None | Some(Value::Null) => continue,
                Some(Value::Array(items)) => Value::Array(
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, v)| self.placeholder(v, &format!("{branch_path}[{i}]")))
                        .collect(),
                ),
                Some(single) => self.placeholder(single, &branch_path),
            };
            body.insert(ir_key.to_owned(), converted);
        }
        json!({ "IfPresent": body })
    }

    fn input_placeholder(&mut self, name: &str, path: &str, as_path: bool) -> Value {
        match (self.inputs.get(name), as_path) {
            (Some(IoKind::Parameter(_)), false) => {
                Value::String(format!("{{{{$.inputs.parameters['{name}']}}}}"))
            }
            (Some(IoKind::Artifact(_)), true) => {
                Value::String(format!("{{{{$.inputs.artifacts['{name}'].path}}}}"))
            }
            (Some(IoKind::Parameter(_)), true) => {
                self.diagnostics.push(
                    Diagnostic::error(
                        Code::TypeMismatch,
                        path,
                        format!("`inputPath` is used with the parameter input `{name}`"),
                    )
                    .with_hint("use `inputValue` for parameters (String, Integer, ...) or give the input an artifact type"),
                );
                Value::String(String::new())
            }
            (Some(IoKind::Artifact(_)), false) => {
                self.diagnostics.push(
                    Diagnostic::error(
                        Code::TypeMismatch,
                        path,
                        format!("`inputValue` is used with the artifact input `{name}`"),
                    )
                    .with_hint("use `inputPath` for artifacts, or give the input a parameter type such as String"),
                );
                Value::String(String::new())
            }
            (None, _) => self.unknown(Code::UnknownInput, path, "input", name),
        }
    }

    fn require_input(&mut self, name: &str, path: &str) {
        if !self.inputs.contains_key(name) {
            self.unknown(Code::UnknownInput, path, "input", name);
        }
    }

    fn unknown(&mut self, code: Code, path: &str, what: &str, name: &str) -> Value {
        self.diagnostics.push(
            Diagnostic::error(
                code,
                path,
                format!("the placeholder names the {what} `{name}`, which is not declared"),
            )
            .with_hint(format!("declare `{name}` under `{what}s`, or fix the name")),
        );
        Value::String(String::new())
    }

    fn invalid(&mut self, path: &str, message: &str) {
        self.diagnostics.push(
            Diagnostic::error(Code::UnknownPlaceholder, path, message)
                .with_hint("see the KFP v1 component.yaml reference for the placeholder forms"),
        );
    }

    fn task(&self, component_name: &str, definitions: &InputDefinitions) -> PipelineTaskSpec {
        let parameters = definitions
            .parameters
            .keys()
            .map(|name| {
                let spec = InputParameterSpec {
                    component_input_parameter: Some(name.clone()),
                    ..Default::default()
                };
                (name.clone(), spec)
            })
            .collect();
        let artifacts = definitions
            .artifacts
            .keys()
            .map(|name| {
                let spec = InputArtifactSpec {
                    component_input_artifact: Some(name.clone()),
                    ..Default::default()
                };
                (name.clone(), spec)
            })
            .collect();
        let base = component_name.trim_start_matches("comp-").to_owned();
        PipelineTaskSpec {
            task_info: Some(TaskInfo {
                name: Some(base),
                ..Default::default()
            }),
            component_ref: ComponentRef {
                name: component_name.to_owned(),
                ..Default::default()
            },
            inputs: Some(TaskInputsSpec {
                parameters,
                artifacts,
                ..Default::default()
            })
            .filter(|i| !i.parameters.is_empty() || !i.artifacts.is_empty()),
            caching_options: Some(CachingOptions {
                enable_cache: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn dag_outputs(&self, task: &str, definitions: &InputDefinitions) -> DagOutputsSpec {
        let parameters = definitions
            .parameters
            .keys()
            .map(|name| {
                let selector = ParameterSelector {
                    producer_subtask: task.to_owned(),
                    output_parameter_key: name.clone(),
                    ..Default::default()
                };
                let spec = DagOutputParameterSpec {
                    value_from_parameter: Some(selector),
                    ..Default::default()
                };
                (name.clone(), spec)
            })
            .collect();
        let artifacts = definitions
            .artifacts
            .keys()
            .map(|name| {
                let selector = ArtifactSelector {
                    producer_subtask: task.to_owned(),
                    output_artifact_key: name.clone(),
                    ..Default::default()
                };
                (
                    name.clone(),
                    DagOutputArtifactSpec {
                        artifact_selectors: vec![selector],
                        ..Default::default()
                    },
                )
            })
            .collect();
        DagOutputsSpec {
            parameters,
            artifacts,
            ..Default::default()
        }
    }
}

fn has_any(definitions: &InputDefinitions) -> bool {
    !definitions.parameters.is_empty() || !definitions.artifacts.is_empty()
}
