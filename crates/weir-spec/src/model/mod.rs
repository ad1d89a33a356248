//! Serde types for the KFP pipeline IR (`PipelineSpec`) and its Kubernetes `PlatformSpec`.
//!
//! Field names follow protobuf JSON (lowerCamel); the snake_case spellings are accepted as
//! aliases because protobuf JSON parsers accept both. Every struct keeps fields it does not
//! know in `extra`, and every scalar is optional, so parsing and serializing a spec gives the
//! same JSON back (a spec round-trips through Weir unchanged).

mod dag;
mod executor;
mod pipeline;
mod platform;
mod types;
mod value;

pub use dag::*;
pub use executor::*;
pub use pipeline::*;
pub use platform::*;
pub use types::*;
pub use value::protojson_numbers;

/// Fields a struct does not model, kept verbatim so a spec round-trips.
pub type Extra = std::collections::BTreeMap<String, serde_json::Value>;

/// A `google.protobuf.Value`: any JSON value.
pub type Value = serde_json::Value;

/// Serde helper: skip empty maps and lists when serializing.
pub(crate) fn is_empty_map<K, V>(map: &std::collections::BTreeMap<K, V>) -> bool {
    map.is_empty()
}
