//! [`ListQuery`] as SQL: predicates become a WHERE clause over a resource's columns, pages are
//! keyset pages (`(sort, id) > (?, ?)`, never OFFSET), fetched one item longer than asked to
//! know whether another page follows.

use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{query::Query, Row, Sqlite, SqlitePool};

use crate::{
    FilterValue, ListQuery, Page, PageCursor, Predicate, PredicateOp, Result, StoreError,
    DEFAULT_PAGE_SIZE,
};

/// A listable table and the API fields it can be filtered and sorted on. Its key column is `id`.
pub(super) struct Resource {
    /// Plural, for messages: "runs".
    pub what: &'static str,
    pub table: &'static str,
    pub fields: &'static [Field],
}

/// An API field: its names (the first is canonical, the others aliases) and its column.
pub(super) struct Field {
    pub names: &'static [&'static str],
    pub column: &'static str,
    pub kind: FieldKind,
    /// NULL compares as the kind's zero (`""` or time 0), as KFP stores it.
    pub nullable: bool,
}

#[derive(Debug, Clone, Copy)]
pub(super) enum FieldKind {
    Text,
    /// Milliseconds since the epoch; compared at whole seconds (see the `list` module).
    Time,
    /// Text with a closed set of values (a CHECK constraint): NOT_EQUALS one of two values
    /// becomes EQUALS the other, which an index can answer.
    Enum(&'static [&'static str]),
    /// Values held in another table, one row per value: `key` names the owning row's id and
    /// `column` the value (a run's tags). Filters test membership; it cannot be sorted on.
    Member {
        table: &'static str,
        key: &'static str,
    },
    /// `PREFIX.NAME`: a run's parameter or metric called NAME (`values.rs`). Not sortable.
    Values,
}

/// Values bound to a statement's `?`s, in order.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Bind {
    Int(i64),
    Real(f64),
    Text(String),
}

/// An optional condition every listed row must meet besides the query's (a version's pipeline).
pub(super) type Scope<'a> = Option<(&'static str, &'a str)>;

pub(super) async fn list_page<T>(
    pool: &SqlitePool,
    resource: &Resource,
    scope: Scope<'_>,
    query: &ListQuery,
    convert: fn(&SqliteRow) -> Result<T>,
) -> Result<Page<T>> {
    let statements = Statements::new(resource, scope, query)?;
    // One read transaction, so the count describes the same snapshot as the page.
    let mut tx = pool.begin().await?;
    let rows = bind_all(sqlx::query(&statements.page), &statements.page_binds)
        .fetch_all(&mut *tx)
        .await?;
    let total_size: i64 = bind_all(sqlx::query(&statements.count), &statements.count_binds)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
    tx.commit().await?;
    // One row more than the page holds: another page follows, after the page's last row.
    let next = if rows.len() > statements.page_size {
        Some(cursor(
            &rows[statements.page_size - 1],
            statements.sort_kind,
        )?)
    } else {
        None
    };
    let items = rows
        .iter()
        .take(statements.page_size)
        .map(convert)
        .collect::<Result<Vec<T>>>()?;
    Ok(Page {
        items,
        next,
        total_size,
    })
}

fn bind_all<'q>(
    mut statement: Query<'q, Sqlite, SqliteArguments<'q>>,
    binds: &'q [Bind],
) -> Query<'q, Sqlite, SqliteArguments<'q>> {
    for bind in binds {
        statement = match bind {
            Bind::Int(value) => statement.bind(*value),
            Bind::Real(value) => statement.bind(*value),
            Bind::Text(value) => statement.bind(value.as_str()),
        };
    }
    statement
}

/// The column every page query adds with the row's sort value, for the next cursor.
const SORT_KEY: &str = "list_sort_key";

fn cursor(row: &SqliteRow, kind: FieldKind) -> Result<PageCursor> {
    let sort_value = match kind {
        FieldKind::Time => serde_json::Value::from(row.try_get::<i64, _>(SORT_KEY)?),
        FieldKind::Text | FieldKind::Enum(_) | FieldKind::Member { .. } | FieldKind::Values => {
            serde_json::Value::from(row.try_get::<String, _>(SORT_KEY)?)
        }
    };
    Ok(PageCursor {
        sort_value,
        id: row.try_get("id")?,
    })
}

/// The SQL of one list request.
#[derive(Debug)]
pub(super) struct Statements {
    pub page: String,
    pub page_binds: Vec<Bind>,
    pub count: String,
    pub count_binds: Vec<Bind>,
    page_size: usize,
    sort_kind: FieldKind,
}

impl Statements {
    pub(super) fn new(resource: &Resource, scope: Scope<'_>, query: &ListQuery) -> Result<Self> {
        let mut conditions = Vec::new();
        let mut binds = Vec::new();
        if let Some((column, value)) = scope {
            conditions.push(format!("{column} = ?"));
            binds.push(Bind::Text(value.to_owned()));
        }
        for predicate in &query.predicates {
            let field = resource.field(&predicate.field, "filter on")?;
            conditions.push(condition(field, predicate, &mut binds)?);
        }
        let count_binds = binds.clone();
        let count = format!(
            "SELECT count(*) FROM {}{}",
            resource.table,
            where_clause(&conditions)
        );

        let (sort_field, descending) = match &query.sort {
            Some(sort) => (resource.field(&sort.field, "sort by")?, sort.descending),
            None => (resource.field("created_at", "sort by")?, false),
        };
        if let FieldKind::Member { .. } | FieldKind::Values = sort_field.kind {
            return Err(StoreError::InvalidArgument(format!(
                "cannot sort {} by `{}`; filter on it instead",
                resource.what,
                query
                    .sort
                    .as_ref()
                    .map_or(sort_field.name(), |s| s.field.as_str())
            )));
        }
        let sort_expr = sort_field.compared_expr();
        let (direction, after) = if descending {
            ("DESC", "<")
        } else {
            ("ASC", ">")
        };
        if let Some(cursor) = &query.after {
            conditions.push(format!("({sort_expr}, id) {after} (?, ?)"));
            binds.push(cursor_sort_value(cursor, sort_field)?);
            binds.push(Bind::Text(cursor.id.clone()));
        }
        let page_size = if query.page_size == 0 {
            DEFAULT_PAGE_SIZE
        } else {
            query.page_size
        };
        binds.push(Bind::Int(i64::from(page_size) + 1));
        let page = format!(
            "SELECT *, {sort_expr} AS {SORT_KEY} FROM {}{} ORDER BY {sort_expr} {direction}, id {direction} LIMIT ?",
            resource.table,
            where_clause(&conditions),
        );
        Ok(Statements {
            page,
            page_binds: binds,
            count,
            count_binds,
            page_size: usize::try_from(page_size).unwrap_or(usize::MAX),
            sort_kind: sort_field.kind,
        })
    }
}

fn where_clause(conditions: &[String]) -> String {
    if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    }
}

impl Resource {
    fn field(&self, name: &str, verb: &str) -> Result<&Field> {
        if let Some(field) = self.fields.iter().find(|f| f.names.contains(&name)) {
            if !matches!(field.kind, FieldKind::Values) {
                return Ok(field);
            }
        }
        if let Some((prefix, rest)) = name.split_once('.') {
            let values = self.fields.iter().find(|f| {
                matches!(f.kind, FieldKind::Values) && f.names.contains(&prefix) && !rest.is_empty()
            });
            if let Some(field) = values {
                return Ok(field);
            }
        }
        let known: Vec<String> = self
            .fields
            .iter()
            .map(|f| match f.names {
                names if matches!(f.kind, FieldKind::Values) => names
                    .iter()
                    .map(|n| format!("{n}.NAME"))
                    .collect::<Vec<_>>()
                    .join(", "),
                [name] => (*name).to_owned(),
                [name, aliases @ ..] => format!("{name} ({})", aliases.join(", ")),
                [] => String::new(),
            })
            .collect();
        Err(StoreError::InvalidArgument(format!(
            "cannot {verb} `{name}` in {}; use one of: {}",
            self.what,
            known.join(", ")
        )))
    }
}

impl Field {
    pub(super) const fn text(names: &'static [&'static str], column: &'static str) -> Field {
        Field {
            names,
            column,
            kind: FieldKind::Text,
            nullable: false,
        }
    }

    pub(super) const fn nullable_text(
        names: &'static [&'static str],
        column: &'static str,
    ) -> Field {
        Field {
            nullable: true,
            ..Field::text(names, column)
        }
    }

    pub(super) const fn time(names: &'static [&'static str], column: &'static str) -> Field {
        Field {
            names,
            column,
            kind: FieldKind::Time,
            nullable: false,
        }
    }

    pub(super) const fn nullable_time(
        names: &'static [&'static str],
        column: &'static str,
    ) -> Field {
        Field {
            nullable: true,
            ..Field::time(names, column)
        }
    }

    /// Values in `table.column`, one row per value, tied to the listed row by `table.key`.
    pub(super) const fn member(
        names: &'static [&'static str],
        table: &'static str,
        key: &'static str,
        column: &'static str,
    ) -> Field {
        Field {
            names,
            column,
            kind: FieldKind::Member { table, key },
            nullable: false,
        }
    }

    /// `PREFIX.NAME` filters on a run's parameters and metrics, one prefix per name.
    pub(super) const fn values(prefixes: &'static [&'static str]) -> Field {
        Field {
            names: prefixes,
            column: "",
            kind: FieldKind::Values,
            nullable: false,
        }
    }

    /// A text column whose values are `values` (a CHECK constraint guarantees it).
    pub(super) const fn closed_set(
        names: &'static [&'static str],
        column: &'static str,
        values: &'static [&'static str],
    ) -> Field {
        Field {
            names,
            column,
            kind: FieldKind::Enum(values),
            nullable: false,
        }
    }

    fn name(&self) -> &'static str {
        self.names.first().copied().unwrap_or(self.column)
    }

    /// The expression that sorts and compares: NULL becomes the kind's zero.
    fn compared_expr(&self) -> String {
        match (self.nullable, self.kind) {
            (false, _) => self.column.to_owned(),
            (true, FieldKind::Time) => format!("IFNULL({}, 0)", self.column),
            (
                true,
                FieldKind::Text | FieldKind::Enum(_) | FieldKind::Member { .. } | FieldKind::Values,
            ) => {
                format!("IFNULL({}, '')", self.column)
            }
        }
    }

    fn invalid_value(&self, op: PredicateOp, value: &FilterValue) -> StoreError {
        let expected = match (self.kind, op) {
            (FieldKind::Time, PredicateOp::IsSubstring) => {
                return StoreError::InvalidArgument(format!(
                    "`{}` is a time and cannot be tested with IS_SUBSTRING",
                    self.name()
                ))
            }
            (FieldKind::Time, PredicateOp::In) => "a list of integers (Unix seconds)",
            (FieldKind::Time, _) => "a timestamp or an integer (Unix seconds)",
            (_, PredicateOp::In) => "a list of strings",
            _ => "a string",
        };
        StoreError::InvalidArgument(format!(
            "`{}` with {op:?} takes {expected}, not {}",
            self.name(),
            value.kind()
        ))
    }
}

fn cursor_sort_value(cursor: &PageCursor, field: &Field) -> Result<Bind> {
    let value = match field.kind {
        FieldKind::Time => cursor.sort_value.as_i64().map(Bind::Int),
        FieldKind::Text | FieldKind::Enum(_) | FieldKind::Member { .. } | FieldKind::Values => {
            cursor.sort_value.as_str().map(|s| Bind::Text(s.to_owned()))
        }
    };
    value.ok_or_else(|| {
        StoreError::InvalidArgument(format!(
            "the page cursor does not belong to a list sorted by `{}`",
            field.name()
        ))
    })
}

fn condition(field: &Field, predicate: &Predicate, binds: &mut Vec<Bind>) -> Result<String> {
    match field.kind {
        FieldKind::Time => time_condition(field, predicate, binds),
        FieldKind::Text | FieldKind::Enum(_) => text_condition(field, predicate, binds),
        FieldKind::Member { table, key } => member_condition(field, table, key, predicate, binds),
        FieldKind::Values => {
            let (prefix, name) = predicate
                .field
                .split_once('.')
                .unwrap_or(("value", predicate.field.as_str()));
            super::values::condition(prefix, name, predicate, binds)
        }
    }
}

/// `id IN (SELECT key FROM table WHERE ...)`: EQUALS and IN ask for a row holding the value,
/// NOT_EQUALS for one not holding it, IS_SUBSTRING for one holding a value that contains it.
fn member_condition(
    field: &Field,
    table: &str,
    key: &str,
    predicate: &Predicate,
    binds: &mut Vec<Bind>,
) -> Result<String> {
    let column = field.column;
    let (test, negated) = match (&predicate.value, predicate.op) {
        (FilterValue::String(value), PredicateOp::Equals | PredicateOp::NotEquals) => {
            binds.push(Bind::Text(value.clone()));
            (format!("{column} = ?"), predicate.op == PredicateOp::NotEquals)
        }
        (FilterValue::String(value), PredicateOp::IsSubstring) => {
            binds.push(Bind::Text(value.clone()));
            (format!("instr({column}, ?) > 0"), false)
        }
        (FilterValue::StringList(values), PredicateOp::In) => {
            if values.is_empty() {
                return Ok("0 = 1".to_owned());
            }
            binds.extend(values.iter().cloned().map(Bind::Text));
            let marks = vec!["?"; values.len()].join(", ");
            (format!("{column} IN ({marks})"), false)
        }
        (other, op) => {
            return Err(StoreError::InvalidArgument(format!(
                "`{}` is tested with EQUALS, NOT_EQUALS, IN or IS_SUBSTRING on strings, not {op:?} with {}",
                field.name(),
                other.kind()
            )))
        }
    };
    let not = if negated { "NOT " } else { "" };
    Ok(format!(
        "id {not}IN (SELECT {key} FROM {table} WHERE {test})"
    ))
}

fn text_condition(field: &Field, predicate: &Predicate, binds: &mut Vec<Bind>) -> Result<String> {
    let expr = field.compared_expr();
    let op = predicate.op;
    let value = match &predicate.value {
        FilterValue::StringList(values) if op == PredicateOp::In => {
            return Ok(text_in(field, values, binds))
        }
        FilterValue::String(value) if op != PredicateOp::In => value,
        other => return Err(field.invalid_value(op, other)),
    };
    if let (PredicateOp::NotEquals, FieldKind::Enum(allowed)) = (op, field.kind) {
        let others: Vec<&str> = allowed.iter().copied().filter(|a| a != value).collect();
        // `storage_state <> 'ARCHIVED'` is `storage_state = 'AVAILABLE'`, which an index answers
        // in sort order. With several values left, IN would need a sort; `<>` keeps the scan.
        if let [other] = others[..] {
            binds.push(Bind::Text(other.to_owned()));
            return Ok(format!("{} = ?", field.column));
        }
    }
    let sql = match op {
        // A non-empty value never equals NULL, so the plain column (and its index) will do.
        PredicateOp::Equals if !value.is_empty() => format!("{} = ?", field.column),
        PredicateOp::Equals => format!("{expr} = ?"),
        PredicateOp::NotEquals => format!("{expr} <> ?"),
        PredicateOp::GreaterThan => format!("{expr} > ?"),
        PredicateOp::GreaterThanEquals => format!("{expr} >= ?"),
        PredicateOp::LessThan => format!("{expr} < ?"),
        PredicateOp::LessThanEquals => format!("{expr} <= ?"),
        // instr, not LIKE: case-sensitive, and `%` and `_` are ordinary characters.
        PredicateOp::IsSubstring => format!("instr({expr}, ?) > 0"),
        PredicateOp::In => unreachable!("IN took its list above"),
    };
    binds.push(Bind::Text(value.clone()));
    Ok(sql)
}

fn text_in(field: &Field, values: &[String], binds: &mut Vec<Bind>) -> String {
    if values.is_empty() {
        return "0 = 1".to_owned();
    }
    let column = if values.iter().any(String::is_empty) {
        field.compared_expr()
    } else {
        field.column.to_owned()
    };
    binds.extend(values.iter().cloned().map(Bind::Text));
    format!("{column} IN ({})", vec!["?"; values.len()].join(", "))
}

/// Time predicates compare whole seconds, as in KFP, while the columns hold milliseconds: second
/// `s` is the range `[s * 1000, (s + 1) * 1000)`, so every comparison stays an index range.
fn time_condition(field: &Field, predicate: &Predicate, binds: &mut Vec<Bind>) -> Result<String> {
    let expr = field.compared_expr();
    let op = predicate.op;
    let takes_one_value = !matches!(op, PredicateOp::In | PredicateOp::IsSubstring);
    let seconds = match &predicate.value {
        FilterValue::IntList(values) if op == PredicateOp::In => values.clone(),
        FilterValue::Int(value) if takes_one_value => vec![*value],
        FilterValue::Timestamp(time) if takes_one_value => vec![time.timestamp()],
        other => return Err(field.invalid_value(op, other)),
    };
    let start = |s: i64| s.saturating_mul(1000);
    let end = |s: i64| s.saturating_add(1).saturating_mul(1000);
    let range = |s: i64, binds: &mut Vec<Bind>| {
        binds.push(Bind::Int(start(s)));
        binds.push(Bind::Int(end(s)));
        format!("({expr} >= ? AND {expr} < ?)")
    };
    let Some(&first) = seconds.first() else {
        return Ok("0 = 1".to_owned());
    };
    let (sql, bound) = match op {
        PredicateOp::Equals => return Ok(range(first, binds)),
        PredicateOp::In => {
            let ranges: Vec<String> = seconds.iter().map(|s| range(*s, binds)).collect();
            return Ok(format!("({})", ranges.join(" OR ")));
        }
        PredicateOp::NotEquals => return Ok(format!("NOT {}", range(first, binds))),
        PredicateOp::GreaterThan => (format!("{expr} >= ?"), end(first)),
        PredicateOp::GreaterThanEquals => (format!("{expr} >= ?"), start(first)),
        PredicateOp::LessThan => (format!("{expr} < ?"), start(first)),
        PredicateOp::LessThanEquals => (format!("{expr} < ?"), end(first)),
        PredicateOp::IsSubstring => return Err(field.invalid_value(op, &predicate.value)),
    };
    binds.push(Bind::Int(bound));
    Ok(sql)
}

/// The query plan of `sql`, its details joined by `; `.
#[cfg(test)]
pub(super) async fn explain(pool: &SqlitePool, sql: &str, binds: &[Bind]) -> String {
    let explain = format!("EXPLAIN QUERY PLAN {sql}");
    let rows = bind_all(sqlx::query(&explain), binds)
        .fetch_all(pool)
        .await
        .expect("explained");
    let details: Vec<String> = rows
        .iter()
        .map(|row| row.try_get::<String, _>("detail").expect("detail"))
        .collect();
    details.join("; ")
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::FilterValue::{Int, IntList, String as Text, StringList, Timestamp};
    use crate::{PredicateOp::*, SortBy};

    const THINGS: Resource = Resource {
        what: "things",
        table: "things",
        fields: &[
            Field::text(&["thing_id", "id"], "id"),
            Field::time(&["created_at"], "created_at"),
            Field::nullable_time(&["finished_at"], "finished_at"),
            Field::nullable_text(&["owner"], "owner"),
            Field::closed_set(&["state"], "state", &["A", "B", "C"]),
            Field::closed_set(&["flag"], "flag", &["ON", "OFF"]),
        ],
    };

    fn where_of(predicate: Predicate) -> Result<(String, Vec<Bind>)> {
        let query = ListQuery::default().with_predicate(predicate);
        let statements = Statements::new(&THINGS, None, &query)?;
        let sql = statements
            .count
            .replace("SELECT count(*) FROM things WHERE ", "");
        Ok((sql, statements.count_binds))
    }

    #[test]
    fn time_values_compare_whole_seconds_as_index_ranges() {
        let at = chrono::Utc
            .timestamp_millis_opt(1_700_000_000_250)
            .single()
            .expect("valid time");
        let (sql, binds) =
            where_of(Predicate::new("created_at", Equals, Timestamp(at))).expect("valid predicate");
        assert_eq!(sql, "(created_at >= ? AND created_at < ?)");
        assert_eq!(
            binds,
            [Bind::Int(1_700_000_000_000), Bind::Int(1_700_000_001_000)]
        );
        let (sql, binds) =
            where_of(Predicate::new("finished_at", GreaterThan, Int(10))).expect("valid");
        assert_eq!(sql, "IFNULL(finished_at, 0) >= ?");
        assert_eq!(binds, [Bind::Int(11_000)]);
        let (sql, _) = where_of(Predicate::new("created_at", In, IntList(vec![1, 2]))).expect("in");
        assert_eq!(
            sql,
            "((created_at >= ? AND created_at < ?) OR (created_at >= ? AND created_at < ?))"
        );
    }

    #[test]
    fn two_value_sets_turn_not_equals_into_equals_and_nullable_text_compares_as_empty() {
        let (sql, binds) =
            where_of(Predicate::new("state", NotEquals, Text("B".into()))).expect("valid");
        assert_eq!(sql, "state <> ?", "two values left: no rewrite");
        assert_eq!(binds, [Bind::Text("B".into())]);
        let (sql, binds) =
            where_of(Predicate::new("flag", NotEquals, Text("ON".into()))).expect("valid");
        assert_eq!(sql, "flag = ?");
        assert_eq!(binds, [Bind::Text("OFF".into())]);
        let (sql, _) = where_of(Predicate::new("owner", Equals, Text("x".into()))).expect("ok");
        assert_eq!(sql, "owner = ?");
        let (sql, _) = where_of(Predicate::new("owner", Equals, Text("".into()))).expect("ok");
        assert_eq!(sql, "IFNULL(owner, '') = ?");
        let (sql, _) = where_of(Predicate::new("owner", In, StringList(vec![]))).expect("ok");
        assert_eq!(sql, "0 = 1");
    }

    #[test]
    fn unknown_fields_and_wrong_values_are_invalid_arguments() {
        let error = where_of(Predicate::new("colour", Equals, Text("red".into())))
            .expect_err("unknown field");
        let message = error.to_string();
        assert!(matches!(error, StoreError::InvalidArgument(_)), "{message}");
        assert!(
            message.contains("`colour`") && message.contains("thing_id (id)"),
            "{message}"
        );
        for (field, op, value) in [
            ("owner", Equals, Int(1)),
            ("owner", In, Text("x".into())),
            ("created_at", Equals, Text("yesterday".into())),
            ("created_at", IsSubstring, Int(1)),
            ("created_at", In, Int(1)),
        ] {
            let result = where_of(Predicate::new(field, op, value.clone()));
            assert!(
                matches!(result, Err(StoreError::InvalidArgument(_))),
                "{field} {op:?} {value:?}: {result:?}"
            );
        }
        let bad_cursor = ListQuery {
            sort: Some(SortBy::descending("created_at")),
            after: Some(PageCursor {
                sort_value: serde_json::json!("not a time"),
                id: "x".into(),
            }),
            ..Default::default()
        };
        assert!(matches!(
            Statements::new(&THINGS, None, &bad_cursor),
            Err(StoreError::InvalidArgument(_))
        ));
    }

    #[test]
    fn pages_continue_after_the_cursor_in_the_sort_direction() {
        let query = ListQuery {
            sort: Some(SortBy::descending("owner")),
            page_size: 5,
            after: Some(PageCursor {
                sort_value: serde_json::json!("bob"),
                id: "7".into(),
            }),
            ..Default::default()
        };
        let statements = Statements::new(&THINGS, Some(("parent", "p")), &query).expect("valid");
        assert_eq!(
            statements.page,
            "SELECT *, IFNULL(owner, '') AS list_sort_key FROM things WHERE parent = ? AND \
             (IFNULL(owner, ''), id) < (?, ?) ORDER BY IFNULL(owner, '') DESC, id DESC LIMIT ?"
        );
        assert_eq!(statements.page_binds.last(), Some(&Bind::Int(6)));
        assert_eq!(
            statements.count,
            "SELECT count(*) FROM things WHERE parent = ?"
        );
    }
}
