//! `/compare?run=a&run=b…`: 2 to 10 runs side by side: parameters and metrics (all, or only
//! the rows that differ), ROC curves overlaid, confusion matrices next to each other.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::{RawQuery, State};
use weir_types::RunId;

use super::html::Params;
use super::plots::{self, RocSeries, Svg};
use super::visualize::{self, RocPoint, CLASSIFICATION_METRICS};
use super::Shared;
use super::{format, render, UiError, UiResult};

const MAX_RUNS: usize = 10;
const MATRICES_PER_RUN: usize = 4;
const MAX_CURVES: usize = 20;

pub struct Column {
    pub id: String,
    pub name: String,
    pub state: String,
    pub state_class: String,
}

pub struct CompareRow {
    pub name: String,
    pub values: Vec<String>,
    pub differs: bool,
}

pub struct Matrix {
    pub run: String,
    pub source: String,
    pub svg: Svg,
}

#[derive(askama::Template)]
#[template(path = "compare.html")]
struct ComparePage {
    columns: Vec<Column>,
    differences_only: bool,
    parameters: Vec<CompareRow>,
    metrics: Vec<CompareRow>,
    roc: Option<Svg>,
    matrices: Vec<Matrix>,
}

/// Rows for every name any run has; a missing value is empty. With `differences_only`, rows
/// whose values are all equal are left out.
pub fn rows(per_run: &[BTreeMap<String, String>], differences_only: bool) -> Vec<CompareRow> {
    let names: BTreeSet<&String> = per_run.iter().flat_map(|m| m.keys()).collect();
    names
        .into_iter()
        .map(|name| {
            let values: Vec<String> = per_run
                .iter()
                .map(|m| m.get(name).cloned().unwrap_or_default())
                .collect();
            let differs = values.iter().any(|v| *v != values[0]);
            CompareRow {
                name: name.clone(),
                values,
                differs,
            }
        })
        .filter(|row| row.differs || !differences_only)
        .collect()
}

pub async fn page(State(state): State<Shared>, RawQuery(query): RawQuery) -> UiResult {
    let params = Params::from_query(query);
    let ids: Vec<RunId> = params
        .all("run")
        .map(|id| super::parse_id("run", id))
        .collect::<UiResult<_>>()?;
    if !(2..=MAX_RUNS).contains(&ids.len()) {
        return Err(UiError::bad_request(format!(
            "compare 2 to {MAX_RUNS} runs; check them in the runs table ({} given)",
            ids.len()
        )));
    }
    let differences_only = params.flag("diff");
    let mut columns = Vec::new();
    let mut parameters = Vec::new();
    let mut metrics = Vec::new();
    let mut curves: Vec<(String, Vec<RocPoint>)> = Vec::new();
    let mut matrices = Vec::new();
    for id in ids {
        let run = state.store.get_run(id).await?;
        let artifacts = state.store.list_run_artifacts(id).await?;
        parameters.push(
            run.runtime_config
                .parameters
                .iter()
                .map(|(k, v)| (k.clone(), format::clip(&format::value(v), 200)))
                .collect(),
        );
        metrics.push(
            visualize::metrics_of(&artifacts)
                .into_iter()
                .map(|(k, v)| (k, format::number(v)))
                .collect(),
        );
        let mut shown = 0;
        for artifact in artifacts
            .iter()
            .filter(|a| a.schema_title == CLASSIFICATION_METRICS)
        {
            let source = match artifact.task_id {
                Some(task) => state
                    .store
                    .get_task(task)
                    .await
                    .map(|t| t.path.strip_prefix("root/").unwrap_or(&t.path).to_owned())
                    .unwrap_or_default(),
                None => artifact.name.clone(),
            };
            let points = visualize::roc_points(&artifact.metadata);
            if !points.is_empty() && curves.len() < MAX_CURVES {
                curves.push((format!("{} · {source}", run.display_name), points));
            }
            if shown < MATRICES_PER_RUN {
                if let Some(matrix) = visualize::confusion_matrix(&artifact.metadata) {
                    shown += 1;
                    matrices.push(Matrix {
                        run: run.display_name.clone(),
                        source,
                        svg: plots::confusion_matrix(&matrix),
                    });
                }
            }
        }
        columns.push(Column {
            id: run.id.to_string(),
            name: run.display_name.clone(),
            state: run.state.to_string(),
            state_class: format::state_class(run.state.as_str()),
        });
    }
    let series: Vec<RocSeries> = curves
        .iter()
        .map(|(label, points)| RocSeries {
            label: label.clone(),
            points,
        })
        .collect();
    render(&ComparePage {
        columns,
        differences_only,
        parameters: rows(&parameters, differences_only),
        metrics: rows(&metrics, differences_only),
        roc: (!series.is_empty()).then(|| plots::roc_curves(&series)),
        matrices,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_only_keeps_rows_whose_values_differ() {
        let run = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let runs = [
            run(&[("seed", "42"), ("lr", "0.1")]),
            run(&[("seed", "42"), ("lr", "0.2"), ("extra", "x")]),
        ];
        let all = rows(&runs, false);
        assert_eq!(all.len(), 3);
        let differing: Vec<String> = rows(&runs, true).into_iter().map(|r| r.name).collect();
        assert_eq!(differing, ["extra", "lr"]);
    }
}
