//! The JSON as it crosses the wire: bodies the SDK sends, and what grpc-gateway would write.

use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use weir_api_model::*;

use crate::samples;

fn read<T: DeserializeOwned>(body: Value) -> T {
    serde_json::from_value(body.clone()).unwrap_or_else(|error| panic!("{error}: {body}"))
}

fn refusal<T: DeserializeOwned + std::fmt::Debug>(body: Value) -> String {
    match serde_json::from_value::<T>(body.clone()) {
        Ok(read) => panic!("accepted {body} as {read:?}"),
        Err(error) => error.to_string(),
    }
}

fn write<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("API types serialize")
}

#[test]
fn the_sdk_create_run_bodies_are_read() {
    let inline: Run = read(json!({
        "experiment_id": "exp-1", "display_name": "my run",
        "pipeline_spec": {"pipelineInfo": {"name": "p"}, "sdkVersion": "kfp-2.17.3", "schemaVersion": "2.1.0",
                          "deploymentSpec": {}, "components": {}, "root": {"dag": {"tasks": {}}}},
        "runtime_config": {"parameters": {"n": 5, "names": ["a"], "conf": {"k": 1}},
                           "pipeline_root": "minio://mlpipeline/v2/artifacts"},
        "service_account": "sa1"
    }));
    let runtime_config = inline.runtime_config.expect("runtime_config was sent");
    assert_eq!(runtime_config.parameters["conf"], json!({"k": 1}));
    assert_eq!(inline.service_account.as_deref(), Some("sa1"));

    let with_platform: Run = read(json!({
        "display_name": "p08",
        "pipeline_spec": {"pipeline_spec": {"root": {}}, "platform_spec": {"platforms": {"kubernetes": {}}}}
    }));
    let spec = with_platform.pipeline_spec.expect("pipeline_spec was sent");
    assert!(spec.contains_key("platform_spec"));

    let from_version: Run = read(json!({
        "experiment_id": "exp-1", "display_name": "r",
        "pipeline_version_reference": {"pipeline_id": "pl-1", "pipeline_version_id": "pv-1"},
        "runtime_config": {"parameters": {"n": 1}}
    }));
    assert_eq!(
        from_version.pipeline_version_reference,
        Some(samples::version_reference())
    );
}

#[test]
fn the_sdk_recurring_run_bodies_are_read_and_int64_written_as_strings() {
    let cron: RecurringRun = read(json!({
        "display_name": "nightly", "pipeline_spec": {"root": {}},
        "runtime_config": {"parameters": {"seed": 4}}, "max_concurrency": 2,
        "trigger": {"cron_schedule": {"start_time": "2026-01-01T00:00:00Z", "cron": "0 0 0 * * *"}},
        "mode": "ENABLE", "no_catchup": true, "experiment_id": "exp-1"
    }));
    assert_eq!(cron.max_concurrency, Some(2));
    assert_eq!(cron.mode, Some(RecurringRunMode::Enable));
    let written = write(&cron);
    assert_eq!(written["max_concurrency"], json!("2"));
    assert_eq!(
        written["trigger"]["cron_schedule"]["start_time"],
        json!("2026-01-01T00:00:00Z")
    );

    let periodic: RecurringRun = read(json!({
        "display_name": "hourly", "pipeline_spec": {"root": {}},
        "trigger": {"periodic_schedule": {"interval_second": 3600}}, "mode": "DISABLE", "max_concurrency": "1"
    }));
    let schedule = periodic
        .trigger
        .and_then(|trigger| trigger.periodic_schedule);
    assert_eq!(schedule.and_then(|s| s.interval_second), Some(3600));
    assert_eq!(periodic.max_concurrency, Some(1));
}

#[test]
fn the_sdk_create_experiment_body_is_read() {
    let experiment: Experiment =
        read(json!({"display_name": "Default", "description": "d", "namespace": "kubeflow"}));
    assert_eq!(experiment.display_name.as_deref(), Some("Default"));
}

#[test]
fn zero_and_empty_fields_are_left_out() {
    assert_eq!(write(&Run::default()), json!({}));
    let zeros = RecurringRun {
        description: Some(String::new()),
        no_catchup: Some(false),
        max_concurrency: Some(0),
        status: Some(RecurringRunStatus::Unspecified),
        ..RecurringRun::default()
    };
    assert_eq!(write(&zeros), json!({}));
    let run = Run {
        state: Some(RuntimeState::Pending),
        finished_at: Some(samples::time(0)),
        ..Run::default()
    };
    assert_eq!(
        write(&run),
        json!({"state": "PENDING", "finished_at": "2026-01-01T00:00:00Z"})
    );
    assert_eq!(write(&ListRunsResponse::default()), json!({}));
}

#[test]
fn int64_fields_are_strings_out_and_strings_or_numbers_in() {
    let details: RunDetails = read(
        json!({"pipeline_context_id": 9_007_199_254_740_993_i64, "pipeline_run_context_id": "12"}),
    );
    assert_eq!(details.pipeline_context_id, Some(9_007_199_254_740_993));
    assert_eq!(details.pipeline_run_context_id, Some(12));
    let written = write(&details);
    assert_eq!(written["pipeline_context_id"], json!("9007199254740993"));
    let artifacts: ArtifactList = read(json!({"artifact_ids": [1, "2"]}));
    assert_eq!(write(&artifacts), json!({"artifact_ids": ["1", "2"]}));
    let list = ListRunsResponse {
        total_size: Some(3),
        ..ListRunsResponse::default()
    };
    assert_eq!(write(&list), json!({"total_size": 3}));

    refusal::<PeriodicSchedule>(json!({"interval_second": "an hour"}));
    refusal::<PeriodicSchedule>(json!({"interval_second": 1.5}));
    refusal::<PeriodicSchedule>(json!({"interval_second": 18_446_744_073_709_551_615_u64}));
    refusal::<ListRunsResponse>(json!({"total_size": 4_294_967_296_i64}));
}

#[test]
fn timestamps_are_rfc3339_in_utc() {
    let schedule: CronSchedule = read(
        json!({"start_time": "2026-01-01T02:00:00+02:00", "end_time": "2026-01-01T00:00:00.250Z"}),
    );
    assert_eq!(schedule.start_time, Some(samples::time(0)));
    let written = write(&schedule);
    assert_eq!(written["start_time"], json!("2026-01-01T00:00:00Z"));
    assert_eq!(written["end_time"], json!("2026-01-01T00:00:00.250Z"));
    let message = refusal::<CronSchedule>(json!({"start_time": "2026-01-01 00:00"}));
    assert!(message.contains("invalid timestamp"), "{message}");
    refusal::<CronSchedule>(json!({"start_time": 1_767_225_600}));
}

#[test]
fn enums_are_read_from_numbers_and_refused_when_unknown() {
    let recurring_run: RecurringRun = read(json!({"mode": 2}));
    assert_eq!(recurring_run.mode, Some(RecurringRunMode::Disable));
    let message = refusal::<Run>(json!({"state": "DONE"}));
    assert!(
        message.contains("unknown RuntimeState \"DONE\""),
        "{message}"
    );
}

#[test]
fn unknown_fields_are_refused_at_every_level_but_inside_free_json() {
    let top = refusal::<Run>(json!({"display_name": "r", "enable_caching": false}));
    assert!(top.contains("unknown field `enable_caching`"), "{top}");
    let nested = refusal::<Run>(json!({"runtime_config": {"parameters": {}, "root": "x"}}));
    assert!(nested.contains("unknown field `root`"), "{nested}");
    refusal::<Experiment>(json!({"name": "e"}));
    refusal::<Pipeline>(json!({"id": "p"}));
    refusal::<PipelineVersion>(json!({"pipeline_id": "p", "spec": {}}));
    refusal::<RecurringRun>(json!({"trigger": {"cron": "* * * * * *"}}));
    refusal::<CreatePipelineAndVersionRequest>(json!({"pipeline": {}, "version": {}}));

    let free: Run = read(json!({
        "pipeline_spec": {"anything": {"goes": [1, null]}},
        "runtime_config": {"parameters": {"any_name": {"any": "value"}}},
        "plugins_input": {"mlflow": {"whatever": true}}
    }));
    assert!(free.pipeline_spec.is_some());
    refusal::<Run>(json!({"pipeline_spec": "not an object"}));
}

#[test]
fn camel_case_field_names_are_read_too() {
    let run: Run = read(json!({
        "displayName": "r", "experimentId": "exp-1",
        "pipelineVersionReference": {"pipelineId": "pl-1", "pipelineVersionId": "pv-1"},
        "runtimeConfig": {"parameters": {"n": 1}, "pipelineRoot": "/tmp"},
        "serviceAccount": "sa"
    }));
    assert_eq!(run.display_name.as_deref(), Some("r"));
    assert_eq!(
        run.pipeline_version_reference,
        Some(samples::version_reference())
    );
    let recurring_run: RecurringRun = read(json!({
        "maxConcurrency": "3", "noCatchup": true,
        "trigger": {"periodicSchedule": {"intervalSecond": 60, "startTime": "2026-01-01T00:00:00Z"}}
    }));
    assert_eq!(recurring_run.max_concurrency, Some(3));
    let message = refusal::<Run>(json!({"display_name": "a", "displayName": "b"}));
    assert!(message.contains("duplicate field"), "{message}");
}

#[test]
fn nulls_read_as_absent() {
    let run: Run = read(json!({
        "display_name": null, "state_history": null, "plugins_input": null,
        "runtime_config": {"parameters": null}, "pipeline_spec": null
    }));
    assert_eq!(
        run,
        Run {
            runtime_config: Some(RuntimeConfig::default()),
            ..Run::default()
        }
    );
}

#[test]
fn list_responses_use_the_swagger_names() {
    let recurring = write(&samples::list_recurring_runs());
    assert!(recurring.get("recurringRuns").is_some(), "{recurring}");
    assert!(recurring.get("recurring_runs").is_none());
    let versions = write(&samples::list_pipeline_versions());
    assert!(versions.get("pipeline_versions").is_some());
    let read_back: ListRecurringRunsResponse = read(recurring);
    assert_eq!(read_back, samples::list_recurring_runs());
}

#[test]
fn errors_are_grpc_status_json() {
    let status = GoogleRpcStatus {
        code: Some(5),
        message: Some("run r-1 not found".to_owned()),
        details: vec![ProtobufAny {
            type_url: "type.googleapis.com/google.rpc.ErrorInfo".to_owned(),
            fields: serde_json::Map::from_iter([("reason".to_owned(), json!("NOT_FOUND"))]),
        }],
    };
    assert_eq!(
        write(&status),
        json!({"code": 5, "message": "run r-1 not found",
               "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "NOT_FOUND"}]})
    );
    let healthz = write(&samples::healthz());
    assert_eq!(
        healthz,
        json!({"multi_user": true, "pipeline_store": "database"})
    );
}

#[test]
fn render_type_is_written_whenever_set() {
    let value = MetadataValue {
        value: None,
        render_type: Some(MetadataValueRenderType::Unspecified),
    };
    assert_eq!(write(&value), json!({"render_type": "UNSPECIFIED"}));
}
