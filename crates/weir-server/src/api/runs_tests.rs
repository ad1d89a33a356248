//! A CreateRun body's inline spec is read from its text, without a value tree: the run it
//! records and the run the API returns must be what the value path gave.

use std::sync::Arc;

use serde_json::{json, Value};
use weir_api_model as dto;
use weir_control::{package, Control, NewRun};
use weir_engine::{Engine, EngineConfig, Layout};
use weir_store::{MetadataStore, SqliteStore};

use super::{convert, read_create_body};

const HELLO: &str = include_str!("../../../../examples/hello/hello.yaml");

fn hello_spec() -> Value {
    let document = weir_spec::parse(HELLO)
        .document
        .expect("the example parses");
    serde_json::to_value(&document.spec).expect("serializes")
}

#[tokio::test]
async fn an_inline_spec_is_read_recorded_and_returned_as_before() {
    let platform = json!({"platforms": {"kubernetes": {"deploymentSpec": {"executors": {}}}}});
    let sent = json!({"pipeline_spec": hello_spec(), "platform_spec": platform});
    let body = json!({
        "display_name": "hello",
        "pipeline_spec": sent,
        "runtime_config": {"parameters": {"count": 2}},
        "service_account": "sa",
    });
    let bytes = serde_json::to_vec(&body).expect("serializes");

    let (run, inline) = read_create_body(&bytes).expect("the body reads");
    let by_value: dto::Run = serde_json::from_slice(&bytes).expect("the body is a dto::Run");
    let inline = inline.expect("the spec is inline");
    let document = package::document_from_json(inline.get()).expect("the spec is valid");
    let old_document = package::from_value(Value::Object(
        by_value.pipeline_spec.clone().expect("has a spec"),
    ))
    .expect("valid as a value")
    .document;
    assert_eq!(document, old_document);
    assert_eq!(
        run,
        dto::Run {
            pipeline_spec: None,
            ..by_value
        }
    );

    let dir = tempfile::tempdir().expect("a temporary directory");
    let store: Arc<dyn MetadataStore> = Arc::new(SqliteStore::in_memory().await.expect("a store"));
    let control = Control::new(Engine::new(
        store.clone(),
        Layout::new(dir.path()),
        EngineConfig::default(),
    ));
    let recorded = control
        .record_run(NewRun {
            display_name: run.display_name.clone(),
            parameters: run.runtime_config.clone().unwrap_or_default().parameters,
            ..NewRun::new(document.into())
        })
        .await
        .expect("the run is recorded");
    let stored = store.get_run(recorded.id).await.expect("the run is stored");
    // What the record was before: `json!({"pipeline_spec": spec, "platform_spec": ...})`.
    let expected = json!({
        "pipeline_spec": serde_json::to_value(&old_document.spec).expect("serializes"),
        "platform_spec": serde_json::to_value(&old_document.platform).expect("serializes"),
    });
    assert_eq!(stored.pipeline_spec.to_value().expect("JSON"), expected);

    let returned = serde_json::to_value(convert::run(&stored, None, &[])).expect("serializes");
    assert_eq!(
        returned["pipeline_spec"], expected,
        "with a platform spec, the whole record"
    );
    assert_eq!(returned["display_name"], "hello");

    // Without a platform spec the API returns the bare spec.
    let bare_document = weir_spec::PipelineDocument {
        platform: None,
        ..old_document.clone()
    };
    let bare = control
        .record_run(NewRun::new(bare_document.into()))
        .await
        .expect("the run is recorded");
    let returned = serde_json::to_value(convert::run(&bare, None, &[])).expect("serializes");
    assert_eq!(returned["pipeline_spec"], hello_spec());
}

#[test]
fn a_bare_spec_is_returned_bare_and_bad_bodies_are_refused() {
    let spec = hello_spec();
    let body = serde_json::to_vec(&json!({"display_name": "x", "pipelineSpec": spec}))
        .expect("serializes");
    let (_, inline) = read_create_body(&body).expect("the camelCase name is accepted");
    let inline = inline.expect("inline");
    assert_eq!(
        serde_json::from_str::<Value>(inline.get()).expect("JSON"),
        spec
    );
    for bad in [
        &b"{"[..],
        br#"{"display_name": "x", "no_such_field": 1}"#,
        br#"{"pipeline_spec": [1]}"#,
        br#"{"pipeline_spec": {}, "pipelineSpec": {}}"#,
    ] {
        let refused = read_create_body(bad).expect_err("refused");
        assert_eq!(refused.status(), axum::http::StatusCode::BAD_REQUEST);
    }
    let (_, none) = read_create_body(br#"{"pipeline_spec": null}"#).expect("reads");
    assert!(none.is_none());
}
