//! Types shared by every service: errors, health, visualizations.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::enums::VisualizationType;
use crate::wire::{self, is_unset};

/// `googleRpcStatus`: the body of every error response, and the `error` field of resources.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoogleRpcStatus {
    /// A gRPC status code (`3` invalid argument, `5` not found, ...).
    #[serde(default, with = "wire::int32", skip_serializing_if = "is_unset")]
    pub code: Option<i32>,
    #[serde(default, skip_serializing_if = "is_unset")]
    pub message: Option<String>,
    #[serde(
        default,
        deserialize_with = "wire::null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub details: Vec<ProtobufAny>,
}

/// `protobufAny` as protobuf JSON writes it: `{"@type": "type.googleapis.com/...", ...fields}`.
/// The swagger also lists `type_url` and `value`, the binary form, which never appears in JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProtobufAny {
    #[serde(rename = "@type")]
    pub type_url: String,
    /// The fields of the packed message.
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

/// `v2beta1GetHealthzResponse`, from `GET /apis/v2beta1/healthz`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GetHealthzResponse {
    #[serde(default, alias = "multiUser", skip_serializing_if = "is_unset")]
    pub multi_user: Option<bool>,
    /// `database` or `kubernetes`.
    #[serde(default, alias = "pipelineStore", skip_serializing_if = "is_unset")]
    pub pipeline_store: Option<String>,
}

/// `v2beta1Visualization`, the body and response of `POST /apis/v2beta1/visualizations/{namespace}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Visualization {
    #[serde(rename = "type", default, skip_serializing_if = "is_unset")]
    pub visualization_type: Option<VisualizationType>,
    #[serde(default, skip_serializing_if = "is_unset")]
    pub source: Option<String>,
    /// JSON of the visualization's arguments, as a string.
    #[serde(default, skip_serializing_if = "is_unset")]
    pub arguments: Option<String>,
    #[serde(default, skip_serializing_if = "is_unset")]
    pub html: Option<String>,
    #[serde(default, skip_serializing_if = "is_unset")]
    pub error: Option<String>,
}
