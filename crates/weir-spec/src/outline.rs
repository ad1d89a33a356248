//! A readable outline of a pipeline: inputs, outputs and the task tree, as `weir inspect`
//! prints it (text tree, JSON or Graphviz DOT).

use std::collections::BTreeSet;
use std::fmt::Write;

use serde::Serialize;
use serde_json::Value;

use crate::model::{
    protojson_numbers, ComponentSpec, ExecutorKind, PipelineSpec, PipelineTaskSpec,
};
use crate::parse::{PipelineDocument, SourceFormat};

/// Components nest at most this deep in an outline; deeper ones are cut with a note.
const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, Serialize)]
pub struct Outline {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub format: SourceFormat,
    pub inputs: Vec<Io>,
    pub outputs: Vec<Io>,
    pub tasks: Vec<TaskOutline>,
}

/// A pipeline input or output.
#[derive(Debug, Clone, Serialize)]
pub struct Io {
    pub name: String,
    /// `parameter` or `artifact`.
    pub kind: &'static str,
    /// `NUMBER_INTEGER`, `system.Dataset`, ...
    #[serde(rename = "type")]
    pub type_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    pub optional: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    Container,
    Importer,
    Pipeline,
    Condition,
    ConditionBranches,
    Loop,
    ExitHandler,
    /// The component is missing, recursive or nested too deeply.
    Unresolved,
}

impl TaskKind {
    fn label(self) -> &'static str {
        match self {
            TaskKind::Container => "container",
            TaskKind::Importer => "importer",
            TaskKind::Pipeline => "pipeline",
            TaskKind::Condition => "condition",
            TaskKind::ConditionBranches => "if/elif/else",
            TaskKind::Loop => "parallel-for",
            TaskKind::ExitHandler => "exit-handler",
            TaskKind::Unresolved => "unresolved",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TaskOutline {
    /// The task's key in its DAG.
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    pub kind: TaskKind,
    pub component: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loop_items: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parallelism: Option<i64>,
    /// Runs once upstream tasks finish in any state (exit handlers, ignore_upstream_failure).
    pub runs_on_upstream_failure: bool,
    pub cache: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_retries: Option<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<TaskOutline>,
}

/// Builds the outline of a parsed pipeline. Works on invalid specs too (missing pieces show up
/// as `unresolved`).
pub fn outline(document: &PipelineDocument) -> Outline {
    let spec = &document.spec;
    let mut stack = BTreeSet::new();
    Outline {
        name: spec.name().to_owned(),
        description: spec.pipeline_info.description.clone(),
        format: document.format,
        inputs: ios(&spec.root, true),
        outputs: ios(&spec.root, false),
        tasks: dag_tasks(spec, &spec.root, &mut stack),
    }
}

fn ios(component: &ComponentSpec, inputs: bool) -> Vec<Io> {
    let definitions = if inputs {
        &component.input_definitions
    } else {
        &component.output_definitions
    };
    let Some(definitions) = definitions else {
        return Vec::new();
    };
    let parameters = definitions.parameters.iter().map(|(name, p)| Io {
        name: name.clone(),
        kind: "parameter",
        type_name: p
            .parameter_type
            .as_ref()
            .map_or_else(|| "?".to_owned(), |t| t.to_string()),
        default: p.default_value.as_ref().map(protojson_numbers),
        optional: p.is_optional(),
    });
    let artifacts = definitions.artifacts.iter().map(|(name, a)| Io {
        name: name.clone(),
        kind: "artifact",
        type_name: a.artifact_type.title().to_owned(),
        default: None,
        optional: a.is_optional.unwrap_or(false),
    });
    parameters.chain(artifacts).collect()
}

fn dag_tasks<'a>(
    spec: &'a PipelineSpec,
    component: &'a ComponentSpec,
    stack: &mut BTreeSet<&'a str>,
) -> Vec<TaskOutline> {
    let Some(dag) = &component.dag else {
        return Vec::new();
    };
    topological(dag.tasks.iter().map(|(n, t)| (n.as_str(), t)).collect())
        .into_iter()
        .map(|(name, task)| task_outline(spec, name, task, stack))
        .collect()
}

/// Orders tasks so that each comes after its upstream tasks (ties by name); cycles keep name order.
fn topological<'a>(
    mut pending: Vec<(&'a str, &'a PipelineTaskSpec)>,
) -> Vec<(&'a str, &'a PipelineTaskSpec)> {
    let names: BTreeSet<&str> = pending.iter().map(|(n, _)| *n).collect();
    let mut placed: BTreeSet<&str> = BTreeSet::new();
    let mut ordered = Vec::with_capacity(pending.len());
    while !pending.is_empty() {
        let ready = pending.iter().position(|(_, task)| {
            task.upstream_tasks()
                .iter()
                .all(|u| placed.contains(u) || !names.contains(u))
        });
        let (name, task) = pending.remove(ready.unwrap_or(0));
        placed.insert(name);
        ordered.push((name, task));
    }
    ordered
}

fn task_outline<'a>(
    spec: &'a PipelineSpec,
    name: &str,
    task: &'a PipelineTaskSpec,
    stack: &mut BTreeSet<&'a str>,
) -> TaskOutline {
    let component_name = task.component_ref.name.as_str();
    let component = spec.component(component_name);
    let mut image = None;
    let mut children = Vec::new();
    let kind = match component {
        None => TaskKind::Unresolved,
        Some(c) if c.dag.is_some() => {
            if stack.len() >= MAX_DEPTH || !stack.insert(component_name) {
                TaskKind::Unresolved
            } else {
                children = dag_tasks(spec, c, stack);
                stack.remove(component_name);
                dag_kind(component_name, task)
            }
        }
        Some(c) => match c
            .executor_label
            .as_deref()
            .and_then(|l| spec.executor(l))
            .map(|e| e.kind())
        {
            Some(ExecutorKind::Container(container)) => {
                image = Some(container.image.clone());
                TaskKind::Container
            }
            Some(ExecutorKind::Importer(_)) => TaskKind::Importer,
            _ => TaskKind::Unresolved,
        },
    };
    let loop_items = task.parameter_iterator.as_ref().map(|iterator| {
        match (&iterator.items.raw, &iterator.items.input_parameter) {
            (Some(raw), _) => raw.clone(),
            (None, Some(input)) => format!("input {input}"),
            (None, None) => "?".to_owned(),
        }
    });
    TaskOutline {
        name: name.to_owned(),
        display_name: task
            .display_name()
            .filter(|d| *d != name)
            .map(str::to_owned),
        kind,
        component: component_name.to_owned(),
        image,
        depends_on: task
            .upstream_tasks()
            .into_iter()
            .map(str::to_owned)
            .collect(),
        condition: task.condition().map(str::to_owned),
        loop_items,
        parallelism: task
            .iterator_policy
            .as_ref()
            .and_then(|p| p.parallelism_limit)
            .filter(|p| *p > 0),
        runs_on_upstream_failure: task.runs_after_upstream_completes(),
        cache: task.cache_enabled(),
        max_retries: task.retry_policy.as_ref().and_then(|r| r.max_retry_count),
        children,
    }
}

fn dag_kind(component_name: &str, task: &PipelineTaskSpec) -> TaskKind {
    let base = component_name
        .strip_prefix("comp-")
        .unwrap_or(component_name);
    if task.parameter_iterator.is_some() || task.artifact_iterator.is_some() {
        TaskKind::Loop
    } else if base.starts_with("condition-branches-") {
        TaskKind::ConditionBranches
    } else if base.starts_with("condition-") || task.condition().is_some() {
        TaskKind::Condition
    } else if base.starts_with("exit-handler-") {
        TaskKind::ExitHandler
    } else {
        TaskKind::Pipeline
    }
}

impl Outline {
    /// The outline as an indented text tree.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "pipeline {}",
            if self.name.is_empty() {
                "(unnamed)"
            } else {
                &self.name
            }
        );
        if let Some(description) = &self.description {
            let _ = writeln!(out, "  {}", description.lines().next().unwrap_or_default());
        }
        for (title, ios) in [("inputs", &self.inputs), ("outputs", &self.outputs)] {
            let _ = writeln!(out, "{title}:");
            if ios.is_empty() {
                let _ = writeln!(out, "  (none)");
            }
            for io in ios {
                let default = match &io.default {
                    Some(value) => format!(" = {value}"),
                    None if io.optional => " (optional)".to_owned(),
                    None if title == "inputs" => " (required)".to_owned(),
                    None => String::new(),
                };
                let _ = writeln!(out, "  {}: {}{default}", io.name, io.type_name);
            }
        }
        let _ = writeln!(out, "tasks:");
        write_tasks(&mut out, &self.tasks, "");
        out
    }

    /// The task graph in Graphviz DOT: DAG tasks become clusters.
    pub fn to_dot(&self) -> String {
        let mut out =
            String::from("digraph pipeline {\n  rankdir=TB;\n  node [shape=box, style=rounded];\n");
        write_dot(&mut out, &self.tasks, "", 1);
        out.push_str("}\n");
        out
    }
}

fn write_tasks(out: &mut String, tasks: &[TaskOutline], indent: &str) {
    for (index, task) in tasks.iter().enumerate() {
        let last = index + 1 == tasks.len();
        let (branch, child_indent) = if last {
            ("└─ ", "   ")
        } else {
            ("├─ ", "│  ")
        };
        let mut line = format!("{indent}{branch}{}", task.name);
        if let Some(display) = &task.display_name {
            let _ = write!(line, " \"{display}\"");
        }
        let _ = write!(line, " [{}", task.kind.label());
        if let Some(image) = &task.image {
            let _ = write!(line, " {image}");
        }
        line.push(']');
        if !task.depends_on.is_empty() {
            let _ = write!(line, " after {}", task.depends_on.join(", "));
        }
        if let Some(items) = &task.loop_items {
            let _ = write!(line, " for each of {items}");
        }
        if let Some(parallelism) = task.parallelism {
            let _ = write!(line, " (parallelism {parallelism})");
        }
        if let Some(condition) = &task.condition {
            let _ = write!(line, " if {condition}");
        }
        if task.runs_on_upstream_failure {
            line.push_str(" (runs even if upstream fails)");
        }
        if let Some(retries) = task.max_retries {
            let _ = write!(line, " (retries {retries})");
        }
        let _ = writeln!(out, "{line}");
        write_tasks(out, &task.children, &format!("{indent}{child_indent}"));
    }
}

fn dot_id(scope: &str, name: &str) -> String {
    let id = if scope.is_empty() {
        name.to_owned()
    } else {
        format!("{scope}/{name}")
    };
    format!("\"{}\"", id.replace('\\', "\\\\").replace('"', "\\\""))
}

fn dot_label(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

fn write_dot(out: &mut String, tasks: &[TaskOutline], scope: &str, depth: usize) {
    let pad = "  ".repeat(depth);
    for task in tasks {
        let id = dot_id(scope, &task.name);
        let label = dot_label(task.display_name.as_deref().unwrap_or(&task.name));
        if task.children.is_empty() {
            let _ = writeln!(
                out,
                "{pad}{id} [label=\"{label}\\n{}\"];",
                task.kind.label()
            );
        } else {
            let inner_scope = if scope.is_empty() {
                task.name.clone()
            } else {
                format!("{scope}/{}", task.name)
            };
            let cluster = dot_label(&inner_scope);
            let _ = writeln!(out, "{pad}subgraph \"cluster_{cluster}\" {{");
            let _ = writeln!(out, "{pad}  label=\"{label} ({})\";", task.kind.label());
            let _ = writeln!(out, "{pad}  {id} [label=\"{label}\", shape=point];");
            write_dot(out, &task.children, &inner_scope, depth + 1);
            let _ = writeln!(out, "{pad}}}");
        }
        for upstream in &task.depends_on {
            let _ = writeln!(out, "{pad}{} -> {id};", dot_id(scope, upstream));
        }
    }
}
