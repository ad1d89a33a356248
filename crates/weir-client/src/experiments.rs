//! `/apis/v2beta1/experiments`

use reqwest::Method;
use weir_api_model::{Experiment, Filter, ListExperimentsResponse, Predicate, PredicateOperation};

use crate::{Client, ClientError, ListParams};

impl Client {
    /// Creates an experiment; `display_name` is required.
    pub async fn create_experiment(
        &self,
        experiment: &Experiment,
    ) -> Result<Experiment, ClientError> {
        self.send(self.call(Method::POST, &["experiments"]).json(experiment))
            .await
    }

    pub async fn get_experiment(&self, experiment_id: &str) -> Result<Experiment, ClientError> {
        self.send(self.call(Method::GET, &["experiments", experiment_id]))
            .await
    }

    pub async fn list_experiments(
        &self,
        params: &ListParams,
    ) -> Result<ListExperimentsResponse, ClientError> {
        self.send(
            self.call(Method::GET, &["experiments"])
                .query(&params.query()),
        )
        .await
    }

    /// The experiment with this display name, if there is one (the first, when a multi-user
    /// server has several across namespaces).
    pub async fn find_experiment(&self, name: &str) -> Result<Option<Experiment>, ClientError> {
        let params = ListParams {
            filter: Some(display_name_filter(name)),
            page_size: Some(1),
            ..ListParams::default()
        };
        let page = self.list_experiments(&params).await?;
        Ok(page.experiments.into_iter().next())
    }

    /// The experiment with this display name, created when there is none (what `kfp run
    /// create -e NAME` does).
    pub async fn ensure_experiment(&self, name: &str) -> Result<Experiment, ClientError> {
        if let Some(found) = self.find_experiment(name).await? {
            return Ok(found);
        }
        let created = self
            .create_experiment(&Experiment {
                display_name: Some(name.to_owned()),
                ..Experiment::default()
            })
            .await;
        match created {
            // Someone else created it in between.
            Err(error) if error.status() == Some(409) => match self.find_experiment(name).await? {
                Some(found) => Ok(found),
                None => Err(error),
            },
            other => other,
        }
    }

    /// Archives the experiment, its runs, and disables its recurring runs.
    pub async fn archive_experiment(&self, experiment_id: &str) -> Result<(), ClientError> {
        let action = format!("{experiment_id}:archive");
        self.send_empty(self.call(Method::POST, &["experiments", &action]))
            .await
    }

    pub async fn unarchive_experiment(&self, experiment_id: &str) -> Result<(), ClientError> {
        let action = format!("{experiment_id}:unarchive");
        self.send_empty(self.call(Method::POST, &["experiments", &action]))
            .await
    }

    /// Deletes the experiment with its runs.
    pub async fn delete_experiment(&self, experiment_id: &str) -> Result<(), ClientError> {
        self.send_empty(self.call(Method::DELETE, &["experiments", experiment_id]))
            .await
    }
}

/// The `filter` JSON for `display_name == name`.
pub(crate) fn display_name_filter(name: &str) -> String {
    let filter = Filter {
        predicates: vec![Predicate {
            operation: Some(PredicateOperation::Equals),
            key: Some("display_name".to_owned()),
            string_value: Some(name.to_owned()),
            ..Predicate::default()
        }],
    };
    serde_json::to_string(&filter).expect("a filter of strings always serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_filter_is_what_the_server_parses() {
        let filter = weir_api_model::parse_filter(&display_name_filter("a \"b\"")).expect("parses");
        assert_eq!(filter.predicates[0].key, "display_name");
        assert_eq!(
            filter.predicates[0].value,
            weir_api_model::PredicateValue::String("a \"b\"".to_owned())
        );
    }
}
