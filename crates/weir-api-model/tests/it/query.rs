//! The list query parameters, read like KFP reads them.

use serde_json::json;
use weir_api_model::*;

use crate::samples;

fn one_predicate(filter: &str) -> ParsedPredicate {
    let parsed = parse_filter(filter).unwrap_or_else(|error| panic!("{filter}: {error}"));
    assert_eq!(parsed.predicates.len(), 1, "{filter}");
    parsed.predicates.into_iter().next().expect("one predicate")
}

fn filter_error(filter: &str) -> QueryError {
    match parse_filter(filter) {
        Ok(parsed) => panic!("{filter} was accepted as {parsed:?}"),
        Err(error) => error,
    }
}

#[test]
fn the_sdk_filter_is_read() {
    let predicate = one_predicate(
        r#"{"predicates": [{"operation": 1, "key": "display_name", "stringValue": "Default"}]}"#,
    );
    assert_eq!(
        predicate,
        ParsedPredicate {
            key: "display_name".to_owned(),
            op: Operation::Equals,
            value: PredicateValue::String("Default".to_owned()),
        }
    );
}

#[test]
fn every_value_field_is_read_in_both_spellings() {
    let cases = [
        (r#""int_value": 5"#, PredicateValue::Int(5)),
        (r#""intValue": "5""#, PredicateValue::Int(5)),
        (
            r#""long_value": "9007199254740993""#,
            PredicateValue::Int(9_007_199_254_740_993),
        ),
        (r#""longValue": 7"#, PredicateValue::Int(7)),
        (
            r#""string_value": """#,
            PredicateValue::String(String::new()),
        ),
        (
            r#""timestamp_value": "2026-01-01T00:00:00Z""#,
            PredicateValue::Timestamp(samples::time(0)),
        ),
        (
            r#""timestampValue": "2026-01-01T01:00:00+01:00""#,
            PredicateValue::Timestamp(samples::time(0)),
        ),
    ];
    for (value_field, expected) in cases {
        let filter =
            format!(r#"{{"predicates": [{{"operation": "EQUALS", "key": "k", {value_field}}}]}}"#);
        assert_eq!(one_predicate(&filter).value, expected, "{filter}");
    }
    let lists = [
        (
            r#""int_values": {"values": [1, "2"]}"#,
            PredicateValue::IntList(vec![1, 2]),
        ),
        (
            r#""longValues": {"values": ["3"]}"#,
            PredicateValue::IntList(vec![3]),
        ),
        (
            r#""stringValues": {"values": ["a", "b"]}"#,
            PredicateValue::StringList(vec!["a".to_owned(), "b".to_owned()]),
        ),
        (
            r#""string_values": {}"#,
            PredicateValue::StringList(Vec::new()),
        ),
    ];
    for (value_field, expected) in lists {
        let filter =
            format!(r#"{{"predicates": [{{"operation": 8, "key": "k", {value_field}}}]}}"#);
        let predicate = one_predicate(&filter);
        assert_eq!(
            (predicate.op, predicate.value),
            (Operation::In, expected),
            "{filter}"
        );
    }
}

#[test]
fn every_operation_is_read_by_name_and_number() {
    let operations = [
        (1, "EQUALS", Operation::Equals),
        (2, "NOT_EQUALS", Operation::NotEquals),
        (3, "GREATER_THAN", Operation::GreaterThan),
        (5, "GREATER_THAN_EQUALS", Operation::GreaterThanEquals),
        (6, "LESS_THAN", Operation::LessThan),
        (7, "LESS_THAN_EQUALS", Operation::LessThanEquals),
        (9, "IS_SUBSTRING", Operation::IsSubstring),
    ];
    for (number, name, expected) in operations {
        for spelled in [number.to_string(), format!("{name:?}")] {
            let filter = format!(
                r#"{{"predicates": [{{"operation": {spelled}, "key": "k", "string_value": "v"}}]}}"#
            );
            assert_eq!(one_predicate(&filter).op, expected, "{filter}");
        }
        assert_eq!(expected.name(), name);
    }
}

#[test]
fn predicates_are_all_kept_in_order() {
    let filter = json!({"predicates": [
        {"operation": "GREATER_THAN", "key": "created_at", "timestamp_value": "2026-01-01T00:00:00Z"},
        {"operation": "IS_SUBSTRING", "key": "display_name", "string_value": "nightly"}
    ]});
    let parsed = parse_filter(&filter.to_string()).expect("a valid filter");
    let keys: Vec<&str> = parsed.predicates.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, ["created_at", "display_name"]);
    assert_eq!(parse_filter(""), Ok(ParsedFilter::default()));
    assert_eq!(parse_filter("{}"), Ok(ParsedFilter::default()));
}

#[test]
fn malformed_filters_say_what_is_wrong() {
    let bad_json = filter_error("{predicates: []}");
    assert!(
        matches!(bad_json, QueryError::InvalidFilter { .. }),
        "{bad_json}"
    );
    assert!(bad_json
        .to_string()
        .starts_with("failed to parse valid filter from"));

    let unknown =
        filter_error(r#"{"predicates": [{"operation": "LIKE", "key": "k", "string_value": "v"}]}"#);
    assert!(
        unknown
            .to_string()
            .contains("unknown PredicateOperation \"LIKE\""),
        "{unknown}"
    );
    let unused_number =
        filter_error(r#"{"predicates": [{"operation": 4, "key": "k", "string_value": "v"}]}"#);
    assert!(
        unused_number.to_string().contains("number 4"),
        "{unused_number}"
    );
    let unknown_field =
        filter_error(r#"{"predicates": [{"operation": 1, "key": "k", "value": "v"}]}"#);
    assert!(
        unknown_field.to_string().contains("unknown field `value`"),
        "{unknown_field}"
    );
    let overflow =
        filter_error(r#"{"predicates": [{"operation": 1, "key": "k", "int_value": 2147483648}]}"#);
    assert!(overflow.to_string().contains("int32"), "{overflow}");

    let cases = [
        (
            r#"{"predicates": [{"key": "k", "string_value": "v"}]}"#,
            QueryError::MissingOperation {
                key: "k".to_owned(),
            },
        ),
        (
            r#"{"predicates": [{"operation": "OPERATION_UNSPECIFIED", "key": "k", "string_value": "v"}]}"#,
            QueryError::MissingOperation {
                key: "k".to_owned(),
            },
        ),
        (
            r#"{"predicates": [{"operation": 1, "string_value": "v"}]}"#,
            QueryError::EmptyPredicateKey {
                operation: Operation::Equals,
            },
        ),
        (
            r#"{"predicates": [{"operation": 1, "key": "k"}]}"#,
            QueryError::MissingPredicateValue {
                key: "k".to_owned(),
            },
        ),
        (
            r#"{"predicates": [{"operation": 1, "key": "k", "int_value": 1, "stringValue": "v"}]}"#,
            QueryError::SeveralPredicateValues {
                key: "k".to_owned(),
                fields: vec!["int_value", "string_value"],
            },
        ),
        (
            r#"{"predicates": [{"operation": "IN", "key": "k", "string_value": "v"}]}"#,
            QueryError::InWithoutList {
                key: "k".to_owned(),
            },
        ),
        (
            r#"{"predicates": [{"operation": "EQUALS", "key": "k", "string_values": {"values": ["v"]}}]}"#,
            QueryError::ListWithScalarOperation {
                key: "k".to_owned(),
                operation: Operation::Equals,
            },
        ),
        (
            r#"{"predicates": [{"operation": "IS_SUBSTRING", "key": "k", "int_value": 3}]}"#,
            QueryError::SubstringWithoutString {
                key: "k".to_owned(),
            },
        ),
    ];
    for (filter, expected) in cases {
        assert_eq!(filter_error(filter), expected, "{filter}");
    }
}

#[test]
fn sort_by_is_field_and_optional_direction() {
    let sort = |field: &str, descending: bool| {
        Ok(Some(SortSpec {
            field: field.to_owned(),
            descending,
        }))
    };
    assert_eq!(parse_sort_by(""), Ok(None));
    assert_eq!(parse_sort_by("   "), Ok(None));
    assert_eq!(parse_sort_by("created_at"), sort("created_at", false));
    assert_eq!(parse_sort_by("created_at asc"), sort("created_at", false));
    assert_eq!(parse_sort_by("created_at DESC"), sort("created_at", true));
    assert_eq!(
        parse_sort_by(" Display_Name  Desc "),
        sort("display_name", true)
    );
    for invalid in ["created_at down", "a b c", "created_at desc asc"] {
        let error = parse_sort_by(invalid).expect_err("an invalid sort_by");
        assert!(
            error
                .to_string()
                .starts_with("Received invalid sort by format"),
            "{error}"
        );
    }
}

#[test]
fn page_size_defaults_caps_and_refuses_negatives() {
    assert_eq!(page_size(0), Ok(DEFAULT_PAGE_SIZE));
    assert_eq!(page_size(1), Ok(1));
    assert_eq!(page_size(200), Ok(200));
    assert_eq!(page_size(201), Ok(MAX_PAGE_SIZE));
    assert_eq!(page_size(i64::MAX), Ok(MAX_PAGE_SIZE));
    assert_eq!(
        page_size(-1),
        Err(QueryError::NegativePageSize { page_size: -1 })
    );
    assert_eq!(parse_page_size(None), Ok(20));
    assert_eq!(parse_page_size(Some("")), Ok(20));
    assert_eq!(parse_page_size(Some("50")), Ok(50));
    assert!(matches!(
        parse_page_size(Some("ten")),
        Err(QueryError::InvalidPageSize { .. })
    ));
}

fn query(page_token: Option<&str>, sort_by: Option<&str>, filter: Option<&str>) -> ListQuery {
    ListQuery {
        page_token: page_token.map(str::to_owned),
        page_size: Some("2".to_owned()),
        sort_by: sort_by.map(str::to_owned),
        filter: filter.map(str::to_owned),
    }
}

#[test]
fn paging_carries_sort_and_filter_from_page_to_page() {
    let filter = r#"{"predicates": [{"operation": 9, "key": "display_name", "stringValue": "n"}]}"#;
    let first = query(None, Some("created_at desc"), Some(filter))
        .parse()
        .expect("a first page");
    assert_eq!(first.page_size, 2);
    assert_eq!(first.cursor, None);
    assert_eq!(first.filter.predicates.len(), 1);
    let token = first.next_page_token(json!(["2026-01-01T00:00:00Z", "run-2"]));

    let second = query(Some(&token), Some("created_at desc"), Some(filter))
        .parse()
        .expect("a second page");
    assert_eq!(second.sort, first.sort);
    assert_eq!(
        second.cursor,
        Some(json!(["2026-01-01T00:00:00Z", "run-2"]))
    );
    assert_eq!(second.filter, first.filter);
    let third_token = second.next_page_token(json!(["2025-12-31T00:00:00Z", "run-1"]));
    assert!(
        query(Some(&third_token), Some("created_at desc"), Some(filter))
            .parse()
            .is_ok()
    );

    let other_sort = query(Some(&token), Some("created_at"), Some(filter)).parse();
    assert_eq!(other_sort, Err(QueryError::PageTokenMismatch));
    let other_filter = query(Some(&token), Some("created_at desc"), Some("{}")).parse();
    assert_eq!(other_filter, Err(QueryError::PageTokenMismatch));
    let no_filter = query(Some(&token), None, None).parse();
    assert_eq!(no_filter, Err(QueryError::PageTokenNeedsFilter));
}

#[test]
fn a_bare_page_token_keeps_its_sort_order() {
    let first = query(None, Some("display_name"), None)
        .parse()
        .expect("a first page");
    let token = first.next_page_token(json!({"after": "b"}));
    let second = query(Some(&token), None, None)
        .parse()
        .expect("a second page");
    assert_eq!(second.sort, first.sort);
    let garbage = query(Some("not a token"), None, None).parse();
    assert!(
        matches!(garbage, Err(QueryError::InvalidPageToken { .. })),
        "{garbage:?}"
    );
    let empty_token = query(Some(""), None, None).parse().expect("no token");
    assert_eq!(empty_token.cursor, None);
}

#[test]
fn list_query_reads_from_a_query_string_shape() {
    let parsed: ListQuery = serde_json::from_value(json!({
        "page_size": "5", "sort_by": "created_at desc", "namespace": "kubeflow"
    }))
    .expect("a list query");
    assert_eq!(parsed.page_size.as_deref(), Some("5"));
    assert_eq!(parsed.filter, None);
}
