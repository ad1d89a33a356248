//! Pipelines and pipeline versions.

use serde_json::json;
use weir_store::FilterValue::String as Text;
use weir_store::PredicateOp::*;
use weir_store::*;
use weir_types::{PipelineId, PipelineVersionId};

store_suite!(
    pipelines_are_unique_per_namespace_and_update_in_place,
    versions_are_unique_per_pipeline_and_the_latest_is_the_newest,
    deleting_a_pipeline_with_versions_needs_cascade,
    a_pipeline_and_its_first_version_are_created_together_or_not_at_all,
);

fn new_pipeline(name: &str, namespace: &str) -> NewPipeline {
    NewPipeline {
        id: PipelineId::new(),
        name: name.to_owned(),
        display_name: String::new(),
        description: "d".to_owned(),
        namespace: namespace.to_owned(),
        tags: [("team".to_owned(), "ml".to_owned())].into(),
    }
}

fn new_version(pipeline_id: PipelineId, name: &str) -> NewPipelineVersion {
    NewPipelineVersion {
        id: PipelineVersionId::new(),
        pipeline_id,
        name: name.to_owned(),
        display_name: format!("{name} (display)"),
        description: String::new(),
        pipeline_spec: json!({"pipelineInfo": {"name": "p"}, "root": {}}),
        package_url: Some("https://example.com/p.yaml".to_owned()),
        code_source_url: None,
        tags: Tags::new(),
    }
}

async fn pipelines_are_unique_per_namespace_and_update_in_place(store: &impl MetadataStore) {
    let pipeline = store
        .create_pipeline(&new_pipeline("p", ""))
        .await
        .expect("created");
    assert_eq!(
        pipeline.display_name, "p",
        "the display name defaults to the name"
    );
    assert_eq!(pipeline.tags["team"], "ml");
    let duplicate = store.create_pipeline(&new_pipeline("p", "")).await;
    assert!(
        matches!(duplicate, Err(StoreError::Conflict(_))),
        "{duplicate:?}"
    );
    let elsewhere = store
        .create_pipeline(&new_pipeline("p", "team-a"))
        .await
        .expect("another namespace");
    assert_eq!(
        store.get_pipeline(pipeline.id).await.expect("get"),
        pipeline
    );
    assert_eq!(
        store
            .get_pipeline_by_name("team-a", "p")
            .await
            .expect("by name"),
        elsewhere
    );
    assert!(store
        .get_pipeline_by_name("team-b", "p")
        .await
        .expect_err("missing")
        .is_not_found());

    let update = PipelineUpdate {
        display_name: Some("Pretty".into()),
        tags: Some(Tags::new()),
        ..Default::default()
    };
    let updated = store
        .update_pipeline(pipeline.id, &update)
        .await
        .expect("updated");
    assert_eq!(
        (updated.display_name.as_str(), updated.description.as_str()),
        ("Pretty", "d")
    );
    assert!(updated.tags.is_empty());
    assert!(store
        .update_pipeline(PipelineId::new(), &update)
        .await
        .expect_err("missing")
        .is_not_found());

    let named_p = store
        .list_pipelines(&ListQuery::default().with_predicate(Predicate::new(
            "name",
            Equals,
            Text("p".into()),
        )))
        .await
        .expect("listed");
    assert_eq!(named_p.total_size, 2);
    let pretty = store
        .list_pipelines(&ListQuery::default().with_predicate(Predicate::new(
            "display_name",
            Equals,
            Text("Pretty".into()),
        )))
        .await
        .expect("listed");
    assert_eq!(pretty.items, [updated]);
}

async fn versions_are_unique_per_pipeline_and_the_latest_is_the_newest(store: &impl MetadataStore) {
    let pipeline = store
        .create_pipeline(&new_pipeline("p", ""))
        .await
        .expect("pipeline");
    let other = store
        .create_pipeline(&new_pipeline("q", ""))
        .await
        .expect("pipeline");
    assert_eq!(
        store
            .latest_pipeline_version(pipeline.id)
            .await
            .expect("no versions yet"),
        None
    );
    let v1 = store
        .create_pipeline_version(&new_version(pipeline.id, "v1"))
        .await
        .expect("v1");
    assert_eq!(v1.display_name, "v1 (display)");
    assert_eq!(
        v1.package_url.as_deref(),
        Some("https://example.com/p.yaml")
    );
    let v2 = store
        .create_pipeline_version(&new_version(pipeline.id, "v2"))
        .await
        .expect("v2");
    let duplicate = store
        .create_pipeline_version(&new_version(pipeline.id, "v1"))
        .await;
    assert!(
        matches!(duplicate, Err(StoreError::Conflict(_))),
        "{duplicate:?}"
    );
    store
        .create_pipeline_version(&new_version(other.id, "v1"))
        .await
        .expect("the same name in another pipeline");
    let orphan = store
        .create_pipeline_version(&new_version(PipelineId::new(), "v1"))
        .await;
    assert!(orphan.expect_err("no such pipeline").is_not_found());

    assert_eq!(
        store.get_pipeline_version(v1.id).await.expect("get"),
        v1.clone()
    );
    assert_eq!(
        store
            .latest_pipeline_version(pipeline.id)
            .await
            .expect("latest"),
        Some(v2.clone())
    );
    let versions = store
        .list_pipeline_versions(pipeline.id, &ListQuery::default())
        .await
        .expect("listed");
    assert_eq!(versions.items, [v1.clone(), v2.clone()]);
    assert_eq!(versions.total_size, 2, "only this pipeline's versions");
    let newest_first = store
        .list_pipeline_versions(
            pipeline.id,
            &ListQuery::default()
                .sorted_by(SortBy::descending("created_at"))
                .with_page_size(1),
        )
        .await
        .expect("listed");
    assert_eq!(newest_first.items, std::slice::from_ref(&v2));
    assert!(newest_first.next.is_some());
    assert!(store
        .list_pipeline_versions(PipelineId::new(), &ListQuery::default())
        .await
        .expect_err("no such pipeline")
        .is_not_found());

    let update = PipelineVersionUpdate {
        description: Some("second".into()),
        ..Default::default()
    };
    let updated = store
        .update_pipeline_version(v2.id, &update)
        .await
        .expect("updated");
    assert_eq!(updated.description, "second");
    assert_eq!(updated.pipeline_spec, v2.pipeline_spec);

    store.delete_pipeline_version(v2.id).await.expect("deleted");
    assert_eq!(
        store
            .latest_pipeline_version(pipeline.id)
            .await
            .expect("latest"),
        Some(v1)
    );
    assert!(store
        .delete_pipeline_version(v2.id)
        .await
        .expect_err("already gone")
        .is_not_found());
}

async fn deleting_a_pipeline_with_versions_needs_cascade(store: &impl MetadataStore) {
    let pipeline = store
        .create_pipeline(&new_pipeline("p", ""))
        .await
        .expect("pipeline");
    let version = store
        .create_pipeline_version(&new_version(pipeline.id, "v1"))
        .await
        .expect("version");
    let refused = store.delete_pipeline(pipeline.id, false).await;
    assert!(
        matches!(refused, Err(StoreError::FailedPrecondition(_))),
        "{refused:?}"
    );
    assert!(store.get_pipeline_version(version.id).await.is_ok());
    store
        .delete_pipeline(pipeline.id, true)
        .await
        .expect("cascade");
    assert!(store
        .get_pipeline(pipeline.id)
        .await
        .expect_err("gone")
        .is_not_found());
    assert!(store
        .get_pipeline_version(version.id)
        .await
        .expect_err("gone with it")
        .is_not_found());
    let empty = store
        .create_pipeline(&new_pipeline("empty", ""))
        .await
        .expect("pipeline");
    store
        .delete_pipeline(empty.id, false)
        .await
        .expect("no versions, no cascade needed");
    assert!(store
        .delete_pipeline(empty.id, false)
        .await
        .expect_err("already gone")
        .is_not_found());
}

async fn a_pipeline_and_its_first_version_are_created_together_or_not_at_all(
    store: &impl MetadataStore,
) {
    let pipeline = new_pipeline("p", "");
    let version = new_version(pipeline.id, "v1");
    let (created, first) = store
        .create_pipeline_with_version(&pipeline, &version)
        .await
        .expect("created");
    assert_eq!(first.pipeline_id, created.id);

    // The version's id is taken: the new pipeline must not be left behind without it.
    let second = new_pipeline("q", "");
    let clashing = NewPipelineVersion {
        id: version.id,
        ..new_version(second.id, "v1")
    };
    let failed = store.create_pipeline_with_version(&second, &clashing).await;
    assert!(matches!(failed, Err(StoreError::Conflict(_))), "{failed:?}");
    assert!(store
        .get_pipeline(second.id)
        .await
        .expect_err("rolled back")
        .is_not_found());
    let mismatched = store
        .create_pipeline_with_version(&second, &new_version(PipelineId::new(), "v1"))
        .await;
    assert!(matches!(mismatched, Err(StoreError::InvalidArgument(_))));
    let all = store
        .list_pipelines(&ListQuery::default())
        .await
        .expect("listed");
    assert_eq!(all.items, [created]);
}
