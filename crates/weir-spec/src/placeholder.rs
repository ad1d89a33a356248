//! Placeholders in container commands and arguments: `{{$.inputs.parameters['x']}}` and friends,
//! plus the structured `{"Concat": [...]}` and `{"IfPresent": {...}}` arguments.
//!
//! This module only parses them; the engine resolves them.

use serde_json::Value;

/// One `{{$...}}` placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placeholder {
    /// `{{$}}`: the whole ExecutorInput as JSON.
    ExecutorInput,
    InputParameter(String),
    InputArtifactPath(String),
    InputArtifactUri(String),
    /// `.metadata` (key `None`) or `.metadata['k']`.
    InputArtifactMetadata(String, Option<String>),
    /// `{{$.inputs.artifacts['x']}}`: a list of artifacts.
    InputArtifactList(String),
    OutputParameterFile(String),
    OutputArtifactPath(String),
    OutputArtifactUri(String),
    OutputArtifactMetadata(String, Option<String>),
    /// `{{$.outputs.output_file}}` (or legacy `{{$.outputMetadataUri}}`): executor_output.json.
    OutputMetadataFile,
    PipelineJobName,
    PipelineJobResourceName,
    PipelineJobUuid,
    PipelineJobCreateTime,
    PipelineJobScheduleTime,
    PipelineTaskName,
    PipelineTaskUuid,
    PipelineRoot,
    WorkspacePath,
}

/// A piece of a string: literal text or a placeholder (or an unknown one, with its text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment<'a> {
    Text(&'a str),
    Placeholder(Placeholder),
    Unknown(&'a str),
}

/// Splits a string into text and placeholders. Never fails: unknown `{{$...}}` forms are
/// returned as [`Segment::Unknown`] so validation can report them.
pub fn segments(text: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{$") {
        let Some(len) = rest[start..].find("}}") else {
            break;
        };
        if start > 0 {
            out.push(Segment::Text(&rest[..start]));
        }
        let whole = &rest[start..start + len + 2];
        let inner = &whole[2..whole.len() - 2];
        out.push(match parse(inner) {
            Some(placeholder) => Segment::Placeholder(placeholder),
            None => Segment::Unknown(whole),
        });
        rest = &rest[start + len + 2..];
    }
    if !rest.is_empty() {
        out.push(Segment::Text(rest));
    }
    out
}

/// Parses the inside of `{{...}}`, e.g. `$.inputs.parameters['x']`.
pub fn parse(inner: &str) -> Option<Placeholder> {
    let inner = inner.trim();
    let simple = match inner {
        "$" => Some(Placeholder::ExecutorInput),
        "$.outputs.output_file" | "$.outputMetadataUri" => Some(Placeholder::OutputMetadataFile),
        "$.pipeline_job_name" => Some(Placeholder::PipelineJobName),
        "$.pipeline_job_resource_name" => Some(Placeholder::PipelineJobResourceName),
        "$.pipeline_job_uuid" => Some(Placeholder::PipelineJobUuid),
        "$.pipeline_job_create_time_utc" => Some(Placeholder::PipelineJobCreateTime),
        "$.pipeline_job_schedule_time_utc" => Some(Placeholder::PipelineJobScheduleTime),
        "$.pipeline_task_name" => Some(Placeholder::PipelineTaskName),
        "$.pipeline_task_uuid" => Some(Placeholder::PipelineTaskUuid),
        "$.pipeline_root" => Some(Placeholder::PipelineRoot),
        "$.workspace_path" => Some(Placeholder::WorkspacePath),
        _ => None,
    };
    if simple.is_some() {
        return simple;
    }
    if let Some(rest) = inner.strip_prefix("$.inputs.parameters") {
        let (name, tail) = bracketed(rest)?;
        return tail.is_empty().then_some(Placeholder::InputParameter(name));
    }
    if let Some(rest) = inner.strip_prefix("$.inputs.artifacts") {
        let (name, tail) = bracketed(rest)?;
        return match tail {
            "" => Some(Placeholder::InputArtifactList(name)),
            ".path" => Some(Placeholder::InputArtifactPath(name)),
            ".uri" => Some(Placeholder::InputArtifactUri(name)),
            ".metadata" => Some(Placeholder::InputArtifactMetadata(name, None)),
            _ => {
                let (key, tail) = bracketed(tail.strip_prefix(".metadata")?)?;
                tail.is_empty()
                    .then_some(Placeholder::InputArtifactMetadata(name, Some(key)))
            }
        };
    }
    if let Some(rest) = inner.strip_prefix("$.outputs.parameters") {
        let (name, tail) = bracketed(rest)?;
        return (tail == ".output_file").then_some(Placeholder::OutputParameterFile(name));
    }
    if let Some(rest) = inner.strip_prefix("$.outputs.artifacts") {
        let (name, tail) = bracketed(rest)?;
        return match tail {
            ".path" => Some(Placeholder::OutputArtifactPath(name)),
            ".uri" => Some(Placeholder::OutputArtifactUri(name)),
            ".metadata" => Some(Placeholder::OutputArtifactMetadata(name, None)),
            _ => {
                let (key, tail) = bracketed(tail.strip_prefix(".metadata")?)?;
                tail.is_empty()
                    .then_some(Placeholder::OutputArtifactMetadata(name, Some(key)))
            }
        };
    }
    None
}

/// Reads `['name']` or `["name"]` at the start; returns the name and what follows.
fn bracketed(text: &str) -> Option<(String, &str)> {
    let rest = text.strip_prefix('[')?;
    let quote = rest.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let rest = &rest[1..];
    let end = rest.find(quote)?;
    let name = &rest[..end];
    let tail = rest[end + 1..].strip_prefix(']')?;
    Some((name.to_owned(), tail))
}

/// One element of a container's `command` or `args`.
#[derive(Debug, Clone, PartialEq)]
pub enum CommandItem {
    /// A string, possibly with placeholders inside.
    Text(String),
    /// Items joined into one argument.
    Concat(Vec<CommandItem>),
    /// `then` if the input was supplied, else `otherwise` (dropped when absent).
    IfPresent {
        input: String,
        then: Vec<CommandItem>,
        otherwise: Option<Vec<CommandItem>>,
    },
}

/// Why a structured argument could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CommandItemError(pub String);

const MAX_STRUCTURE_DEPTH: usize = 32;

impl CommandItem {
    /// Reads an argument: a JSON `Concat`/`IfPresent` object, or plain text.
    ///
    /// Text that merely starts with `{` and is not such an object stays text, as in KFP.
    pub fn parse(arg: &str) -> Result<CommandItem, CommandItemError> {
        let trimmed = arg.trim_start();
        let is_structured =
            trimmed.starts_with("{\"Concat\"") || trimmed.starts_with("{\"IfPresent\"");
        if !is_structured {
            return Ok(CommandItem::Text(arg.to_owned()));
        }
        let value: Value = serde_json::from_str(arg).map_err(|e| {
            CommandItemError(format!("the structured placeholder is not valid JSON: {e}"))
        })?;
        Self::from_value(&value, 0)
    }

    fn from_value(value: &Value, depth: usize) -> Result<CommandItem, CommandItemError> {
        if depth > MAX_STRUCTURE_DEPTH {
            return Err(CommandItemError(
                "structured placeholders nest too deeply".to_owned(),
            ));
        }
        match value {
            Value::String(text) => Ok(CommandItem::Text(text.clone())),
            Value::Object(object) if object.len() == 1 => {
                if let Some(items) = object.get("Concat") {
                    return Ok(CommandItem::Concat(Self::list(items, depth)?));
                }
                if let Some(body) = object.get("IfPresent") {
                    let input = body
                        .get("InputName")
                        .and_then(Value::as_str)
                        .ok_or_else(|| {
                            CommandItemError("`IfPresent` needs a string `InputName`".to_owned())
                        })?;
                    let then = match body.get("Then") {
                        Some(then) => Self::list(then, depth)?,
                        None => Vec::new(),
                    };
                    let otherwise = match body.get("Else") {
                        Some(Value::Null) | None => None,
                        Some(otherwise) => Some(Self::list(otherwise, depth)?),
                    };
                    return Ok(CommandItem::IfPresent {
                        input: input.to_owned(),
                        then,
                        otherwise,
                    });
                }
                Err(CommandItemError(
                    "a structured placeholder is `{\"Concat\": [...]}` or `{\"IfPresent\": {...}}`"
                        .to_owned(),
                ))
            }
            _ => Err(CommandItemError(
                "a structured placeholder item must be a string, a Concat or an IfPresent"
                    .to_owned(),
            )),
        }
    }

    /// `Then`/`Else`/`Concat` bodies: a single item or a list of items.
    fn list(value: &Value, depth: usize) -> Result<Vec<CommandItem>, CommandItemError> {
        match value {
            Value::Array(items) => items
                .iter()
                .map(|v| Self::from_value(v, depth + 1))
                .collect(),
            single => Ok(vec![Self::from_value(single, depth + 1)?]),
        }
    }

    /// Every text fragment of this item, nested ones included, with `IfPresent` input names.
    pub fn visit(&self, on_text: &mut dyn FnMut(&str), on_if_present: &mut dyn FnMut(&str)) {
        match self {
            CommandItem::Text(text) => on_text(text),
            CommandItem::Concat(items) => {
                items.iter().for_each(|i| i.visit(on_text, on_if_present))
            }
            CommandItem::IfPresent {
                input,
                then,
                otherwise,
            } => {
                on_if_present(input);
                then.iter().for_each(|i| i.visit(on_text, on_if_present));
                otherwise
                    .iter()
                    .flatten()
                    .for_each(|i| i.visit(on_text, on_if_present));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_placeholder_form() {
        let cases = [
            ("$", Placeholder::ExecutorInput),
            (
                "$.inputs.parameters['n']",
                Placeholder::InputParameter("n".into()),
            ),
            (
                "$.inputs.parameters[\"n\"]",
                Placeholder::InputParameter("n".into()),
            ),
            (
                "$.inputs.artifacts['d'].path",
                Placeholder::InputArtifactPath("d".into()),
            ),
            (
                "$.inputs.artifacts['d'].uri",
                Placeholder::InputArtifactUri("d".into()),
            ),
            (
                "$.inputs.artifacts['d']",
                Placeholder::InputArtifactList("d".into()),
            ),
            (
                "$.inputs.artifacts['d'].metadata",
                Placeholder::InputArtifactMetadata("d".into(), None),
            ),
            (
                "$.inputs.artifacts['d'].metadata['k']",
                Placeholder::InputArtifactMetadata("d".into(), Some("k".into())),
            ),
            (
                "$.outputs.parameters['p'].output_file",
                Placeholder::OutputParameterFile("p".into()),
            ),
            (
                "$.outputs.artifacts['m'].path",
                Placeholder::OutputArtifactPath("m".into()),
            ),
            (
                "$.outputs.artifacts['m'].uri",
                Placeholder::OutputArtifactUri("m".into()),
            ),
            ("$.outputs.output_file", Placeholder::OutputMetadataFile),
            ("$.outputMetadataUri", Placeholder::OutputMetadataFile),
            ("$.pipeline_job_name", Placeholder::PipelineJobName),
            ("$.pipeline_task_uuid", Placeholder::PipelineTaskUuid),
            ("$.workspace_path", Placeholder::WorkspacePath),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text), Some(expected), "{text}");
        }
        for bad in [
            "$.inputs.parameters",
            "$.inputs.parameters['x'].path",
            "$.nope",
            "$.inputs.artifacts['x'].size",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn splits_text_and_placeholders() {
        let got = segments("a={{$.inputs.parameters['a']}} b={{$.bogus}}!");
        assert_eq!(
            got,
            vec![
                Segment::Text("a="),
                Segment::Placeholder(Placeholder::InputParameter("a".into())),
                Segment::Text(" b="),
                Segment::Unknown("{{$.bogus}}"),
                Segment::Text("!"),
            ]
        );
        assert_eq!(
            segments("no placeholders {{ here"),
            vec![Segment::Text("no placeholders {{ here")]
        );
    }

    #[test]
    fn reads_structured_arguments() {
        let concat = CommandItem::parse(r#"{"Concat": ["a", "{{$.inputs.parameters['x']}}"]}"#);
        assert_eq!(
            concat,
            Ok(CommandItem::Concat(vec![
                CommandItem::Text("a".into()),
                CommandItem::Text("{{$.inputs.parameters['x']}}".into())
            ]))
        );
        let if_present = CommandItem::parse(r#"{"IfPresent": {"InputName": "o", "Then": "--o"}}"#);
        assert_eq!(
            if_present,
            Ok(CommandItem::IfPresent {
                input: "o".into(),
                then: vec![CommandItem::Text("--o".into())],
                otherwise: None
            })
        );
        assert_eq!(
            CommandItem::parse("{not json"),
            Ok(CommandItem::Text("{not json".into()))
        );
        assert!(CommandItem::parse(r#"{"Concat": 5}"#).is_err());
        assert!(CommandItem::parse(r#"{"IfPresent": {"Then": []}}"#).is_err());
    }
}
