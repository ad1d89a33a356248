//! The CEL value model and its conversions to and from JSON.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde_json::Value as Json;

/// A runtime CEL value.
///
/// JSON numbers (from variables or `parseJson`) are `google.protobuf.Value`
/// numbers and therefore become [`CelValue::Double`], even when integral.
/// Integer literals written in an expression (`3`) are [`CelValue::Int`].
#[derive(Debug, Clone, PartialEq)]
pub enum CelValue {
    Null,
    Bool(bool),
    Int(i64),
    Double(f64),
    String(String),
    List(Vec<CelValue>),
    Map(BTreeMap<String, CelValue>),
}

impl CelValue {
    /// The CEL name of this value's type, as used in error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            CelValue::Null => "null_type",
            CelValue::Bool(_) => "bool",
            CelValue::Int(_) => "int",
            CelValue::Double(_) => "double",
            CelValue::String(_) => "string",
            CelValue::List(_) => "list",
            CelValue::Map(_) => "map",
        }
    }

    /// Converts to JSON. `Int` becomes a JSON integer; `Double` stays a JSON
    /// float (`3.0` serializes as `3.0`), except that NaN and infinities,
    /// which JSON cannot represent, become `null`.
    pub fn to_json(&self) -> Json {
        match self {
            CelValue::Null => Json::Null,
            CelValue::Bool(b) => Json::Bool(*b),
            CelValue::Int(i) => Json::from(*i),
            CelValue::Double(d) => serde_json::Number::from_f64(*d)
                .map(Json::Number)
                .unwrap_or(Json::Null),
            CelValue::String(s) => Json::String(s.clone()),
            CelValue::List(items) => Json::Array(items.iter().map(CelValue::to_json).collect()),
            CelValue::Map(map) => {
                Json::Object(map.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
        }
    }

    /// True if this value or any nested value is a NaN or infinite double.
    pub(super) fn has_non_finite(&self) -> bool {
        match self {
            CelValue::Double(d) => !d.is_finite(),
            CelValue::List(items) => items.iter().any(CelValue::has_non_finite),
            CelValue::Map(map) => map.values().any(CelValue::has_non_finite),
            _ => false,
        }
    }

    /// A rough measure of the memory/work needed to copy or scan this value.
    pub(super) fn cost(&self) -> usize {
        match self {
            CelValue::String(s) => 1 + s.len(),
            CelValue::List(items) => items
                .iter()
                .fold(1usize, |acc, v| acc.saturating_add(v.cost())),
            CelValue::Map(map) => map.iter().fold(1usize, |acc, (k, v)| {
                acc.saturating_add(k.len()).saturating_add(v.cost())
            }),
            _ => 1,
        }
    }
}

impl From<&Json> for CelValue {
    fn from(value: &Json) -> Self {
        match value {
            Json::Null => CelValue::Null,
            Json::Bool(b) => CelValue::Bool(*b),
            Json::Number(n) => CelValue::Double(n.as_f64().unwrap_or(f64::NAN)),
            Json::String(s) => CelValue::String(s.clone()),
            Json::Array(items) => CelValue::List(items.iter().map(CelValue::from).collect()),
            Json::Object(map) => CelValue::Map(
                map.iter()
                    .map(|(k, v)| (k.clone(), CelValue::from(v)))
                    .collect(),
            ),
        }
    }
}

impl From<Json> for CelValue {
    fn from(value: Json) -> Self {
        CelValue::from(&value)
    }
}

/// Orders an int against a double exactly (no rounding of the int).
/// Returns `None` when the double is NaN.
pub(super) fn cmp_int_double(i: i64, d: f64) -> Option<Ordering> {
    const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
    if d.is_nan() {
        return None;
    }
    if d >= TWO_POW_63 {
        return Some(Ordering::Less);
    }
    if d < -TWO_POW_63 {
        return Some(Ordering::Greater);
    }
    let whole = d.trunc();
    // In range [-2^63, 2^63), so the cast is exact.
    let whole_int = whole as i64;
    match i.cmp(&whole_int) {
        Ordering::Equal => 0.0f64.partial_cmp(&(d - whole)),
        other => Some(other),
    }
}

/// CEL equality: numbers compare numerically across int/double, containers
/// compare element-wise, and values of different kinds are simply unequal.
pub(super) fn values_equal(a: &CelValue, b: &CelValue) -> bool {
    match (a, b) {
        (CelValue::Null, CelValue::Null) => true,
        (CelValue::Bool(x), CelValue::Bool(y)) => x == y,
        (CelValue::Int(x), CelValue::Int(y)) => x == y,
        (CelValue::Double(x), CelValue::Double(y)) => x == y,
        (CelValue::Int(x), CelValue::Double(y)) | (CelValue::Double(y), CelValue::Int(x)) => {
            cmp_int_double(*x, *y) == Some(Ordering::Equal)
        }
        (CelValue::String(x), CelValue::String(y)) => x == y,
        (CelValue::List(x), CelValue::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| values_equal(p, q))
        }
        (CelValue::Map(x), CelValue::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| values_equal(v, w)))
        }
        _ => false,
    }
}

/// Formats a double like Go's `strconv.FormatFloat(d, 'f', -1, 64)`:
/// shortest round-trip digits, never an exponent (`3` not `3.0`).
pub(super) fn format_go_f(d: f64) -> String {
    if d.is_nan() {
        return "NaN".to_string();
    }
    if d.is_infinite() {
        return if d > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    // Rust's Display for f64 prints the shortest round-trip digits in
    // positional notation, which is exactly Go's 'f' with precision -1.
    format!("{d}")
}

/// Formats a double like Go's `fmt.Sprintf("%g", d)` (what cel-go's
/// `string(double)` does): shortest round-trip digits, in exponent form when
/// the decimal exponent is < -4 or >= 6 (`1e+06`, `1.5e-05`), else positional.
pub(super) fn format_go_g(d: f64) -> String {
    if !d.is_finite() {
        return format_go_f(d);
    }
    if d == 0.0 {
        return if d.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    // `{:e}` yields shortest digits as "[-]D[.DDD]e[-]X".
    let sci = format!("{d:e}");
    let (mantissa, exp_text) = match sci.split_once('e') {
        Some(parts) => parts,
        None => return format_go_f(d),
    };
    let exp: i64 = match exp_text.parse() {
        Ok(e) => e,
        Err(_) => return format_go_f(d),
    };
    let negative = mantissa.starts_with('-');
    let digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if !(-4..6).contains(&exp) {
        for (idx, digit) in digits.iter().enumerate() {
            if idx == 1 {
                out.push('.');
            }
            out.push(char::from(*digit));
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exp.unsigned_abs()));
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.extend(digits.iter().map(|b| char::from(*b)));
    } else {
        // 0 <= exp < 6: integer part has exp + 1 digits.
        let int_len = usize::try_from(exp).unwrap_or(0) + 1;
        for idx in 0..int_len {
            out.push(digits.get(idx).map_or('0', |b| char::from(*b)));
        }
        if digits.len() > int_len {
            out.push('.');
            out.extend(digits.iter().skip(int_len).map(|b| char::from(*b)));
        }
    }
    out
}

/// Text form of a JSON value as KFP's `PbValueToText` renders it: strings as
/// is, numbers like Go's `FormatFloat('f', -1)`, bools as `true`/`false`,
/// null as the empty string, lists and structs as compact JSON.
pub(super) fn json_text(value: &Json) -> String {
    match value {
        Json::Null => String::new(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) => format_go_f(n.as_f64().unwrap_or(f64::NAN)),
        Json::String(s) => s.clone(),
        Json::Array(_) | Json::Object(_) => value.to_string(),
    }
}
