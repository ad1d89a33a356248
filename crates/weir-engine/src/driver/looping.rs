//! Walking a ParallelFor: iterations started in order up to the parallelism limit, and their
//! outputs collected in order once every iteration has ended.

use std::sync::Arc;

use serde_json::Value;
use weir_store::{NewTask, TaskDetails, TaskUpdate};
use weir_types::{TaskId, TaskKind, TaskState};

use super::dag::component_of;
use super::Driver;
use crate::io::TaskIo;
use crate::EngineError;

impl Driver {
    /// Advances a ParallelFor: starts iterations up to the parallelism limit, collects outputs.
    /// Iterations are created in index order, so the ones that exist are always a prefix.
    pub(super) async fn reconcile_loop(&mut self, loop_id: TaskId) -> Result<(), EngineError> {
        let looped = &self.tasks[&loop_id];
        let loop_path = looped.path.clone();
        let component = component_of(looped);
        let item_count = looped.details.items.as_ref().map_or(0, Vec::len);
        let limit = looped.details.parallelism.unwrap_or(0) as usize;
        self.progress.take_ended(loop_id);
        if self.progress.first_walk(loop_id) {
            for index in 0..item_count {
                let Some(id) = self.by_path.get(&format!("{loop_path}[{index}]")).copied() else {
                    break;
                };
                if !self.tasks[&id].state.is_terminal() {
                    Box::pin(self.reconcile(id)).await?;
                }
            }
        }
        let (mut created, ended) = self
            .progress
            .children(loop_id)
            .map_or((0, 0), |c| (c.created, c.ended));
        let mut active = created - ended.min(created);
        let stop_starting = self.canceling || self.failed_child(loop_id).is_some();
        while !stop_starting && created < item_count && (limit == 0 || active < limit) {
            let id = self.create_iteration(loop_id, created, &component).await?;
            created += 1;
            Box::pin(self.reconcile(id)).await?;
            if !self.tasks[&id].state.is_terminal() {
                active += 1;
            }
        }
        let all_ended = self
            .progress
            .children(loop_id)
            .is_some_and(|c| c.ended >= c.created);
        if !all_ended || !(created == item_count || stop_starting) {
            return Ok(());
        }
        let iterations: Vec<(TaskState, TaskIo)> = (0..item_count)
            .filter_map(|i| self.by_path.get(&format!("{loop_path}[{i}]")))
            .map(|id| (self.tasks[id].state, self.tasks[id].outputs.clone()))
            .collect();
        if iterations.iter().all(|(state, _)| state.is_terminal()) {
            self.finalize_loop(loop_id, &component, &iterations).await?;
        }
        Ok(())
    }

    async fn create_iteration(
        &mut self,
        loop_id: TaskId,
        index: usize,
        component: &str,
    ) -> Result<TaskId, EngineError> {
        let inputs = self.iteration_inputs(loop_id, index)?;
        let looped = &self.tasks[&loop_id];
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
            inputs,
            details: TaskDetails {
                component: Some(component.to_owned()),
                ..Default::default()
            },
            message: None,
            outputs: TaskIo::default(),
            log_path: None,
        };
        Ok(self.create(task).await?.id)
    }

    /// The inputs of iteration `index`: the loop's (read once per loop), less the items, plus
    /// the item under the iterator's name.
    fn iteration_inputs(&mut self, loop_id: TaskId, index: usize) -> Result<TaskIo, EngineError> {
        let looped = &self.tasks[&loop_id];
        let ctx = self.ctx.clone();
        let spec = self
            .parent_component(looped)
            .and_then(|parent| ctx.task_spec(&parent, &looped.name))
            .ok_or_else(|| EngineError::Internal(format!("no spec for loop {}", looped.path)))?;
        let base = match self.iteration_inputs.get(&loop_id) {
            Some(base) => base.clone(),
            None => {
                let mut base = looped.inputs.clone();
                if let Some(items_input) = spec
                    .parameter_iterator
                    .as_ref()
                    .and_then(|i| i.items.input_parameter.as_ref())
                {
                    base.parameters.remove(items_input);
                }
                let base = Arc::new(base);
                self.iteration_inputs.insert(loop_id, base.clone());
                base
            }
        };
        let mut inputs = (*base).clone();
        if let Some(iterator) = &spec.parameter_iterator {
            let item = self.tasks[&loop_id]
                .details
                .items
                .as_ref()
                .and_then(|items| items.get(index))
                .cloned()
                .unwrap_or(Value::Null);
            inputs.parameters.insert(iterator.item_input.clone(), item);
        }
        Ok(inputs)
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
            outputs: Some(outputs),
            error: Some(error),
            ..TaskUpdate::state(state)
        };
        self.update(loop_id, update).await?;
        Ok(())
    }
}
