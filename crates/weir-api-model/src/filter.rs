//! `v2beta1Filter`: the JSON carried by the `filter` query parameter of every list call.
//! [`crate::parse_filter`] reads it and checks it; these are its wire types.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::enums::PredicateOperation;
use crate::wire::{self, is_unset};

/// `v2beta1Filter`: predicates that all must hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    #[serde(
        default,
        deserialize_with = "wire::null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub predicates: Vec<Predicate>,
}

/// `v2beta1Predicate`. The value fields form a protobuf oneof: exactly one is meant to be set.
/// A value field that is present is `Some`, even when it holds zero or `""`, so it is written
/// back. The camelCase spellings (`stringValue`, ...) that the SDK sends are read too.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Predicate {
    #[serde(default, skip_serializing_if = "is_unset")]
    pub operation: Option<PredicateOperation>,
    /// An API field name, such as `display_name`.
    #[serde(default, skip_serializing_if = "is_unset")]
    pub key: Option<String>,
    #[serde(
        default,
        alias = "intValue",
        with = "wire::int32",
        skip_serializing_if = "Option::is_none"
    )]
    pub int_value: Option<i32>,
    #[serde(
        default,
        alias = "longValue",
        with = "wire::int64",
        skip_serializing_if = "Option::is_none"
    )]
    pub long_value: Option<i64>,
    #[serde(
        default,
        alias = "stringValue",
        skip_serializing_if = "Option::is_none"
    )]
    pub string_value: Option<String>,
    #[serde(
        default,
        alias = "timestampValue",
        with = "wire::timestamp",
        skip_serializing_if = "Option::is_none"
    )]
    pub timestamp_value: Option<DateTime<Utc>>,
    #[serde(default, alias = "intValues", skip_serializing_if = "Option::is_none")]
    pub int_values: Option<IntValues>,
    #[serde(default, alias = "longValues", skip_serializing_if = "Option::is_none")]
    pub long_values: Option<LongValues>,
    #[serde(
        default,
        alias = "stringValues",
        skip_serializing_if = "Option::is_none"
    )]
    pub string_values: Option<StringValues>,
}

/// `PredicateIntValues`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntValues {
    #[serde(
        default,
        with = "wire::int32_list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub values: Vec<i32>,
}

/// `PredicateLongValues`: int64, strings on the wire.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LongValues {
    #[serde(
        default,
        with = "wire::int64_list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub values: Vec<i64>,
}

/// `PredicateStringValues`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StringValues {
    #[serde(
        default,
        deserialize_with = "wire::null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub values: Vec<String>,
}
