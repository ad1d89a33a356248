//! Parameter values: their text form in command lines, conversions by declared type, and
//! parsing of output files. All follow KFP's launcher and driver.

use serde_json::{Number, Value};
use weir_spec::model::{protojson_numbers, ParameterType};

/// A value as text, the way KFP substitutes `{{$.inputs.parameters['x']}}`: strings raw, numbers
/// without a needless fraction (`3`, not `3.0`), booleans `true`/`false`, lists and structs as JSON.
pub fn text_form(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => number_text(n),
        Value::Bool(b) => b.to_string(),
        Value::Null => String::new(),
        other => protojson_numbers(other).to_string(),
    }
}

fn number_text(n: &Number) -> String {
    if n.is_i64() || n.is_u64() {
        return n.to_string();
    }
    let f = n.as_f64().unwrap_or_default();
    if f.fract() == 0.0 && f.abs() < 1e21 {
        format!("{f:.0}")
    } else {
        // Rust prints the shortest representation that round-trips, as Go's 'f', -1 does.
        format!("{f}")
    }
}

/// Converts a resolved value to the type a component declares, as KFP's driver does: a STRING
/// input takes any value as text; other types must already match (integral doubles are
/// integers). Returns a message on mismatch.
pub fn coerce(value: Value, declared: Option<&ParameterType>) -> Result<Value, String> {
    let Some(declared) = declared else {
        return Ok(protojson_numbers(&value));
    };
    if value.is_null() {
        return Ok(value);
    }
    match declared {
        ParameterType::String if !value.is_string() => Ok(Value::String(text_form(&value))),
        ParameterType::Unknown(_) | ParameterType::TaskConfig => Ok(protojson_numbers(&value)),
        ParameterType::List | ParameterType::Struct if value.is_string() => {
            // A JSON text (e.g. an output file read as STRING) is accepted as the structure it holds.
            let text = value.as_str().unwrap_or_default();
            match serde_json::from_str::<Value>(text) {
                Ok(parsed) if declared.accepts(&parsed) => Ok(protojson_numbers(&parsed)),
                _ => Err(format!("expects {declared}, got the string {value}")),
            }
        }
        _ if declared.accepts(&value) => Ok(protojson_numbers(&value)),
        _ => Err(format!("expects {declared}, got {}", describe(&value))),
    }
}

fn describe(value: &Value) -> String {
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a struct",
    };
    let text = value.to_string();
    if text.len() > 60 {
        kind.to_owned()
    } else {
        format!("{kind} ({text})")
    }
}

/// Parses what a component wrote to an output parameter file (KFP `TextToPbValue`): STRING is
/// taken verbatim, numbers and booleans after trimming, lists and structs as JSON.
pub fn parse_output_text(text: &str, declared: &ParameterType) -> Result<Value, String> {
    let trimmed = text.trim();
    match declared {
        ParameterType::String | ParameterType::Unknown(_) => Ok(Value::String(text.to_owned())),
        ParameterType::NumberInteger => trimmed
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| format!("`{trimmed}` is not an integer")),
        ParameterType::NumberDouble => trimmed
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| format!("`{trimmed}` is not a number")),
        ParameterType::Boolean => match trimmed {
            "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(Value::Bool(true)),
            "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(Value::Bool(false)),
            _ => Err(format!("`{trimmed}` is not a boolean")),
        },
        ParameterType::List
        | ParameterType::Struct
        | ParameterType::TaskFinalStatus
        | ParameterType::TaskConfig => {
            let parsed: Value =
                serde_json::from_str(trimmed).map_err(|e| format!("not JSON: {e}"))?;
            if declared.accepts(&parsed) {
                Ok(protojson_numbers(&parsed))
            } else {
                Err(format!(
                    "expected {declared}, the JSON is {}",
                    describe(&parsed)
                ))
            }
        }
    }
}

/// Parses a `--param name=value` text by the declared type.
pub fn parse_cli_value(text: &str, declared: Option<&ParameterType>) -> Result<Value, String> {
    match declared {
        None | Some(ParameterType::String) | Some(ParameterType::Unknown(_)) => {
            Ok(Value::String(text.to_owned()))
        }
        Some(ParameterType::NumberDouble) => parse_output_text(text, &ParameterType::NumberDouble),
        Some(ParameterType::Boolean) => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(Value::Bool(true)),
            "false" | "0" | "no" => Ok(Value::Bool(false)),
            _ => Err(format!("`{text}` is not a boolean (use true or false)")),
        },
        Some(other) => parse_output_text(text, other),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn text_forms_match_the_kfp_launcher() {
        assert_eq!(text_form(&json!("a b")), "a b");
        assert_eq!(text_form(&json!(3.0)), "3");
        assert_eq!(text_form(&json!(3)), "3");
        assert_eq!(text_form(&json!(0.5)), "0.5");
        assert_eq!(text_form(&json!(true)), "true");
        assert_eq!(text_form(&json!([1.0, "x"])), r#"[1,"x"]"#);
        assert_eq!(text_form(&json!({"k": 2.0})), r#"{"k":2}"#);
    }

    #[test]
    fn coercion_follows_the_driver() {
        assert_eq!(
            coerce(json!(3.0), Some(&ParameterType::NumberInteger)),
            Ok(json!(3))
        );
        assert_eq!(
            coerce(json!(3), Some(&ParameterType::String)),
            Ok(json!("3"))
        );
        assert_eq!(
            coerce(json!([1]), Some(&ParameterType::String)),
            Ok(json!("[1]"))
        );
        assert_eq!(
            coerce(json!("[1, 2]"), Some(&ParameterType::List)),
            Ok(json!([1, 2]))
        );
        assert!(coerce(json!("x"), Some(&ParameterType::NumberInteger)).is_err());
        assert!(coerce(json!(2.5), Some(&ParameterType::NumberInteger)).is_err());
        assert_eq!(
            coerce(json!(2), Some(&ParameterType::NumberDouble)),
            Ok(json!(2))
        );
    }

    #[test]
    fn output_files_parse_by_type() {
        assert_eq!(
            parse_output_text("4\n", &ParameterType::NumberInteger),
            Ok(json!(4))
        );
        assert_eq!(
            parse_output_text("hi\n", &ParameterType::String),
            Ok(json!("hi\n"))
        );
        assert_eq!(
            parse_output_text(" True ", &ParameterType::Boolean),
            Ok(json!(true))
        );
        assert_eq!(
            parse_output_text("[1.0, 2]", &ParameterType::List),
            Ok(json!([1, 2]))
        );
        assert!(parse_output_text("{}", &ParameterType::List).is_err());
        assert!(parse_output_text("x", &ParameterType::NumberDouble).is_err());
    }
}
