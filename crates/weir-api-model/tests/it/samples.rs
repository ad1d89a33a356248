//! One instance of each API type with every field set to a non-zero value, so that serializing
//! it writes every field the type has.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{json, Map, Value};
use weir_api_model::*;

pub fn time(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_767_225_600 + seconds, 0)
        .single()
        .expect("a valid timestamp")
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

fn tags() -> BTreeMap<String, String> {
    BTreeMap::from([("team".to_owned(), "ml".to_owned())])
}

pub fn status() -> GoogleRpcStatus {
    GoogleRpcStatus {
        code: Some(3),
        message: Some("bad input".to_owned()),
        details: vec![ProtobufAny {
            type_url: "type.googleapis.com/google.rpc.ErrorInfo".to_owned(),
            fields: object(json!({"reason": "INVALID"})),
        }],
    }
}

pub fn healthz() -> GetHealthzResponse {
    GetHealthzResponse {
        multi_user: Some(true),
        pipeline_store: Some("database".to_owned()),
    }
}

pub fn visualization() -> Visualization {
    Visualization {
        visualization_type: Some(VisualizationType::Table),
        source: Some("gs://bucket/file.csv".to_owned()),
        arguments: Some("{}".to_owned()),
        html: Some("<p></p>".to_owned()),
        error: Some("none".to_owned()),
    }
}

pub fn experiment() -> Experiment {
    Experiment {
        experiment_id: Some("exp-1".to_owned()),
        display_name: Some("Default".to_owned()),
        description: Some("the default experiment".to_owned()),
        created_at: Some(time(0)),
        namespace: Some("kubeflow".to_owned()),
        storage_state: Some(StorageState::Archived),
        last_run_created_at: Some(time(60)),
    }
}

pub fn list_experiments() -> ListExperimentsResponse {
    ListExperimentsResponse {
        experiments: vec![experiment()],
        total_size: Some(1),
        next_page_token: Some("next".to_owned()),
    }
}

pub fn pipeline_spec() -> Map<String, Value> {
    object(json!({
        "pipelineInfo": {"name": "hello"},
        "schemaVersion": "2.1.0",
        "sdkVersion": "kfp-2.17.3",
        "root": {"dag": {"tasks": {}}}
    }))
}

pub fn pipeline() -> Pipeline {
    Pipeline {
        pipeline_id: Some("pl-1".to_owned()),
        display_name: Some("Hello".to_owned()),
        name: Some("hello".to_owned()),
        description: Some("says hello".to_owned()),
        created_at: Some(time(1)),
        namespace: Some("kubeflow".to_owned()),
        error: Some(status()),
        tags: tags(),
    }
}

pub fn pipeline_version() -> PipelineVersion {
    PipelineVersion {
        pipeline_id: Some("pl-1".to_owned()),
        pipeline_version_id: Some("pv-1".to_owned()),
        display_name: Some("v1".to_owned()),
        name: Some("v1".to_owned()),
        description: Some("first".to_owned()),
        created_at: Some(time(2)),
        package_url: Some(url()),
        code_source_url: Some("https://example.com/code".to_owned()),
        pipeline_spec: Some(pipeline_spec()),
        error: Some(status()),
        tags: tags(),
    }
}

pub fn url() -> Url {
    Url {
        pipeline_url: Some("https://example.com/pipeline.yaml".to_owned()),
    }
}

pub fn create_pipeline_and_version() -> CreatePipelineAndVersionRequest {
    CreatePipelineAndVersionRequest {
        pipeline: Some(pipeline()),
        pipeline_version: Some(pipeline_version()),
    }
}

pub fn list_pipelines() -> ListPipelinesResponse {
    ListPipelinesResponse {
        pipelines: vec![pipeline()],
        total_size: Some(1),
        next_page_token: Some("next".to_owned()),
    }
}

pub fn list_pipeline_versions() -> ListPipelineVersionsResponse {
    ListPipelineVersionsResponse {
        pipeline_versions: vec![pipeline_version()],
        next_page_token: Some("next".to_owned()),
        total_size: Some(1),
    }
}

pub fn version_reference() -> PipelineVersionReference {
    PipelineVersionReference {
        pipeline_id: Some("pl-1".to_owned()),
        pipeline_version_id: Some("pv-1".to_owned()),
    }
}

pub fn runtime_config() -> RuntimeConfig {
    RuntimeConfig {
        parameters: object(json!({"n": 5, "names": ["a"], "conf": {"k": 1}})),
        pipeline_root: Some("minio://mlpipeline/v2/artifacts".to_owned()),
    }
}

pub fn runtime_status() -> RuntimeStatus {
    RuntimeStatus {
        update_time: Some(time(3)),
        state: Some(RuntimeState::Running),
        error: Some(status()),
    }
}

pub fn metadata_value() -> MetadataValue {
    MetadataValue {
        value: Some(json!("https://mlflow.example.com/run/1")),
        render_type: Some(MetadataValueRenderType::Url),
    }
}

pub fn plugin_output() -> PluginOutput {
    PluginOutput {
        entries: BTreeMap::from([("run_url".to_owned(), metadata_value())]),
        state: Some(PluginState::Succeeded),
        state_message: Some("logged".to_owned()),
    }
}

pub fn executor_detail() -> ExecutorDetail {
    ExecutorDetail {
        main_job: Some("job-2".to_owned()),
        pre_caching_check_job: Some("check-1".to_owned()),
        failed_main_jobs: vec!["job-1".to_owned()],
        failed_pre_caching_check_jobs: vec!["check-0".to_owned()],
    }
}

pub fn child_task() -> ChildTask {
    ChildTask {
        task_id: Some("task-2".to_owned()),
        pod_name: Some("pod-2".to_owned()),
    }
}

pub fn artifact_list() -> ArtifactList {
    ArtifactList {
        artifact_ids: vec![7, 9_007_199_254_740_993],
    }
}

pub fn task_detail() -> PipelineTaskDetail {
    PipelineTaskDetail {
        run_id: Some("run-1".to_owned()),
        task_id: Some("task-1".to_owned()),
        display_name: Some("square".to_owned()),
        create_time: Some(time(4)),
        start_time: Some(time(5)),
        end_time: Some(time(6)),
        executor_detail: Some(executor_detail()),
        state: Some(RuntimeState::Succeeded),
        execution_id: Some(42),
        error: Some(status()),
        inputs: BTreeMap::from([("x".to_owned(), artifact_list())]),
        outputs: BTreeMap::from([("y".to_owned(), artifact_list())]),
        parent_task_id: Some("task-0".to_owned()),
        state_history: vec![runtime_status()],
        pod_name: Some("pod-1".to_owned()),
        child_tasks: vec![child_task()],
    }
}

pub fn run_details() -> RunDetails {
    RunDetails {
        pipeline_context_id: Some(11),
        pipeline_run_context_id: Some(12),
        task_details: vec![task_detail()],
    }
}

pub fn run() -> Run {
    Run {
        experiment_id: Some("exp-1".to_owned()),
        run_id: Some("run-1".to_owned()),
        display_name: Some("my run".to_owned()),
        storage_state: Some(StorageState::Available),
        description: Some("a run".to_owned()),
        pipeline_version_id: Some("pv-1".to_owned()),
        pipeline_spec: Some(pipeline_spec()),
        pipeline_version_reference: Some(version_reference()),
        runtime_config: Some(runtime_config()),
        service_account: Some("sa1".to_owned()),
        created_at: Some(time(7)),
        scheduled_at: Some(time(8)),
        finished_at: Some(time(9)),
        state: Some(RuntimeState::Failed),
        error: Some(status()),
        run_details: Some(run_details()),
        recurring_run_id: Some("rr-1".to_owned()),
        state_history: vec![runtime_status()],
        plugins_input: BTreeMap::from([("mlflow".to_owned(), object(json!({"experiment": "x"})))]),
        plugins_output: BTreeMap::from([("mlflow".to_owned(), plugin_output())]),
    }
}

pub fn list_runs() -> ListRunsResponse {
    ListRunsResponse {
        runs: vec![run()],
        total_size: Some(1),
        next_page_token: Some("next".to_owned()),
    }
}

pub fn cron_schedule() -> CronSchedule {
    CronSchedule {
        start_time: Some(time(10)),
        end_time: Some(time(11)),
        cron: Some("0 0 9 ? * 2-6".to_owned()),
    }
}

pub fn periodic_schedule() -> PeriodicSchedule {
    PeriodicSchedule {
        start_time: Some(time(12)),
        end_time: Some(time(13)),
        interval_second: Some(3600),
    }
}

pub fn trigger() -> Trigger {
    Trigger {
        cron_schedule: Some(cron_schedule()),
        periodic_schedule: Some(periodic_schedule()),
    }
}

pub fn recurring_run() -> RecurringRun {
    RecurringRun {
        recurring_run_id: Some("rr-1".to_owned()),
        display_name: Some("nightly".to_owned()),
        description: Some("every night".to_owned()),
        pipeline_version_id: Some("pv-1".to_owned()),
        pipeline_spec: Some(pipeline_spec()),
        pipeline_version_reference: Some(version_reference()),
        runtime_config: Some(runtime_config()),
        service_account: Some("sa1".to_owned()),
        max_concurrency: Some(2),
        trigger: Some(trigger()),
        mode: Some(RecurringRunMode::Enable),
        created_at: Some(time(14)),
        updated_at: Some(time(15)),
        status: Some(RecurringRunStatus::Enabled),
        error: Some(status()),
        no_catchup: Some(true),
        namespace: Some("kubeflow".to_owned()),
        experiment_id: Some("exp-1".to_owned()),
        plugins_input: BTreeMap::from([("mlflow".to_owned(), object(json!({"experiment": "x"})))]),
    }
}

pub fn list_recurring_runs() -> ListRecurringRunsResponse {
    ListRecurringRunsResponse {
        recurring_runs: vec![recurring_run()],
        total_size: Some(1),
        next_page_token: Some("next".to_owned()),
    }
}

pub fn predicate() -> Predicate {
    Predicate {
        operation: Some(PredicateOperation::In),
        key: Some("display_name".to_owned()),
        int_value: Some(1),
        long_value: Some(2),
        string_value: Some("three".to_owned()),
        timestamp_value: Some(time(16)),
        int_values: Some(int_values()),
        long_values: Some(long_values()),
        string_values: Some(string_values()),
    }
}

pub fn int_values() -> IntValues {
    IntValues { values: vec![1, 2] }
}

pub fn long_values() -> LongValues {
    LongValues { values: vec![3, 4] }
}

pub fn string_values() -> StringValues {
    StringValues {
        values: vec!["a".to_owned(), "b".to_owned()],
    }
}

pub fn filter() -> Filter {
    Filter {
        predicates: vec![predicate()],
    }
}
