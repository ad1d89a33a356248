//! The front door: text (YAML with one or two documents, or JSON) to a [`PipelineDocument`].
//!
//! Accepted shapes:
//! - a KFP IR file: `PipelineSpec`, then optionally a `PlatformSpec` document;
//! - the API wrapper `{pipeline_spec: {...}, platform_spec: {...}}`;
//! - a KFP v1 `component.yaml`, which becomes a one-step pipeline.
//!
//! Nothing here panics or allocates without bound on hostile input: the text size is capped
//! before parsing, nesting is capped by the parsers' recursion limits, and YAML alias expansion
//! is capped by the YAML parser's repetition limit.

mod check;
mod json;
mod value;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use crate::diagnostic::{Code, Diagnostic, Location};
use crate::model::{PipelineSpec, PlatformSpec};
use crate::v1;
use value::StrictValue;

pub use json::parse_json;

/// Specs larger than this are refused before parsing (a 10,000-task pipeline is about 5 MiB).
pub const MAX_INPUT_BYTES: usize = 32 * 1024 * 1024;

/// Where a pipeline came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceFormat {
    /// A compiled KFP pipeline (IR).
    PipelineSpec,
    /// A KFP v1 `component.yaml`, turned into a one-step pipeline.
    V1Component,
}

/// A parsed pipeline and its optional platform configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineDocument {
    pub spec: PipelineSpec,
    pub platform: Option<PlatformSpec>,
    pub format: SourceFormat,
}

/// The result of parsing: the document when it could be read, and every problem found.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    pub document: Option<PipelineDocument>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Parsed {
    fn failed(diagnostic: Diagnostic) -> Parsed {
        Parsed {
            document: None,
            diagnostics: vec![diagnostic],
        }
    }
}

/// Parses YAML or JSON text.
pub fn parse(text: &str) -> Parsed {
    if text.len() > MAX_INPUT_BYTES {
        return Parsed::failed(too_large(text.len()));
    }
    match read_documents(text) {
        Ok(documents) => parse_documents(documents),
        Err(diagnostic) => Parsed::failed(diagnostic),
    }
}

/// Parses a spec that already is a JSON value (the REST API's `pipeline_spec` struct).
pub fn parse_value(value: Value) -> Parsed {
    parse_documents(vec![value])
}

/// The error for an input over [`MAX_INPUT_BYTES`].
pub fn too_large(len: usize) -> Diagnostic {
    Diagnostic::error(
        Code::InputTooLarge,
        "",
        format!(
            "the input is {len} bytes; pipeline specs larger than {MAX_INPUT_BYTES} bytes are refused"
        ),
    )
    .with_hint("split the pipeline, or check that this is the compiled pipeline file")
}

fn read_documents(text: &str) -> Result<Vec<Value>, Diagnostic> {
    if text.trim_start().starts_with('{') {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let value = StrictValue::deserialize(&mut deserializer)
            .and_then(|v| deserializer.end().map(|()| v.0))
            .map_err(json_syntax_error)?;
        return Ok(vec![value]);
    }
    check_flow_nesting(text)?;
    let mut documents = Vec::new();
    for document in serde_norway::Deserializer::from_str(text) {
        let StrictValue(value) = StrictValue::deserialize(document).map_err(yaml_syntax_error)?;
        if !value.is_null() {
            documents.push(value);
        }
    }
    Ok(documents)
}

/// Nesting deeper than this is refused before the YAML parser sees it.
const MAX_FLOW_NESTING: usize = 256;

/// The YAML parser materializes every event before the deserializer's recursion limit applies,
/// and deep flow nesting (`[[[[...`) makes that slow. A cheap scan refuses it first. Quoted text
/// and comments are skipped; the scan errs towards counting less, never more.
fn check_flow_nesting(text: &str) -> Result<(), Diagnostic> {
    let (mut depth, mut line, mut column) = (0usize, 1usize, 0usize);
    let mut quote: Option<char> = None;
    let mut in_comment = false;
    let mut previous = '\n';
    let mut escaped = false;
    for c in text.chars() {
        column += 1;
        if c == '\n' {
            line += 1;
            column = 0;
            in_comment = false;
        } else if in_comment {
        } else if let Some(q) = quote {
            if q == '"' && c == '\\' && !escaped {
                escaped = true;
                previous = c;
                continue;
            }
            if c == q && !escaped {
                quote = None;
            }
        } else {
            match c {
                '#' if previous.is_whitespace() => in_comment = true,
                '"' | '\'' if matches!(previous, ' ' | '\t' | '\n' | '[' | '{' | ',' | ':') => {
                    quote = Some(c)
                }
                '[' | '{' => {
                    depth += 1;
                    if depth > MAX_FLOW_NESTING {
                        return Err(Diagnostic::error(
                            Code::InputTooLarge,
                            "",
                            format!("the input nests more than {MAX_FLOW_NESTING} levels deep"),
                        )
                        .with_hint("a pipeline spec nests a few levels; check that this is the compiled pipeline file")
                        .at(Some(Location { line, column })));
                    }
                }
                ']' | '}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        escaped = false;
        previous = c;
    }
    Ok(())
}

fn json_syntax_error(error: serde_json::Error) -> Diagnostic {
    let location = Location {
        line: error.line(),
        column: error.column(),
    };
    syntax_error(error.to_string(), Some(location))
}

fn yaml_syntax_error(error: serde_norway::Error) -> Diagnostic {
    let location = error.location().map(|l| Location {
        line: l.line(),
        column: l.column(),
    });
    syntax_error(error.to_string(), location)
}

fn syntax_error(message: String, location: Option<Location>) -> Diagnostic {
    // serde_norway appends " at line L column C" (already in `location`) and may prefix the
    // path of the mapping being read ("root.dag.tasks.x: ...").
    let message = match message.rfind(" at line ") {
        Some(at) if location.is_some() => message[..at].to_owned(),
        _ => message,
    };
    let lower = message.to_lowercase();
    let limit_hit = lower.contains("recursion limit")
        || lower.contains("repetition limit")
        || lower.contains("nesting");
    if limit_hit {
        return Diagnostic::error(Code::InputTooLarge, "", message)
            .with_hint(
                "the input nests too deeply or expands aliases too far to be a pipeline spec",
            )
            .at(location);
    }
    if let Some(at) = message.find("duplicate key") {
        let path = message[..at].trim_end_matches([':', ' ']).to_owned();
        return Diagnostic::error(Code::DuplicateName, path, message[at..].to_owned())
            .with_hint("remove or rename one of the two entries")
            .at(location);
    }
    Diagnostic::error(Code::SyntaxError, "", message)
        .with_hint("fix the syntax at the given line and column")
        .at(location)
}

/// The API wrapper's keys for the spec and the platform spec (protobuf JSON or field names).
pub(super) const SPEC_KEYS: [&str; 2] = ["pipeline_spec", "pipelineSpec"];
pub(super) const PLATFORM_KEYS: [&str; 2] = ["platform_spec", "platformSpec"];
/// Top-level fields of which a `PipelineSpec` has at least one.
pub(super) const PIPELINE_MARKERS: [&str; 5] = [
    "root",
    "components",
    "deploymentSpec",
    "pipelineInfo",
    "deployment_spec",
];

fn parse_documents(mut documents: Vec<Value>) -> Parsed {
    if documents.is_empty() {
        return Parsed::failed(
            Diagnostic::error(Code::UnknownFormat, "", "the input is empty")
                .with_hint("pass a pipeline compiled by `kfp` (IR YAML) or a v1 component.yaml"),
        );
    }
    let first = documents.remove(0);
    let Value::Object(mut object) = first else {
        return Parsed::failed(unknown_format("the first document is not a mapping"));
    };
    let wrapped = SPEC_KEYS.iter().find_map(|key| object.remove(*key));
    if let Some(spec) = wrapped {
        let platform = PLATFORM_KEYS
            .iter()
            .find_map(|key| object.remove(*key))
            .filter(|p| !p.is_null());
        let mut parsed = typed_pipeline(
            SpecInput::Value(spec),
            platform,
            "pipeline_spec",
            "platform_spec",
        );
        for key in object.keys() {
            parsed.diagnostics.push(unknown_field_next_to_spec(key));
        }
        return parsed;
    }
    if v1::looks_like_component(&object) {
        let mut parsed = v1::parse_component(Value::Object(object));
        if !documents.is_empty() {
            parsed.diagnostics.push(extra_documents(documents.len()));
        }
        return parsed;
    }
    let is_pipeline = PIPELINE_MARKERS.iter().any(|key| object.contains_key(*key));
    if !is_pipeline {
        return Parsed::failed(unknown_format(
            "the document has none of the fields of a pipeline (`root`, `components`, `deploymentSpec`, `pipelineInfo`) or of a component (`implementation`)",
        ));
    }
    let platform = if documents.is_empty() {
        None
    } else {
        Some(documents.remove(0))
    };
    let mut parsed = typed_pipeline(SpecInput::Value(Value::Object(object)), platform, "", "");
    if !documents.is_empty() {
        parsed.diagnostics.push(extra_documents(documents.len()));
    }
    parsed
}

fn unknown_field_next_to_spec(key: &str) -> Diagnostic {
    Diagnostic::warning(
        Code::InvalidField,
        key,
        format!("unknown field `{key}` next to `pipeline_spec` is ignored"),
    )
}

fn extra_documents(count: usize) -> Diagnostic {
    Diagnostic::error(
        Code::UnknownFormat,
        "",
        format!("{count} YAML document(s) follow the pipeline and platform documents"),
    )
    .with_hint(
        "a compiled pipeline has at most two documents: the PipelineSpec, then the PlatformSpec",
    )
}

fn unknown_format(message: &str) -> Diagnostic {
    Diagnostic::error(Code::UnknownFormat, "", message)
        .with_hint("pass a pipeline compiled by `kfp` (IR YAML or JSON) or a KFP v1 component.yaml")
}

/// A PipelineSpec to convert: a value, or JSON text read without building one.
enum SpecInput<'a> {
    Value(Value),
    Text(&'a str),
}

fn typed_pipeline(
    spec: SpecInput<'_>,
    platform: Option<Value>,
    spec_prefix: &str,
    platform_prefix: &str,
) -> Parsed {
    let mut diagnostics = Vec::new();
    let spec = match spec {
        SpecInput::Value(value) => typed::<PipelineSpec>(value, spec_prefix, &mut diagnostics),
        SpecInput::Text(text) => typed_text::<PipelineSpec>(text, spec_prefix, &mut diagnostics),
    };
    let platform = match platform {
        Some(Value::Object(object)) if !object.contains_key("platforms") => {
            diagnostics.push(
                Diagnostic::error(
                    Code::UnknownFormat,
                    platform_prefix,
                    "the second document is not a PlatformSpec (it has no `platforms` field)",
                )
                .with_hint("the optional second document holds `platforms: {kubernetes: ...}`"),
            );
            None
        }
        Some(value) => typed::<PlatformSpec>(value, platform_prefix, &mut diagnostics),
        None => None,
    };
    Parsed {
        document: spec.map(|spec| PipelineDocument {
            spec,
            platform,
            format: SourceFormat::PipelineSpec,
        }),
        diagnostics,
    }
}

/// Converts a JSON value to a model type, reporting a failure at the field's path.
pub(crate) fn typed<T: DeserializeOwned>(
    value: Value,
    prefix: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<T> {
    match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(typed) => Some(typed),
        Err(error) => {
            let path = join_path(prefix, &render_path(error.path()));
            diagnostics.push(invalid_field(path, error.inner().to_string()));
            None
        }
    }
}

/// [`typed`] from JSON text (already checked to be JSON).
fn typed_text<T: DeserializeOwned>(
    text: &str,
    prefix: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<T> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
        Ok(typed) => Some(typed),
        Err(error) => {
            let path = join_path(prefix, &render_path(error.path()));
            // serde_json appends " at line L column C", which points into `text`, a part of
            // the input: the field path says where instead, as for a value.
            let message = error.inner().to_string();
            let message = match message.rfind(" at line ") {
                Some(at) => message[..at].to_owned(),
                None => message,
            };
            diagnostics.push(invalid_field(path, message));
            None
        }
    }
}

fn invalid_field(path: String, message: String) -> Diagnostic {
    Diagnostic::error(Code::InvalidField, path, message)
        .with_hint("compare the field with what `kfp` compiles; see docs/errors/SPEC0004.md")
}

fn render_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut rendered = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => rendered.push_str(&format!("[{index}]")),
            Segment::Map { key } => {
                if !rendered.is_empty() {
                    rendered.push('.');
                }
                rendered.push_str(key);
            }
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    rendered
}

pub(crate) fn join_path(prefix: &str, rest: &str) -> String {
    match (prefix.is_empty(), rest.is_empty()) {
        (true, _) => rest.to_owned(),
        (false, true) => prefix.to_owned(),
        (false, false) if rest.starts_with('[') => format!("{prefix}{rest}"),
        (false, false) => format!("{prefix}.{rest}"),
    }
}
