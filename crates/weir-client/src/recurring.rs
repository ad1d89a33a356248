//! `/apis/v2beta1/recurringruns`

use reqwest::Method;
use weir_api_model::{ListRecurringRunsResponse, RecurringRun};

use crate::{Client, ClientError, ListParams};

impl Client {
    /// Creates a recurring run: `display_name`, a `trigger` (cron or periodic) and a pipeline
    /// (`pipeline_spec` or `pipeline_version_reference`) are required.
    pub async fn create_recurring_run(
        &self,
        recurring_run: &RecurringRun,
    ) -> Result<RecurringRun, ClientError> {
        self.send(
            self.call(Method::POST, &["recurringruns"])
                .json(recurring_run),
        )
        .await
    }

    pub async fn get_recurring_run(
        &self,
        recurring_run_id: &str,
    ) -> Result<RecurringRun, ClientError> {
        self.send(self.call(Method::GET, &["recurringruns", recurring_run_id]))
            .await
    }

    /// Recurring runs, of one experiment when `experiment_id` is given.
    pub async fn list_recurring_runs(
        &self,
        experiment_id: Option<&str>,
        params: &ListParams,
    ) -> Result<ListRecurringRunsResponse, ClientError> {
        let mut query = params.query();
        if let Some(experiment_id) = experiment_id.filter(|e| !e.is_empty()) {
            query.push(("experiment_id", experiment_id.to_owned()));
        }
        self.send(self.call(Method::GET, &["recurringruns"]).query(&query))
            .await
    }

    pub async fn enable_recurring_run(&self, recurring_run_id: &str) -> Result<(), ClientError> {
        let action = format!("{recurring_run_id}:enable");
        self.send_empty(self.call(Method::POST, &["recurringruns", &action]))
            .await
    }

    pub async fn disable_recurring_run(&self, recurring_run_id: &str) -> Result<(), ClientError> {
        let action = format!("{recurring_run_id}:disable");
        self.send_empty(self.call(Method::POST, &["recurringruns", &action]))
            .await
    }

    /// Deletes a recurring run; the runs it started stay.
    pub async fn delete_recurring_run(&self, recurring_run_id: &str) -> Result<(), ClientError> {
        self.send_empty(self.call(Method::DELETE, &["recurringruns", recurring_run_id]))
            .await
    }
}
