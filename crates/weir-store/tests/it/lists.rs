//! Paged, filtered and sorted lists (KFP's list and filter semantics), on runs mostly: every
//! resource shares the same implementation.

use std::collections::HashSet;

use chrono::{Duration, Utc};
use weir_store::FilterValue::{Int, IntList, String as Text, StringList, Timestamp};
use weir_store::PredicateOp::*;
use weir_store::*;
use weir_types::{PipelineId, RunState};

use super::experiments::new_experiment;
use super::new_run;

store_suite!(
    every_predicate_operator_filters_runs,
    time_fields_compare_whole_seconds,
    runs_sort_by_name_and_time_in_both_directions,
    paging_visits_every_run_once_in_both_directions,
    unknown_fields_and_wrong_values_are_refused,
);

fn filter(field: &str, op: PredicateOp, value: FilterValue) -> ListQuery {
    ListQuery::default()
        .with_predicate(Predicate::new(field, op, value))
        .with_page_size(1000)
}

async fn names(store: &impl MetadataStore, query: &ListQuery) -> Vec<String> {
    let page = store.list_runs_page(query).await.expect("listed");
    assert_eq!(
        page.total_size,
        i64::try_from(page.items.len()).expect("small"),
        "one page holds them all"
    );
    page.items.into_iter().map(|r| r.display_name).collect()
}

async fn every_predicate_operator_filters_runs(store: &impl MetadataStore) {
    let experiment = store
        .create_experiment(&new_experiment("e", ""))
        .await
        .expect("experiment");
    let mut runs = Vec::new();
    for name in ["alpha", "beta", "gamma", "50% off", "50_off", "Alpha"] {
        let run = NewRun {
            experiment_id: (name == "gamma").then_some(experiment.id),
            description: format!("the {name} run"),
            ..new_run(name)
        };
        runs.push(store.create_run(&run).await.expect("run"));
    }
    let text = |s: &str| Text(s.to_owned());
    let all = ["alpha", "beta", "gamma", "50% off", "50_off", "Alpha"];
    for (op, value, expected) in [
        (Equals, text("beta"), vec!["beta"]),
        (
            NotEquals,
            text("beta"),
            vec!["alpha", "gamma", "50% off", "50_off", "Alpha"],
        ),
        (GreaterThan, text("beta"), vec!["gamma"]),
        (GreaterThanEquals, text("beta"), vec!["beta", "gamma"]),
        (LessThan, text("alpha"), vec!["50% off", "50_off", "Alpha"]),
        (
            LessThanEquals,
            text("Alpha"),
            vec!["50% off", "50_off", "Alpha"],
        ),
        (
            In,
            StringList(vec!["gamma".into(), "alpha".into(), "nope".into()]),
            vec!["alpha", "gamma"],
        ),
        (In, StringList(vec![]), vec![]),
        (IsSubstring, text("%"), vec!["50% off"]),
        (IsSubstring, text("_"), vec!["50_off"]),
        (IsSubstring, text("lph"), vec!["alpha", "Alpha"]),
        (IsSubstring, text("Al"), vec!["Alpha"]),
        (IsSubstring, text(""), all.to_vec()),
    ] {
        let query = filter("display_name", op, value.clone());
        assert_eq!(
            names(store, &query).await,
            expected,
            "display_name {op:?} {value:?}"
        );
    }
    assert_eq!(
        names(store, &filter("name", Equals, text("beta"))).await,
        ["beta"],
        "`name` is an alias"
    );
    assert_eq!(
        names(store, &filter("description", IsSubstring, text("the 50"))).await,
        ["50% off", "50_off"]
    );
    assert_eq!(
        names(store, &filter("id", Equals, text(&runs[2].id.to_string()))).await,
        ["gamma"]
    );
    let experiment_id = text(&experiment.id.to_string());
    assert_eq!(
        names(
            store,
            &filter("experiment_id", Equals, experiment_id.clone())
        )
        .await,
        ["gamma"]
    );
    assert_eq!(
        names(store, &filter("experiment_id", NotEquals, experiment_id))
            .await
            .len(),
        5,
        "runs without an experiment differ from it"
    );
    assert_eq!(
        names(store, &filter("experiment_id", Equals, text("")))
            .await
            .len(),
        5,
        "no experiment compares as the empty string"
    );

    store
        .set_run_state(runs[0].id, RunState::Running, None)
        .await
        .expect("running");
    store
        .set_run_state(runs[1].id, RunState::Succeeded, None)
        .await
        .expect("succeeded");
    assert_eq!(
        names(store, &filter("state", Equals, text("RUNNING"))).await,
        ["alpha"]
    );
    assert_eq!(
        names(store, &filter("state", NotEquals, text("PENDING"))).await,
        ["alpha", "beta"]
    );
    assert_eq!(
        names(
            store,
            &filter(
                "state",
                In,
                StringList(vec!["SUCCEEDED".into(), "FAILED".into()])
            )
        )
        .await,
        ["beta"]
    );
    assert_eq!(
        names(store, &filter("finished_at", GreaterThan, Int(0))).await,
        ["beta"]
    );
    assert_eq!(
        names(store, &filter("finished_at", Equals, Int(0)))
            .await
            .len(),
        5,
        "an unfinished run finished at time 0, as in KFP"
    );
    let both = filter("display_name", IsSubstring, text("a")).with_predicate(Predicate::new(
        "state",
        Equals,
        text("PENDING"),
    ));
    assert_eq!(
        names(store, &both).await,
        ["gamma", "Alpha"],
        "predicates are ANDed"
    );
}

async fn time_fields_compare_whole_seconds(store: &impl MetadataStore) {
    let mut runs = Vec::new();
    for name in ["a", "b", "c"] {
        runs.push(store.create_run(&new_run(name)).await.expect("run"));
    }
    let second_of = |run: &Run| run.created_at.timestamp();
    let middle = runs[1].clone();
    let expected = |keep: &dyn Fn(i64) -> bool| -> Vec<String> {
        runs.iter()
            .filter(|r| keep(second_of(r)))
            .map(|r| r.display_name.clone())
            .collect()
    };
    let at = middle.created_at;
    let s = second_of(&middle);
    for (op, keep) in [
        (Equals, &(|t| t == s) as &dyn Fn(i64) -> bool),
        (NotEquals, &|t| t != s),
        (GreaterThan, &|t| t > s),
        (GreaterThanEquals, &|t| t >= s),
        (LessThan, &|t| t < s),
        (LessThanEquals, &|t| t <= s),
    ] {
        assert_eq!(
            names(store, &filter("created_at", op, Timestamp(at))).await,
            expected(keep),
            "created_at {op:?} the second of {at}"
        );
        assert_eq!(
            names(store, &filter("scheduled_at", op, Int(s))).await,
            expected(keep),
            "Unix seconds compare the same"
        );
    }
    assert_eq!(
        names(store, &filter("created_at", In, IntList(vec![s, s + 3600]))).await,
        expected(&|t| t == s)
    );
    let later = Utc::now() + Duration::hours(1);
    assert!(
        names(store, &filter("created_at", GreaterThan, Timestamp(later)))
            .await
            .is_empty()
    );
    assert_eq!(
        names(store, &filter("created_at", LessThan, Timestamp(later)))
            .await
            .len(),
        3
    );
}

async fn runs_sort_by_name_and_time_in_both_directions(store: &impl MetadataStore) {
    let mut runs = Vec::new();
    for name in ["b", "a", "c", "a", "b"] {
        runs.push(store.create_run(&new_run(name)).await.expect("run"));
    }
    let mut by_name = runs.clone();
    by_name.sort_by_key(|r| (r.display_name.clone(), r.id.to_string()));
    let mut by_time = runs.clone();
    by_time.sort_by_key(|r| (r.created_at, r.id.to_string()));
    let ids = |runs: &[Run]| runs.iter().map(|r| r.id).collect::<Vec<_>>();
    let reversed = |runs: &[Run]| runs.iter().rev().map(|r| r.id).collect::<Vec<_>>();
    for (sort, expected) in [
        (None, ids(&by_time)),
        (Some(SortBy::ascending("created_at")), ids(&by_time)),
        (Some(SortBy::descending("scheduled_at")), reversed(&by_time)),
        (Some(SortBy::ascending("display_name")), ids(&by_name)),
        (Some(SortBy::descending("name")), reversed(&by_name)),
    ] {
        let query = ListQuery {
            sort: sort.clone(),
            ..Default::default()
        };
        let page = store.list_runs_page(&query).await.expect("listed");
        assert_eq!(ids(&page.items), expected, "sorted by {sort:?}");
        assert_eq!(page.next, None);
        assert_eq!(page.total_size, 5);
    }
}

async fn paging_visits_every_run_once_in_both_directions(store: &impl MetadataStore) {
    let kept = store
        .create_experiment(&new_experiment("kept", ""))
        .await
        .expect("experiment");
    let other = store
        .create_experiment(&new_experiment("other", ""))
        .await
        .expect("experiment");
    let mut matching = Vec::new();
    for i in 0..2000 {
        let experiment = if i % 3 == 0 { other.id } else { kept.id };
        let run = NewRun {
            experiment_id: Some(experiment),
            // 41 names: many ties in the sort column.
            ..new_run(&format!("run {:02}", (i * 7) % 41))
        };
        let run = store.create_run(&run).await.expect("run");
        if experiment == kept.id {
            matching.push(run);
        }
    }
    let mut by_name = matching.clone();
    by_name.sort_by_key(|r| (r.display_name.clone(), r.id.to_string()));
    let mut by_time = matching.clone();
    by_time.sort_by_key(|r| (r.created_at, r.id.to_string()));
    let in_kept = Predicate::new("experiment_id", Equals, Text(kept.id.to_string()));
    for (sort, ascending_order) in [
        (SortBy::ascending("display_name"), &by_name),
        (SortBy::descending("display_name"), &by_name),
        (SortBy::ascending("created_at"), &by_time),
        (SortBy::descending("created_at"), &by_time),
    ] {
        let mut expected: Vec<_> = ascending_order.iter().map(|r| r.id).collect();
        if sort.descending {
            expected.reverse();
        }
        let query = ListQuery::default()
            .with_predicate(in_kept.clone())
            .sorted_by(sort.clone())
            .with_page_size(97);
        let seen = page_through(store, query, expected.len()).await;
        assert_eq!(
            seen, expected,
            "every matching run once, in order, sorted by {sort:?}"
        );
    }
}

/// Follows `next` to the last page, as a client would (the cursor going through JSON).
async fn page_through(
    store: &impl MetadataStore,
    mut query: ListQuery,
    expected_total: usize,
) -> Vec<weir_types::RunId> {
    let page_size = usize::try_from(query.page_size).expect("small");
    let mut seen = Vec::new();
    let mut distinct = HashSet::new();
    loop {
        let page = store.list_runs_page(&query).await.expect("page");
        assert_eq!(
            page.total_size,
            i64::try_from(expected_total).expect("small")
        );
        assert!(page.items.len() <= page_size);
        for run in &page.items {
            assert!(distinct.insert(run.id), "{} listed twice", run.id);
            seen.push(run.id);
        }
        let Some(next) = page.next else {
            break;
        };
        assert_eq!(page.items.len(), page_size, "only the last page is short");
        let token = serde_json::to_string(&next).expect("serializable");
        query.after = Some(serde_json::from_str(&token).expect("round trip"));
    }
    assert_eq!(seen.len(), expected_total);
    seen
}

async fn unknown_fields_and_wrong_values_are_refused(store: &impl MetadataStore) {
    let invalid = |result: Result<(), StoreError>| match result {
        Err(StoreError::InvalidArgument(message)) => message,
        other => panic!("expected InvalidArgument, got {other:?}"),
    };
    let unknown = filter("colour", Equals, Text("red".into()));
    let message = invalid(store.list_runs_page(&unknown).await.map(|_| ()));
    assert!(
        message.contains("`colour`") && message.contains("run_id (id)"),
        "{message}"
    );
    let sorted = ListQuery::default().sorted_by(SortBy::ascending("colour"));
    invalid(store.list_runs_page(&sorted).await.map(|_| ()));
    invalid(
        store
            .list_experiments(&filter("state", Equals, Text("RUNNING".into())))
            .await
            .map(|_| ()),
    );
    invalid(
        store
            .list_pipelines(&ListQuery::default().sorted_by(SortBy::ascending("finished_at")))
            .await
            .map(|_| ()),
    );
    let pipeline = store
        .create_pipeline(&NewPipeline {
            id: PipelineId::new(),
            name: "p".into(),
            ..Default::default()
        })
        .await
        .expect("pipeline");
    invalid(
        store
            .list_pipeline_versions(pipeline.id, &filter("namespace", Equals, Text("".into())))
            .await
            .map(|_| ()),
    );
    invalid(
        store
            .list_recurring_runs(&filter("state", Equals, Text("RUNNING".into())))
            .await
            .map(|_| ()),
    );
    for (field, op, value) in [
        ("display_name", Equals, Int(3)),
        ("display_name", In, Text("a".into())),
        ("created_at", IsSubstring, Text("2026".into())),
        ("created_at", Equals, Text("2026-01-01T00:00:00Z".into())),
        ("state", In, IntList(vec![1])),
    ] {
        invalid(
            store
                .list_runs_page(&filter(field, op, value))
                .await
                .map(|_| ()),
        );
    }
    let from_a_time_sort = ListQuery {
        sort: Some(SortBy::ascending("display_name")),
        after: Some(PageCursor {
            sort_value: serde_json::json!(1_700_000_000_000_i64),
            id: "x".into(),
        }),
        ..Default::default()
    };
    invalid(store.list_runs_page(&from_a_time_sort).await.map(|_| ()));
}
