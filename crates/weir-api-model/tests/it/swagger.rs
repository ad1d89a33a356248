//! Every definition of KFP's swagger against our types: the same field names both ways, JSON
//! types that match the swagger's (int64 as strings, enums as known names, ...), the same enum
//! names, and a lossless round trip.

use std::collections::BTreeSet;
use std::fmt::Debug;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use weir_api_model::*;

use crate::samples;

/// Definitions without a type here, and why.
const NOT_MODELLED: &[(&str, &str)] = &[
    (
        "protobufAny",
        "protobuf JSON writes an Any as `@type` plus the packed message's fields; ProtobufAny keeps those",
    ),
    (
        "protobufNullValue",
        "only inside google.protobuf.Value, which is serde_json::Value",
    ),
];

fn swagger() -> Value {
    let path = crate::swagger_path();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    serde_json::from_str(&text).expect("the swagger is JSON")
}

struct Message {
    definition: &'static str,
    json: Value,
}

/// Serializes a fully populated sample and checks that it reads back unchanged.
fn message<T>(definition: &'static str, sample: T) -> Message
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let json = serde_json::to_value(&sample).expect("a sample serializes");
    let read_back: T = serde_json::from_value(json.clone())
        .unwrap_or_else(|error| panic!("{definition} does not read back: {error}\n{json:#}"));
    assert_eq!(read_back, sample, "{definition} does not round-trip");
    Message { definition, json }
}

fn messages() -> Vec<Message> {
    vec![
        message("googleRpcStatus", samples::status()),
        message("v2beta1GetHealthzResponse", samples::healthz()),
        message("v2beta1Visualization", samples::visualization()),
        message("v2beta1Experiment", samples::experiment()),
        message(
            "v2beta1ListExperimentsResponse",
            samples::list_experiments(),
        ),
        message("v2beta1Pipeline", samples::pipeline()),
        message("v2beta1PipelineVersion", samples::pipeline_version()),
        message("v2beta1Url", samples::url()),
        message(
            "v2beta1CreatePipelineAndVersionRequest",
            samples::create_pipeline_and_version(),
        ),
        message("v2beta1ListPipelinesResponse", samples::list_pipelines()),
        message(
            "v2beta1ListPipelineVersionsResponse",
            samples::list_pipeline_versions(),
        ),
        message("v2beta1Run", samples::run()),
        message(
            "v2beta1PipelineVersionReference",
            samples::version_reference(),
        ),
        message("v2beta1RuntimeConfig", samples::runtime_config()),
        message("v2beta1RuntimeStatus", samples::runtime_status()),
        message("v2beta1RunDetails", samples::run_details()),
        message("v2beta1PipelineTaskDetail", samples::task_detail()),
        message(
            "v2beta1PipelineTaskExecutorDetail",
            samples::executor_detail(),
        ),
        message("PipelineTaskDetailChildTask", samples::child_task()),
        message("v2beta1ArtifactList", samples::artifact_list()),
        message("v2beta1PluginOutput", samples::plugin_output()),
        message("v2beta1MetadataValue", samples::metadata_value()),
        message("v2beta1ListRunsResponse", samples::list_runs()),
        message("v2beta1RecurringRun", samples::recurring_run()),
        message("v2beta1Trigger", samples::trigger()),
        message("v2beta1CronSchedule", samples::cron_schedule()),
        message("v2beta1PeriodicSchedule", samples::periodic_schedule()),
        message(
            "v2beta1ListRecurringRunsResponse",
            samples::list_recurring_runs(),
        ),
        message("v2beta1Filter", samples::filter()),
        message("v2beta1Predicate", samples::predicate()),
        message("PredicateIntValues", samples::int_values()),
        message("PredicateLongValues", samples::long_values()),
        message("PredicateStringValues", samples::string_values()),
    ]
}

fn names<E: Copy>(all: &[E], name: fn(E) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|variant| name(*variant)).collect()
}

fn enums() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        (
            "v2beta1RuntimeState",
            names(RuntimeState::ALL, RuntimeState::name),
        ),
        (
            "v2beta1ExperimentStorageState",
            names(StorageState::ALL, StorageState::name),
        ),
        (
            "v2beta1RunStorageState",
            names(StorageState::ALL, StorageState::name),
        ),
        (
            "RecurringRunMode",
            names(RecurringRunMode::ALL, RecurringRunMode::name),
        ),
        (
            "v2beta1RecurringRunStatus",
            names(RecurringRunStatus::ALL, RecurringRunStatus::name),
        ),
        (
            "v2beta1PredicateOperation",
            names(PredicateOperation::ALL, PredicateOperation::name),
        ),
        (
            "v2beta1PluginState",
            names(PluginState::ALL, PluginState::name),
        ),
        (
            "MetadataValueRenderType",
            names(MetadataValueRenderType::ALL, MetadataValueRenderType::name),
        ),
        (
            "v2beta1VisualizationType",
            names(VisualizationType::ALL, VisualizationType::name),
        ),
        (
            "v2beta1DeletePropagationPolicy",
            names(DeletePropagationPolicy::ALL, DeletePropagationPolicy::name),
        ),
        (
            "AuthorizeRequestResources",
            names(
                AuthorizeRequestResources::ALL,
                AuthorizeRequestResources::name,
            ),
        ),
        (
            "AuthorizeRequestVerb",
            names(AuthorizeRequestVerb::ALL, AuthorizeRequestVerb::name),
        ),
    ]
}

#[test]
fn every_swagger_definition_is_modelled() {
    let swagger = swagger();
    let definitions = swagger["definitions"]
        .as_object()
        .expect("the swagger has definitions");
    let mut modelled: BTreeSet<&str> = messages().iter().map(|m| m.definition).collect();
    modelled.extend(enums().iter().map(|(definition, _)| *definition));
    modelled.extend(NOT_MODELLED.iter().map(|(definition, _)| *definition));
    let missing: Vec<&String> = definitions
        .keys()
        .filter(|name| !modelled.contains(name.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "swagger definitions without a type: {missing:?}"
    );
}

#[test]
fn messages_write_exactly_the_swagger_properties() {
    let swagger = swagger();
    let mut problems = Vec::new();
    for Message { definition, json } in messages() {
        let schema = &swagger["definitions"][definition];
        let properties = schema["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("{definition} is not an object definition"));
        let written = json
            .as_object()
            .unwrap_or_else(|| panic!("{definition} is not written as an object"));
        for name in properties
            .keys()
            .filter(|name| !written.contains_key(*name))
        {
            problems.push(format!(
                "{definition}.{name}: in the swagger, never written"
            ));
        }
        for name in written
            .keys()
            .filter(|name| !properties.contains_key(*name))
        {
            problems.push(format!("{definition}.{name}: written, not in the swagger"));
        }
        for (name, value) in written {
            if let Some(property) = properties.get(name) {
                check_shape(
                    &swagger,
                    property,
                    value,
                    &format!("{definition}.{name}"),
                    &mut problems,
                );
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn enums_have_exactly_the_swagger_names() {
    let swagger = swagger();
    for (definition, ours) in enums() {
        let theirs: Vec<&str> = swagger["definitions"][definition]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{definition} is not an enum"))
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(ours, theirs, "{definition}");
    }
}

/// Checks that `value` has the JSON type `schema` gives it, down into arrays and maps.
fn check_shape(
    swagger: &Value,
    schema: &Value,
    value: &Value,
    at: &str,
    problems: &mut Vec<String>,
) {
    if let Some(expected) = shape_mismatch(swagger, schema, value, at, problems) {
        problems.push(format!("{at}: expected {expected}, got {value}"));
    }
}

/// What `value` should have been, if it is not what `schema` says.
fn shape_mismatch(
    swagger: &Value,
    schema: &Value,
    value: &Value,
    at: &str,
    problems: &mut Vec<String>,
) -> Option<String> {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/definitions/");
        let definition = &swagger["definitions"][name];
        return match definition["enum"].as_array() {
            Some(names) if !names.contains(value) => Some(format!("one of {names:?}")),
            Some(_) => None,
            None => (!value.is_object()).then(|| "an object".to_owned()),
        };
    }
    let expected = match (schema["type"].as_str(), schema["format"].as_str()) {
        (Some("string"), Some("int64")) => {
            let parsed = value.as_str().and_then(|text| text.parse::<i64>().ok());
            (parsed.is_none()).then_some("an int64 as a string")
        }
        (Some("string"), Some("date-time")) => {
            let text = value.as_str().unwrap_or_default();
            let utc = chrono::DateTime::parse_from_rfc3339(text).is_ok() && text.ends_with('Z');
            (!utc).then_some("an RFC 3339 UTC timestamp")
        }
        (Some("string"), _) => (!value.is_string()).then_some("a string"),
        (Some("integer"), _) => (!value.is_i64()).then_some("an integer number"),
        (Some("boolean"), _) => (!value.is_boolean()).then_some("a boolean"),
        (Some("array"), _) => {
            let Some(items) = value.as_array() else {
                return Some("an array".to_owned());
            };
            for (index, item) in items.iter().enumerate() {
                check_shape(
                    swagger,
                    &schema["items"],
                    item,
                    &format!("{at}[{index}]"),
                    problems,
                );
            }
            None
        }
        (Some("object"), _) => {
            let Some(map) = value.as_object() else {
                return Some("an object".to_owned());
            };
            let item_schema = &schema["additionalProperties"];
            for (key, item) in map.iter().filter(|_| item_schema.is_object()) {
                check_shape(swagger, item_schema, item, &format!("{at}.{key}"), problems);
            }
            None
        }
        _ => None,
    };
    expected.map(str::to_owned)
}
