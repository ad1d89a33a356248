//! Recurring runs and their schedule slots.

use chrono::{Duration, TimeZone, Utc};
use serde_json::json;
use weir_store::FilterValue::String as Text;
use weir_store::PredicateOp::*;
use weir_store::*;
use weir_types::{ExperimentId, PipelineVersionId, RecurringRunId, RunId, RunState};

use super::experiments::{new_experiment, new_recurring_run};
use super::new_run;

store_suite!(
    recurring_runs_round_trip_and_update_in_place,
    a_slot_is_claimed_once,
    active_runs_of_a_recurring_run_are_counted,
);

async fn recurring_runs_round_trip_and_update_in_place(store: &impl MetadataStore) {
    let experiment = store
        .create_experiment(&new_experiment("e", ""))
        .await
        .expect("experiment");
    let mut new = new_recurring_run(Some(experiment.id));
    new.runtime_config
        .parameters
        .insert("seed".into(), json!(4));
    new.no_catchup = true;
    let created = store.create_recurring_run(&new).await.expect("created");
    assert_eq!(created.id, new.id);
    assert_eq!(created.runtime_config.parameters["seed"], 4);
    assert_eq!(created.trigger, new.trigger);
    assert_eq!(created.pipeline_spec, new.pipeline_spec);
    assert!(created.enabled && created.no_catchup);
    assert_eq!(created.created_at, created.updated_at);
    assert_eq!(store.get_recurring_run(new.id).await.expect("get"), created);
    let duplicate = store.create_recurring_run(&new).await;
    assert!(
        matches!(duplicate, Err(StoreError::Conflict(_))),
        "{duplicate:?}"
    );
    let orphan = store
        .create_recurring_run(&new_recurring_run(Some(ExperimentId::new())))
        .await;
    assert!(orphan.expect_err("no such experiment").is_not_found());

    let version = PipelineVersionId::new();
    let replacement = NewRecurringRun {
        display_name: "hourly".into(),
        pipeline_spec: None,
        pipeline_version_id: Some(version),
        max_concurrency: 3,
        trigger: json!({"cron_schedule": {"cron": "0 0 * * * *"}}),
        ..new.clone()
    };
    let updated = store
        .update_recurring_run(&replacement)
        .await
        .expect("updated");
    assert_eq!(updated.display_name, "hourly");
    assert_eq!(
        (updated.pipeline_spec.as_ref(), updated.pipeline_version_id),
        (None, Some(version))
    );
    assert_eq!(updated.max_concurrency, 3);
    assert_eq!(updated.created_at, created.created_at);
    assert!(updated.updated_at > created.updated_at);
    let missing = store.update_recurring_run(&new_recurring_run(None)).await;
    assert!(missing.expect_err("no such recurring run").is_not_found());

    let disabled = store
        .set_recurring_run_enabled(new.id, false)
        .await
        .expect("disabled");
    assert!(!disabled.enabled);
    assert!(disabled.updated_at > updated.updated_at);
    let other = store
        .create_recurring_run(&new_recurring_run(None))
        .await
        .expect("created");
    let enabled_only = store
        .list_recurring_runs(&ListQuery::default().with_predicate(Predicate::new(
            "status",
            Equals,
            Text("ENABLED".into()),
        )))
        .await
        .expect("listed");
    assert_eq!(enabled_only.items, std::slice::from_ref(&other));
    let in_experiment = store
        .list_recurring_runs(&ListQuery::default().with_predicate(Predicate::new(
            "experiment_id",
            Equals,
            Text(experiment.id.to_string()),
        )))
        .await
        .expect("listed");
    assert_eq!(in_experiment.items, [disabled]);

    store.delete_recurring_run(new.id).await.expect("deleted");
    assert!(store
        .get_recurring_run(new.id)
        .await
        .expect_err("gone")
        .is_not_found());
    assert!(store
        .delete_recurring_run(new.id)
        .await
        .expect_err("already gone")
        .is_not_found());
}

async fn a_slot_is_claimed_once(store: &impl MetadataStore) {
    let recurring = store
        .create_recurring_run(&new_recurring_run(None))
        .await
        .expect("created");
    assert_eq!(
        store
            .last_claimed_slot(recurring.id)
            .await
            .expect("none yet"),
        None
    );
    let nine = Utc
        .with_ymd_and_hms(2026, 1, 1, 9, 0, 0)
        .single()
        .expect("valid time");
    assert!(store
        .claim_recurring_slot(recurring.id, nine, RunId::new())
        .await
        .expect("claimed"));
    assert!(
        !store
            .claim_recurring_slot(recurring.id, nine, RunId::new())
            .await
            .expect("answered"),
        "the same slot fires once"
    );
    let ten = nine + Duration::hours(1);
    assert!(store
        .claim_recurring_slot(recurring.id, ten, RunId::new())
        .await
        .expect("claimed"));
    assert!(store
        .claim_recurring_slot(recurring.id, nine - Duration::hours(1), RunId::new())
        .await
        .expect("an earlier slot is another slot"));
    assert_eq!(
        store.last_claimed_slot(recurring.id).await.expect("latest"),
        Some(ten)
    );
    let other = store
        .create_recurring_run(&new_recurring_run(None))
        .await
        .expect("created");
    assert!(
        store
            .claim_recurring_slot(other.id, nine, RunId::new())
            .await
            .expect("claimed"),
        "slots belong to one recurring run"
    );
    let missing = store
        .claim_recurring_slot(RecurringRunId::new(), nine, RunId::new())
        .await;
    assert!(missing.expect_err("no such recurring run").is_not_found());
    assert!(store
        .last_claimed_slot(RecurringRunId::new())
        .await
        .expect_err("no such recurring run")
        .is_not_found());
}

async fn active_runs_of_a_recurring_run_are_counted(store: &impl MetadataStore) {
    let recurring = store
        .create_recurring_run(&new_recurring_run(None))
        .await
        .expect("created");
    let mut runs = Vec::new();
    for name in ["a", "b", "c"] {
        let run = NewRun {
            recurring_run_id: Some(recurring.id.to_string()),
            ..new_run(name)
        };
        runs.push(store.create_run(&run).await.expect("run"));
    }
    store.create_run(&new_run("unrelated")).await.expect("run");
    assert_eq!(
        store
            .count_active_runs_of_recurring(recurring.id)
            .await
            .expect("counted"),
        3
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
        store
            .count_active_runs_of_recurring(recurring.id)
            .await
            .expect("counted"),
        2,
        "PENDING and RUNNING are active"
    );
    let started = store
        .list_runs_page(&ListQuery::default().with_predicate(Predicate::new(
            "recurring_run_id",
            Equals,
            Text(recurring.id.to_string()),
        )))
        .await
        .expect("listed");
    assert_eq!(started.total_size, 3);
}
