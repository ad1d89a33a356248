//! The use cases on runs: create (record, then start), retry, terminate, archive, delete.
//!
//! This is the one place where a submit request is built, submitted and started; the REST
//! API, the UI, the scheduler and `weir run` all come here.

use serde_json::{Map, Value};
use weir_engine::{RunControl, RunLinks, SubmitRequest};
use weir_store::{Run, RunOptions};
use weir_types::{ExperimentId, RecurringRunId, RunId};

use crate::error::ControlResult;
use crate::source::PipelineSource;
use crate::Control;

/// A run to create.
pub struct NewRun {
    pub pipeline: PipelineSource,
    /// Empty or absent: the pipeline's name and the time.
    pub display_name: Option<String>,
    pub description: Option<String>,
    /// Absent: the `Default` experiment.
    pub experiment: Option<ExperimentRef>,
    /// Typed values; checked against the pipeline's inputs, defaults added.
    pub parameters: Map<String, Value>,
    /// Where artifacts go: an absolute local folder, `s3://bucket/prefix` or `minio://...`.
    /// The engine refuses a root it cannot parse or write to; none: the server's default.
    pub pipeline_root: Option<String>,
    pub options: RunOptions,
    /// Labels to find the run by (`weir_store::check_tags` rules).
    pub tags: Vec<String>,
    pub namespace: String,
    pub service_account: String,
    /// Set when a recurring run fires: the slot's claimed run id.
    pub scheduled: Option<ScheduledSlot>,
}

impl NewRun {
    /// A run of `pipeline` with nothing else set.
    pub fn new(pipeline: PipelineSource) -> NewRun {
        NewRun {
            pipeline,
            display_name: None,
            description: None,
            experiment: None,
            parameters: Map::new(),
            pipeline_root: None,
            options: RunOptions::default(),
            tags: Vec::new(),
            namespace: String::new(),
            service_account: String::new(),
            scheduled: None,
        }
    }
}

/// The experiment a new run belongs to.
#[derive(Debug, Clone)]
pub enum ExperimentRef {
    /// An existing experiment.
    Id(ExperimentId),
    /// An experiment by name, created when missing (`weir run --experiment`).
    Name(String),
}

/// The slot of a recurring run that a new run fills; the slot was claimed with `run_id`.
#[derive(Debug, Clone, Copy)]
pub struct ScheduledSlot {
    pub recurring_run_id: RecurringRunId,
    pub run_id: RunId,
}

impl Control {
    /// Records a run and starts driving it in the background.
    pub async fn create_run(&self, run: NewRun) -> ControlResult<Run> {
        let recorded = self.record_run(run).await?;
        self.runs.start(recorded.id);
        Ok(recorded)
    }

    /// Records a run (PENDING) without starting it; the caller drives it with
    /// [`Control::drive_run`]. Nothing is recorded when the pipeline or a parameter is refused.
    pub async fn record_run(&self, run: NewRun) -> ControlResult<Run> {
        let pipeline = self.load_pipeline(run.pipeline).await?;
        let (experiment_name, experiment_id) = match run.experiment {
            Some(ExperimentRef::Id(id)) => (None, Some(id)),
            Some(ExperimentRef::Name(name)) => (Some(name), None),
            None => (None, None),
        };
        let request = SubmitRequest {
            document: pipeline.document,
            display_name: run.display_name.filter(|n| !n.is_empty()),
            experiment: experiment_name,
            parameters: run.parameters,
            options: run.options,
            pipeline_root: run.pipeline_root.filter(|r| !r.trim().is_empty()),
            links: RunLinks {
                run_id: run.scheduled.map(|slot| slot.run_id),
                experiment_id,
                pipeline_id: pipeline.pipeline_id,
                pipeline_version_id: pipeline.version_id.map(|v| v.to_string()),
                recurring_run_id: run.scheduled.map(|slot| slot.recurring_run_id.to_string()),
                namespace: run.namespace,
                service_account: run.service_account,
                description: run.description,
                tags: run.tags,
            },
        };
        Ok(self.engine.submit(request).await?)
    }

    /// Drives a recorded run in the caller's task until it stops, with the caller's `control`
    /// (Ctrl-C of `weir run`); resumes a run that was interrupted.
    pub async fn drive_run(&self, run_id: RunId, control: RunControl) -> ControlResult<Run> {
        self.runs.drive(run_id, control).await
    }

    /// Runs the failed and not-yet-run tasks of a FAILED or CANCELED run again, in the
    /// background; a run still executing is FAILED_PRECONDITION.
    pub async fn retry_run(&self, run_id: RunId) -> ControlResult<()> {
        self.runs.retry(run_id).await
    }

    /// [`Control::retry_run`] without starting: the caller drives the run.
    pub async fn prepare_retry(&self, run_id: RunId) -> ControlResult<Run> {
        self.runs.prepare_retry(run_id).await
    }

    /// Cancels a run: running steps are stopped, exit handlers run, the run ends CANCELED. A
    /// run no one drives ends CANCELED at once; an ended run stays as it is.
    pub async fn terminate_run(&self, run_id: RunId) -> ControlResult<()> {
        self.runs.terminate(run_id).await
    }

    /// Archives (`true`) or restores (`false`) a run.
    pub async fn set_run_archived(&self, run_id: RunId, archived: bool) -> ControlResult<()> {
        Ok(self.store.set_run_archived(run_id, archived).await?)
    }

    /// Deletes a run with its tasks, logs, artifacts and cache entries; a running run is
    /// terminated first.
    pub async fn delete_run(&self, run_id: RunId) -> ControlResult<()> {
        self.runs.delete(run_id).await
    }

    /// Whether this process is driving the run now.
    pub fn is_run_active(&self, run_id: RunId) -> bool {
        self.runs.is_active(run_id)
    }
}
