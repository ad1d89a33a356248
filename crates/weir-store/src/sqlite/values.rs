//! A run's parameters and metrics as rows of `run_values`, written with the run and with its
//! system.Metrics artifacts, and the list filters over them: `param.NAME`, `metric.NAME`, and
//! `value.NAME` (the parameter of that name, else the metric).
//!
//! A comparison with a value that reads as a number compares numbers where the stored value is
//! one, and text otherwise; any other value compares text. Every operator asks for a run that
//! has the value: `param.x != 1` does not list runs without `x`.

use serde_json::{Map, Value};
use sqlx::SqliteConnection;

use super::list::Bind;
use crate::{FilterValue, Predicate, PredicateOp, Result, StoreError};

/// The artifact type whose numeric metadata entries are a run's metrics.
pub(super) const METRICS_SCHEMA: &str = "system.Metrics";

/// The field prefixes these filters answer to.
pub(super) const PREFIXES: [&str; 3] = ["param", "metric", "value"];

/// One value as stored.
struct Row<'a> {
    name: &'a str,
    num: Option<f64>,
    text: String,
}

fn row<'a>(name: &'a str, value: &Value) -> Row<'a> {
    let num = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Row {
        name,
        num: num.filter(|n| n.is_finite()),
        text,
    }
}

/// Records a run's parameters.
pub(super) async fn put_parameters(
    tx: &mut SqliteConnection,
    run_id: &str,
    parameters: &Map<String, Value>,
) -> Result<()> {
    let rows: Vec<Row<'_>> = parameters.iter().map(|(k, v)| row(k, v)).collect();
    put(tx, run_id, "param", &rows).await
}

/// Records the numeric entries of a system.Metrics artifact's metadata as the run's metrics.
pub(super) async fn put_metrics(
    tx: &mut SqliteConnection,
    run_id: &str,
    metadata: &Value,
) -> Result<()> {
    let Some(entries) = metadata.as_object() else {
        return Ok(());
    };
    let rows: Vec<Row<'_>> = entries
        .iter()
        .filter(|(_, v)| v.is_number())
        .map(|(k, v)| row(k, v))
        .collect();
    put(tx, run_id, "metric", &rows).await
}

async fn put(tx: &mut SqliteConnection, run_id: &str, kind: &str, rows: &[Row<'_>]) -> Result<()> {
    for row in rows {
        sqlx::query(
            "INSERT INTO run_values (run_id, kind, name, num, text) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (run_id, kind, name) DO UPDATE SET num = excluded.num, text = excluded.text",
        )
        .bind(run_id)
        .bind(kind)
        .bind(row.name)
        .bind(row.num)
        .bind(&row.text)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// The SQL condition on runs for a predicate on `prefix.name`.
pub(super) fn condition(
    prefix: &str,
    name: &str,
    predicate: &Predicate,
    binds: &mut Vec<Bind>,
) -> Result<String> {
    let field = &predicate.field;
    let values: Vec<String> = match (&predicate.value, predicate.op) {
        (FilterValue::StringList(values), PredicateOp::In) => values.clone(),
        (FilterValue::String(value), op) if op != PredicateOp::In => vec![value.clone()],
        (FilterValue::Int(value), op)
            if !matches!(op, PredicateOp::In | PredicateOp::IsSubstring) =>
        {
            vec![value.to_string()]
        }
        (other, op) => {
            return Err(StoreError::InvalidArgument(format!(
                "`{field}` with {op:?} takes {}, not {}",
                if op == PredicateOp::In {
                    "a list of strings"
                } else {
                    "a string or a number"
                },
                other.kind()
            )))
        }
    };
    if values.is_empty() {
        return Ok("0 = 1".to_owned());
    }
    let has = |kind: &str, binds: &mut Vec<Bind>| {
        let mut arms = Vec::new();
        for value in &values {
            for test in tests(predicate.op, value) {
                binds.push(Bind::Text(kind.to_owned()));
                binds.push(Bind::Text(name.to_owned()));
                binds.extend(test.binds);
                arms.push(format!(
                    "SELECT run_id FROM run_values WHERE kind = ? AND name = ? AND {}",
                    test.sql
                ));
            }
        }
        format!("id IN ({})", arms.join(" UNION ALL "))
    };
    Ok(match prefix {
        "param" => has("param", binds),
        "metric" => has("metric", binds),
        _ => {
            let parameter = has("param", binds);
            let metric = has("metric", binds);
            binds.push(Bind::Text(name.to_owned()));
            format!(
                "({parameter} OR ({metric} AND id NOT IN \
                 (SELECT run_id FROM run_values WHERE kind = 'param' AND name = ?)))"
            )
        }
    })
}

/// A test on `run_values` rows and what it binds.
struct Test {
    sql: String,
    binds: Vec<Bind>,
}

/// The tests a row may pass to meet `op value`, each answered by an index range: numbers
/// against a number, and text against text for the values that are not numbers.
fn tests(op: PredicateOp, value: &str) -> Vec<Test> {
    let symbol = match op {
        PredicateOp::Equals | PredicateOp::In => "=",
        PredicateOp::NotEquals => "<>",
        PredicateOp::GreaterThan => ">",
        PredicateOp::GreaterThanEquals => ">=",
        PredicateOp::LessThan => "<",
        PredicateOp::LessThanEquals => "<=",
        PredicateOp::IsSubstring => {
            return vec![Test {
                sql: "instr(text, ?) > 0".to_owned(),
                binds: vec![Bind::Text(value.to_owned())],
            }]
        }
    };
    let text = Bind::Text(value.to_owned());
    match value.trim().parse::<f64>().ok().filter(|n| n.is_finite()) {
        Some(number) => vec![
            Test {
                sql: format!("num {symbol} ?"),
                binds: vec![Bind::Real(number)],
            },
            Test {
                sql: format!("num IS NULL AND text {symbol} ?"),
                binds: vec![text],
            },
        ],
        None => vec![Test {
            sql: format!("text {symbol} ?"),
            binds: vec![text],
        }],
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use serde_json::json;
    use sqlx::{Connection, Row};

    use super::super::SqliteStore;
    use crate::{MetadataStore, NewArtifact, NewRun, RuntimeConfig};

    type Stored = Vec<(String, String, Option<f64>, String)>;

    async fn stored(connection: &mut sqlx::SqliteConnection, run_id: &str) -> Stored {
        sqlx::query(
            "SELECT kind, name, num, text FROM run_values WHERE run_id = ? ORDER BY kind, name",
        )
        .bind(run_id)
        .fetch_all(&mut *connection)
        .await
        .expect("read")
        .iter()
        .map(|r| (r.get("kind"), r.get("name"), r.get("num"), r.get("text")))
        .collect()
    }

    /// Migration 0006 fills `run_values` for the runs stored before it exactly as the store
    /// writes them for new runs.
    #[tokio::test]
    async fn the_migration_backfills_what_the_store_writes() {
        let parameters = json!({"lr": 0.1, "n": 3, "kind": "svc", "seed": " 42 ", "word": "e",
                                "flag": false, "none": null, "list": [1, "a"], "deep": {"x": 1}});
        let metrics = json!({"accuracy": 0.97, "count": 5, "display_name": "m"});
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("weir.db");
        let mut connection =
            sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=rwc", path.display()))
                .await
                .expect("db");
        let mut before = sqlx::migrate!("./migrations/sqlite");
        before.migrations = Cow::Owned(
            before
                .migrations
                .iter()
                .filter(|m| m.version < 6)
                .cloned()
                .collect(),
        );
        before.run(&mut connection).await.expect("migrated to 0005");
        let runtime = json!({"parameters": parameters}).to_string();
        sqlx::query(
            "INSERT INTO runs (id, display_name, pipeline_name, pipeline_spec, runtime_config, options, state, created_at) \
             VALUES ('old', 'old', 'p', '{}', ?, '{}', 'SUCCEEDED', 0)",
        )
        .bind(runtime)
        .execute(&mut connection)
        .await
        .expect("old run");
        sqlx::query(
            "INSERT INTO artifacts (run_id, name, uri, schema_title, metadata, created_at) \
             VALUES ('old', 'm', '/m', 'system.Metrics', ?, 0)",
        )
        .bind(metrics.to_string())
        .execute(&mut connection)
        .await
        .expect("old artifact");
        connection.close().await.expect("closed");

        let store = SqliteStore::open(&path).await.expect("migrated");
        let run = store
            .create_run(&NewRun {
                runtime_config: RuntimeConfig {
                    parameters: parameters.as_object().cloned().expect("object"),
                    pipeline_root: None,
                },
                display_name: "new".into(),
                ..Default::default()
            })
            .await
            .expect("new run");
        store
            .create_artifact(&NewArtifact {
                run_id: run.id,
                task_id: None,
                name: "m".into(),
                uri: "/m".into(),
                schema_title: "system.Metrics".into(),
                metadata: metrics,
            })
            .await
            .expect("new artifact");
        let mut connection = store.pool.acquire().await.expect("connection");
        let old = stored(&mut connection, "old").await;
        let new = stored(&mut connection, &run.id.to_string()).await;
        assert_eq!(old.len(), 11, "{old:?}");
        assert_eq!(old, new);
    }
}

#[cfg(test)]
mod plans {
    use super::super::list::{explain, Statements};
    use super::super::runs::RUNS;
    use super::super::SqliteStore;
    use crate::{FilterValue, ListQuery, Predicate, PredicateOp};

    /// Conditions on values are index range scans of `run_values`, never a scan of it.
    #[tokio::test]
    async fn value_filters_are_index_lookups() {
        let store = SqliteStore::in_memory().await.expect("store");
        for (field, op, value) in [
            ("metric.accuracy", PredicateOp::GreaterThanEquals, "0.9"),
            ("param.kind", PredicateOp::Equals, "svc"),
            ("value.seed", PredicateOp::LessThan, "100"),
        ] {
            let query = ListQuery::default()
                .with_predicate(Predicate::new(
                    "storage_state",
                    PredicateOp::Equals,
                    FilterValue::String("AVAILABLE".into()),
                ))
                .with_predicate(Predicate::new(field, op, FilterValue::String(value.into())));
            let statements = Statements::new(&RUNS, None, &query).expect("valid");
            for (sql, binds) in [
                (&statements.page, &statements.page_binds),
                (&statements.count, &statements.count_binds),
            ] {
                let plan = explain(&store.pool, sql, binds).await;
                assert!(plan.contains("SEARCH run_values USING"), "{field}: {plan}");
                assert!(!plan.contains("SCAN run_values"), "{field}: {plan}");
                assert!(!plan.contains("SCAN runs"), "{field}: {plan}");
            }
        }
    }
}
