//! Random and corrupted input: every parser answers with a value or an error, never a panic.

use proptest::prelude::*;
use serde_json::json;
use weir_api_model::*;

/// Text that looks like a filter: JSON punctuation, the keys and names of the format, numbers.
fn filter_like() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just(",".to_owned()),
        Just(":".to_owned()),
        Just("\"predicates\"".to_owned()),
        Just("\"operation\"".to_owned()),
        Just("\"key\"".to_owned()),
        Just("\"values\"".to_owned()),
        Just("\"int_value\"".to_owned()),
        Just("\"longValue\"".to_owned()),
        Just("\"string_value\"".to_owned()),
        Just("\"timestampValue\"".to_owned()),
        Just("\"int_values\"".to_owned()),
        Just("\"string_values\"".to_owned()),
        Just("\"IN\"".to_owned()),
        Just("\"EQUALS\"".to_owned()),
        Just("\"2026-01-01T00:00:00Z\"".to_owned()),
        Just("null".to_owned()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|n| n.to_string()),
        "\"[a-z_]{0,8}\"",
    ];
    proptest::collection::vec(pieces, 0..40).prop_map(|pieces| pieces.concat())
}

/// A well-formed filter with one predicate of random operation and value.
fn structured_filter() -> impl Strategy<Value = String> {
    let operation = prop_oneof![
        (-2i64..12).prop_map(|n| json!(n)),
        "[A-Z_]{0,12}".prop_map(|name| json!(name)),
    ];
    let value = prop_oneof![
        any::<i64>().prop_map(|n| ("int_value", json!(n))),
        any::<i64>().prop_map(|n| ("long_value", json!(n.to_string()))),
        ".{0,8}".prop_map(|s| ("stringValue", json!(s))),
        ".{0,30}".prop_map(|s| ("timestamp_value", json!(s))),
        proptest::collection::vec(any::<i32>(), 0..4)
            .prop_map(|v| ("int_values", json!({"values": v}))),
        proptest::collection::vec(".{0,4}", 0..4)
            .prop_map(|v| ("stringValues", json!({"values": v}))),
    ];
    (
        operation,
        "[a-z_]{0,10}",
        proptest::collection::vec(value, 0..3),
    )
        .prop_map(|(operation, key, values)| {
            let mut predicate = serde_json::Map::new();
            predicate.insert("operation".to_owned(), operation);
            predicate.insert("key".to_owned(), json!(key));
            for (field, value) in values {
                predicate.insert(field.to_owned(), value);
            }
            json!({"predicates": [predicate]}).to_string()
        })
}

proptest! {
    #[test]
    fn any_text_as_a_filter_is_answered(text in ".{0,200}") {
        let _ = parse_filter(&text);
    }

    #[test]
    fn filter_like_text_is_answered(text in filter_like()) {
        let _ = parse_filter(&text);
    }

    #[test]
    fn structured_filters_are_answered_consistently(text in structured_filter()) {
        if let Ok(parsed) = parse_filter(&text) {
            prop_assert_eq!(parsed.predicates.len(), 1);
            let predicate = &parsed.predicates[0];
            let is_list = matches!(predicate.value, PredicateValue::IntList(_) | PredicateValue::StringList(_));
            prop_assert_eq!(predicate.op == Operation::In, is_list);
            prop_assert!(!predicate.key.is_empty());
        }
    }

    #[test]
    fn any_text_as_sort_by_is_answered(text in ".{0,80}") {
        if let Ok(Some(sort)) = parse_sort_by(&text) {
            prop_assert!(!sort.field.is_empty());
            prop_assert!(!sort.field.contains(char::is_whitespace));
        }
    }

    #[test]
    fn any_text_as_a_page_token_is_answered(text in ".{0,200}") {
        let _ = decode_page_token(&text);
    }

    #[test]
    fn base64_garbage_as_a_page_token_is_answered(text in "[A-Za-z0-9_-]{0,300}") {
        let _ = decode_page_token(&text);
    }

    #[test]
    fn page_tokens_round_trip(field in ".{0,20}", descending: bool, filter in ".{0,40}", cursor in ".{0,40}") {
        let token = PageToken {
            sort: Some(SortSpec { field, descending }),
            filter_fingerprint: filter_fingerprint(&filter),
            cursor: json!([cursor, 1]),
        };
        prop_assert_eq!(decode_page_token(&encode_page_token(&token)), Ok(token));
    }

    #[test]
    fn corrupted_page_tokens_are_answered(position in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let token = PageToken {
            sort: None,
            filter_fingerprint: filter_fingerprint("{}"),
            cursor: json!({"created_at": "2026-01-01T00:00:00Z", "id": "r-1"}),
        };
        let mut encoded = encode_page_token(&token).into_bytes();
        let index = position.index(encoded.len());
        encoded[index] = byte;
        let corrupted = String::from_utf8_lossy(&encoded).into_owned();
        let _ = decode_page_token(&corrupted);
    }

    #[test]
    fn any_list_query_is_answered(
        page_token in proptest::option::of(".{0,40}"),
        page_size in proptest::option::of("-?[0-9]{0,12}"),
        sort_by in proptest::option::of(".{0,20}"),
        filter in proptest::option::of(filter_like()),
    ) {
        let query = ListQuery { page_token, page_size, sort_by, filter };
        if let Ok(options) = query.parse() {
            prop_assert!((1..=MAX_PAGE_SIZE).contains(&options.page_size));
        }
    }

    #[test]
    fn any_json_body_as_a_run_is_answered(text in filter_like()) {
        let _ = serde_json::from_str::<Run>(&text);
        let _ = serde_json::from_str::<RecurringRun>(&text);
    }
}

#[test]
fn deeply_nested_filters_are_refused_not_overflowed() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(parse_filter(&deep).is_err());
    let deep_spec = format!(
        r#"{{"pipeline_spec": {}1{}}}"#,
        "{\"a\":".repeat(10_000),
        "}".repeat(10_000)
    );
    assert!(serde_json::from_str::<Run>(&deep_spec).is_err());
}
