//! Container steps: everything a step needs is decided before its row is written, so that a new
//! step is created with its outcome (a cache hit, a failure) or its launch details in one store
//! write, and a step already stored (resumed) is updated once.

use weir_spec::model::{ExecutorKind, PipelineTaskSpec};
use weir_store::{CachedFrom, NewTask, TaskDetails, TaskUpdate};
use weir_types::{TaskId, TaskState};

use super::Driver;
use crate::io::TaskIo;
use crate::job::{run_job, RetryPlan};
use crate::launch::{plan, LaunchInput, LaunchPlan, PlatformEnv};
use crate::platform::{self, NameSources};
use crate::{cache, EngineError};

/// A step's task as far as starting it goes: stored already, or about to be created.
struct StepTask<'a> {
    id: TaskId,
    name: &'a str,
    parent_id: Option<TaskId>,
    inputs: TaskIo,
    exit_task: bool,
}

impl<'a> StepTask<'a> {
    /// From a step's row fields (written or about to be).
    fn new(
        id: TaskId,
        name: &'a str,
        parent_id: Option<TaskId>,
        inputs: &TaskIo,
        details: &TaskDetails,
    ) -> Self {
        StepTask {
            id,
            name,
            parent_id,
            inputs: inputs.clone(),
            exit_task: details.exit_task,
        }
    }
}

/// What starting a step comes to, decided without writing anything.
enum Prepared {
    /// The step ends without a process: a cache hit, a finished volume step, or a failure.
    Ended(Box<TaskUpdate>),
    /// A volume step whose row is not written yet: it acts on a volume, so it waits for its row.
    Volume,
    /// A process to launch, with the details recorded before it starts.
    Launch {
        details: Box<TaskDetails>,
        plan: Box<LaunchPlan>,
    },
}

fn failed(message: String) -> Prepared {
    Prepared::Ended(Box::new(TaskUpdate {
        error: Some(Some(message.clone())),
        ..TaskUpdate::state(TaskState::Failed).with_message(message)
    }))
}

impl Driver {
    /// A step whose row exists (PENDING): a cache hit, a volume step, or a job.
    pub(super) async fn start_step(
        &mut self,
        id: TaskId,
        spec: &PipelineTaskSpec,
    ) -> Result<(), EngineError> {
        let task = &self.tasks[&id];
        let name = task.name.clone();
        let step = StepTask::new(id, &name, task.parent_id, &task.inputs, &task.details);
        let attempt = task.attempt;
        match self.prepare_step(&step, spec, true).await? {
            Prepared::Ended(update) => {
                self.update(id, *update).await?;
                Ok(())
            }
            // Only for rows not written yet (see `prepare_step`).
            Prepared::Volume => Ok(()),
            Prepared::Launch { details, plan } => {
                let update = TaskUpdate {
                    details: Some(*details),
                    log_path: Some(plan.log_path.display().to_string()),
                    ..Default::default()
                };
                self.update(id, update).await?;
                self.spawn_job(id, *plan, spec, attempt);
                Ok(())
            }
        }
    }

    /// A new step: its row is created PENDING with its launch details, or directly in the state
    /// it ends in (CACHED with the cached outputs, FAILED), in one store write.
    pub(super) async fn start_new_step(
        &mut self,
        mut task: NewTask,
        spec: &PipelineTaskSpec,
    ) -> Result<(), EngineError> {
        let id = task.id;
        let name = task.name.clone();
        let step = StepTask::new(id, &name, task.parent_id, &task.inputs, &task.details);
        match self.prepare_step(&step, spec, false).await? {
            Prepared::Ended(update) => {
                if let Some(state) = update.state {
                    task.state = state;
                }
                task.message = update.message.or(update.error.flatten());
                if let Some(outputs) = update.outputs {
                    task.outputs = outputs;
                }
                if let Some(details) = update.details {
                    task.details = details;
                }
                self.create(task).await?;
                Ok(())
            }
            Prepared::Volume => {
                self.create(task).await?;
                self.start_step(id, spec).await
            }
            Prepared::Launch { details, plan } => {
                task.details = *details;
                task.log_path = Some(plan.log_path.display().to_string());
                self.create(task).await?;
                self.spawn_job(id, *plan, spec, 0);
                Ok(())
            }
        }
    }

    fn spawn_job(&mut self, id: TaskId, plan: LaunchPlan, spec: &PipelineTaskSpec, attempt: i64) {
        let token = self.kill.child_token();
        self.job_tokens.insert(id, token.clone());
        let retry = RetryPlan::from_policy(spec.retry_policy.as_ref());
        let env = self.job_env.clone();
        let handle = self
            .jobs
            .spawn(async move { (id, run_job(env, plan, retry, attempt, token).await) });
        self.job_ids.insert(handle.id(), id);
    }

    /// Decides how a step starts; writes nothing to the store. A volume step runs here only
    /// when its row is `stored`.
    async fn prepare_step(
        &self,
        task: &StepTask<'_>,
        spec: &PipelineTaskSpec,
        stored: bool,
    ) -> Result<Prepared, EngineError> {
        let ctx = self.ctx.clone();
        let id = task.id;
        let inputs = &task.inputs;
        let component = ctx.spec().component(&spec.component_ref.name);
        let label = component
            .and_then(|c| c.executor_label.clone())
            .unwrap_or_default();
        let container = match ctx.spec().executor(&label).map(|e| e.kind()) {
            Some(ExecutorKind::Container(container)) => container,
            _ => {
                return Ok(failed(format!(
                    "`{}` has no container executor `{label}`",
                    task.name
                )))
            }
        };
        let Some(component) = component else {
            return Ok(failed(format!(
                "the component `{}` does not exist",
                spec.component_ref.name
            )));
        };
        if crate::volumes::is_volume_step(container) {
            if !stored {
                return Ok(Prepared::Volume);
            }
            return Ok(
                match crate::volumes::run_volume_step(&ctx, id, container, inputs) {
                    Some(Ok(outputs)) => Prepared::Ended(Box::new(TaskUpdate {
                        outputs: Some(outputs),
                        ..TaskUpdate::state(TaskState::Succeeded)
                    })),
                    Some(Err(message)) => failed(message),
                    None => failed("internal error: not a volume step".to_owned()),
                },
            );
        }
        let scratch = ctx.layout.task_scratch(ctx.run.id, id);
        let setup = {
            let dag_path = self
                .tasks
                .get(&task.parent_id.unwrap_or(id))
                .map(|p| p.path.clone())
                .unwrap_or_default();
            let sibling_output = |producer: &str, key: &str| {
                let sibling = self
                    .by_path
                    .get(&format!("{dag_path}/{producer}"))
                    .and_then(|i| self.tasks.get(i))?;
                sibling.outputs.parameters.get(key).cloned()
            };
            let no_inputs = TaskIo::default();
            let dag_inputs = self
                .tasks
                .get(&task.parent_id.unwrap_or(id))
                .map_or(&no_inputs, |p| &p.inputs);
            let names = NameSources {
                dag_inputs,
                inputs,
                sibling_output: &sibling_output,
            };
            platform::setup(self.shared.store.as_ref(), &ctx, &label, &names, &scratch).await
        };
        let setup = match setup {
            Ok(setup) => setup,
            Err(message) => return Ok(failed(message)),
        };
        let cache_enabled = spec.cache_enabled() && !ctx.run.options.no_cache;
        let fingerprint = cache::fingerprint(spec, component, container, inputs, &setup.pvc_names);
        if cache_enabled {
            let pipeline = format!("pipeline/{}", ctx.pipeline_name());
            // One lookup: the newest entry's task, read with the entry.
            let cached = self
                .shared
                .store
                .find_cached_task(&fingerprint, &pipeline)
                .await?;
            if let Some(cached) = cached {
                let details = TaskDetails {
                    component: Some(spec.component_ref.name.clone()),
                    exit_task: task.exit_task,
                    image: Some(container.image.clone()),
                    fingerprint: Some(fingerprint),
                    cached_from: Some(CachedFrom {
                        run_id: cached.run_id,
                        task_id: cached.id,
                        path: cached.path.clone(),
                    }),
                    ..Default::default()
                };
                let message = format!(
                    "reused the outputs of run {} task {}",
                    cached.run_id, cached.path
                );
                return Ok(Prepared::Ended(Box::new(TaskUpdate {
                    outputs: Some(cached.outputs),
                    details: Some(details),
                    ..TaskUpdate::state(TaskState::Cached).with_message(message)
                })));
            }
        }
        let host_path = self.shared.host_path.clone();
        let launch = LaunchInput {
            ctx: &ctx,
            task_key: task.name,
            task_id: id,
            component,
            container,
            inputs,
            platform: PlatformEnv {
                env: setup.env.clone(),
                timeout: setup.timeout,
            },
            host_path: &host_path,
        };
        let mut launch_plan = match plan(&launch) {
            Ok(plan) => plan,
            Err(message) => return Ok(failed(message)),
        };
        launch_plan.mounts.extend(setup.mounts.iter().cloned());
        if let Some(policy) = setup.pull_policy {
            launch_plan.pull_policy = policy;
        }
        if self.shared.executor.mounts_every_folder() {
            launch_plan.folders = crate::launch::Folders::ALL;
        }
        let details = TaskDetails {
            component: Some(spec.component_ref.name.clone()),
            exit_task: task.exit_task,
            image: Some(container.image.clone()),
            command: Some(launch_plan.argv.clone()),
            executor_input: Some(launch_plan.executor_input.clone()),
            fingerprint: cache_enabled.then_some(fingerprint),
            platform: (!setup.recorded.is_empty()).then_some(setup.recorded),
            memory_limit_bytes: launch_plan.limits.memory_bytes,
            cpu_limit: launch_plan.limits.cpu_cores,
            ..Default::default()
        };
        Ok(Prepared::Launch {
            details: Box::new(details),
            plan: Box::new(launch_plan),
        })
    }
}
