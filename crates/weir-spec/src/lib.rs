//! `weir-spec`: what users hand Weir, as data.
//!
//! Owns the serde model of the Kubeflow Pipelines IR ([`model::PipelineSpec`] and its optional
//! [`model::PlatformSpec`]), the conversion of KFP v1 `component.yaml` files into the same model,
//! the parsers for placeholders and CEL conditions, validation into [`Diagnostic`]s, and the
//! outline `weir inspect` prints.
//!
//! It must not know about files, processes, databases or HTTP: no I/O, no async, and it never
//! panics or returns `Err` for a user's mistake; problems are [`Diagnostic`]s.

pub mod cel;
pub mod diagnostic;
pub mod model;
pub mod outline;
pub mod parse;
pub mod placeholder;
mod v1;
pub mod validate;

pub use diagnostic::{Code, Diagnostic, Location, Severity};
pub use parse::{parse, parse_json, parse_value, Parsed, PipelineDocument, SourceFormat};
pub use validate::validate;

/// Parses and validates text in one step: the document (if readable) and every diagnostic,
/// sorted by path.
pub fn check(text: &str) -> Parsed {
    let mut parsed = parse(text);
    if let Some(document) = &parsed.document {
        parsed.diagnostics.extend(validate(document));
    }
    diagnostic::sort(&mut parsed.diagnostics);
    parsed
}
