//! The list query parameters: `filter`, `sort_by`, `page_size` and `page_token`, read the way
//! KFP reads them (`apiserver/server/list_request_util.go`, `apiserver/list`, `apiserver/filter`).
//! Every error is a user's mistake, meant for a 400 response.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::enums::PredicateOperation;
use crate::filter::{Filter, Predicate};
use crate::page_token::{decode_page_token, encode_page_token, filter_fingerprint, PageToken};

/// The page size when none (or 0) is asked for.
pub const DEFAULT_PAGE_SIZE: u32 = 20;
/// The largest page; larger requests are capped to it.
pub const MAX_PAGE_SIZE: u32 = 200;

/// A malformed list query parameter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("failed to parse valid filter from {filter:?}: {reason}")]
    InvalidFilter { filter: String, reason: String },
    #[error("filter predicate on {key:?} has no operation; set \"operation\" to one of EQUALS, NOT_EQUALS, GREATER_THAN, GREATER_THAN_EQUALS, LESS_THAN, LESS_THAN_EQUALS, IN, IS_SUBSTRING")]
    MissingOperation { key: String },
    #[error("filter predicate key cannot be empty for operation {operation}")]
    EmptyPredicateKey { operation: Operation },
    #[error("filter predicate on {key:?} has no value; set one of int_value, long_value, string_value, timestamp_value, int_values, long_values, string_values")]
    MissingPredicateValue { key: String },
    #[error("filter predicate on {key:?} has several values ({}); set exactly one", fields.join(", "))]
    SeveralPredicateValues {
        key: String,
        fields: Vec<&'static str>,
    },
    #[error("cannot use IN operator on {key:?} with a single value; use int_values, long_values or string_values")]
    InWithoutList { key: String },
    #[error("cannot use scalar operator {operation} on {key:?} with a list value; use IN")]
    ListWithScalarOperation { key: String, operation: Operation },
    #[error("cannot use IS_SUBSTRING on {key:?} without a string value; use string_value")]
    SubstringWithoutString { key: String },
    #[error("Received invalid sort by format {sort_by:?}. Supported format: \"field_name\", \"field_name desc\", or \"field_name asc\"")]
    InvalidSortBy { sort_by: String },
    #[error("invalid page size {page_size:?}: expected an integer")]
    InvalidPageSize { page_size: String },
    #[error("page size {page_size} is negative; use 0 or leave it out for the default of 20")]
    NegativePageSize { page_size: i64 },
    #[error("invalid page token: {reason}; use the next_page_token of the previous page as it is")]
    InvalidPageToken { reason: String },
    #[error("page token does not match the supplied sort by and/or filtering criteria. Either specify the same criteria or leave the latter empty if page token is specified")]
    PageTokenMismatch,
    #[error("page token was made for a filter; send the same filter with the page token")]
    PageTokenNeedsFilter,
}

/// A filter comparison. Unlike [`PredicateOperation`], it has no "unspecified".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    Equals,
    NotEquals,
    GreaterThan,
    GreaterThanEquals,
    LessThan,
    LessThanEquals,
    In,
    IsSubstring,
}

impl Operation {
    /// The KFP name, e.g. `GREATER_THAN_EQUALS`.
    pub fn name(self) -> &'static str {
        self.wire().name()
    }

    fn wire(self) -> PredicateOperation {
        match self {
            Operation::Equals => PredicateOperation::Equals,
            Operation::NotEquals => PredicateOperation::NotEquals,
            Operation::GreaterThan => PredicateOperation::GreaterThan,
            Operation::GreaterThanEquals => PredicateOperation::GreaterThanEquals,
            Operation::LessThan => PredicateOperation::LessThan,
            Operation::LessThanEquals => PredicateOperation::LessThanEquals,
            Operation::In => PredicateOperation::In,
            Operation::IsSubstring => PredicateOperation::IsSubstring,
        }
    }

    fn from_wire(operation: PredicateOperation) -> Option<Operation> {
        Some(match operation {
            PredicateOperation::Unspecified => return None,
            PredicateOperation::Equals => Operation::Equals,
            PredicateOperation::NotEquals => Operation::NotEquals,
            PredicateOperation::GreaterThan => Operation::GreaterThan,
            PredicateOperation::GreaterThanEquals => Operation::GreaterThanEquals,
            PredicateOperation::LessThan => Operation::LessThan,
            PredicateOperation::LessThanEquals => Operation::LessThanEquals,
            PredicateOperation::In => Operation::In,
            PredicateOperation::IsSubstring => Operation::IsSubstring,
        })
    }
}

impl std::fmt::Display for Operation {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.name())
    }
}

/// A checked filter: every predicate must hold. Empty when no filter was given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedFilter {
    pub predicates: Vec<ParsedPredicate>,
}

/// One checked predicate: `IN` has a list, the other operations a single value, and
/// `IS_SUBSTRING` a string.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedPredicate {
    /// The API field name as sent (`display_name`, `created_at`, ...); mapping it to a column,
    /// and refusing unknown ones, is the server's job.
    pub key: String,
    pub op: Operation,
    pub value: PredicateValue,
}

/// A predicate's value. `int_value` and `long_value` both become `Int`, their lists `IntList`.
#[derive(Debug, Clone, PartialEq)]
pub enum PredicateValue {
    Int(i64),
    String(String),
    /// KFP compares timestamps as unix seconds.
    Timestamp(DateTime<Utc>),
    IntList(Vec<i64>),
    StringList(Vec<String>),
}

impl PredicateValue {
    fn is_list(&self) -> bool {
        matches!(
            self,
            PredicateValue::IntList(_) | PredicateValue::StringList(_)
        )
    }
}

/// Reads the `filter` query parameter (already percent-decoded): JSON of `v2beta1.Filter`,
/// operations by name or number, value fields in snake_case or camelCase. An empty string is
/// no filter.
pub fn parse_filter(raw_filter: &str) -> Result<ParsedFilter, QueryError> {
    if raw_filter.is_empty() {
        return Ok(ParsedFilter::default());
    }
    let wire_filter: Filter =
        serde_json::from_str(raw_filter).map_err(|error| QueryError::InvalidFilter {
            filter: raw_filter.to_owned(),
            reason: error.to_string(),
        })?;
    let predicates = wire_filter
        .predicates
        .into_iter()
        .map(check_predicate)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ParsedFilter { predicates })
}

fn check_predicate(mut predicate: Predicate) -> Result<ParsedPredicate, QueryError> {
    let key = predicate.key.take().unwrap_or_default();
    let Some(op) = predicate.operation.and_then(Operation::from_wire) else {
        return Err(QueryError::MissingOperation { key });
    };
    if key.is_empty() {
        return Err(QueryError::EmptyPredicateKey { operation: op });
    }
    let value = single_value(predicate, &key)?;
    match op {
        Operation::In if !value.is_list() => Err(QueryError::InWithoutList { key }),
        Operation::IsSubstring if !matches!(value, PredicateValue::String(_)) => {
            Err(QueryError::SubstringWithoutString { key })
        }
        Operation::In | Operation::IsSubstring => Ok(ParsedPredicate { key, op, value }),
        _ if value.is_list() => Err(QueryError::ListWithScalarOperation { key, operation: op }),
        _ => Ok(ParsedPredicate { key, op, value }),
    }
}

/// The one value field of a predicate (a protobuf oneof).
fn single_value(predicate: Predicate, key: &str) -> Result<PredicateValue, QueryError> {
    let candidates = [
        (
            "int_value",
            predicate
                .int_value
                .map(|v| PredicateValue::Int(i64::from(v))),
        ),
        ("long_value", predicate.long_value.map(PredicateValue::Int)),
        (
            "string_value",
            predicate.string_value.map(PredicateValue::String),
        ),
        (
            "timestamp_value",
            predicate.timestamp_value.map(PredicateValue::Timestamp),
        ),
        (
            "int_values",
            predicate.int_values.map(|list| {
                PredicateValue::IntList(list.values.into_iter().map(i64::from).collect())
            }),
        ),
        (
            "long_values",
            predicate
                .long_values
                .map(|list| PredicateValue::IntList(list.values)),
        ),
        (
            "string_values",
            predicate
                .string_values
                .map(|list| PredicateValue::StringList(list.values)),
        ),
    ];
    let mut present: Vec<(&'static str, PredicateValue)> = candidates
        .into_iter()
        .filter_map(|(field, value)| value.map(|value| (field, value)))
        .collect();
    if present.len() > 1 {
        return Err(QueryError::SeveralPredicateValues {
            key: key.to_owned(),
            fields: present.iter().map(|(field, _)| *field).collect(),
        });
    }
    match present.pop() {
        Some((_, value)) => Ok(value),
        None => Err(QueryError::MissingPredicateValue {
            key: key.to_owned(),
        }),
    }
}

/// A sort order: an API field name, ascending unless `descending`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SortSpec {
    pub field: String,
    pub descending: bool,
}

/// Reads `sort_by`: `"field"`, `"field asc"` or `"field desc"`. Like KFP, the whole value is
/// lowercased, field included, and blank means the default order (`None`); whether the field
/// can be sorted on is the server's call.
pub fn parse_sort_by(sort_by: &str) -> Result<Option<SortSpec>, QueryError> {
    let lowercase = sort_by.to_lowercase();
    let words: Vec<&str> = lowercase.split_whitespace().collect();
    match words.as_slice() {
        [] => Ok(None),
        [field] => Ok(Some(SortSpec {
            field: (*field).to_owned(),
            descending: false,
        })),
        [field, direction @ ("asc" | "desc")] => Ok(Some(SortSpec {
            field: (*field).to_owned(),
            descending: *direction == "desc",
        })),
        _ => Err(QueryError::InvalidSortBy {
            sort_by: sort_by.to_owned(),
        }),
    }
}

/// The page size for a requested one: 0 means [`DEFAULT_PAGE_SIZE`], larger than
/// [`MAX_PAGE_SIZE`] is capped, negative is an error.
pub fn page_size(requested: i64) -> Result<u32, QueryError> {
    if requested < 0 {
        return Err(QueryError::NegativePageSize {
            page_size: requested,
        });
    }
    if requested == 0 {
        return Ok(DEFAULT_PAGE_SIZE);
    }
    Ok(u32::try_from(requested).map_or(MAX_PAGE_SIZE, |size| size.min(MAX_PAGE_SIZE)))
}

/// Reads the `page_size` query parameter: absent or empty means the default.
pub fn parse_page_size(page_size_parameter: Option<&str>) -> Result<u32, QueryError> {
    let text = page_size_parameter.unwrap_or_default();
    if text.is_empty() {
        return Ok(DEFAULT_PAGE_SIZE);
    }
    let requested = text
        .parse::<i64>()
        .map_err(|_| QueryError::InvalidPageSize {
            page_size: text.to_owned(),
        })?;
    page_size(requested)
}

/// The list query parameters common to every list call, as strings. Deserializable from a
/// query string; other parameters (`namespace`, `experiment_id`, ...) are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ListQuery {
    pub page_token: Option<String>,
    pub page_size: Option<String>,
    pub sort_by: Option<String>,
    pub filter: Option<String>,
}

/// What a list call asks for, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ListOptions {
    pub page_size: u32,
    /// `None`: the server's default order.
    pub sort: Option<SortSpec>,
    pub filter: ParsedFilter,
    /// [`filter_fingerprint`] of the raw filter, for the next page's token.
    pub filter_fingerprint: String,
    /// Where the previous page stopped; `None` on the first page.
    pub cursor: Option<serde_json::Value>,
}

impl ListQuery {
    /// Checks every parameter. With a page token, the sort order is the token's when `sort_by`
    /// and `filter` are both absent; otherwise both must match the token's.
    pub fn parse(&self) -> Result<ListOptions, QueryError> {
        let page_size = parse_page_size(self.page_size.as_deref())?;
        let raw_filter = self.filter.as_deref().unwrap_or_default();
        let filter = parse_filter(raw_filter)?;
        let requested_sort = parse_sort_by(self.sort_by.as_deref().unwrap_or_default())?;
        let page_token = self.page_token.as_deref().unwrap_or_default();
        if page_token.is_empty() {
            return Ok(ListOptions {
                page_size,
                sort: requested_sort,
                filter,
                filter_fingerprint: filter_fingerprint(raw_filter),
                cursor: None,
            });
        }
        let token = decode_page_token(page_token)?;
        let sort = token.check_request(requested_sort.as_ref(), raw_filter)?;
        Ok(ListOptions {
            page_size,
            sort,
            filter,
            filter_fingerprint: token.filter_fingerprint,
            cursor: Some(token.cursor),
        })
    }
}

impl ListOptions {
    /// The `next_page_token` for a page that stopped at `cursor` (the keyset position of the
    /// first row of the next page, in whatever form the server likes).
    pub fn next_page_token(&self, cursor: serde_json::Value) -> String {
        encode_page_token(&PageToken {
            sort: self.sort.clone(),
            filter_fingerprint: self.filter_fingerprint.clone(),
            cursor,
        })
    }
}
