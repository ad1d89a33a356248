//! Experiments: namespaces, archiving, deletion with everything inside.

use serde_json::json;
use weir_store::FilterValue::String as Text;
use weir_store::PredicateOp::*;
use weir_store::*;
use weir_types::{ExperimentId, PipelineId, RunId, TaskState};

use super::{new_run, new_task};

store_suite!(
    experiments_are_unique_per_namespace,
    archiving_an_experiment_archives_its_runs_and_disables_its_recurring_runs,
    deleting_an_experiment_removes_its_runs_and_everything_they_own,
    runs_record_their_namespace_service_account_and_pipeline,
);

pub(crate) fn new_experiment(name: &str, namespace: &str) -> NewExperiment {
    NewExperiment {
        id: ExperimentId::new(),
        name: name.to_owned(),
        description: format!("about {name}"),
        namespace: namespace.to_owned(),
    }
}

pub(crate) fn new_recurring_run(experiment_id: Option<ExperimentId>) -> NewRecurringRun {
    NewRecurringRun {
        display_name: "nightly".to_owned(),
        experiment_id,
        pipeline_spec: Some(json!({"pipelineInfo": {"name": "p"}})),
        max_concurrency: 1,
        trigger: json!({"periodic_schedule": {"interval_second": "3600"}}),
        enabled: true,
        ..Default::default()
    }
}

async fn run_in(store: &impl MetadataStore, experiment: ExperimentId, name: &str) -> Run {
    let mut run = new_run(name);
    run.experiment_id = Some(experiment);
    store.create_run(&run).await.expect("run")
}

async fn experiments_are_unique_per_namespace(store: &impl MetadataStore) {
    let first = store
        .create_experiment(&new_experiment("e", ""))
        .await
        .expect("created");
    assert!(!first.archived);
    assert_eq!(first.last_run_created_at, None);
    assert_eq!(first.description, "about e");
    let duplicate = store.create_experiment(&new_experiment("e", "")).await;
    assert!(
        matches!(duplicate, Err(StoreError::Conflict(_))),
        "{duplicate:?}"
    );
    let other = store
        .create_experiment(&new_experiment("e", "team-a"))
        .await
        .expect("same name in another namespace");
    assert_eq!(
        store.ensure_experiment("e").await.expect("ensured").id,
        first.id,
        "ensure_experiment uses the default namespace"
    );
    assert_eq!(
        store
            .get_experiment(&other.id.to_string())
            .await
            .expect("read back"),
        other
    );

    let in_team_a = store
        .list_experiments(&ListQuery::default().with_predicate(Predicate::new(
            "namespace",
            Equals,
            Text("team-a".into()),
        )))
        .await
        .expect("listed");
    assert_eq!(in_team_a.items, std::slice::from_ref(&other));
    assert_eq!(in_team_a.total_size, 1);

    let run = run_in(store, first.id, "r").await;
    let first = store
        .get_experiment(&first.id.to_string())
        .await
        .expect("read back");
    assert_eq!(first.last_run_created_at, Some(run.created_at));
    let by_last_run = store
        .list_experiments(
            &ListQuery::default().sorted_by(SortBy::descending("last_run_created_at")),
        )
        .await
        .expect("listed");
    assert_eq!(
        by_last_run.items.iter().map(|e| e.id).collect::<Vec<_>>(),
        [first.id, other.id],
        "an experiment without runs sorts as time 0"
    );
}

async fn archiving_an_experiment_archives_its_runs_and_disables_its_recurring_runs(
    store: &impl MetadataStore,
) {
    let experiment = store
        .create_experiment(&new_experiment("e", ""))
        .await
        .expect("experiment");
    let first = run_in(store, experiment.id, "a").await;
    let second = run_in(store, experiment.id, "b").await;
    let outside = store.create_run(&new_run("outside")).await.expect("run");
    let recurring = store
        .create_recurring_run(&new_recurring_run(Some(experiment.id)))
        .await
        .expect("recurring run");

    store
        .set_experiment_archived(experiment.id, true)
        .await
        .expect("archived");
    let archived_experiment = store
        .get_experiment(&experiment.id.to_string())
        .await
        .expect("read back");
    assert!(archived_experiment.archived);
    for run in [first.id, second.id] {
        assert!(store.get_run(run).await.expect("run").archived);
    }
    assert!(!store.get_run(outside.id).await.expect("run").archived);
    let disabled = store
        .get_recurring_run(recurring.id)
        .await
        .expect("recurring run");
    assert!(!disabled.enabled);
    assert!(disabled.updated_at > recurring.updated_at);
    let refused = store.set_run_archived(first.id, false).await;
    assert!(
        matches!(refused, Err(StoreError::FailedPrecondition(_))),
        "a run of an archived experiment stays archived: {refused:?}"
    );

    store
        .set_experiment_archived(experiment.id, false)
        .await
        .expect("unarchived");
    assert!(
        !store
            .get_experiment(&experiment.id.to_string())
            .await
            .expect("read back")
            .archived
    );
    assert!(
        store.get_run(first.id).await.expect("run").archived,
        "unarchiving restores only the experiment"
    );
    assert!(
        !store
            .get_recurring_run(recurring.id)
            .await
            .expect("recurring")
            .enabled
    );
    store
        .set_run_archived(first.id, false)
        .await
        .expect("now allowed");
    assert!(!store.get_run(first.id).await.expect("run").archived);
    store
        .set_run_archived(outside.id, true)
        .await
        .expect("archived");

    let archived_runs = store
        .list_runs_page(&ListQuery::default().with_predicate(Predicate::new(
            "storage_state",
            Equals,
            Text("ARCHIVED".into()),
        )))
        .await
        .expect("listed");
    assert_eq!(
        archived_runs.items.iter().map(|r| r.id).collect::<Vec<_>>(),
        [second.id, outside.id]
    );
    let available = store
        .list_runs_page(&ListQuery::default().with_predicate(Predicate::new(
            "storage_state",
            NotEquals,
            Text("ARCHIVED".into()),
        )))
        .await
        .expect("listed");
    assert_eq!(
        available.items.iter().map(|r| r.id).collect::<Vec<_>>(),
        [first.id]
    );
    let missing = store
        .set_experiment_archived(ExperimentId::new(), true)
        .await;
    assert!(missing.expect_err("missing").is_not_found());
    let missing = store.set_run_archived(RunId::new(), true).await;
    assert!(missing.expect_err("missing").is_not_found());
}

async fn deleting_an_experiment_removes_its_runs_and_everything_they_own(
    store: &impl MetadataStore,
) {
    let experiment = store
        .create_experiment(&new_experiment("e", ""))
        .await
        .expect("experiment");
    let run = run_in(store, experiment.id, "r").await;
    let task = store
        .create_task(&new_task(run.id, "root/a", TaskState::Succeeded))
        .await
        .expect("task");
    store
        .create_artifact(&NewArtifact {
            run_id: run.id,
            task_id: Some(task.id),
            name: "model".into(),
            uri: "/a/model".into(),
            schema_title: "system.Model".into(),
            metadata: json!({}),
        })
        .await
        .expect("artifact");
    store
        .put_cache_entry(&CacheEntry {
            fingerprint: "f".into(),
            pipeline_name: "pipeline/p".into(),
            task_id: task.id,
            run_id: run.id,
            created_at: chrono::Utc::now(),
        })
        .await
        .expect("cache entry");
    let recurring = store
        .create_recurring_run(&new_recurring_run(Some(experiment.id)))
        .await
        .expect("recurring run");
    let outside = store.create_run(&new_run("outside")).await.expect("run");

    store
        .delete_experiment(experiment.id)
        .await
        .expect("deleted");
    assert!(store
        .get_experiment(&experiment.id.to_string())
        .await
        .expect_err("gone")
        .is_not_found());
    assert!(store
        .get_run(run.id)
        .await
        .expect_err("gone")
        .is_not_found());
    assert!(store
        .get_task(task.id)
        .await
        .expect_err("gone")
        .is_not_found());
    assert_eq!(store.list_run_artifacts(run.id).await.expect("listed"), []);
    assert_eq!(
        store
            .find_cache_entry("f", "pipeline/p")
            .await
            .expect("lookup"),
        None
    );
    assert!(store
        .get_recurring_run(recurring.id)
        .await
        .expect_err("gone")
        .is_not_found());
    assert_eq!(store.get_run(outside.id).await.expect("kept"), outside);
    assert!(store
        .delete_experiment(experiment.id)
        .await
        .expect_err("already gone")
        .is_not_found());
}

async fn runs_record_their_namespace_service_account_and_pipeline(store: &impl MetadataStore) {
    let experiment = store
        .create_experiment(&new_experiment("e", "team-a"))
        .await
        .expect("experiment");
    let pipeline_id = PipelineId::new();
    let inherited = store
        .create_run(&NewRun {
            experiment_id: Some(experiment.id),
            service_account: "runner".into(),
            pipeline_id: Some(pipeline_id),
            pipeline_version_id: Some("v1".into()),
            ..new_run("inherits")
        })
        .await
        .expect("run");
    assert_eq!(inherited.namespace, "team-a", "the experiment's namespace");
    assert_eq!(inherited.service_account, "runner");
    assert_eq!(inherited.pipeline_id, Some(pipeline_id));
    let explicit = store
        .create_run(&NewRun {
            namespace: "team-b".into(),
            ..new_run("explicit")
        })
        .await
        .expect("run");
    assert_eq!(explicit.namespace, "team-b");
    let plain = store.create_run(&new_run("plain")).await.expect("run");
    assert_eq!((plain.namespace.as_str(), plain.pipeline_id), ("", None));

    let in_team_a = store
        .list_runs_page(&ListQuery::default().with_predicate(Predicate::new(
            "namespace",
            Equals,
            Text("team-a".into()),
        )))
        .await
        .expect("listed");
    assert_eq!(in_team_a.items, std::slice::from_ref(&inherited));
    let from_version = store
        .list_runs_page(&ListQuery::default().with_predicate(Predicate::new(
            "pipeline_version_id",
            Equals,
            Text("v1".into()),
        )))
        .await
        .expect("listed");
    assert_eq!(from_version.items, [inherited]);
}
