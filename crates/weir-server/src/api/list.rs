//! List parameters (`page_token`, `page_size`, `sort_by`, `filter`) to store queries, and the
//! store's page back to a token.

use serde::Deserialize;
use weir_api_model::{ListOptions, ListQuery as ApiListQuery, Operation, PredicateValue};
use weir_store::{FilterValue, ListQuery, Page, PageCursor, Predicate, PredicateOp, SortBy};

use crate::error::{ApiError, ApiResult};

/// The query parameters of every list call: the common ones and the scope (`experiment_id`
/// wins over `namespace`, as in KFP).
#[derive(Deserialize)]
pub struct ListParams {
    #[serde(flatten)]
    list: ApiListQuery,
    experiment_id: Option<String>,
    namespace: Option<String>,
}

impl ListParams {
    pub fn listing(&self) -> ApiResult<Listing> {
        let listing = Listing::parse(&self.list)?;
        Ok(
            match self.experiment_id.as_deref().filter(|e| !e.is_empty()) {
                Some(experiment) => listing.and_equals("experiment_id", Some(experiment)),
                None => listing.and_equals("namespace", self.namespace.as_deref()),
            },
        )
    }
}

/// A checked list request: the store query and what the next page's token needs.
pub struct Listing {
    pub query: ListQuery,
    options: ListOptions,
}

impl Listing {
    pub fn parse(params: &ApiListQuery) -> ApiResult<Listing> {
        let options = params
            .parse()
            .map_err(|e| ApiError::invalid(e.to_string()))?;
        let mut query = ListQuery {
            page_size: options.page_size,
            ..Default::default()
        };
        query.sort = options.sort.as_ref().map(|s| SortBy {
            field: s.field.clone(),
            descending: s.descending,
        });
        query.predicates = options
            .filter
            .predicates
            .iter()
            .map(|p| Predicate {
                field: p.key.clone(),
                op: operation(p.op),
                value: value(&p.value),
            })
            .collect();
        query.after = match &options.cursor {
            Some(cursor) => Some(
                serde_json::from_value::<PageCursor>(cursor.clone())
                    .map_err(|_| ApiError::invalid("the page_token is not one this server made"))?,
            ),
            None => None,
        };
        Ok(Listing { query, options })
    }

    /// Adds a predicate the request's own parameters imply (`experiment_id`, `namespace`).
    pub fn and_equals(mut self, field: &str, text: Option<&str>) -> Self {
        if let Some(text) = text.filter(|t| !t.is_empty()) {
            self.query.predicates.push(Predicate {
                field: field.to_owned(),
                op: PredicateOp::Equals,
                value: FilterValue::String(text.to_owned()),
            });
        }
        self
    }

    /// The next page's token, empty on the last page.
    pub fn next_token<T>(&self, page: &Page<T>) -> Option<String> {
        let cursor = page.next.as_ref()?;
        let cursor = serde_json::to_value(cursor).ok()?;
        Some(self.options.next_page_token(cursor))
    }
}

fn operation(op: Operation) -> PredicateOp {
    match op {
        Operation::Equals => PredicateOp::Equals,
        Operation::NotEquals => PredicateOp::NotEquals,
        Operation::GreaterThan => PredicateOp::GreaterThan,
        Operation::GreaterThanEquals => PredicateOp::GreaterThanEquals,
        Operation::LessThan => PredicateOp::LessThan,
        Operation::LessThanEquals => PredicateOp::LessThanEquals,
        Operation::In => PredicateOp::In,
        Operation::IsSubstring => PredicateOp::IsSubstring,
    }
}

fn value(value: &PredicateValue) -> FilterValue {
    match value {
        PredicateValue::Int(i) => FilterValue::Int(*i),
        PredicateValue::String(s) => FilterValue::String(s.clone()),
        PredicateValue::Timestamp(t) => FilterValue::Timestamp(*t),
        PredicateValue::IntList(l) => FilterValue::IntList(l.clone()),
        PredicateValue::StringList(l) => FilterValue::StringList(l.clone()),
    }
}

pub fn total(size: i64) -> Option<i32> {
    Some(i32::try_from(size).unwrap_or(i32::MAX))
}
