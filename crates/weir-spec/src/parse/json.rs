//! JSON text to a [`PipelineDocument`] without a JSON value tree: the typed model is read
//! straight from the text. A spec of 10,000 tasks is 6.5 MB of text but about 190 MB as a
//! `serde_json::Value`; the REST API receives specs as JSON and the store keeps them as JSON.
//!
//! Same shapes, checks and diagnostics as [`super::parse`]; inputs that are not a pipeline
//! (a v1 component, something unknown) take that general path, which is cheap for them.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::check::NoDuplicateKeys;
use super::{
    json_syntax_error, parse, too_large, typed_pipeline, unknown_field_next_to_spec, SpecInput,
    MAX_INPUT_BYTES, PIPELINE_MARKERS, PLATFORM_KEYS, SPEC_KEYS,
};
use crate::Parsed;

/// Parses a pipeline sent or stored as JSON text: a bare `PipelineSpec` or the API wrapper
/// `{pipeline_spec, platform_spec}`. Duplicate keys are refused, as [`super::parse`] does;
/// text that is not a JSON object (YAML, say) goes to [`super::parse`].
pub fn parse_json(text: &str) -> Parsed {
    if text.len() > MAX_INPUT_BYTES {
        return Parsed::failed(too_large(text.len()));
    }
    if !text.trim_start().starts_with('{') {
        return parse(text);
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    if let Err(error) =
        NoDuplicateKeys::deserialize(&mut deserializer).and_then(|_| deserializer.end())
    {
        return Parsed::failed(json_syntax_error(error));
    }
    let Ok(mut top) = serde_json::from_str::<BTreeMap<String, &RawValue>>(text) else {
        return parse(text);
    };
    let wrapped = SPEC_KEYS.iter().find_map(|key| top.remove(*key));
    if let Some(spec) = wrapped {
        let platform = PLATFORM_KEYS
            .iter()
            .find_map(|key| top.remove(*key))
            .filter(|p| p.get().trim() != "null");
        let platform = match platform.map(|p| serde_json::from_str::<Value>(p.get())) {
            None => None,
            Some(Ok(value)) => Some(value),
            Some(Err(error)) => return Parsed::failed(json_syntax_error(error)),
        };
        let mut parsed = typed_pipeline(
            SpecInput::Text(spec.get()),
            platform,
            "pipeline_spec",
            "platform_spec",
        );
        for key in top.keys() {
            parsed.diagnostics.push(unknown_field_next_to_spec(key));
        }
        return parsed;
    }
    let is_array = |key: &str| {
        top.get(key)
            .is_some_and(|v| v.get().trim_start().starts_with('['))
    };
    // As `v1::looks_like_component` decides.
    let component = top.contains_key("implementation")
        || (!top.contains_key("root") && (is_array("inputs") || is_array("outputs")));
    let is_pipeline = PIPELINE_MARKERS.iter().any(|key| top.contains_key(*key));
    if component || !is_pipeline {
        return parse(text);
    }
    typed_pipeline(SpecInput::Text(text), None, "", "")
}
