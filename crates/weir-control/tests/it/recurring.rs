//! Creating and changing recurring runs: every check the REST API and the UI share.

use serde_json::{json, Map};
use weir_control::{
    CronSchedule, ErrorCode, PeriodicSchedule, RecurringRunDraft, Trigger, MAX_CONCURRENCY,
};
use weir_types::ExperimentId;

use super::{control, wait_pipeline};

fn every_minute() -> Trigger {
    Trigger {
        periodic_schedule: Some(PeriodicSchedule {
            interval_second: Some(60),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn draft(trigger: Trigger) -> RecurringRunDraft {
    RecurringRunDraft {
        display_name: "hourly".to_owned(),
        description: String::new(),
        namespace: String::new(),
        pipeline: wait_pipeline(),
        parameters: Map::new(),
        pipeline_root: None,
        service_account: String::new(),
        experiment_id: None,
        max_concurrency: 1,
        trigger,
        enabled: true,
        no_catchup: false,
    }
}

#[tokio::test]
async fn drafts_are_checked_before_anything_is_stored() {
    let (control, _dir) = control().await;
    let bad_cron = Trigger {
        cron_schedule: Some(CronSchedule {
            cron: Some("every day".to_owned()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let refused = control
        .create_recurring_run(draft(bad_cron))
        .await
        .expect_err("an invalid cron expression");
    assert_eq!(refused.code(), ErrorCode::InvalidArgument);
    assert!(refused.to_string().contains("`every day`"), "{refused}");

    let both = Trigger {
        cron_schedule: Some(CronSchedule {
            cron: Some("0 0 * * * *".to_owned()),
            ..Default::default()
        }),
        ..every_minute()
    };
    let refused = control.create_recurring_run(draft(both)).await;
    assert_eq!(
        refused.expect_err("two triggers").code(),
        ErrorCode::InvalidArgument
    );

    let mut too_many = draft(every_minute());
    too_many.max_concurrency = MAX_CONCURRENCY + 1;
    let refused = control
        .create_recurring_run(too_many)
        .await
        .expect_err("bounds");
    assert_eq!(refused.code(), ErrorCode::InvalidArgument);
    assert!(
        refused.to_string().starts_with("max_concurrency"),
        "{refused}"
    );

    let mut typo = draft(every_minute());
    typo.parameters.insert("secs".to_owned(), json!(1));
    let refused = control
        .create_recurring_run(typo)
        .await
        .expect_err("no such parameter");
    assert_eq!(refused.code(), ErrorCode::InvalidArgument);

    let mut elsewhere = draft(every_minute());
    elsewhere.experiment_id = Some(ExperimentId::new());
    let refused = control
        .create_recurring_run(elsewhere)
        .await
        .expect_err("no experiment");
    assert_eq!(refused.code(), ErrorCode::NotFound);

    let listed = control
        .store
        .list_recurring_runs(&Default::default())
        .await
        .expect("listed");
    assert_eq!(listed.total_size, 0, "nothing was stored");
}

#[tokio::test]
async fn a_recurring_run_is_created_and_changed_in_place() {
    let (control, _dir) = control().await;
    let created = control
        .create_recurring_run(draft(every_minute()))
        .await
        .expect("created");
    let default = control
        .store
        .ensure_experiment("Default")
        .await
        .expect("there");
    assert_eq!(created.experiment_id, Some(default.id));
    assert!(created.pipeline_spec.is_some(), "the spec is kept with it");
    assert_eq!(
        created.trigger["periodic_schedule"]["interval_second"],
        "60"
    );

    let mut renamed = draft(every_minute());
    renamed.display_name = "hourly, renamed".to_owned();
    renamed.enabled = false;
    let updated = control
        .update_recurring_run(created.id, renamed)
        .await
        .expect("updated");
    assert_eq!(updated.id, created.id);
    assert_eq!(updated.display_name, "hourly, renamed");
    assert!(!updated.enabled);

    let enabled = control
        .set_recurring_run_enabled(created.id, true)
        .await
        .expect("enabled");
    assert!(enabled.enabled);
    control
        .delete_recurring_run(created.id)
        .await
        .expect("deleted");
    let gone = control
        .update_recurring_run(created.id, draft(every_minute()))
        .await
        .expect_err("gone");
    assert_eq!(gone.code(), ErrorCode::NotFound);
}
