use chrono::Utc;
use serde_json::json;
use weir_spec::model::PipelineSpec;
use weir_store::Task;
use weir_types::{RunId, TaskId, TaskKind, TaskState};

use super::*;

fn deps(pairs: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
    pairs
        .iter()
        .map(|(key, on)| (key.to_string(), on.iter().map(|d| d.to_string()).collect()))
        .collect()
}

#[test]
fn layers_put_each_task_below_the_deepest_one_it_waits_for() {
    let layers = assign_layers(&deps(&[
        ("d", &["b", "c"]),
        ("b", &["a"]),
        ("c", &["a", "b"]),
        ("a", &[]),
        ("lonely", &["not-a-sibling"]),
    ]));
    assert_eq!(
        layers,
        [vec!["a", "lonely"], vec!["b"], vec!["c"], vec!["d"]]
    );
}

#[test]
fn a_cycle_does_not_hang_the_layout() {
    let layers = assign_layers(&deps(&[("x", &["y"]), ("y", &["x"]), ("z", &[])]));
    assert_eq!(layers, [vec!["x", "y", "z"]]);
}

/// make -> for-loop-1 (square per item) -> sum
fn spec() -> PipelineSpec {
    serde_json::from_value(json!({
        "pipelineInfo": {"name": "p"},
        "root": {"dag": {"tasks": {
            "make": {"taskInfo": {"name": "make"}, "componentRef": {"name": "comp-make"}},
            "for-loop-1": {"taskInfo": {"name": "for-loop-1"}, "componentRef": {"name": "comp-for-loop-1"},
                           "dependentTasks": ["make"],
                           "parameterIterator": {"itemInput": "item", "items": {"raw": "[1, 2]"}}},
            "sum": {"taskInfo": {"name": "sum"}, "componentRef": {"name": "comp-sum"}, "dependentTasks": ["for-loop-1"]}
        }}},
        "components": {
            "comp-make": {"executorLabel": "exec-make"},
            "comp-sum": {"executorLabel": "exec-sum"},
            "comp-square": {"executorLabel": "exec-square"},
            "comp-for-loop-1": {"dag": {"tasks": {"square": {"taskInfo": {"name": "square"}, "componentRef": {"name": "comp-square"}}}}}
        },
        "deploymentSpec": {"executors": {}}
    }))
    .expect("a valid spec")
}

fn task(run: RunId, parent: Option<&Task>, path: &str, kind: TaskKind, state: TaskState) -> Task {
    Task {
        id: TaskId::new(),
        run_id: run,
        parent_id: parent.map(|p| p.id),
        path: path.to_owned(),
        name: path.rsplit('/').next().unwrap_or(path).to_owned(),
        display_name: path.rsplit('/').next().unwrap_or(path).to_owned(),
        kind,
        iteration_index: path
            .rsplit_once('[')
            .and_then(|(_, i)| i.trim_end_matches(']').parse().ok())
            .filter(|_| kind == TaskKind::Iteration),
        state,
        inputs: Default::default(),
        outputs: Default::default(),
        details: Default::default(),
        error: None,
        attempt: 1,
        log_path: None,
        created_at: Utc::now(),
        started_at: None,
        finished_at: None,
    }
}

/// A run whose loop has `iterations` iterations, the one at `failed` failed.
fn run_with_loop(iterations: usize, failed: usize) -> Vec<Task> {
    let run = RunId::new();
    let root = task(run, None, "root", TaskKind::Root, TaskState::Failed);
    let make = task(
        run,
        Some(&root),
        "root/make",
        TaskKind::Container,
        TaskState::Succeeded,
    );
    let looped = task(
        run,
        Some(&root),
        "root/for-loop-1",
        TaskKind::Loop,
        TaskState::Failed,
    );
    let mut tasks = vec![root.clone(), make, looped.clone()];
    for i in 0..iterations {
        let state = if i == failed {
            TaskState::Failed
        } else {
            TaskState::Succeeded
        };
        let path = format!("root/for-loop-1[{i}]");
        let iteration = task(run, Some(&looped), &path, TaskKind::Iteration, state);
        let square = task(
            run,
            Some(&iteration),
            &format!("{path}/square"),
            TaskKind::Container,
            state,
        );
        tasks.extend([iteration, square]);
    }
    tasks
}

fn count(graph: &Graph, matches: impl Fn(&GraphItem) -> bool) -> usize {
    graph.items.iter().filter(|i| matches(i)).count()
}

#[test]
fn a_small_loop_shows_each_iteration_with_its_tasks() {
    let graph = build(Some(&spec()), &run_with_loop(3, 1), None);
    let squares = count(
        &graph,
        |i| matches!(i, GraphItem::Node(n) if n.key == "square"),
    );
    assert_eq!(squares, 3);
    let iterations = count(
        &graph,
        |i| matches!(i, GraphItem::GroupOpen(n, _) if n.kind == "iteration"),
    );
    assert_eq!(iterations, 3);
    let sum = graph.items.iter().find_map(|i| match i {
        GraphItem::Node(n) if n.key == "sum" => Some(n),
        _ => None,
    });
    let sum = sum.expect("sum is drawn though it has no execution");
    assert_eq!(sum.state, "NOT_STARTED");
    assert_eq!(sum.deps, "for-loop-1");
    assert_eq!(graph.steps[0].state, "FAILED");
}

#[test]
fn thousands_of_iterations_become_chips_with_the_failed_one_open() {
    let tasks = run_with_loop(1500, 1234);
    let graph = build(Some(&spec()), &tasks, None);
    let chips: usize = graph
        .items
        .iter()
        .map(|i| match i {
            GraphItem::Chips(chips) => chips.len(),
            _ => 0,
        })
        .sum();
    assert_eq!(chips, 1500);
    // Only the failed iteration is expanded, so the page stays small.
    let open: Vec<&str> = graph
        .items
        .iter()
        .filter_map(|i| match i {
            GraphItem::GroupOpen(n, _) if n.kind == "iteration" => Some(n.path.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(open, ["root/for-loop-1[1234]"]);
    assert!(graph.items.len() < 40, "{} items", graph.items.len());
    assert_eq!(graph.steps.len(), LIST_LIMIT);
    assert_eq!(graph.more_steps, 1501 - LIST_LIMIT);
    assert_eq!(graph.steps[0].path, "for-loop-1[1234]/square");
}

#[test]
fn a_pipeline_without_executions_shows_the_loop_body_once() {
    let graph = build(Some(&spec()), &[], None);
    let squares = count(
        &graph,
        |i| matches!(i, GraphItem::Node(n) if n.key == "square"),
    );
    assert_eq!(squares, 1);
    assert!(graph.steps.is_empty());
}

#[test]
fn without_a_spec_the_executions_are_shown() {
    let tasks = run_with_loop(2, 0);
    let graph = build(None, &tasks, None);
    let steps = count(
        &graph,
        |i| matches!(i, GraphItem::Node(n) if n.key == "square"),
    );
    assert_eq!(steps, 2);
}
