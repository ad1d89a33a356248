use serde_json::{Number, Value};

/// Rewrites integral doubles (`3.0`) as JSON integers (`3`), recursively, the way protobuf JSON
/// prints a `google.protobuf.Value`. KFP components need this: a Python `int` parameter
/// rejects `3.0`.
pub fn protojson_numbers(value: &Value) -> Value {
    match value {
        Value::Number(n) => Value::Number(integral(n).unwrap_or_else(|| n.clone())),
        Value::Array(items) => Value::Array(items.iter().map(protojson_numbers).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), protojson_numbers(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn integral(n: &Number) -> Option<Number> {
    if n.is_i64() || n.is_u64() {
        return None;
    }
    let f = n.as_f64()?;
    // Beyond 2^53 a double no longer holds every integer; keep it as it is.
    let exact = f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0;
    exact.then(|| Number::from(f as i64))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::protojson_numbers;

    #[test]
    fn integral_doubles_become_integers_everywhere() {
        let value = json!({"n": 3.0, "x": 0.5, "list": [1.0, 2.5, {"deep": -4.0}], "s": "3.0", "big": 1e300});
        let expected =
            json!({"n": 3, "x": 0.5, "list": [1, 2.5, {"deep": -4}], "s": "3.0", "big": 1e300});
        assert_eq!(protojson_numbers(&value), expected);
        assert!(!protojson_numbers(&value).to_string().contains("3.0,"));
    }
}
