//! The graph of a run (or of a pipeline version, without executions), as nested boxes.
//!
//! Each DAG is laid out in topological layers: a task sits one layer below the deepest task it
//! waits for. Nested pipelines, conditions and loops are groups (`<details>`, so collapsing
//! needs no script); a loop lists its iterations, as boxes when there are few and as small
//! chips when there are many, so a run of thousands of tasks stays a page of plain HTML. The
//! walk produces a flat list of items that one non-recursive template renders, which keeps
//! askama's escaping on every text.

use std::collections::{BTreeMap, HashMap, HashSet};

use weir_spec::model::{ComponentSpec, PipelineSpec, PipelineTaskSpec};
use weir_store::Task;
use weir_types::{TaskKind, TaskState};

use super::format;

/// The path of a run's root DAG execution.
const ROOT_PATH: &str = "root";
/// Loops with at most this many iterations show each one as a box; more become chips.
const INLINE_ITERATIONS: usize = 20;
/// Graphs with at most this many executions start with every group open.
const OPEN_ALL_BELOW: usize = 300;
/// The failed-first list shows at most this many steps.
const LIST_LIMIT: usize = 200;

pub struct NodeView {
    /// The task's key in its DAG; edges name their upstream tasks by it.
    pub key: String,
    pub label: String,
    pub path: String,
    /// Empty when the task has no execution (yet).
    pub task_id: String,
    pub state: String,
    pub state_class: String,
    pub kind: &'static str,
    /// The keys of the sibling tasks this one waits for, space-separated.
    pub deps: String,
    pub duration: String,
    pub summary: String,
}

pub struct Chip {
    pub label: String,
    pub task_id: String,
    pub state: String,
    pub state_class: String,
}

pub enum GraphItem {
    DagOpen,
    DagClose,
    LayerOpen,
    LayerClose,
    Node(NodeView),
    /// A group and whether it starts open.
    GroupOpen(NodeView, bool),
    GroupClose,
    Chips(Vec<Chip>),
    Note(String),
}

/// A step in the failed-first list.
pub struct ListEntry {
    pub label: String,
    pub path: String,
    pub task_id: String,
    pub state: String,
    pub state_class: String,
    pub duration: String,
}

pub struct Graph {
    pub items: Vec<GraphItem>,
    pub steps: Vec<ListEntry>,
    /// Steps left out of `steps`.
    pub more_steps: usize,
}

/// Builds the graph of `spec` with the executions in `tasks`. `focus` (a task path) opens the
/// groups around it.
pub fn build(spec: Option<&PipelineSpec>, tasks: &[Task], focus: Option<&str>) -> Graph {
    let mut walk = Walk {
        spec,
        by_path: tasks.iter().map(|t| (t.path.as_str(), t)).collect(),
        children: children_by_parent(tasks),
        open: open_paths(tasks, focus),
        open_all: tasks.len() <= OPEN_ALL_BELOW,
        items: Vec::new(),
    };
    match spec {
        Some(spec) => walk.dag(&spec.root, ROOT_PATH),
        None => match tasks.iter().find(|t| t.parent_id.is_none()) {
            Some(root) => walk.executions(root),
            None => walk.items.push(GraphItem::Note("no tasks yet".to_owned())),
        },
    }
    let (steps, more_steps) = failed_first(tasks);
    Graph {
        items: walk.items,
        steps,
        more_steps,
    }
}

fn children_by_parent(tasks: &[Task]) -> HashMap<String, Vec<&Task>> {
    let mut children: HashMap<String, Vec<&Task>> = HashMap::new();
    for task in tasks {
        if let Some(parent) = task.parent_id {
            children.entry(parent.to_string()).or_default().push(task);
        }
    }
    for list in children.values_mut() {
        list.sort_by_key(|t| (t.iteration_index, t.path.clone()));
    }
    children
}

/// Every group path that holds a failed or running task, or the focused one.
fn open_paths(tasks: &[Task], focus: Option<&str>) -> HashSet<String> {
    let hot = tasks
        .iter()
        .filter(|t| matches!(t.state, TaskState::Failed | TaskState::Running))
        .map(|t| t.path.as_str())
        .chain(focus);
    let mut open = HashSet::new();
    for path in hot {
        for (cut, c) in path.char_indices() {
            if c == '/' || c == '[' {
                open.insert(path[..cut].to_owned());
            }
        }
        open.insert(path.to_owned());
    }
    open
}

struct Walk<'a> {
    spec: Option<&'a PipelineSpec>,
    by_path: HashMap<&'a str, &'a Task>,
    children: HashMap<String, Vec<&'a Task>>,
    open: HashSet<String>,
    open_all: bool,
    items: Vec<GraphItem>,
}

impl<'a> Walk<'a> {
    fn dag(&mut self, component: &'a ComponentSpec, path: &str) {
        let Some(dag) = &component.dag else {
            return;
        };
        self.items.push(GraphItem::DagOpen);
        let dependencies: Vec<(String, Vec<String>)> = dag
            .tasks
            .iter()
            .map(|(key, task)| {
                let upstream = task.upstream_tasks().into_iter().map(str::to_owned);
                (key.clone(), upstream.collect())
            })
            .collect();
        for layer in assign_layers(&dependencies) {
            self.items.push(GraphItem::LayerOpen);
            for key in layer {
                if let Some(task) = dag.tasks.get(&key) {
                    self.task(&key, task, &format!("{path}/{key}"));
                }
            }
            self.items.push(GraphItem::LayerClose);
        }
        self.items.push(GraphItem::DagClose);
    }

    fn task(&mut self, key: &str, spec: &'a PipelineTaskSpec, path: &str) {
        let execution = self.by_path.get(path).copied();
        let component = self
            .spec
            .and_then(|s| s.component(&spec.component_ref.name));
        let is_loop = spec.parameter_iterator.is_some() || spec.artifact_iterator.is_some();
        let body = component.filter(|c| c.dag.is_some());
        let kind = match (is_loop, body, execution.map(|e| e.kind)) {
            (true, _, _) => "loop",
            (false, Some(_), _) => "dag",
            (false, None, Some(TaskKind::Importer)) => "importer",
            _ => "step",
        };
        let mut node = node_view(key, spec.display_name().unwrap_or(key), path, execution);
        node.kind = kind;
        node.deps = spec.upstream_tasks().join(" ");
        let Some(body) = body else {
            self.items.push(GraphItem::Node(node));
            return;
        };
        if is_loop {
            let iterations = execution
                .and_then(|e| self.children.get(&e.id.to_string()))
                .cloned()
                .unwrap_or_default();
            node.summary = iteration_summary(&iterations);
            self.group(node, |walk| walk.iterations(body, path, &iterations));
        } else {
            self.group(node, |walk| walk.dag(body, path));
        }
    }

    fn group(&mut self, node: NodeView, inside: impl FnOnce(&mut Self)) {
        let open = self.open_all || self.open.contains(&node.path);
        self.items.push(GraphItem::GroupOpen(node, open));
        inside(self);
        self.items.push(GraphItem::GroupClose);
    }

    fn iterations(&mut self, body: &'a ComponentSpec, path: &str, iterations: &[&'a Task]) {
        if iterations.is_empty() {
            self.items
                .push(GraphItem::Note("each iteration runs:".to_owned()));
            self.dag(body, &format!("{path}[0]"));
            return;
        }
        let inline = iterations.len() <= INLINE_ITERATIONS;
        if !inline {
            let chips = iterations.iter().map(|t| chip(t)).collect();
            self.items.push(GraphItem::Chips(chips));
        }
        for iteration in iterations {
            if !inline && !self.open.contains(&iteration.path) {
                continue;
            }
            let mut node = node_view(
                &iteration.name,
                &iteration.display_name,
                &iteration.path,
                Some(iteration),
            );
            node.kind = "iteration";
            self.group(node, |walk| walk.dag(body, &iteration.path));
        }
    }

    /// Without a spec: the executions under `parent`, in one layer.
    fn executions(&mut self, parent: &'a Task) {
        let children = self
            .children
            .get(&parent.id.to_string())
            .cloned()
            .unwrap_or_default();
        self.items.push(GraphItem::DagOpen);
        self.items.push(GraphItem::LayerOpen);
        for child in children {
            let mut node = node_view(&child.name, &child.display_name, &child.path, Some(child));
            if child.kind.is_dag_like() {
                node.kind = "dag";
                self.group(node, |walk| walk.executions(child));
            } else {
                self.items.push(GraphItem::Node(node));
            }
        }
        self.items.push(GraphItem::LayerClose);
        self.items.push(GraphItem::DagClose);
    }
}

fn node_view(key: &str, label: &str, path: &str, execution: Option<&Task>) -> NodeView {
    let state = execution.map(|t| t.state.as_str()).unwrap_or("NOT_STARTED");
    NodeView {
        key: key.to_owned(),
        label: execution
            .map(|t| t.display_name.clone())
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| label.to_owned()),
        path: path.to_owned(),
        task_id: execution.map(|t| t.id.to_string()).unwrap_or_default(),
        state: state.to_owned(),
        state_class: format::state_class(state),
        kind: "step",
        deps: String::new(),
        duration: execution
            .map(|t| format::duration(t.started_at, t.finished_at))
            .unwrap_or_default(),
        summary: String::new(),
    }
}

fn chip(task: &Task) -> Chip {
    Chip {
        label: task
            .iteration_index
            .map(|i| i.to_string())
            .unwrap_or_else(|| task.display_name.clone()),
        task_id: task.id.to_string(),
        state: task.state.as_str().to_owned(),
        state_class: format::state_class(task.state.as_str()),
    }
}

fn iteration_summary(iterations: &[&Task]) -> String {
    let count = |state: TaskState| iterations.iter().filter(|t| t.state == state).count();
    let mut parts = vec![format!("{} iterations", iterations.len())];
    for (state, word) in [
        (TaskState::Failed, "failed"),
        (TaskState::Running, "running"),
        (TaskState::Succeeded, "succeeded"),
    ] {
        let n = count(state);
        if n > 0 {
            parts.push(format!("{n} {word}"));
        }
    }
    parts.join(" · ")
}

/// Topological layers: a key is one layer below the deepest key it depends on (Kahn's
/// algorithm). Dependencies on unknown keys are ignored; keys on a cycle (which validation
/// refuses) land in the first layer. Keys within a layer keep the input's order.
pub fn assign_layers(dependencies: &[(String, Vec<String>)]) -> Vec<Vec<String>> {
    let index: HashMap<&str, usize> = dependencies
        .iter()
        .enumerate()
        .map(|(i, (key, _))| (key.as_str(), i))
        .collect();
    let mut waiting_on = vec![0usize; dependencies.len()];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); dependencies.len()];
    for (i, (_, deps)) in dependencies.iter().enumerate() {
        let known: HashSet<usize> = deps
            .iter()
            .filter_map(|d| index.get(d.as_str()).copied())
            .collect();
        waiting_on[i] = known.len();
        for upstream in known {
            dependents[upstream].push(i);
        }
    }
    let mut depth = vec![0usize; dependencies.len()];
    let mut ready: Vec<usize> = (0..dependencies.len())
        .filter(|&i| waiting_on[i] == 0)
        .collect();
    while let Some(done) = ready.pop() {
        for &next in &dependents[done] {
            depth[next] = depth[next].max(depth[done] + 1);
            waiting_on[next] -= 1;
            if waiting_on[next] == 0 {
                ready.push(next);
            }
        }
    }
    let mut layers: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for (i, (key, _)) in dependencies.iter().enumerate() {
        let layer = if waiting_on[i] == 0 { depth[i] } else { 0 };
        layers.entry(layer).or_default().push(key.clone());
    }
    layers.into_values().collect()
}

fn priority(state: TaskState) -> u8 {
    match state {
        TaskState::Failed => 0,
        TaskState::Running => 1,
        TaskState::Canceled => 2,
        TaskState::Pending => 3,
        TaskState::Skipped => 4,
        TaskState::Succeeded => 5,
        TaskState::Cached => 6,
    }
}

/// The steps (not DAGs), failed first, then running, and so on; at most [`LIST_LIMIT`].
fn failed_first(tasks: &[Task]) -> (Vec<ListEntry>, usize) {
    let mut steps: Vec<&Task> = tasks.iter().filter(|t| !t.kind.is_dag_like()).collect();
    steps.sort_by(|a, b| (priority(a.state), &a.path).cmp(&(priority(b.state), &b.path)));
    let more = steps.len().saturating_sub(LIST_LIMIT);
    let entries = steps
        .into_iter()
        .take(LIST_LIMIT)
        .map(|t| ListEntry {
            label: t.display_name.clone(),
            path: t.path.strip_prefix("root/").unwrap_or(&t.path).to_owned(),
            task_id: t.id.to_string(),
            state: t.state.as_str().to_owned(),
            state_class: format::state_class(t.state.as_str()),
            duration: format::duration(t.started_at, t.finished_at),
        })
        .collect();
    (entries, more)
}

#[cfg(test)]
#[path = "graph_tests.rs"]
mod tests;
