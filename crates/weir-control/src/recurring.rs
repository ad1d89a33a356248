//! The use cases on recurring runs: create or update one (checked the same way from the REST
//! API and the UI), enable, disable, delete. `scheduler.rs` fires them.

use serde_json::{Map, Value};
use weir_api_model::Trigger;
use weir_store::{NewRecurringRun, RecurringRun, RuntimeConfig};
use weir_types::{ExperimentId, RecurringRunId};

use crate::error::{ControlError, ControlResult};
use crate::scheduler::check_trigger;
use crate::source::PipelineSource;
use crate::{package, Control};

/// Most runs of one recurring run executing at once.
pub const MAX_CONCURRENCY: i64 = 10;

/// What a recurring run is made of, as the caller sent it; checked by
/// [`Control::create_recurring_run`] and [`Control::update_recurring_run`].
pub struct RecurringRunDraft {
    pub display_name: String,
    pub description: String,
    pub namespace: String,
    pub pipeline: PipelineSource,
    /// Typed values; checked against the pipeline's inputs.
    pub parameters: Map<String, Value>,
    /// As [`crate::NewRun::pipeline_root`]; checked when each run is created.
    pub pipeline_root: Option<String>,
    pub service_account: String,
    /// Absent: the `Default` experiment, created when missing.
    pub experiment_id: Option<ExperimentId>,
    /// 1 to [`MAX_CONCURRENCY`].
    pub max_concurrency: i64,
    /// KFP's trigger, kept as sent: a cron schedule (6 fields with seconds) or an interval.
    pub trigger: Trigger,
    pub enabled: bool,
    pub no_catchup: bool,
}

impl Control {
    /// Checks and stores a new recurring run.
    pub async fn create_recurring_run(
        &self,
        draft: RecurringRunDraft,
    ) -> ControlResult<RecurringRun> {
        let recurring = self
            .checked_recurring_run(RecurringRunId::new(), draft)
            .await?;
        Ok(self.store.create_recurring_run(&recurring).await?)
    }

    /// Changes a recurring run in place: its id and the runs it started stay (KFP #3789). The
    /// draft is checked first; a recurring run that does not exist is NOT_FOUND after that.
    pub async fn update_recurring_run(
        &self,
        id: RecurringRunId,
        draft: RecurringRunDraft,
    ) -> ControlResult<RecurringRun> {
        let recurring = self.checked_recurring_run(id, draft).await?;
        Ok(self.store.update_recurring_run(&recurring).await?)
    }

    /// Enables (`true`) or disables (`false`) a recurring run.
    pub async fn set_recurring_run_enabled(
        &self,
        id: RecurringRunId,
        enabled: bool,
    ) -> ControlResult<RecurringRun> {
        Ok(self.store.set_recurring_run_enabled(id, enabled).await?)
    }

    /// Deletes a recurring run and its claimed slots; the runs it started stay.
    pub async fn delete_recurring_run(&self, id: RecurringRunId) -> ControlResult<()> {
        Ok(self.store.delete_recurring_run(id).await?)
    }

    /// The draft checked into what the store keeps: a trigger that can fire, a valid pipeline,
    /// parameters it takes, an existing experiment, a concurrency in bounds.
    async fn checked_recurring_run(
        &self,
        id: RecurringRunId,
        draft: RecurringRunDraft,
    ) -> ControlResult<NewRecurringRun> {
        check_trigger(&draft.trigger)?;
        let pipeline = self.load_pipeline(draft.pipeline).await?;
        weir_engine::complete_parameters(&pipeline.document, draft.parameters.clone())?;
        let experiment_id = match draft.experiment_id {
            Some(id) => self.store.get_experiment(&id.to_string()).await?.id,
            None => self.store.ensure_experiment("Default").await?.id,
        };
        if !(1..=MAX_CONCURRENCY).contains(&draft.max_concurrency) {
            return Err(ControlError::invalid(format!(
                "max_concurrency must be between 1 and {MAX_CONCURRENCY}, not {}",
                draft.max_concurrency
            )));
        }
        let trigger = serde_json::to_value(&draft.trigger)
            .map_err(|e| ControlError::Internal(format!("the trigger does not encode: {e}")))?;
        Ok(NewRecurringRun {
            id,
            display_name: draft.display_name,
            description: draft.description,
            namespace: draft.namespace,
            experiment_id: Some(experiment_id),
            pipeline_id: pipeline.pipeline_id,
            pipeline_version_id: pipeline.version_id,
            pipeline_spec: Some(package::spec_json(&pipeline.document)),
            runtime_config: RuntimeConfig {
                parameters: draft.parameters,
                pipeline_root: draft.pipeline_root.filter(|r| !r.trim().is_empty()),
            },
            service_account: draft.service_account,
            max_concurrency: draft.max_concurrency,
            trigger,
            enabled: draft.enabled,
            no_catchup: draft.no_catchup,
        })
    }
}
