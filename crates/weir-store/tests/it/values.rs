//! Filters on a run's parameters (`param.NAME`) and metrics (`metric.NAME`, from its
//! system.Metrics artifacts), or either (`value.NAME`): numbers compare as numbers, text as text.

use serde_json::json;
use weir_store::FilterValue::{Int, String as Text, StringList};
use weir_store::PredicateOp::*;
use weir_store::*;

use super::new_run;

store_suite!(
    parameters_and_metrics_filter_runs,
    a_later_metrics_artifact_replaces_an_earlier_value,
    value_filters_refuse_what_they_cannot_compare,
);

async fn run_with(
    store: &impl MetadataStore,
    name: &str,
    parameters: serde_json::Value,
    metrics: &[serde_json::Value],
) -> Run {
    let run = store
        .create_run(&NewRun {
            runtime_config: RuntimeConfig {
                parameters: parameters.as_object().cloned().unwrap_or_default(),
                pipeline_root: None,
            },
            ..new_run(name)
        })
        .await
        .expect("run");
    for metadata in metrics {
        store
            .create_artifact(&NewArtifact {
                run_id: run.id,
                task_id: None,
                name: "metrics".to_owned(),
                uri: format!("/tmp/{name}/metrics"),
                schema_title: "system.Metrics".to_owned(),
                metadata: metadata.clone(),
            })
            .await
            .expect("artifact");
    }
    run
}

/// The names of the runs meeting every (field, op, value), by name.
async fn matching(
    store: &impl MetadataStore,
    conditions: &[(&str, PredicateOp, FilterValue)],
) -> Vec<String> {
    let mut query = ListQuery::default()
        .sorted_by(SortBy::ascending("display_name"))
        .with_page_size(100);
    for (field, op, value) in conditions {
        query = query.with_predicate(Predicate::new(*field, *op, value.clone()));
    }
    let page = store.list_runs_page(&query).await.expect("listed");
    assert_eq!(page.total_size, page.items.len() as i64, "the count agrees");
    page.items.into_iter().map(|r| r.display_name).collect()
}

async fn parameters_and_metrics_filter_runs(store: &impl MetadataStore) {
    let text = |s: &str| Text(s.to_owned());
    run_with(
        store,
        "a",
        json!({"lr": 0.1, "kind": "svc", "seed": "42", "deep": {"x": 1}, "flag": true}),
        &[json!({"accuracy": 0.97, "display_name": "not a number"})],
    )
    .await;
    run_with(
        store,
        "b",
        json!({"lr": 0.5, "kind": "knn", "seed": "7"}),
        &[json!({"accuracy": 0.8})],
    )
    .await;
    run_with(
        store,
        "c",
        json!({"accuracy": 2, "kind": "logreg"}),
        &[json!({"accuracy": 0.99})],
    )
    .await;
    run_with(store, "d", json!({}), &[]).await;

    for (conditions, expected) in [
        (
            vec![("metric.accuracy", GreaterThanEquals, text("0.9"))],
            vec!["a", "c"],
        ),
        (
            vec![
                ("metric.accuracy", GreaterThanEquals, text("0.9")),
                ("param.lr", Equals, text("0.1")),
            ],
            vec!["a"],
        ),
        (vec![("param.lr", Equals, text("0.10"))], vec!["a"]),
        // A bare name is the parameter when the run has one, else the metric.
        (
            vec![("value.accuracy", GreaterThan, text("0.95"))],
            vec!["a", "c"],
        ),
        (
            vec![("value.accuracy", LessThan, text("1"))],
            vec!["a", "b"],
        ),
        (vec![("value.kind", Equals, text("svc"))], vec!["a"]),
        // A string parameter that reads as a number compares as one: "42" > "100" as text.
        (vec![("value.seed", LessThan, text("100"))], vec!["a", "b"]),
        (vec![("param.seed", GreaterThan, Int(10))], vec!["a"]),
        // Text against text; NOT_EQUALS needs the value to be there.
        (vec![("param.kind", NotEquals, text("knn"))], vec!["a", "c"]),
        (vec![("param.kind", GreaterThan, text("l"))], vec!["a", "c"]),
        (vec![("param.kind", IsSubstring, text("n"))], vec!["b"]),
        (
            vec![(
                "param.kind",
                In,
                StringList(vec!["svc".into(), "knn".into()]),
            )],
            vec!["a", "b"],
        ),
        (vec![("param.flag", Equals, text("true"))], vec!["a"]),
        (vec![("param.deep", Equals, text(r#"{"x":1}"#))], vec!["a"]),
        (vec![("value.missing", Equals, text("1"))], vec![]),
        (vec![("param.accuracy", GreaterThan, text("0"))], vec!["c"]),
        (
            vec![("metric.display_name", Equals, text("not a number"))],
            vec![],
        ),
    ] {
        assert_eq!(
            matching(store, &conditions).await,
            expected,
            "{conditions:?}"
        );
    }
}

async fn a_later_metrics_artifact_replaces_an_earlier_value(store: &impl MetadataStore) {
    let run = run_with(
        store,
        "retried",
        json!({}),
        &[
            json!({"accuracy": 0.5, "loss": 1.0}),
            json!({"accuracy": 0.9}),
        ],
    )
    .await;
    let text = |s: &str| Text(s.to_owned());
    assert_eq!(
        matching(store, &[("metric.accuracy", Equals, text("0.9"))]).await,
        ["retried"]
    );
    assert!(matching(store, &[("metric.accuracy", Equals, text("0.5"))])
        .await
        .is_empty());
    assert_eq!(
        matching(store, &[("metric.loss", Equals, text("1"))]).await,
        ["retried"]
    );
    store.delete_run(run.id).await.expect("deleted");
    assert!(matching(store, &[("metric.loss", Equals, text("1"))])
        .await
        .is_empty());
}

async fn value_filters_refuse_what_they_cannot_compare(store: &impl MetadataStore) {
    for (field, op, value, message) in [
        ("param.x", In, Text("a".into()), "takes a list of strings"),
        ("param.x", IsSubstring, Int(3), "takes a string or a number"),
        ("param.", Equals, Text("a".into()), "param.NAME"),
        (
            "weird.x",
            Equals,
            Text("a".into()),
            "param.NAME, metric.NAME, value.NAME",
        ),
    ] {
        let refused = store
            .list_runs_page(&ListQuery::default().with_predicate(Predicate::new(field, op, value)))
            .await;
        assert!(
            matches!(&refused, Err(StoreError::InvalidArgument(m)) if m.contains(message)),
            "{field}: {refused:?}"
        );
    }
    let sorted = store
        .list_runs_page(&ListQuery::default().sorted_by(SortBy::descending("metric.accuracy")))
        .await;
    assert!(
        matches!(&sorted, Err(StoreError::InvalidArgument(m)) if m.contains("cannot sort runs by `metric.accuracy`")),
        "{sorted:?}"
    );
}
