//! Creating, retrying, terminating, archiving and deleting runs.

use serde_json::json;
use weir_control::{ControlError, ErrorCode, NewRun, PipelineSource};
use weir_store::{NewPipeline, RunQuery};
use weir_types::{PipelineId, PipelineVersionId, RunState};

use super::{control, until_stopped, wait_pipeline};

#[tokio::test]
async fn a_running_run_is_not_retried_and_terminate_cancels_it() {
    let (control, _dir) = control().await;
    let run = control
        .create_run(NewRun::new(wait_pipeline()))
        .await
        .expect("the run is created");
    assert!(control.is_run_active(run.id), "it is started at once");

    let refused = control.retry_run(run.id).await.expect_err("still running");
    assert_eq!(refused.code(), ErrorCode::FailedPrecondition);
    assert!(matches!(refused, ControlError::RunStillExecuting(id) if id == run.id));
    assert!(
        refused.to_string().contains(&run.id.to_string()),
        "{refused}"
    );

    control.terminate_run(run.id).await.expect("terminated");
    until_stopped(&control, run.id).await;
    let stopped = control.store.get_run(run.id).await.expect("stored");
    assert_eq!(stopped.state, RunState::Canceled);

    control
        .retry_run(run.id)
        .await
        .expect("a canceled run is retried");
    assert!(control.is_run_active(run.id));
    control
        .terminate_run(run.id)
        .await
        .expect("terminated again");
    until_stopped(&control, run.id).await;

    control
        .set_run_archived(run.id, true)
        .await
        .expect("archived");
    assert!(
        control
            .store
            .get_run(run.id)
            .await
            .expect("stored")
            .archived
    );
    control.delete_run(run.id).await.expect("deleted");
    let gone = control.delete_run(run.id).await.expect_err("gone");
    assert_eq!(gone.code(), ErrorCode::NotFound);
    control.shutdown().await;
}

#[tokio::test]
async fn refused_runs_are_not_recorded() {
    let (control, _dir) = control().await;
    let mut typo = NewRun::new(wait_pipeline());
    typo.parameters.insert("secs".to_owned(), json!(1));
    let refused = control
        .record_run(typo)
        .await
        .expect_err("no such parameter");
    assert_eq!(refused.code(), ErrorCode::InvalidArgument);
    assert!(
        refused.to_string().starts_with("parameter `secs`"),
        "{refused}"
    );

    let mut tagged = NewRun::new(wait_pipeline());
    tagged.tags = vec!["two words".to_owned()];
    let refused = control.record_run(tagged).await.expect_err("bad tag");
    assert_eq!(refused.code(), ErrorCode::InvalidArgument);

    let missing = PipelineSource::Version(PipelineVersionId::new());
    let refused = control
        .record_run(NewRun::new(missing))
        .await
        .expect_err("no such version");
    assert_eq!(refused.code(), ErrorCode::NotFound);

    let pipeline = control
        .store
        .create_pipeline(&NewPipeline {
            id: PipelineId::new(),
            name: "empty".to_owned(),
            ..Default::default()
        })
        .await
        .expect("a pipeline without versions");
    let refused = control
        .record_run(NewRun::new(PipelineSource::LatestVersion(pipeline.id)))
        .await
        .expect_err("no version to run");
    assert_eq!(refused.code(), ErrorCode::FailedPrecondition);
    assert_eq!(
        refused.to_string(),
        format!("pipeline {} has no versions", pipeline.id)
    );

    let recorded = control
        .store
        .list_runs(&RunQuery::default())
        .await
        .expect("listed");
    assert!(recorded.is_empty(), "nothing was recorded");
}

#[tokio::test]
async fn a_run_records_its_version_experiment_and_settings() {
    let (control, _dir) = control().await;
    let package = weir_control::package::from_text(super::WAIT, "wait.yaml").expect("valid");
    let (pipeline, version) = control
        .create_pipeline_with_version(
            NewPipeline {
                id: PipelineId::new(),
                name: "wait".to_owned(),
                ..Default::default()
            },
            Default::default(),
            &package,
        )
        .await
        .expect("stored");
    assert_eq!(
        version.name, "wait",
        "a first version is named after its pipeline"
    );
    let mut run = NewRun::new(PipelineSource::LatestVersion(pipeline.id));
    run.display_name = Some(String::new());
    run.experiment = Some(weir_control::ExperimentRef::Name("nightly".to_owned()));
    run.parameters.insert("seconds".to_owned(), json!(1));
    run.options.no_cache = true;
    let mut unreachable = NewRun::new(PipelineSource::LatestVersion(pipeline.id));
    unreachable.pipeline_root = Some("gs://bucket/root".to_owned());
    let refused = control
        .record_run(unreachable)
        .await
        .expect_err("a root Weir cannot write to is refused");
    assert_eq!(refused.code(), weir_control::ErrorCode::InvalidArgument);
    assert!(
        refused.to_string().contains("gs://bucket/root"),
        "{refused}"
    );
    let root = _dir.path().join("elsewhere").display().to_string();
    run.pipeline_root = Some(root.clone());
    let recorded = control.record_run(run).await.expect("recorded");
    assert_eq!(recorded.state, RunState::Pending);
    assert!(!control.is_run_active(recorded.id), "recorded, not started");
    assert_eq!(recorded.pipeline_id, Some(pipeline.id));
    assert_eq!(recorded.pipeline_version_id, Some(version.id.to_string()));
    assert_ne!(
        recorded.display_name, "",
        "an empty name is the default one"
    );
    assert_eq!(recorded.runtime_config.pipeline_root, Some(root));
    assert_eq!(recorded.runtime_config.parameters["seconds"], json!(1));
    assert!(recorded.options.no_cache);
    let experiment = control
        .store
        .ensure_experiment("nightly")
        .await
        .expect("made");
    assert_eq!(recorded.experiment_id, Some(experiment.id));

    let later = control
        .create_pipeline_version(pipeline.id, Default::default(), &package)
        .await
        .expect("a second version");
    assert!(later.name.starts_with("wait-"), "{}", later.name);
}
