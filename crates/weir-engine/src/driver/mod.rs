//! The driver of one run: it owns the run's executions in memory, walks the pipeline's DAGs to
//! decide what can start, starts it, and records every decision in the store before acting on
//! it. Container steps run as separate jobs that report back here; only this loop changes the
//! state of DAGs, loops and finished steps.
//!
//! Every decision derives from the stored executions and the spec, so resuming a run after a
//! crash, or retrying a failed one, is the same walk over what the store already holds.

mod dag;
mod looping;
mod progress;
mod start;
mod step;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use weir_store::{CacheKey, MetadataStore, NewTask, Run, Task, TaskDetails, TaskUpdate};
use weir_types::{RunState, TaskId, TaskKind, TaskState};

use crate::context::{RunContext, ROOT_COMPONENT};
use crate::io::TaskIo;
use crate::job::{JobEnv, JobOutcome};
use crate::{EngineError, EngineEvent, Shared};
use progress::Progress;

pub(crate) struct Driver {
    shared: Arc<Shared>,
    ctx: Arc<RunContext>,
    job_env: Arc<JobEnv>,
    tasks: HashMap<TaskId, Task>,
    by_path: HashMap<String, TaskId>,
    jobs: JoinSet<(TaskId, JobOutcome)>,
    job_tokens: HashMap<TaskId, CancellationToken>,
    job_ids: HashMap<tokio::task::Id, TaskId>,
    /// Soft cancel: stop starting work, stop running steps, still run exit handlers.
    cancel: CancellationToken,
    /// Hard stop: every job, exit handlers included.
    kill: CancellationToken,
    /// Leave the run for later: start nothing new, return when the running steps are done.
    drain: CancellationToken,
    canceling: bool,
    draining: bool,
    topo_cache: HashMap<String, Arc<[String]>>,
    /// Per component: each task key's downstream tasks in the same DAG.
    downstream_cache: HashMap<String, Arc<HashMap<String, Vec<String>>>>,
    /// Per loop: the inputs every iteration starts from (the loop's, less the items).
    iteration_inputs: HashMap<TaskId, Arc<TaskIo>>,
    /// What changed since the last walk (see `progress.rs`).
    progress: Progress,
    /// Executions created in the state they end in, known here but not written yet (`create`).
    unwritten: Vec<(NewTask, DateTime<Utc>)>,
}

/// Executions created ended are written in batches of at most this many.
const BATCH: usize = 256;

impl Driver {
    pub(crate) fn new(shared: Arc<Shared>, ctx: RunContext, control: crate::RunControl) -> Self {
        let ctx = Arc::new(ctx);
        let job_env = Arc::new(JobEnv {
            store: shared.store.clone(),
            python: shared.python.clone(),
            python_root: shared.layout.python_envs(),
            slots: shared.slots.clone(),
            run_id: ctx.run.id,
            kill_grace: shared.kill_grace,
            events: shared.events.clone(),
            executor: shared.executor.clone(),
            remote: shared.remote.clone(),
        });
        Driver {
            shared,
            ctx,
            job_env,
            tasks: HashMap::new(),
            by_path: HashMap::new(),
            jobs: JoinSet::new(),
            job_tokens: HashMap::new(),
            job_ids: HashMap::new(),
            cancel: control.cancel,
            kill: control.kill,
            drain: control.drain,
            canceling: false,
            draining: false,
            topo_cache: HashMap::new(),
            downstream_cache: HashMap::new(),
            iteration_inputs: HashMap::new(),
            progress: Progress::new(),
            unwritten: Vec::new(),
        }
    }

    fn store(&self) -> &dyn MetadataStore {
        self.shared.store.as_ref()
    }

    /// Runs (or resumes) the run until it ends.
    pub(crate) async fn drive(mut self) -> Result<Run, EngineError> {
        let run_id = self.ctx.run.id;
        for task in self.store().list_tasks(run_id).await? {
            self.remember(task);
        }
        // Weir stopped while the run was being canceled: it goes on being canceled (CANCELING
        // cannot go back to RUNNING), once the first walk has resumed what was interrupted.
        let stopped_while_canceling = self.ctx.run.state == RunState::Canceling;
        if !stopped_while_canceling {
            let resumed = !self.tasks.is_empty();
            let message = resumed.then_some("resumed");
            self.set_run_state(RunState::Running, message).await?;
        }
        let root_id = match self.by_path.get(ROOT_COMPONENT) {
            Some(id) => *id,
            None => self.create_root().await?,
        };
        loop {
            if !self.draining {
                self.reconcile_changes(root_id).await?;
            }
            self.flush().await?;
            if self.tasks[&root_id].state.is_terminal() {
                break;
            }
            if stopped_while_canceling && !self.canceling {
                self.begin_cancel().await?;
                continue;
            }
            if self.draining && self.jobs.is_empty() {
                tracing::info!(run_id = %run_id, "run left for later; it resumes when Weir starts again");
                return Ok(self.store().get_run(run_id).await?);
            }
            if self.jobs.is_empty() {
                let message = "internal error: the run has unfinished tasks but nothing can run";
                tracing::error!(run_id = %run_id, "{message}");
                let update = TaskUpdate {
                    error: Some(Some(message.to_owned())),
                    ..TaskUpdate::state(TaskState::Failed)
                };
                self.update(root_id, update).await?;
                break;
            }
            tokio::select! {
                biased;
                _ = self.drain.cancelled(), if !self.draining => self.draining = true,
                _ = self.cancel.cancelled(), if !self.canceling => self.begin_cancel().await?,
                Some(joined) = self.jobs.join_next_with_id() => self.finish_job(joined).await?,
            }
        }
        self.finish_run(root_id).await
    }

    async fn create_root(&mut self) -> Result<TaskId, EngineError> {
        let inputs = TaskIo {
            parameters: self.ctx.run.runtime_config.parameters.clone(),
            ..Default::default()
        };
        let task = NewTask {
            id: TaskId::new(),
            run_id: self.ctx.run.id,
            parent_id: None,
            path: ROOT_COMPONENT.to_owned(),
            name: ROOT_COMPONENT.to_owned(),
            display_name: self.ctx.pipeline_name().to_owned(),
            kind: TaskKind::Root,
            iteration_index: None,
            state: TaskState::Running,
            inputs,
            details: TaskDetails {
                component: Some(ROOT_COMPONENT.to_owned()),
                ..Default::default()
            },
            message: None,
            outputs: TaskIo::default(),
            log_path: None,
        };
        Ok(self.create(task).await?.id)
    }

    async fn begin_cancel(&mut self) -> Result<(), EngineError> {
        self.flush().await?;
        self.canceling = true;
        self.progress.ask_full_walk();
        self.set_run_state(RunState::Canceling, Some("canceled by the user"))
            .await?;
        for (task_id, token) in &self.job_tokens {
            let is_exit_task = self.tasks.get(task_id).is_some_and(|t| t.details.exit_task);
            if !is_exit_task {
                token.cancel();
            }
        }
        Ok(())
    }

    async fn finish_job(
        &mut self,
        joined: Result<(tokio::task::Id, (TaskId, JobOutcome)), tokio::task::JoinError>,
    ) -> Result<(), EngineError> {
        let (task_id, outcome) = match joined {
            Ok((job_id, done)) => {
                self.job_ids.remove(&job_id);
                done
            }
            Err(error) => {
                let Some(task_id) = self.job_ids.remove(&error.id()) else {
                    return Err(EngineError::Internal(format!(
                        "a task job stopped unexpectedly: {error}"
                    )));
                };
                (
                    task_id,
                    JobOutcome::Failed {
                        error: format!(
                            "internal error: the task's job stopped unexpectedly: {error}"
                        ),
                    },
                )
            }
        };
        self.job_tokens.remove(&task_id);
        let update = match outcome {
            // The step's cache entry goes with its SUCCEEDED, in the same transaction.
            JobOutcome::Succeeded { outputs } => TaskUpdate {
                outputs: Some(outputs),
                cache_entry: self.cache_key(task_id),
                ..TaskUpdate::state(TaskState::Succeeded)
            },
            JobOutcome::Failed { error } => TaskUpdate {
                error: Some(Some(error.clone())),
                ..TaskUpdate::state(TaskState::Failed).with_message(first_line(&error))
            },
            // Stopped by a shutdown, not by the user: the step runs again when the run resumes.
            JobOutcome::Canceled if self.draining && !self.canceling => TaskUpdate {
                started_at: Some(None),
                ..TaskUpdate::state(TaskState::Pending).with_message("interrupted by a shutdown")
            },
            JobOutcome::Canceled => TaskUpdate::state(TaskState::Canceled).with_message("canceled"),
        };
        self.update(task_id, update).await?;
        Ok(())
    }

    /// Where a step's outputs are cached: the fingerprint it was planned with (none when its
    /// cache is off), within this pipeline.
    fn cache_key(&self, task_id: TaskId) -> Option<CacheKey> {
        let task = self.tasks.get(&task_id)?;
        Some(CacheKey {
            fingerprint: task.details.fingerprint.clone()?,
            pipeline_name: format!("pipeline/{}", self.ctx.pipeline_name()),
        })
    }

    async fn finish_run(mut self, root_id: TaskId) -> Result<Run, EngineError> {
        self.flush().await?;
        let root = &self.tasks[&root_id];
        let (state, message) = match root.state {
            TaskState::Succeeded | TaskState::Cached | TaskState::Skipped => {
                (RunState::Succeeded, None)
            }
            TaskState::Canceled => (RunState::Canceled, Some("canceled".to_owned())),
            _ if self.canceling => (RunState::Canceled, Some("canceled".to_owned())),
            _ => (
                RunState::Failed,
                root.error
                    .clone()
                    .or_else(|| Some("a task failed".to_owned())),
            ),
        };
        let run = self
            .store()
            .set_run_state(self.ctx.run.id, state, message.as_deref())
            .await?;
        self.shared.emit(EngineEvent::RunChanged {
            run_id: run.id,
            state: run.state,
        });
        Ok(run)
    }

    async fn set_run_state(
        &mut self,
        state: RunState,
        message: Option<&str>,
    ) -> Result<(), EngineError> {
        self.flush().await?;
        let run_id = self.ctx.run.id;
        self.store()
            .change_run_state(run_id, state, message)
            .await?;
        self.shared.emit(EngineEvent::RunChanged { run_id, state });
        Ok(())
    }

    fn remember(&mut self, task: Task) {
        let previous = self.tasks.get(&task.id).map(|t| t.state);
        self.progress.record(previous, &task);
        self.by_path.insert(task.path.clone(), task.id);
        self.tasks.insert(task.id, task);
    }

    /// Creates an execution in the store, then in memory. One created in the state it ends in
    /// (CACHED, SKIPPED, FAILED...) starts nothing and changes nothing outside the store, so it
    /// is kept here and written with the others of the same walk in one transaction (`flush`),
    /// before any other write and before anything acts on the run: a crash loses only decisions
    /// that the resumed walk makes again, the same way.
    async fn create(&mut self, task: NewTask) -> Result<&Task, EngineError> {
        let id = task.id;
        if task.state.is_terminal() && task.parent_id.is_some() {
            let at = Utc::now();
            self.remember(task.created(at));
            self.unwritten.push((task, at));
            if self.unwritten.len() >= BATCH {
                self.flush().await?;
            }
            return Ok(&self.tasks[&id]);
        }
        self.flush().await?;
        let created = self.store().create_task(&task).await?;
        self.emit_task(&created);
        self.remember(created);
        Ok(&self.tasks[&id])
    }

    /// Writes the executions `create` kept, in one transaction, then tells about them.
    async fn flush(&mut self) -> Result<(), EngineError> {
        if self.unwritten.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.unwritten);
        self.store().create_tasks(&batch).await?;
        for (task, _) in &batch {
            if let Some(task) = self.tasks.get(&task.id) {
                self.emit_task(task);
            }
        }
        Ok(())
    }

    /// Updates an execution in the store, then in memory.
    async fn update(&mut self, id: TaskId, update: TaskUpdate) -> Result<Task, EngineError> {
        self.flush().await?;
        let previous = self.tasks.get(&id).map(|t| t.state);
        let updated = self.store().update_task(id, &update).await?;
        if previous != Some(updated.state) {
            self.emit_task(&updated);
        }
        self.remember(updated.clone());
        Ok(updated)
    }

    fn emit_task(&self, task: &Task) {
        self.shared.emit(EngineEvent::TaskChanged {
            run_id: task.run_id,
            task_id: task.id,
            path: task.path.clone(),
            display_name: task.display_name.clone(),
            kind: task.kind,
            state: task.state,
            message: task.error.as_deref().map(first_line),
        });
    }
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_owned()
}
