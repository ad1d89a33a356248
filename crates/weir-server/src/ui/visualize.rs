//! What typed artifacts mean to a reader: metrics as numbers, classification metrics as a
//! confusion matrix and ROC points, and the parameter/metric conditions of the runs filter.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use weir_store::Artifact;
use weir_types::RunId;

use super::{format, UiResult};
use crate::api::Shared;

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

#[derive(Debug, Clone, Copy, PartialEq)]
enum Source {
    Parameter,
    Metric,
    /// A parameter of that name, else a metric.
    Either,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Equals,
    NotEquals,
    Greater,
    GreaterOrEqual,
    Less,
    LessOrEqual,
}

/// `metric.accuracy>=0.9`, `param.lr=0.1`, `seed != 3`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    source: Source,
    name: String,
    op: Op,
    value: String,
}

/// Conditions separated by commas, semicolons or new lines.
pub fn parse_conditions(text: &str) -> Result<Vec<Condition>, String> {
    text.split([',', ';', '\n'])
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(parse_condition)
        .collect()
}

fn parse_condition(text: &str) -> Result<Condition, String> {
    const OPERATORS: [(&str, Op); 7] = [
        (">=", Op::GreaterOrEqual),
        ("<=", Op::LessOrEqual),
        ("!=", Op::NotEquals),
        ("==", Op::Equals),
        ("=", Op::Equals),
        (">", Op::Greater),
        ("<", Op::Less),
    ];
    let (at, symbol, op) = OPERATORS
        .iter()
        .filter_map(|(symbol, op)| text.find(symbol).map(|at| (at, *symbol, *op)))
        .min_by_key(|(at, symbol, _)| (*at, std::cmp::Reverse(symbol.len())))
        .ok_or_else(|| format!("`{text}` has no comparison (=, !=, <, <=, >, >=)"))?;
    let left = text[..at].trim();
    let value = text[at + symbol.len()..].trim().to_owned();
    let (source, name) = if let Some(name) = left.strip_prefix("param.") {
        (Source::Parameter, name)
    } else if let Some(name) = left.strip_prefix("metric.") {
        (Source::Metric, name)
    } else {
        (Source::Either, left)
    };
    if name.is_empty() {
        return Err(format!("`{text}` names no parameter or metric"));
    }
    Ok(Condition {
        source,
        name: name.to_owned(),
        op,
        value,
    })
}

impl Condition {
    pub fn holds(&self, parameters: &Map<String, Value>, metrics: &BTreeMap<String, f64>) -> bool {
        let parameter = || parameters.get(&self.name).cloned();
        let metric = || metrics.get(&self.name).map(|m| Value::from(*m));
        let actual = match self.source {
            Source::Parameter => parameter(),
            Source::Metric => metric(),
            Source::Either => parameter().or_else(metric),
        };
        let Some(actual) = actual else {
            return false;
        };
        let actual_number = match &actual {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        let ordering = match (actual_number, self.value.parse::<f64>().ok()) {
            (Some(a), Some(b)) => a.partial_cmp(&b),
            _ => Some(format::value(&actual).as_str().cmp(self.value.as_str())),
        };
        let Some(ordering) = ordering else {
            return false;
        };
        use std::cmp::Ordering::*;
        match self.op {
            Op::Equals => ordering == Equal,
            Op::NotEquals => ordering != Equal,
            Op::Greater => ordering == Greater,
            Op::GreaterOrEqual => ordering != Less,
            Op::Less => ordering == Less,
            Op::LessOrEqual => ordering != Greater,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn conditions_compare_numbers_as_numbers_and_text_as_text() {
        let parameters = json!({"lr": 0.1, "kind": "svc", "seed": "42"});
        let parameters = parameters.as_object().expect("an object");
        let metrics = BTreeMap::from([("accuracy".to_owned(), 0.97)]);
        let holds = |text: &str| {
            parse_conditions(text)
                .expect("parses")
                .iter()
                .all(|c| c.holds(parameters, &metrics))
        };
        assert!(holds("metric.accuracy>=0.9, param.lr = 0.1"));
        assert!(holds("accuracy > 0.95; kind=svc"));
        assert!(holds("seed<100"));
        assert!(!holds("accuracy<0.9"));
        assert!(!holds("missing=1"));
        assert!(!holds("param.accuracy>0"));
        assert!(holds("kind != knn"));
        assert!(parse_conditions("accuracy").is_err());
        assert!(parse_conditions(">= 3").is_err());
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
