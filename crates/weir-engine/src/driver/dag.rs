//! Walking DAGs and loops: what is ready, what must be skipped, when a DAG is done.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use weir_spec::model::{ComponentSpec, PipelineTaskSpec};
use weir_store::{NewTask, TaskDetails, TaskUpdate};
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
    /// Advances the run as far as it can go now: everything on the first walk (and after a
    /// cancel), afterwards only the DAGs one of whose children ended since (`progress.rs`).
    pub(super) async fn reconcile_changes(&mut self, root_id: TaskId) -> Result<(), EngineError> {
        if self.progress.begin_full_walk() {
            return self.reconcile(root_id).await;
        }
        while let Some(dag_id) = self.progress.next_dirty() {
            self.reconcile(dag_id).await?;
        }
        Ok(())
    }

    /// Advances a DAG-like execution as far as it can go now. Walked for the first time, it
    /// visits every task of the DAG and everything below (resuming what was interrupted);
    /// afterwards, only the tasks downstream of children that ended since the last walk.
    pub(super) async fn reconcile(&mut self, dag_id: TaskId) -> Result<(), EngineError> {
        let Some(dag) = self.tasks.get(&dag_id) else {
            return Ok(());
        };
        if dag.state.is_terminal() {
            return Ok(());
        }
        if dag.kind == TaskKind::Loop {
            return Box::pin(self.reconcile_loop(dag_id)).await;
        }
        let component_name = component_of(dag);
        let dag_path = dag.path.clone();
        let keys = self.topological_keys(&component_name)?;
        let ended = self.progress.take_ended(dag_id);
        if self.progress.first_walk(dag_id) {
            for key in keys.iter() {
                self.visit(dag_id, &dag_path, &component_name, key).await?;
            }
        } else {
            let downstream = self.downstream(&component_name)?;
            let mut seen = std::collections::HashSet::new();
            let candidates: Vec<&String> = ended
                .iter()
                .filter_map(|key| downstream.get(key))
                .flatten()
                .filter(|key| seen.insert(key.as_str()))
                .collect();
            for key in candidates {
                if !self.by_path.contains_key(&format!("{dag_path}/{key}")) {
                    self.consider(dag_id, &component_name, key).await?;
                }
            }
        }
        let maybe_done = self
            .progress
            .children(dag_id)
            .is_some_and(|c| c.ended >= keys.len());
        let all_done = maybe_done
            && keys.iter().all(|key| {
                self.by_path
                    .get(&format!("{dag_path}/{key}"))
                    .is_some_and(|id| self.tasks[id].state.is_terminal())
            });
        if all_done {
            self.finalize_dag(dag_id, &component_name, &keys).await?;
        }
        Ok(())
    }

    /// One task of a DAG on a full walk: walk it, resume it, or decide whether it starts.
    async fn visit(
        &mut self,
        dag_id: TaskId,
        dag_path: &str,
        component: &str,
        key: &str,
    ) -> Result<(), EngineError> {
        let Some(child_id) = self.by_path.get(&format!("{dag_path}/{key}")).copied() else {
            return self.consider(dag_id, component, key).await;
        };
        let child = &self.tasks[&child_id];
        if child.state.is_terminal() {
            return Ok(());
        }
        if child.kind.is_dag_like() {
            Box::pin(self.reconcile(child_id)).await
        } else if !self.job_tokens.contains_key(&child_id) {
            self.resume_step(child_id).await
        } else {
            Ok(())
        }
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
        let Some(siblings) = ctx.component(component).and_then(|c| c.dag.as_ref()) else {
            return Ok(());
        };
        let mut upstream_states = Vec::new();
        for upstream in spec
            .upstream_tasks()
            .into_iter()
            .filter(|u| siblings.tasks.contains_key(*u))
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
    pub(super) fn failed_child(&self, dag_id: TaskId) -> Option<String> {
        self.progress.children(dag_id)?.failed.clone()
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
            TaskDetails::default(),
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
        details: TaskDetails,
        message: Option<String>,
    ) -> NewTask {
        let parent_path = &self.tasks[&parent].path;
        let details = TaskDetails {
            component: Some(spec.component_ref.name.clone()),
            exit_task: spec.runs_after_upstream_completes(),
            ..details
        };
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
            inputs,
            details,
            message,
            outputs: TaskIo::default(),
            log_path: None,
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
                Some((key.clone(), task.state, task.outputs.clone()))
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
            outputs: Some(outputs),
            error: Some(error),
            ..TaskUpdate::state(state)
        };
        self.update(dag_id, update).await?;
        Ok(())
    }

    /// The component of the DAG that contains this execution.
    pub(super) fn parent_component(&self, task: &weir_store::Task) -> Option<String> {
        let parent = self.tasks.get(&task.parent_id?)?;
        Some(component_of(parent))
    }

    /// A component's task keys, each after the tasks it depends on (cached per component).
    fn topological_keys(&mut self, component: &str) -> Result<Arc<[String]>, EngineError> {
        if let Some(keys) = self.topo_cache.get(component) {
            return Ok(keys.clone());
        }
        let Some(dag) = self.ctx.component(component).and_then(|c| c.dag.as_ref()) else {
            return Err(EngineError::Internal(format!(
                "component `{component}` has no DAG"
            )));
        };
        // Kahn's algorithm, always taking the first ready task in the spec's order.
        let keys: Vec<&String> = dag.tasks.keys().collect();
        let index: HashMap<&str, usize> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.as_str(), i))
            .collect();
        let mut waiting_on = vec![0usize; keys.len()];
        let mut unblocks: Vec<Vec<usize>> = vec![Vec::new(); keys.len()];
        for (i, key) in keys.iter().enumerate() {
            for upstream in dag.tasks[*key].upstream_tasks() {
                if let Some(&u) = index.get(upstream) {
                    waiting_on[i] += 1;
                    unblocks[u].push(i);
                }
            }
        }
        let mut ready: BTreeSet<usize> = (0..keys.len()).filter(|&i| waiting_on[i] == 0).collect();
        let mut ordered: Vec<String> = Vec::with_capacity(keys.len());
        while let Some(i) = ready.pop_first() {
            ordered.push(keys[i].clone());
            for &next in &unblocks[i] {
                waiting_on[next] -= 1;
                if waiting_on[next] == 0 {
                    ready.insert(next);
                }
            }
        }
        if ordered.len() < keys.len() {
            return Err(EngineError::Internal(format!(
                "the tasks of `{component}` form a cycle"
            )));
        }
        let ordered: Arc<[String]> = ordered.into();
        self.topo_cache
            .insert(component.to_owned(), ordered.clone());
        Ok(ordered)
    }

    /// A component's task keys, each with the tasks of the same DAG that depend on it.
    fn downstream(
        &mut self,
        component: &str,
    ) -> Result<Arc<HashMap<String, Vec<String>>>, EngineError> {
        if let Some(downstream) = self.downstream_cache.get(component) {
            return Ok(downstream.clone());
        }
        let Some(dag) = self.ctx.component(component).and_then(|c| c.dag.as_ref()) else {
            return Err(EngineError::Internal(format!(
                "component `{component}` has no DAG"
            )));
        };
        let mut downstream: HashMap<String, Vec<String>> = HashMap::new();
        for (key, task) in &dag.tasks {
            for upstream in task.upstream_tasks() {
                if dag.tasks.contains_key(upstream) {
                    downstream
                        .entry(upstream.to_owned())
                        .or_default()
                        .push(key.clone());
                }
            }
        }
        let downstream = Arc::new(downstream);
        self.downstream_cache
            .insert(component.to_owned(), downstream.clone());
        Ok(downstream)
    }
}

/// The component an execution runs, from its details (`root` for the root).
pub(super) fn component_of(task: &weir_store::Task) -> String {
    task.details
        .component
        .clone()
        .unwrap_or_else(|| crate::context::ROOT_COMPONENT.to_owned())
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
