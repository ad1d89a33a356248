//! Paged, filtered and sorted lists, with the semantics of KFP's `list/list.go` and
//! `filter/filter.go`.
//!
//! Fields are the API's field names (`display_name`, `created_at`, ...); each resource maps them
//! to its columns and refuses others with [`StoreError::InvalidArgument`](crate::StoreError),
//! naming the fields it knows. Predicates are ANDed. Pages are keyset pages: a [`PageCursor`]
//! holds the sort value and the id of the last item of a page, so inserts and deletes between
//! two requests never shift items across pages.
//!
//! Time fields (`created_at`, `finished_at`, ...) compare at whole-second resolution, as in KFP
//! where they are stored in seconds: an `Int` value is Unix seconds, a `Timestamp` value is
//! truncated to its second, and `created_at EQUALS t` matches everything created during second
//! `t`. An unset time (`finished_at` of an unfinished run) compares as 0, KFP's zero time.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The page size used when a query asks for 0 items, as in KFP.
pub const DEFAULT_PAGE_SIZE: u32 = 20;

/// Which items of a resource to list, in which order, from where.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListQuery {
    /// All must hold.
    pub predicates: Vec<Predicate>,
    /// `None` sorts by `created_at`, ascending. Ties are always broken by id.
    pub sort: Option<SortBy>,
    /// At most this many items; 0 means [`DEFAULT_PAGE_SIZE`]. The store applies no upper cap.
    pub page_size: u32,
    /// Where the previous page ended ([`Page::next`]). It is only meaningful with the same
    /// predicates and sort as the query that returned it.
    pub after: Option<PageCursor>,
}

impl ListQuery {
    pub fn with_predicate(mut self, predicate: Predicate) -> Self {
        self.predicates.push(predicate);
        self
    }

    pub fn sorted_by(mut self, sort: SortBy) -> Self {
        self.sort = Some(sort);
        self
    }

    pub fn with_page_size(mut self, page_size: u32) -> Self {
        self.page_size = page_size;
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortBy {
    pub field: String,
    pub descending: bool,
}

impl SortBy {
    pub fn ascending(field: impl Into<String>) -> Self {
        SortBy {
            field: field.into(),
            descending: false,
        }
    }

    pub fn descending(field: impl Into<String>) -> Self {
        SortBy {
            field: field.into(),
            descending: true,
        }
    }
}

/// One condition on a field (KFP `Predicate`).
#[derive(Debug, Clone, PartialEq)]
pub struct Predicate {
    pub field: String,
    pub op: PredicateOp,
    pub value: FilterValue,
}

impl Predicate {
    pub fn new(field: impl Into<String>, op: PredicateOp, value: FilterValue) -> Self {
        Predicate {
            field: field.into(),
            op,
            value,
        }
    }
}

/// KFP's predicate operations. `In` takes a list value, the others a single value.
/// `IsSubstring` is a case-sensitive substring test in which `%` and `_` are ordinary characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PredicateOp {
    Equals,
    NotEquals,
    GreaterThan,
    GreaterThanEquals,
    LessThan,
    LessThanEquals,
    In,
    IsSubstring,
}

/// The value a predicate compares with. Text fields take `String`/`StringList`; time fields take
/// `Int` (Unix seconds), `Timestamp` and `IntList`. Anything else is refused.
#[derive(Debug, Clone, PartialEq)]
pub enum FilterValue {
    Int(i64),
    String(String),
    Timestamp(DateTime<Utc>),
    IntList(Vec<i64>),
    StringList(Vec<String>),
}

impl FilterValue {
    /// How the value is called in error messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            FilterValue::Int(_) => "an integer",
            FilterValue::String(_) => "a string",
            FilterValue::Timestamp(_) => "a timestamp",
            FilterValue::IntList(_) => "a list of integers",
            FilterValue::StringList(_) => "a list of strings",
        }
    }
}

/// Where a page ended: the sort value and id of its last item. Opaque to callers; the server
/// may serialize it into its page token.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PageCursor {
    pub sort_value: serde_json::Value,
    pub id: String,
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<PageCursor>,
    /// How many items match the predicates, on all pages together.
    pub total_size: i64,
}
