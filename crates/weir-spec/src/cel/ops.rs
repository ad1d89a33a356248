//! Value-level operations used by the evaluator: errors, member access,
//! indexing, operators and conversions.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeMap;

use super::ast::{BinaryOp, UnaryOp};
use super::value::{cmp_int_double, format_go_g, CelValue};
use super::CelError;

pub(super) type Val<'a> = Cow<'a, CelValue>;

pub(super) fn err(message: impl Into<String>) -> CelError {
    CelError::Eval {
        message: message.into(),
    }
}

pub(super) fn too_complex(message: impl Into<String>) -> CelError {
    CelError::TooComplex {
        message: message.into(),
    }
}

/// At most 64 characters of `s`, for error messages.
pub(super) fn preview(s: &str) -> String {
    let mut out: String = s.chars().take(64).collect();
    if out.len() < s.len() {
        out.push_str("...");
    }
    out
}

pub(super) fn no_overload(what: String) -> CelError {
    err(format!("no such overload: {what}"))
}

#[cold]
pub(super) fn undeclared(name: &str) -> CelError {
    err(format!("undeclared reference to '{name}'"))
}

#[cold]
pub(super) fn non_bool_condition(v: &CelValue) -> CelError {
    no_overload(format!(
        "{} ? _ : _ (condition must be bool)",
        v.type_name()
    ))
}

/// Adds a map-literal entry; keys must be strings and unique.
pub(super) fn insert_entry(
    map: &mut BTreeMap<String, CelValue>,
    key: &CelValue,
    value: CelValue,
) -> Result<(), CelError> {
    let CelValue::String(key) = key else {
        return Err(err(format!(
            "unsupported map key type {} (only string keys are supported)",
            key.type_name()
        )));
    };
    if map.contains_key(key) {
        return Err(err(format!("duplicate map key '{}'", preview(key))));
    }
    map.insert(key.clone(), value);
    Ok(())
}

pub(super) fn select<'a>(v: Val<'a>, field: &str) -> Result<Val<'a>, CelError> {
    let missing = || err(format!("no such key: '{}'", preview(field)));
    match v {
        Cow::Borrowed(CelValue::Map(m)) => m.get(field).map(Cow::Borrowed).ok_or_else(missing),
        Cow::Owned(CelValue::Map(mut m)) => m.remove(field).map(Cow::Owned).ok_or_else(missing),
        other => Err(no_overload(format!(
            "field selection '.{}' on {}",
            preview(field),
            other.type_name()
        ))),
    }
}

pub(super) fn list_position(index: &CelValue, len: usize) -> Result<usize, CelError> {
    let i = match index {
        CelValue::Int(i) => *i,
        CelValue::Double(d) if d.fract() == 0.0 && d.abs() < 9.0e18 => *d as i64,
        other => {
            return Err(no_overload(format!(
                "list index of type {}",
                other.type_name()
            )));
        }
    };
    usize::try_from(i)
        .ok()
        .filter(|p| *p < len)
        .ok_or_else(|| err(format!("index out of range: {i} (list size {len})")))
}

pub(super) fn index_value<'a>(v: Val<'a>, index: &CelValue) -> Result<Val<'a>, CelError> {
    match (&*v, index) {
        (CelValue::List(items), _) => {
            let pos = list_position(index, items.len())?;
            let missing = || err("index out of range");
            match v {
                Cow::Borrowed(CelValue::List(items)) => {
                    items.get(pos).map(Cow::Borrowed).ok_or_else(missing)
                }
                Cow::Owned(CelValue::List(items)) => items
                    .into_iter()
                    .nth(pos)
                    .map(Cow::Owned)
                    .ok_or_else(missing),
                _ => Err(missing()),
            }
        }
        (CelValue::Map(_), CelValue::String(key)) => select(v, key),
        (CelValue::Map(_), other) => Err(err(format!(
            "unsupported map key type {} (only string keys are supported)",
            other.type_name()
        ))),
        (other, _) => Err(no_overload(format!(
            "index operation on {}",
            other.type_name()
        ))),
    }
}

pub(super) fn unary(op: UnaryOp, v: &CelValue) -> Result<CelValue, CelError> {
    match (op, v) {
        (UnaryOp::Not, CelValue::Bool(b)) => Ok(CelValue::Bool(!b)),
        (UnaryOp::Neg, CelValue::Int(i)) => i
            .checked_neg()
            .map(CelValue::Int)
            .ok_or_else(|| err("integer overflow in negation")),
        (UnaryOp::Neg, CelValue::Double(d)) => Ok(CelValue::Double(-d)),
        (UnaryOp::Not, other) => Err(no_overload(format!("!{}", other.type_name()))),
        (UnaryOp::Neg, other) => Err(no_overload(format!("-{}", other.type_name()))),
    }
}

pub(super) fn int_arithmetic(op: BinaryOp, x: i64, y: i64) -> Result<CelValue, CelError> {
    let result = match op {
        BinaryOp::Add => x.checked_add(y),
        BinaryOp::Sub => x.checked_sub(y),
        BinaryOp::Mul => x.checked_mul(y),
        BinaryOp::Div if y == 0 => return Err(err("division by zero")),
        BinaryOp::Div => x.checked_div(y),
        BinaryOp::Rem if y == 0 => return Err(err("modulus by zero")),
        BinaryOp::Rem => x.checked_rem(y),
        _ => None,
    };
    result
        .map(CelValue::Int)
        .ok_or_else(|| err(format!("integer overflow in {x} {} {y}", op.symbol())))
}

/// Ordering for `< <= > >=`; `Ok(None)` means unordered (NaN involved).
pub(super) fn compare(
    a: &CelValue,
    b: &CelValue,
    op: BinaryOp,
) -> Result<Option<Ordering>, CelError> {
    Ok(match (a, b) {
        (CelValue::Int(x), CelValue::Int(y)) => Some(x.cmp(y)),
        (CelValue::Double(x), CelValue::Double(y)) => x.partial_cmp(y),
        (CelValue::Int(x), CelValue::Double(y)) => cmp_int_double(*x, *y),
        (CelValue::Double(x), CelValue::Int(y)) => cmp_int_double(*y, *x).map(Ordering::reverse),
        (CelValue::String(x), CelValue::String(y)) => Some(x.cmp(y)),
        (CelValue::Bool(x), CelValue::Bool(y)) => Some(x.cmp(y)),
        _ => {
            return Err(no_overload(format!(
                "{} {} {}",
                a.type_name(),
                op.symbol(),
                b.type_name()
            )))
        }
    })
}

pub(super) fn to_int(v: &CelValue) -> Result<i64, CelError> {
    const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
    match v {
        CelValue::Int(i) => Ok(*i),
        CelValue::Double(d) => {
            let t = d.trunc();
            if t.is_finite() && (-TWO_POW_63..TWO_POW_63).contains(&t) {
                Ok(t as i64)
            } else {
                Err(err(format!("range error converting {d} to int")))
            }
        }
        CelValue::String(s) => s
            .parse::<i64>()
            .map_err(|_| err(format!("cannot convert string '{}' to int", preview(s)))),
        other => Err(no_overload(format!("int({})", other.type_name()))),
    }
}

pub(super) fn to_double(v: &CelValue) -> Result<f64, CelError> {
    match v {
        CelValue::Int(i) => Ok(*i as f64),
        CelValue::Double(d) => Ok(*d),
        CelValue::String(s) => s
            .parse::<f64>()
            .map_err(|_| err(format!("cannot convert string '{}' to double", preview(s)))),
        other => Err(no_overload(format!("double({})", other.type_name()))),
    }
}

pub(super) fn to_string_value(v: &CelValue) -> Result<String, CelError> {
    match v {
        CelValue::String(s) => Ok(s.clone()),
        CelValue::Int(i) => Ok(i.to_string()),
        CelValue::Double(d) => Ok(format_go_g(*d)),
        CelValue::Bool(b) => Ok(b.to_string()),
        other => Err(no_overload(format!("string({})", other.type_name()))),
    }
}

pub(super) fn to_bool(v: &CelValue) -> Result<bool, CelError> {
    match v {
        CelValue::Bool(b) => Ok(*b),
        CelValue::String(s) => match s.as_str() {
            "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
            "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
            _ => Err(err(format!(
                "cannot convert string '{}' to bool",
                preview(s)
            ))),
        },
        other => Err(no_overload(format!("bool({})", other.type_name()))),
    }
}
