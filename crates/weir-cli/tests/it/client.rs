//! `weir-client` against a real `weir server`: every resource end to end, paging, waiting,
//! and the errors a caller sees.

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Map, Value};
use weir_client::model::{
    Experiment, PeriodicSchedule, PipelineVersionReference, RecurringRun, RecurringRunMode,
    RecurringRunStatus, Run, RuntimeConfig, RuntimeState, StorageState, Trigger,
};
use weir_client::{Caching, Client, ClientError, ListParams, PipelinePackage};

use crate::live::{free_port, release, resume_fixture, wait_for, LiveServer};

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(future)
}

fn params(dir: &Path) -> Option<RuntimeConfig> {
    let mut parameters = Map::new();
    parameters.insert("dir".to_owned(), json!(dir.display().to_string()));
    Some(RuntimeConfig {
        parameters,
        pipeline_root: None,
    })
}

fn inline_spec() -> Map<String, Value> {
    let text = std::fs::read_to_string(resume_fixture()).expect("fixture");
    serde_norway::from_str(&text).expect("the fixture is YAML")
}

fn id(value: &Option<String>) -> String {
    value.clone().expect("the server sets ids")
}

#[test]
fn the_client_drives_a_server_end_to_end() {
    let server = LiveServer::start();
    let client = Client::new(&server.endpoint, None).expect("a valid endpoint");
    block_on(async {
        let health = client.healthz().await.expect("healthz");
        assert_eq!(health.pipeline_store.as_deref(), Some("database"));
        let experiment_id = experiments(&client).await;
        let pipeline_id = pipelines(&client).await;
        runs(&client, &server, &experiment_id, &pipeline_id).await;
        recurring_runs(&client, &server, &experiment_id, &pipeline_id).await;

        client
            .delete_pipeline(&pipeline_id, true)
            .await
            .expect("delete with versions");
        let gone = client
            .get_pipeline(&pipeline_id)
            .await
            .expect_err("deleted");
        assert!(gone.is_not_found(), "{gone}");
        client
            .delete_experiment(&experiment_id)
            .await
            .expect("delete experiment");
        let gone = client
            .get_experiment(&experiment_id)
            .await
            .expect_err("deleted");
        assert!(gone.is_not_found(), "{gone}");
    });
}

async fn experiments(client: &Client) -> String {
    let created = client
        .create_experiment(&Experiment {
            display_name: Some("client-it".to_owned()),
            description: Some("from weir-client".to_owned()),
            ..Experiment::default()
        })
        .await
        .expect("create experiment");
    let experiment_id = id(&created.experiment_id);
    let fetched = client.get_experiment(&experiment_id).await.expect("get");
    assert_eq!(fetched.display_name.as_deref(), Some("client-it"));
    assert_eq!(fetched.description.as_deref(), Some("from weir-client"));
    let ensured = client.ensure_experiment("client-it").await.expect("ensure");
    assert_eq!(ensured.experiment_id, created.experiment_id);
    let duplicate = client
        .create_experiment(&Experiment {
            display_name: Some("client-it".to_owned()),
            ..Experiment::default()
        })
        .await
        .expect_err("names are unique");
    assert_eq!(duplicate.status(), Some(409), "{duplicate}");

    client
        .archive_experiment(&experiment_id)
        .await
        .expect("archive");
    let archived = client.get_experiment(&experiment_id).await.expect("get");
    assert_eq!(archived.storage_state, Some(StorageState::Archived));
    client
        .unarchive_experiment(&experiment_id)
        .await
        .expect("unarchive");
    let listed = client
        .list_experiments(&ListParams::default())
        .await
        .expect("list");
    let found = listed
        .experiments
        .iter()
        .find(|e| e.experiment_id == created.experiment_id)
        .expect("listed");
    assert_eq!(found.storage_state, Some(StorageState::Available));
    experiment_id
}

async fn pipelines(client: &Client) -> String {
    let package = PipelinePackage::read(&resume_fixture())
        .await
        .expect("read the package");
    let pipeline = client
        .upload_pipeline(&package, Some("client-pipeline"), Some("three steps"))
        .await
        .expect("upload");
    let pipeline_id = id(&pipeline.pipeline_id);
    assert_eq!(pipeline.display_name.as_deref(), Some("client-pipeline"));
    let by_name = client
        .get_pipeline_by_name("client-pipeline")
        .await
        .expect("by name");
    assert_eq!(by_name.pipeline_id, pipeline.pipeline_id);
    assert_eq!(
        client
            .get_pipeline(&pipeline_id)
            .await
            .expect("get")
            .description
            .as_deref(),
        Some("three steps")
    );
    let version = client
        .upload_pipeline_version(&pipeline_id, &package, Some("v2"), None)
        .await
        .expect("upload a version");
    assert_eq!(version.pipeline_id, pipeline.pipeline_id);
    let versions = client
        .list_pipeline_versions(&pipeline_id, &ListParams::default())
        .await
        .expect("list versions");
    assert_eq!(versions.pipeline_versions.len(), 2);
    let fetched = client
        .get_pipeline_version(&pipeline_id, &id(&version.pipeline_version_id))
        .await
        .expect("get version");
    assert_eq!(fetched.name.as_deref(), Some("v2"));
    let spec = fetched.pipeline_spec.expect("a version has its spec");
    assert_eq!(spec["pipelineInfo"]["name"], "resume-test");
    let listed = client
        .list_pipelines(&ListParams {
            filter: Some(
                r#"{"predicates": [{"key": "display_name", "operation": "EQUALS", "string_value": "client-pipeline"}]}"#
                    .to_owned(),
            ),
            ..ListParams::default()
        })
        .await
        .expect("list with a filter");
    assert_eq!(listed.pipelines.len(), 1);
    pipeline_id
}

async fn runs(client: &Client, server: &LiveServer, experiment_id: &str, pipeline_id: &str) {
    let released = server.released_work_dir("client-runs");
    let by_reference = Run {
        display_name: Some("by-reference".to_owned()),
        experiment_id: Some(experiment_id.to_owned()),
        pipeline_version_reference: Some(PipelineVersionReference {
            pipeline_id: Some(pipeline_id.to_owned()),
            pipeline_version_id: None,
        }),
        runtime_config: params(&released),
        ..Run::default()
    };
    let inline = Run {
        display_name: Some("inline".to_owned()),
        pipeline_spec: Some(inline_spec()),
        pipeline_version_reference: None,
        ..by_reference.clone()
    };
    let mut created = Vec::new();
    for (request, caching) in [
        (&by_reference, Caching::AsSpecified),
        (&by_reference, Caching::Disabled),
        (&inline, Caching::AsSpecified),
    ] {
        let run = client
            .create_run(request, caching)
            .await
            .expect("create run");
        let run_id = id(&run.run_id);
        let finished = client
            .wait_for_run(&run_id, Some(Duration::from_secs(120)))
            .await
            .expect("the run finishes");
        assert_eq!(
            finished.state,
            Some(RuntimeState::Succeeded),
            "{finished:?}"
        );
        created.push(run_id);
    }

    // Paging: two per page, every run exactly once.
    let mut listed = Vec::new();
    let mut page_token = None;
    loop {
        let page = client
            .list_runs(
                Some(experiment_id),
                &ListParams {
                    page_size: Some(2),
                    page_token: page_token.take(),
                    ..ListParams::default()
                },
            )
            .await
            .expect("list runs");
        assert!(page.runs.len() <= 2);
        assert_eq!(page.total_size, Some(3));
        listed.extend(page.runs.iter().map(|r| id(&r.run_id)));
        match page.next_page_token.filter(|t| !t.is_empty()) {
            Some(token) => page_token = Some(token),
            None => break,
        }
    }
    listed.sort();
    created.sort();
    assert_eq!(listed, created);

    stopped_and_retried(client, server, &by_reference).await;

    let run_id = &created[0];
    client.archive_run(run_id).await.expect("archive");
    let archived = client.get_run(run_id).await.expect("get");
    assert_eq!(archived.storage_state, Some(StorageState::Archived));
    client.unarchive_run(run_id).await.expect("unarchive");
    client.delete_run(run_id).await.expect("delete");
    let gone = client.get_run(run_id).await.expect_err("deleted");
    assert!(gone.is_not_found(), "{gone}");
    assert!(gone.to_string().contains("not found"), "{gone}");
    assert!(gone.to_string().contains(&server.endpoint), "{gone}");
}

/// A run held at its second step: waiting times out, terminating cancels it, retrying after
/// the release finishes it.
async fn stopped_and_retried(client: &Client, server: &LiveServer, template: &Run) {
    let held = server.work_dir("client-held");
    let request = Run {
        display_name: Some("held".to_owned()),
        runtime_config: params(&held),
        ..template.clone()
    };
    let run = client
        .create_run(&request, Caching::Disabled)
        .await
        .expect("create");
    let run_id = id(&run.run_id);
    wait_for("the second step", Duration::from_secs(60), || {
        held.join("second.log").exists()
    });
    let timed_out = client
        .wait_for_run(&run_id, Some(Duration::from_millis(300)))
        .await
        .expect_err("still running");
    assert!(
        matches!(timed_out, ClientError::WaitTimedOut { ref state, .. } if state == "RUNNING"),
        "{timed_out}"
    );
    client.terminate_run(&run_id).await.expect("terminate");
    let canceled = client
        .wait_for_run(&run_id, Some(Duration::from_secs(60)))
        .await
        .expect("stops");
    assert_eq!(canceled.state, Some(RuntimeState::Canceled));
    release(&held);
    client.retry_run(&run_id).await.expect("retry");
    let retried = client
        .wait_for_run(&run_id, Some(Duration::from_secs(120)))
        .await
        .expect("finishes");
    assert_eq!(retried.state, Some(RuntimeState::Succeeded));
    let tasks = retried.run_details.expect("details").task_details;
    assert!(tasks
        .iter()
        .any(|t| t.display_name.as_deref() == Some("third")));
}

async fn recurring_runs(
    client: &Client,
    server: &LiveServer,
    experiment_id: &str,
    pipeline_id: &str,
) {
    let request = RecurringRun {
        display_name: Some("hourly".to_owned()),
        experiment_id: Some(experiment_id.to_owned()),
        pipeline_version_reference: Some(PipelineVersionReference {
            pipeline_id: Some(pipeline_id.to_owned()),
            pipeline_version_id: None,
        }),
        runtime_config: params(&server.released_work_dir("client-recurring")),
        trigger: Some(Trigger {
            periodic_schedule: Some(PeriodicSchedule {
                interval_second: Some(3600),
                ..PeriodicSchedule::default()
            }),
            cron_schedule: None,
        }),
        mode: Some(RecurringRunMode::Disable),
        max_concurrency: Some(1),
        no_catchup: Some(true),
        ..RecurringRun::default()
    };
    let created = client
        .create_recurring_run(&request)
        .await
        .expect("create recurring run");
    let recurring_id = id(&created.recurring_run_id);
    assert_eq!(created.status, Some(RecurringRunStatus::Disabled));
    client
        .enable_recurring_run(&recurring_id)
        .await
        .expect("enable");
    let enabled = client.get_recurring_run(&recurring_id).await.expect("get");
    assert_eq!(enabled.status, Some(RecurringRunStatus::Enabled));
    client
        .disable_recurring_run(&recurring_id)
        .await
        .expect("disable");
    let listed = client
        .list_recurring_runs(Some(experiment_id), &ListParams::default())
        .await
        .expect("list");
    assert_eq!(listed.recurring_runs.len(), 1);
    assert_eq!(
        listed.recurring_runs[0].status,
        Some(RecurringRunStatus::Disabled)
    );
    let bad_trigger = RecurringRun {
        trigger: Some(Trigger::default()),
        ..request.clone()
    };
    let refused = client
        .create_recurring_run(&bad_trigger)
        .await
        .expect_err("a trigger needs a schedule");
    assert_eq!(refused.status(), Some(400), "{refused}");
    client
        .delete_recurring_run(&recurring_id)
        .await
        .expect("delete");
    let gone = client
        .get_recurring_run(&recurring_id)
        .await
        .expect_err("deleted");
    assert!(gone.is_not_found(), "{gone}");
}

#[test]
fn client_errors_name_the_endpoint_and_carry_the_servers_message() {
    let invalid = Client::new("ftp://example.com", None).expect_err("not http");
    assert!(
        matches!(invalid, ClientError::InvalidEndpoint { .. }),
        "{invalid}"
    );

    let nobody = format!("127.0.0.1:{}", free_port());
    let client = Client::new(&nobody, None).expect("valid");
    let unreachable = block_on(client.healthz()).expect_err("nothing listens");
    assert!(
        matches!(unreachable, ClientError::Unreachable { .. }),
        "{unreachable}"
    );
    assert!(
        unreachable
            .to_string()
            .contains(&format!("http://{nobody}")),
        "{unreachable}"
    );

    let server = LiveServer::start_with_token("s3cret");
    let without = Client::new(&server.endpoint, None).expect("valid");
    let refused = block_on(without.healthz()).expect_err("needs the token");
    assert!(refused.is_unauthenticated(), "{refused}");
    assert!(refused.to_string().contains("token"), "{refused}");
    let wrong = Client::new(&server.endpoint, Some("wrong".to_owned())).expect("valid");
    assert!(block_on(wrong.healthz())
        .expect_err("wrong token")
        .is_unauthenticated());
    let with = Client::new(&server.endpoint, Some("s3cret".to_owned())).expect("valid");
    block_on(with.healthz()).expect("the token is accepted");

    let bad_spec = Run {
        display_name: Some("broken".to_owned()),
        pipeline_spec: Some(Map::from_iter([("nonsense".to_owned(), json!(1))])),
        ..Run::default()
    };
    let invalid_run =
        block_on(with.create_run(&bad_spec, Caching::AsSpecified)).expect_err("not a pipeline");
    assert_eq!(invalid_run.status(), Some(400), "{invalid_run}");
    assert!(
        invalid_run.to_string().contains("not a valid pipeline"),
        "{invalid_run}"
    );
}
