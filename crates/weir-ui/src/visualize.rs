//! What typed artifacts mean to a reader: metrics as numbers, classification metrics as a
//! confusion matrix and ROC points, and the parameter/metric conditions of the runs filter.

use std::collections::BTreeMap;

use serde_json::Value;
use weir_store::{Artifact, FilterValue, Predicate, PredicateOp};
use weir_types::RunId;

use super::Shared;
use super::{format, UiResult};

pub const METRICS: &str = "system.Metrics";
pub const CLASSIFICATION_METRICS: &str = "system.ClassificationMetrics";

/// The numeric metrics a run logged (`system.Metrics` artifacts), by name. When several
/// artifacts log the same name (a loop), the newest value wins.
pub async fn run_metrics(state: &Shared, run_id: RunId) -> UiResult<BTreeMap<String, f64>> {
    let artifacts = state.store.list_run_artifacts(run_id).await?;
    Ok(metrics_of(&artifacts))
}

pub fn metrics_of(artifacts: &[Artifact]) -> BTreeMap<String, f64> {
    let mut metrics = BTreeMap::new();
    for artifact in artifacts.iter().filter(|a| a.schema_title == METRICS) {
        metrics.extend(numeric_entries(&artifact.metadata));
    }
    metrics
}

/// The numeric entries of a metadata object (`display_name` and other text left out).
pub fn numeric_entries(metadata: &Value) -> Vec<(String, f64)> {
    let Some(object) = metadata.as_object() else {
        return Vec::new();
    };
    object
        .iter()
        .filter_map(|(key, value)| Some((key.clone(), value.as_f64()?)))
        .collect()
}

pub struct ConfusionMatrix {
    pub labels: Vec<String>,
    /// `rows[actual][predicted]`.
    pub rows: Vec<Vec<f64>>,
}

/// KFP's `confusionMatrix: {annotationSpecs: [{displayName}], rows: [{row: [..]}]}`.
pub fn confusion_matrix(metadata: &Value) -> Option<ConfusionMatrix> {
    let matrix = metadata.get("confusionMatrix")?;
    let labels: Vec<String> = matrix
        .get("annotationSpecs")?
        .as_array()?
        .iter()
        .map(|spec| {
            spec.get("displayName")
                .map(format::value)
                .unwrap_or_default()
        })
        .collect();
    let rows: Vec<Vec<f64>> = matrix
        .get("rows")?
        .as_array()?
        .iter()
        .map(|row| {
            row.get("row")
                .and_then(Value::as_array)
                .map(|cells| cells.iter().map(|c| c.as_f64().unwrap_or(0.0)).collect())
                .unwrap_or_default()
        })
        .collect();
    if labels.is_empty() || rows.is_empty() {
        return None;
    }
    Some(ConfusionMatrix { labels, rows })
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RocPoint {
    pub false_positive_rate: f64,
    pub recall: f64,
    pub threshold: f64,
}

/// KFP's `confidenceMetrics: [{confidenceThreshold, recall, falsePositiveRate}]`, in order of
/// rising false positive rate.
pub fn roc_points(metadata: &Value) -> Vec<RocPoint> {
    let Some(points) = metadata.get("confidenceMetrics").and_then(Value::as_array) else {
        return Vec::new();
    };
    let number = |point: &Value, key: &str| point.get(key).and_then(Value::as_f64);
    let mut points: Vec<RocPoint> = points
        .iter()
        .filter_map(|p| {
            Some(RocPoint {
                false_positive_rate: number(p, "falsePositiveRate")?.clamp(0.0, 1.0),
                recall: number(p, "recall")?.clamp(0.0, 1.0),
                threshold: number(p, "confidenceThreshold").unwrap_or(f64::NAN),
            })
        })
        .collect();
    points.sort_by(|a, b| {
        (a.false_positive_rate, a.recall)
            .partial_cmp(&(b.false_positive_rate, b.recall))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    points
}

/// Conditions on parameters and metrics, separated by commas, semicolons or new lines:
/// `metric.accuracy>=0.9`, `param.lr=0.1`, `seed != 3` (a bare name is the parameter of that
/// name, else the metric). Each becomes a store predicate on `param.`, `metric.` or `value.`.
pub fn parse_conditions(text: &str) -> Result<Vec<Predicate>, String> {
    text.split([',', ';', '\n'])
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(parse_condition)
        .collect()
}

fn parse_condition(text: &str) -> Result<Predicate, String> {
    const OPERATORS: [(&str, PredicateOp); 7] = [
        (">=", PredicateOp::GreaterThanEquals),
        ("<=", PredicateOp::LessThanEquals),
        ("!=", PredicateOp::NotEquals),
        ("==", PredicateOp::Equals),
        ("=", PredicateOp::Equals),
        (">", PredicateOp::GreaterThan),
        ("<", PredicateOp::LessThan),
    ];
    let (at, symbol, op) = OPERATORS
        .iter()
        .filter_map(|(symbol, op)| text.find(symbol).map(|at| (at, *symbol, *op)))
        .min_by_key(|(at, symbol, _)| (*at, std::cmp::Reverse(symbol.len())))
        .ok_or_else(|| format!("`{text}` has no comparison (=, !=, <, <=, >, >=)"))?;
    let left = text[..at].trim();
    let value = text[at + symbol.len()..].trim().to_owned();
    let field = if left.starts_with("param.") || left.starts_with("metric.") {
        left.to_owned()
    } else {
        format!("value.{left}")
    };
    if field.ends_with('.') {
        return Err(format!("`{text}` names no parameter or metric"));
    }
    Ok(Predicate::new(field, op, FilterValue::String(value)))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;
    use weir_store::{ListQuery, MetadataStore, SqliteStore};

    use super::*;

    proptest! {
        /// Whatever is typed into the filter, parsing does not panic, and every condition it
        /// accepts is one the store can answer (names and values are bound, never spliced).
        #[test]
        fn typed_conditions_parse_or_are_refused_and_the_store_answers_them(
            text in "[ -~\\n]{0,60}|(param\\.|metric\\.)?[a-z'\"%_]{1,8} ?(=|!=|<|<=|>|>=|==) ?[-0-9.a-z'\"%]{0,8}",
        ) {
            let Ok(conditions) = parse_conditions(&text) else {
                return Ok(());
            };
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            let listed = runtime.block_on(async {
                let store = SqliteStore::in_memory().await.expect("a store");
                let query = ListQuery {
                    predicates: conditions,
                    ..Default::default()
                };
                store.list_runs_page(&query).await
            });
            prop_assert!(listed.is_ok(), "{text:?}: {listed:?}");
        }
    }

    #[test]
    fn conditions_become_store_predicates() {
        let parsed = parse_conditions("metric.accuracy>=0.9, param.lr = 0.1; seed!=3\nkind==svc")
            .expect("parses");
        let expected = [
            ("metric.accuracy", PredicateOp::GreaterThanEquals, "0.9"),
            ("param.lr", PredicateOp::Equals, "0.1"),
            ("value.seed", PredicateOp::NotEquals, "3"),
            ("value.kind", PredicateOp::Equals, "svc"),
        ];
        assert_eq!(parsed.len(), expected.len());
        for (predicate, (field, op, value)) in parsed.iter().zip(expected) {
            assert_eq!(
                predicate,
                &Predicate::new(field, op, FilterValue::String(value.to_owned()))
            );
        }
        assert!(parse_conditions("accuracy").is_err());
        assert!(parse_conditions(">= 3").is_err());
        assert!(parse_conditions("param. = 3").is_err());
    }

    #[test]
    fn classification_metrics_read_kfp_shapes() {
        let metadata = json!({
            "confusionMatrix": {"annotationSpecs": [{"displayName": "a"}, {"displayName": "b"}],
                                "rows": [{"row": [5, 1]}, {"row": [2, 7]}]},
            "confidenceMetrics": [
                {"confidenceThreshold": 0.2, "recall": 1.0, "falsePositiveRate": 0.5},
                {"confidenceThreshold": 1.0, "recall": 0.0, "falsePositiveRate": 0.0}
            ]
        });
        let matrix = confusion_matrix(&metadata).expect("a matrix");
        assert_eq!(matrix.labels, ["a", "b"]);
        assert_eq!(matrix.rows, [[5.0, 1.0], [2.0, 7.0]]);
        let points = roc_points(&metadata);
        assert_eq!(points.len(), 2);
        assert_eq!(points[0].false_positive_rate, 0.0);
        assert_eq!(points[1].recall, 1.0);
        assert!(confusion_matrix(&json!({})).is_none());
    }
}
