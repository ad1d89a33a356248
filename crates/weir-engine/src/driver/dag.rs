//! Walking DAGs and loops: what is ready, what must be skipped, when a DAG is done.

use serde_json::{Map, Value};
use weir_spec::model::{ComponentSpec, PipelineTaskSpec};
use weir_store::{NewTask, TaskUpdate};
use weir_types::{TaskId, TaskKind, TaskState};

use super::Driver;
use crate::io::TaskIo;
use crate::EngineError;

/// Why a task that will not run ends the way it does.
enum NotRun {
    Skipped(String),
    Canceled(String),
}

impl Driver {
    /// Advances a DAG-like execution and everything below it as far as it can go now.
    pub(super) async fn reconcile(&mut self, dag_id: TaskId) -> Result<(), EngineError> {
        let Some(dag) = self.tasks.get(&dag_id).cloned() else {
            return Ok(());
        };
        if dag.state.is_terminal() {
            return Ok(());
        }
        if dag.kind == TaskKind::Loop {
            return Box::pin(self.reconcile_loop(dag_id)).await;
        }
        let component_name = component_of(&dag);
        let keys = self.topological_keys(&component_name)?;
        for key in &keys {
            let path = format!("{}/{key}", dag.path);
            match self.by_path.get(&path).copied() {
                Some(child_id) => {
                    let child = &self.tasks[&child_id];
                    if child.state.is_terminal() {
                        continue;
                    }
                    if child.kind.is_dag_like() {
                        Box::pin(self.reconcile(child_id)).await?;
                    } else if !self.job_tokens.contains_key(&child_id) {
                        self.resume_step(child_id).await?;
                    }
                }
                None => self.consider(dag_id, &component_name, key).await?,
            }
        }
        let all_done = keys.iter().all(|key| {
            let path = format!("{}/{key}", dag.path);
            self.by_path
                .get(&path)
                .is_some_and(|id| self.tasks[id].state.is_terminal())
        });
        if all_done {
            self.finalize_dag(dag_id, &component_name, &keys).await?;
        }
        Ok(())
    }

    /// Decides about a task of a DAG that has no execution yet.
    async fn consider(
        &mut self,
        dag_id: TaskId,
        component: &str,
        key: &str,
    ) -> Result<(), EngineError> {
        let ctx = self.ctx.clone();
        let Some(spec) = ctx.task_spec(component, key) else {
            return Ok(());
        };
        let dag_path = self.tasks[&dag_id].path.clone();
        let sibling_keys: Vec<&str> = ctx
            .component(component)
            .and_then(|c| c.dag.as_ref())
            .map(|d| d.tasks.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let mut upstream_states = Vec::new();
        for upstream in spec
            .upstream_tasks()
            .into_iter()
            .filter(|u| sibling_keys.contains(u))
        {
            match self
                .by_path
                .get(&format!("{dag_path}/{upstream}"))
                .map(|id| self.tasks[id].state)
            {
                Some(state) if state.is_terminal() => {
                    upstream_states.push((upstream.to_owned(), state))
                }
                _ => return Ok(()),
            }
        }
        if let Some(not_run) = self.not_run_reason(dag_id, &dag_path, spec, &upstream_states) {
            return self.record_not_run(dag_id, key, spec, not_run).await;
        }
        self.start(dag_id, key, spec).await
    }

    fn not_run_reason(
        &self,
        dag_id: TaskId,
        dag_path: &str,
        spec: &PipelineTaskSpec,
        upstream: &[(String, TaskState)],
    ) -> Option<NotRun> {
        if spec.runs_after_upstream_completes() {
            // Exit handlers and ignore_upstream_failure: run whatever happened upstream.
            return None;
        }
        if self.canceling {
            return Some(NotRun::Canceled(
                "not started: the run was canceled".to_owned(),
            ));
        }
        if let Some((name, state)) = upstream.iter().find(|(_, state)| !state.is_success()) {
            return Some(NotRun::Skipped(format!(
                "not run: upstream task `{name}` ended {state}"
            )));
        }
        if let Some(failed) = self.failed_child(dag_id) {
            let name = failed
                .strip_prefix(dag_path)
                .unwrap_or(&failed)
                .trim_start_matches('/');
            return Some(NotRun::Skipped(format!(
                "not started: `{name}` failed in the same DAG"
            )));
        }
        None
    }

    /// The path of a failed child of a DAG, if any (a DAG stops starting tasks after a failure).
    fn failed_child(&self, dag_id: TaskId) -> Option<String> {
        self.tasks
            .values()
            .find(|t| t.parent_id == Some(dag_id) && t.state == TaskState::Failed)
            .map(|t| t.path.clone())
    }

    async fn record_not_run(
        &mut self,
        dag_id: TaskId,
        key: &str,
        spec: &PipelineTaskSpec,
        not_run: NotRun,
    ) -> Result<(), EngineError> {
        let (state, message) = match not_run {
            NotRun::Skipped(message) => (TaskState::Skipped, message),
            NotRun::Canceled(message) => (TaskState::Canceled, message),
        };
        let kind = self.kind_of(spec);
        let task = self.new_task(
            dag_id,
            key,
            spec,
            kind,
            state,
            TaskIo::default(),
            Value::Object(Map::new()),
            Some(message),
        );
        self.create(task).await?;
        Ok(())
    }

    /// What kind of execution a task spec makes.
    pub(super) fn kind_of(&self, spec: &PipelineTaskSpec) -> TaskKind {
        let component = self.ctx.spec().component(&spec.component_ref.name);
        match component {
            Some(c) if c.dag.is_some() && spec.parameter_iterator.is_some() => TaskKind::Loop,
            Some(c) if c.dag.is_some() => TaskKind::Dag,
            Some(c) => {
                let is_importer = c
                    .executor_label
                    .as_deref()
                    .and_then(|l| self.ctx.spec().executor(l))
                    .is_some_and(|e| e.importer.is_some());
                if is_importer {
                    TaskKind::Importer
                } else {
                    TaskKind::Container
                }
            }
            None => TaskKind::Container,
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn new_task(
        &self,
        parent: TaskId,
        key: &str,
        spec: &PipelineTaskSpec,
        kind: TaskKind,
        state: TaskState,
        inputs: TaskIo,
        mut details: Value,
        message: Option<String>,
    ) -> NewTask {
        let parent_path = &self.tasks[&parent].path;
        if let Some(map) = details.as_object_mut() {
            map.insert(
                "component".to_owned(),
                Value::String(spec.component_ref.name.clone()),
            );
            if spec.runs_after_upstream_completes() {
                map.insert("exit_task".to_owned(), Value::Bool(true));
            }
        }
        NewTask {
            id: TaskId::new(),
            run_id: self.ctx.run.id,
            parent_id: Some(parent),
            path: format!("{parent_path}/{key}"),
            name: key.to_owned(),
            display_name: spec.display_name().unwrap_or(key).to_owned(),
            kind,
            iteration_index: None,
            state,
            inputs: inputs.to_value(),
            details,
            message,
        }
    }

    /// Ends a DAG whose tasks have all ended: its state, and its outputs from its selectors.
    async fn finalize_dag(
        &mut self,
        dag_id: TaskId,
        component: &str,
        keys: &[String],
    ) -> Result<(), EngineError> {
        let dag_path = self.tasks[&dag_id].path.clone();
        let children: Vec<(String, TaskState, TaskIo)> = keys
            .iter()
            .filter_map(|key| {
                let task = &self.tasks[self.by_path.get(&format!("{dag_path}/{key}"))?];
                Some((key.clone(), task.state, TaskIo::from_value(&task.outputs)))
            })
            .collect();
        let failed: Vec<&str> = children
            .iter()
            .filter(|(_, s, _)| *s == TaskState::Failed)
            .map(|(k, _, _)| k.as_str())
            .collect();
        let canceled = children.iter().any(|(_, s, _)| *s == TaskState::Canceled);
        let (state, error) = if !failed.is_empty() {
            (
                TaskState::Failed,
                Some(format!("failed: {}", failed.join(", "))),
            )
        } else if canceled {
            (TaskState::Canceled, None)
        } else {
            (TaskState::Succeeded, None)
        };
        let ctx = self.ctx.clone();
        let outputs = ctx
            .component(component)
            .map(|c| dag_outputs(c, &children))
            .unwrap_or_default();
        let update = TaskUpdate {
            outputs: Some(outputs.to_value()),
            error: Some(error),
            ..TaskUpdate::state(state)
        };
        self.update(dag_id, update).await?;
        Ok(())
    }

    /// Advances a ParallelFor: starts iterations up to the parallelism limit, collects outputs.
    async fn reconcile_loop(&mut self, loop_id: TaskId) -> Result<(), EngineError> {
        let looped = self.tasks[&loop_id].clone();
        let items: Vec<Value> = looped
            .details
            .get("items")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let limit = looped
            .details
            .get("parallelism")
            .and_then(Value::as_u64)
            .unwrap_or(0) as usize;
        let component = component_of(&looped);
        let mut active = 0usize;
        let mut created = 0usize;
        for index in 0..items.len() {
            let path = format!("{}[{index}]", looped.path);
            if let Some(id) = self.by_path.get(&path).copied() {
                created += 1;
                if !self.tasks[&id].state.is_terminal() {
                    Box::pin(self.reconcile(id)).await?;
                    if !self.tasks[&id].state.is_terminal() {
                        active += 1;
                    }
                }
            }
        }
        let stop_starting = self.canceling || self.failed_child(loop_id).is_some();
        for (index, item) in items.iter().enumerate() {
            if stop_starting || (limit > 0 && active >= limit) {
                break;
            }
            let path = format!("{}[{index}]", looped.path);
            if self.by_path.contains_key(&path) {
                continue;
            }
            let id = self
                .create_iteration(loop_id, index, item.clone(), &component)
                .await?;
            created += 1;
            Box::pin(self.reconcile(id)).await?;
            if !self.tasks[&id].state.is_terminal() {
                active += 1;
            }
        }
        let iterations: Vec<(TaskState, TaskIo)> = (0..items.len())
            .filter_map(|i| self.by_path.get(&format!("{}[{i}]", looped.path)))
            .map(|id| {
                (
                    self.tasks[id].state,
                    TaskIo::from_value(&self.tasks[id].outputs),
                )
            })
            .collect();
        let all_ended = iterations.iter().all(|(state, _)| state.is_terminal());
        let finished = all_ended && (created == items.len() || stop_starting);
        if finished {
            self.finalize_loop(loop_id, &component, &iterations).await?;
        }
        Ok(())
    }

    async fn create_iteration(
        &mut self,
        loop_id: TaskId,
        index: usize,
        item: Value,
        component: &str,
    ) -> Result<TaskId, EngineError> {
        let looped = self.tasks[&loop_id].clone();
        let ctx = self.ctx.clone();
        let spec = self
            .parent_component(&looped)
            .and_then(|parent| ctx.task_spec(&parent, &looped.name))
            .ok_or_else(|| EngineError::Internal(format!("no spec for loop {}", looped.path)))?;
        let mut inputs = TaskIo::from_value(&looped.inputs);
        if let Some(iterator) = &spec.parameter_iterator {
            if let Some(items_input) = &iterator.items.input_parameter {
                inputs.parameters.remove(items_input);
            }
            inputs.parameters.insert(iterator.item_input.clone(), item);
        }
        let task = NewTask {
            id: TaskId::new(),
            run_id: self.ctx.run.id,
            parent_id: Some(loop_id),
            path: format!("{}[{index}]", looped.path),
            name: looped.name.clone(),
            display_name: format!("{} #{index}", looped.display_name),
            kind: TaskKind::Iteration,
            iteration_index: Some(index as i64),
            state: TaskState::Running,
            inputs: inputs.to_value(),
            details: serde_json::json!({"component": component}),
            message: None,
        };
        Ok(self.create(task).await?.id)
    }

    async fn finalize_loop(
        &mut self,
        loop_id: TaskId,
        component: &str,
        iterations: &[(TaskState, TaskIo)],
    ) -> Result<(), EngineError> {
        let failed = iterations
            .iter()
            .filter(|(s, _)| *s == TaskState::Failed)
            .count();
        let canceled = iterations.iter().any(|(s, _)| *s == TaskState::Canceled) || self.canceling;
        let (state, error) = if failed > 0 {
            (
                TaskState::Failed,
                Some(format!(
                    "{failed} of {} iterations failed",
                    iterations.len()
                )),
            )
        } else if canceled && iterations.iter().any(|(s, _)| !s.is_success()) {
            (TaskState::Canceled, None)
        } else {
            (TaskState::Succeeded, None)
        };
        let mut outputs = TaskIo::default();
        if let Some(dag_outputs) = self
            .ctx
            .component(component)
            .and_then(|c| c.dag.as_ref())
            .and_then(|d| d.outputs.as_ref())
        {
            for name in dag_outputs.parameters.keys() {
                let collected: Vec<Value> = iterations
                    .iter()
                    .filter_map(|(_, io)| io.parameters.get(name).cloned())
                    .collect();
                outputs
                    .parameters
                    .insert(name.clone(), Value::Array(collected));
            }
            for name in dag_outputs.artifacts.keys() {
                let collected = iterations
                    .iter()
                    .flat_map(|(_, io)| io.artifacts.get(name).cloned().unwrap_or_default())
                    .collect();
                outputs.artifacts.insert(name.clone(), collected);
            }
        }
        let update = TaskUpdate {
            outputs: Some(outputs.to_value()),
            error: Some(error),
            ..TaskUpdate::state(state)
        };
        self.update(loop_id, update).await?;
        Ok(())
    }

    /// The component of the DAG that contains this execution.
    pub(super) fn parent_component(&self, task: &weir_store::Task) -> Option<String> {
        let parent = self.tasks.get(&task.parent_id?)?;
        Some(component_of(parent))
    }

    /// A component's task keys, each after the tasks it depends on (cached per component).
    fn topological_keys(&mut self, component: &str) -> Result<Vec<String>, EngineError> {
        if let Some(keys) = self.topo_cache.get(component) {
            return Ok(keys.clone());
        }
        let Some(dag) = self.ctx.component(component).and_then(|c| c.dag.as_ref()) else {
            return Err(EngineError::Internal(format!(
                "component `{component}` has no DAG"
            )));
        };
        let mut remaining: Vec<(&String, Vec<&str>)> = dag
            .tasks
            .iter()
            .map(|(key, task)| {
                (
                    key,
                    task.upstream_tasks()
                        .into_iter()
                        .filter(|u| dag.tasks.contains_key(*u))
                        .collect(),
                )
            })
            .collect();
        let mut ordered: Vec<String> = Vec::with_capacity(remaining.len());
        while !remaining.is_empty() {
            let position = remaining
                .iter()
                .position(|(_, upstream)| upstream.iter().all(|u| ordered.iter().any(|o| o == u)))
                .ok_or_else(|| {
                    EngineError::Internal(format!("the tasks of `{component}` form a cycle"))
                })?;
            ordered.push(remaining.remove(position).0.clone());
        }
        self.topo_cache
            .insert(component.to_owned(), ordered.clone());
        Ok(ordered)
    }
}

/// The component an execution runs, from its details (`root` for the root).
pub(super) fn component_of(task: &weir_store::Task) -> String {
    task.details
        .get("component")
        .and_then(Value::as_str)
        .unwrap_or(crate::context::ROOT_COMPONENT)
        .to_owned()
}

/// A DAG's outputs from its selectors; with several selectors the first successful producer wins.
fn dag_outputs(component: &ComponentSpec, children: &[(String, TaskState, TaskIo)]) -> TaskIo {
    let mut outputs = TaskIo::default();
    let Some(spec) = component.dag.as_ref().and_then(|d| d.outputs.as_ref()) else {
        return outputs;
    };
    let child = |name: &str| {
        children
            .iter()
            .find(|(k, state, _)| k == name && state.is_success())
            .map(|(_, _, io)| io)
    };
    for (name, output) in &spec.parameters {
        let value = output.selectors().into_iter().find_map(|s| {
            child(&s.producer_subtask)?
                .parameters
                .get(&s.output_parameter_key)
                .cloned()
        });
        if let Some(value) = value {
            outputs.parameters.insert(name.clone(), value);
        }
    }
    for (name, output) in &spec.artifacts {
        let artifacts = output.artifact_selectors.iter().find_map(|s| {
            child(&s.producer_subtask)?
                .artifacts
                .get(&s.output_artifact_key)
                .cloned()
        });
        if let Some(artifacts) = artifacts {
            outputs.artifacts.insert(name.clone(), artifacts);
        }
    }
    outputs
}
