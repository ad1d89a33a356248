//! The use cases of `weir-control` on an in-memory SQLite store, with steps run as host
//! processes.

mod packages;
mod recurring;
mod runs;

use std::sync::Arc;
use std::time::Duration;

use weir_control::{Control, LoadedPipeline, PipelineSource};
use weir_engine::{Engine, EngineConfig, Layout};
use weir_store::{MetadataStore, SqliteStore};
use weir_types::RunId;

/// One step that sleeps `seconds` (an integer parameter, 30 by default).
const WAIT: &str = r#"
components:
  comp-wait:
    executorLabel: exec-wait
    inputDefinitions:
      parameters:
        seconds: {parameterType: NUMBER_INTEGER}
deploymentSpec:
  executors:
    exec-wait:
      container:
        image: alpine
        command: [sh, -c, 'sleep "$0"']
        args: ["{{$.inputs.parameters['seconds']}}"]
pipelineInfo:
  name: wait
root:
  inputDefinitions:
    parameters:
      seconds: {parameterType: NUMBER_INTEGER, defaultValue: 30.0}
  dag:
    tasks:
      wait:
        componentRef: {name: comp-wait}
        taskInfo: {name: wait}
        inputs:
          parameters:
            seconds: {componentInputParameter: seconds}
schemaVersion: 2.1.0
sdkVersion: kfp-2.17.0
"#;

/// A control layer over a fresh in-memory store; the folder holds logs and artifacts.
async fn control() -> (Control, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store: Arc<dyn MetadataStore> = Arc::new(SqliteStore::in_memory().await.expect("a store"));
    let engine = Engine::new(store, Layout::new(dir.path()), EngineConfig::default());
    (Control::new(engine), dir)
}

fn wait_pipeline() -> PipelineSource {
    let package = weir_control::package::from_text(WAIT, "wait.yaml").expect("valid");
    LoadedPipeline::unstored(package.document).into()
}

/// Waits until this process no longer drives the run.
async fn until_stopped(control: &Control, run_id: RunId) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while control.is_run_active(run_id) {
        assert!(tokio::time::Instant::now() < deadline, "run {run_id} stops");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
