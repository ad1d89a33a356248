//! Starting executions: resolving inputs, conditions, loops, cache hits, importers, and
//! dispatching container steps as jobs.

use serde_json::{json, Value};
use weir_spec::model::PipelineTaskSpec;
use weir_store::{NewArtifact, TaskDetails, TaskUpdate};
use weir_types::{TaskId, TaskKind, TaskState};

use super::Driver;
use crate::io::{artifact_type, ArtifactRef, TaskIo};
use crate::resolve::{condition_holds, loop_items, resolve_inputs, Scope, Target};
use crate::EngineError;

impl Driver {
    /// Starts a task whose upstream tasks have ended.
    pub(super) async fn start(
        &mut self,
        dag_id: TaskId,
        key: &str,
        spec: &PipelineTaskSpec,
    ) -> Result<(), EngineError> {
        let ctx = self.ctx.clone();
        let kind = self.kind_of(spec);
        let Some(target_component) = ctx.spec().component(&spec.component_ref.name) else {
            let message = format!("the component `{}` does not exist", spec.component_ref.name);
            return self
                .fail_new(dag_id, key, spec, kind, TaskIo::default(), message)
                .await;
        };
        let id = TaskId::new();
        let resolved = {
            let dag = &self.tasks[&dag_id];
            let dag_inputs = &dag.inputs;
            let dag_path = dag.path.clone();
            let siblings = |name: &str| {
                self.by_path
                    .get(&format!("{dag_path}/{name}"))
                    .and_then(|id| self.tasks.get(id))
            };
            let scope = Scope {
                ctx: &ctx,
                dag_inputs,
                siblings: &siblings,
            };
            resolve_inputs(
                &scope,
                &Target {
                    key,
                    id,
                    spec,
                    component: target_component,
                },
            )
        };
        let inputs = match resolved {
            Ok(inputs) => inputs,
            Err(message) => {
                return self
                    .fail_new(dag_id, key, spec, kind, TaskIo::default(), message)
                    .await
            }
        };
        if let Some(condition) = spec.condition() {
            match condition_holds(condition, &inputs) {
                Ok(true) => {}
                Ok(false) => {
                    let message = format!("condition is false: {condition}");
                    let task = self.new_task(
                        dag_id,
                        key,
                        spec,
                        kind,
                        TaskState::Skipped,
                        inputs,
                        TaskDetails::default(),
                        Some(message),
                    );
                    self.create(task).await?;
                    return Ok(());
                }
                Err(message) => {
                    return self
                        .fail_new(dag_id, key, spec, kind, inputs, message)
                        .await
                }
            }
        }
        match kind {
            TaskKind::Dag => {
                let mut task = self.new_task(
                    dag_id,
                    key,
                    spec,
                    kind,
                    TaskState::Running,
                    inputs,
                    TaskDetails::default(),
                    None,
                );
                task.id = id;
                self.create(task).await?;
                Box::pin(self.reconcile(id)).await
            }
            TaskKind::Loop => {
                let items = match loop_items(spec, &inputs) {
                    Ok(items) => items,
                    Err(message) => {
                        return self
                            .fail_new(dag_id, key, spec, kind, inputs, message)
                            .await
                    }
                };
                let parallelism = spec
                    .iterator_policy
                    .as_ref()
                    .and_then(|p| p.parallelism_limit)
                    .and_then(|p| u64::try_from(p).ok())
                    .filter(|p| *p > 0);
                let details = TaskDetails {
                    iteration_count: Some(items.len()),
                    items: Some(items),
                    parallelism,
                    ..Default::default()
                };
                let mut task = self.new_task(
                    dag_id,
                    key,
                    spec,
                    kind,
                    TaskState::Running,
                    inputs,
                    details,
                    None,
                );
                task.id = id;
                self.create(task).await?;
                Box::pin(self.reconcile(id)).await
            }
            TaskKind::Importer => {
                let mut task = self.new_task(
                    dag_id,
                    key,
                    spec,
                    kind,
                    TaskState::Running,
                    inputs,
                    TaskDetails::default(),
                    None,
                );
                task.id = id;
                self.create(task).await?;
                self.run_importer(id).await
            }
            _ => {
                let mut task = self.new_task(
                    dag_id,
                    key,
                    spec,
                    kind,
                    TaskState::Pending,
                    inputs,
                    TaskDetails::default(),
                    None,
                );
                task.id = id;
                self.start_new_step(task, spec).await
            }
        }
    }

    async fn fail_new(
        &mut self,
        dag_id: TaskId,
        key: &str,
        spec: &PipelineTaskSpec,
        kind: TaskKind,
        inputs: TaskIo,
        message: String,
    ) -> Result<(), EngineError> {
        let task = self.new_task(
            dag_id,
            key,
            spec,
            kind,
            TaskState::Failed,
            inputs,
            TaskDetails::default(),
            Some(message),
        );
        self.create(task).await?;
        Ok(())
    }

    async fn fail(&mut self, id: TaskId, message: String) -> Result<(), EngineError> {
        let update = TaskUpdate {
            error: Some(Some(message.clone())),
            ..TaskUpdate::state(TaskState::Failed).with_message(message)
        };
        self.update(id, update).await?;
        Ok(())
    }

    /// A step (container or importer) that was running when Weir stopped: run it again.
    pub(super) async fn resume_step(&mut self, id: TaskId) -> Result<(), EngineError> {
        let task = self.tasks[&id].clone();
        if task.state == TaskState::Running {
            // Weir stopped while the step ran; its processes may still be running.
            let scratch = self.ctx.layout.task_scratch(self.ctx.run.id, id);
            let log_path = self.ctx.layout.task_log(self.ctx.run.id, id);
            let (run_id, task_id) = (self.ctx.run.id.to_string(), id.to_string());
            let step = weir_executors::StepRef {
                run_id: &run_id,
                task_id: &task_id,
                scratch: &scratch,
                log_path: &log_path,
            };
            self.shared
                .executor
                .recover(step, self.shared.kill_grace)
                .await;
            let update = TaskUpdate {
                started_at: Some(None),
                ..TaskUpdate::state(TaskState::Pending)
                    .with_message("the previous attempt was interrupted; running it again")
            };
            self.update(id, update).await?;
        }
        let ctx = self.ctx.clone();
        let spec = self
            .parent_component(&task)
            .and_then(|parent| ctx.task_spec(&parent, &task.name));
        let Some(spec) = spec else {
            return self
                .fail(id, format!("the spec has no task `{}`", task.name))
                .await;
        };
        match task.kind {
            TaskKind::Importer => {
                self.update(id, TaskUpdate::state(TaskState::Running))
                    .await?;
                self.run_importer(id).await
            }
            _ => self.start_step(id, spec).await,
        }
    }

    /// An importer: records the artifact at the given URI as this task's output.
    async fn run_importer(&mut self, id: TaskId) -> Result<(), EngineError> {
        let ctx = self.ctx.clone();
        let task = self.tasks[&id].clone();
        let inputs = &task.inputs;
        let component_name = task.details.component.clone().unwrap_or_default();
        let importer = ctx
            .spec()
            .component(&component_name)
            .and_then(|c| c.executor_label.as_deref())
            .and_then(|l| ctx.spec().executor(l))
            .and_then(|e| e.importer.clone());
        let Some(importer) = importer else {
            return self
                .fail(id, "the importer executor is missing".to_owned())
                .await;
        };
        let uri = match importer.artifact_uri.as_ref() {
            Some(uri) if uri.constant.is_some() => uri
                .constant
                .as_ref()
                .and_then(Value::as_str)
                .map(str::to_owned),
            Some(uri) => uri
                .runtime_parameter
                .as_ref()
                .and_then(|p| inputs.parameter(p))
                .and_then(Value::as_str)
                .map(str::to_owned),
            None => None,
        };
        let Some(uri) = uri.filter(|u| !u.is_empty()) else {
            return self
                .fail(id, "the importer has no artifact URI".to_owned())
                .await;
        };
        let mut metadata = importer.metadata.clone().unwrap_or_else(|| json!({}));
        substitute_metadata(&mut metadata, inputs);
        let recorded = self
            .shared
            .store
            .create_artifact(&NewArtifact {
                run_id: ctx.run.id,
                task_id: Some(id),
                name: "artifact".to_owned(),
                uri: uri.clone(),
                schema_title: importer.type_schema.title().to_owned(),
                metadata: metadata.clone(),
            })
            .await?;
        let mut outputs = TaskIo::default();
        outputs.artifacts.insert(
            "artifact".to_owned(),
            vec![ArtifactRef {
                id: recorded.id,
                name: "artifact".to_owned(),
                uri,
                artifact_type: artifact_type(&importer.type_schema),
                metadata,
            }],
        );
        self.update(
            id,
            TaskUpdate {
                outputs: Some(outputs),
                ..TaskUpdate::state(TaskState::Succeeded)
            },
        )
        .await?;
        Ok(())
    }
}

/// Importer metadata values may be input placeholders (`{{$.inputs.parameters['x']}}`).
fn substitute_metadata(metadata: &mut Value, inputs: &TaskIo) {
    match metadata {
        Value::String(text)
            if text.starts_with("{{$.inputs.parameters['") && text.ends_with("']}}") =>
        {
            let name = &text["{{$.inputs.parameters['".len()..text.len() - "']}}".len()];
            if let Some(value) = inputs.parameter(name) {
                *metadata = value.clone();
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| substitute_metadata(v, inputs)),
        Value::Object(map) => map
            .values_mut()
            .for_each(|v| substitute_metadata(v, inputs)),
        _ => {}
    }
}
