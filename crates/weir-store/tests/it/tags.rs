//! Run tags: stored with the run, replaced as a whole, filtered on through `tag` predicates.

use weir_store::FilterValue::{String as Text, StringList};
use weir_store::PredicateOp::*;
use weir_store::*;

use super::new_run;

store_suite!(
    tags_are_normalized_stored_and_replaced,
    tag_predicates_test_membership,
    bad_tags_are_refused_and_write_nothing,
);

fn tagged(name: &str, tags: &[&str]) -> NewRun {
    NewRun {
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        ..new_run(name)
    }
}

async fn names(
    store: &impl MetadataStore,
    field: &str,
    op: PredicateOp,
    value: FilterValue,
) -> Vec<String> {
    let query = ListQuery::default()
        .with_predicate(Predicate::new(field, op, value))
        .sorted_by(SortBy::ascending("display_name"))
        .with_page_size(100);
    let page = store.list_runs_page(&query).await.expect("listed");
    assert_eq!(page.total_size, page.items.len() as i64, "the count agrees");
    page.items.into_iter().map(|r| r.display_name).collect()
}

async fn tags_are_normalized_stored_and_replaced(store: &impl MetadataStore) {
    let run = store
        .create_run(&tagged("a", &["lr-sweep", " baseline ", "lr-sweep"]))
        .await
        .expect("created");
    assert_eq!(
        run.tags,
        ["baseline", "lr-sweep"],
        "trimmed, sorted, deduplicated"
    );
    assert_eq!(store.get_run(run.id).await.expect("read").tags, run.tags);

    let updated = store
        .set_run_tags(run.id, &["team=vision".to_owned()])
        .await
        .expect("replaced");
    assert_eq!(updated.tags, ["team=vision"]);
    assert!(names(store, "tag", Equals, Text("baseline".into()))
        .await
        .is_empty());
    assert_eq!(
        names(store, "tag", Equals, Text("team=vision".into())).await,
        ["a"]
    );

    let cleared = store.set_run_tags(run.id, &[]).await.expect("cleared");
    assert!(cleared.tags.is_empty());
    assert!(names(store, "tag", Equals, Text("team=vision".into()))
        .await
        .is_empty());

    let tagged_x = RunQuery {
        tag: Some("x".to_owned()),
        ..Default::default()
    };
    assert!(store.list_runs(&tagged_x).await.expect("listed").is_empty());
    store
        .set_run_tags(run.id, &["x".to_owned()])
        .await
        .expect("tagged");
    assert_eq!(store.list_runs(&tagged_x).await.expect("listed").len(), 1);

    let missing = store.set_run_tags(weir_types::RunId::new(), &[]).await;
    assert!(
        matches!(missing, Err(StoreError::NotFound { .. })),
        "{missing:?}"
    );
    store.delete_run(run.id).await.expect("deleted");
    assert!(names(store, "tag", Equals, Text("x".into()))
        .await
        .is_empty());
}

async fn tag_predicates_test_membership(store: &impl MetadataStore) {
    store
        .create_run(&tagged("one", &["a", "b"]))
        .await
        .expect("run");
    store
        .create_run(&tagged("two", &["b", "prod"]))
        .await
        .expect("run");
    store.create_run(&tagged("three", &[])).await.expect("run");
    let text = |s: &str| Text(s.to_owned());
    assert_eq!(names(store, "tag", Equals, text("b")).await, ["one", "two"]);
    assert_eq!(names(store, "tags", Equals, text("a")).await, ["one"]);
    assert_eq!(
        names(store, "tag", NotEquals, text("a")).await,
        ["three", "two"]
    );
    assert_eq!(
        names(
            store,
            "tag",
            In,
            StringList(vec!["a".into(), "prod".into()])
        )
        .await,
        ["one", "two"],
        "a run holding both is listed once"
    );
    assert_eq!(names(store, "tag", IsSubstring, text("ro")).await, ["two"]);
    assert!(names(store, "tag", In, StringList(vec![])).await.is_empty());

    let sorted = store
        .list_runs_page(&ListQuery::default().sorted_by(SortBy::ascending("tag")))
        .await;
    assert!(
        matches!(&sorted, Err(StoreError::InvalidArgument(m)) if m.contains("cannot sort")),
        "{sorted:?}"
    );
    let ordered = store
        .list_runs_page(&ListQuery::default().with_predicate(Predicate::new(
            "tag",
            GreaterThan,
            text("a"),
        )))
        .await;
    assert!(
        matches!(&ordered, Err(StoreError::InvalidArgument(m)) if m.contains("EQUALS, NOT_EQUALS, IN or IS_SUBSTRING")),
        "{ordered:?}"
    );
}

async fn bad_tags_are_refused_and_write_nothing(store: &impl MetadataStore) {
    let long = "x".repeat(MAX_TAG_LEN + 1);
    let many: Vec<String> = (0..=MAX_RUN_TAGS).map(|i| format!("t{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    for bad in [
        vec!["has space"],
        vec![""],
        vec![long.as_str()],
        vec!["<script>"],
        many,
    ] {
        let refused = store.create_run(&tagged("bad", &bad)).await;
        assert!(
            matches!(&refused, Err(StoreError::InvalidArgument(m)) if m.contains("tag")),
            "{bad:?}: {refused:?}"
        );
    }
    let page = store
        .list_runs_page(&ListQuery::default())
        .await
        .expect("listed");
    assert_eq!(page.total_size, 0, "no run was written");

    let run = store
        .create_run(&tagged("good", &["keep"]))
        .await
        .expect("run");
    let refused = store
        .set_run_tags(run.id, &["keep".into(), "bad tag".into()])
        .await;
    assert!(matches!(refused, Err(StoreError::InvalidArgument(_))));
    assert_eq!(
        store.get_run(run.id).await.expect("read").tags,
        ["keep"],
        "unchanged"
    );
}
