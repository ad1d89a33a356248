//! Tree-walking evaluator. Values borrowed from the environment or the AST
//! are passed around as `Cow` so that member access and indexing never copy
//! whole structures; every copy and every size-dependent operation is
//! charged to a work budget.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeMap;

use super::ast::{BinaryOp, Kind, Node, UnaryOp};
use super::ops::{
    compare, err, index_value, insert_entry, int_arithmetic, no_overload, non_bool_condition,
    select, to_bool, to_double, to_int, to_string_value, too_complex, unary, undeclared, Val,
};
use super::value::{values_equal, CelValue};
use super::{CelError, Env, MAX_EVAL_COST, MAX_LIST_LEN, MAX_STRING_BYTES};

pub(super) struct Evaluator<'a> {
    env: &'a Env,
    spent: usize,
}

impl<'a> Evaluator<'a> {
    pub(super) fn new(env: &'a Env) -> Self {
        Evaluator { env, spent: 0 }
    }

    fn charge(&mut self, units: usize) -> Result<(), CelError> {
        self.spent = self.spent.saturating_add(units);
        if self.spent > MAX_EVAL_COST {
            return Err(too_complex(format!(
                "evaluation exceeds the work budget of {MAX_EVAL_COST} units"
            )));
        }
        Ok(())
    }

    /// Turns a possibly borrowed value into an owned one, paying for the copy.
    fn owned(&mut self, v: Val<'a>) -> Result<CelValue, CelError> {
        if let Cow::Borrowed(b) = &v {
            self.charge(b.cost())?;
        }
        Ok(v.into_owned())
    }

    /// Evaluates `node`. This function is on the recursive path, so it only
    /// dispatches; each case lives in its own (small-framed) method.
    pub(super) fn eval(&mut self, node: &'a Node) -> Result<Val<'a>, CelError> {
        self.charge(1)?;
        match &node.kind {
            Kind::Lit(v) => Ok(Cow::Borrowed(v)),
            Kind::Ident(name) => self.ident(name),
            Kind::Select(operand, field) => self.eval_select(operand, field),
            Kind::Has(operand, field) => self.eval_has(operand, field),
            Kind::Index(operand, index) => self.eval_index(operand, index),
            Kind::Call(name, args) => self.call(name, args),
            Kind::Method(target, name, args) => self.method(target, name, args),
            Kind::List(items) => self.eval_list(items),
            Kind::Map(entries) => self.eval_map(entries),
            Kind::Unary(op, operand) => self.eval_unary(*op, operand),
            Kind::Binary(op, lhs, rhs) => self.eval_binary(*op, lhs, rhs),
            Kind::And(items) => self.logical(items, false),
            Kind::Or(items) => self.logical(items, true),
            Kind::Cond(cond, then, otherwise) => self.eval_cond(cond, then, otherwise),
        }
    }

    fn ident(&mut self, name: &str) -> Result<Val<'a>, CelError> {
        match self.env.get(name) {
            Some(v) => Ok(Cow::Borrowed(v)),
            None => Err(undeclared(name)),
        }
    }

    fn eval_select(&mut self, operand: &'a Node, field: &str) -> Result<Val<'a>, CelError> {
        let v = self.eval(operand)?;
        select(v, field)
    }

    fn eval_has(&mut self, operand: &'a Node, field: &str) -> Result<Val<'a>, CelError> {
        match &*self.eval(operand)? {
            CelValue::Map(m) => Ok(Cow::Owned(CelValue::Bool(m.contains_key(field)))),
            other => Err(no_overload(format!("has() on {}", other.type_name()))),
        }
    }

    fn eval_index(&mut self, operand: &'a Node, index: &'a Node) -> Result<Val<'a>, CelError> {
        let v = self.eval(operand)?;
        let i = self.eval(index)?;
        index_value(v, &i)
    }

    fn eval_list(&mut self, items: &'a [Node]) -> Result<Val<'a>, CelError> {
        if items.len() > MAX_LIST_LEN {
            return Err(too_complex("list literal too long"));
        }
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let v = self.eval(item)?;
            out.push(self.owned(v)?);
        }
        Ok(Cow::Owned(CelValue::List(out)))
    }

    fn eval_map(&mut self, entries: &'a [(Node, Node)]) -> Result<Val<'a>, CelError> {
        let mut out = BTreeMap::new();
        for (k, v) in entries {
            let key = self.eval(k)?;
            let value = self.eval(v)?;
            let value = self.owned(value)?;
            insert_entry(&mut out, &key, value)?;
        }
        Ok(Cow::Owned(CelValue::Map(out)))
    }

    fn eval_unary(&mut self, op: UnaryOp, operand: &'a Node) -> Result<Val<'a>, CelError> {
        let v = self.eval(operand)?;
        unary(op, &v).map(Cow::Owned)
    }

    fn eval_binary(
        &mut self,
        op: BinaryOp,
        lhs: &'a Node,
        rhs: &'a Node,
    ) -> Result<Val<'a>, CelError> {
        let a = self.eval(lhs)?;
        let b = self.eval(rhs)?;
        self.binary(op, a, b)
    }

    fn eval_cond(
        &mut self,
        cond: &'a Node,
        then: &'a Node,
        otherwise: &'a Node,
    ) -> Result<Val<'a>, CelError> {
        let branch = match &*self.eval(cond)? {
            CelValue::Bool(true) => then,
            CelValue::Bool(false) => otherwise,
            other => return Err(non_bool_condition(other)),
        };
        self.eval(branch)
    }

    /// `&&` (decisive = false) and `||` (decisive = true) with CEL's
    /// commutative error handling: a decisive operand wins over errors and
    /// non-bool operands anywhere in the chain; otherwise the first error is
    /// reported. Work-budget errors are never absorbed.
    fn logical(&mut self, items: &'a [Node], decisive: bool) -> Result<Val<'a>, CelError> {
        let mut first_err = None;
        for item in items {
            match self.eval(item) {
                Ok(v) => match &*v {
                    CelValue::Bool(b) if *b == decisive => {
                        return Ok(Cow::Owned(CelValue::Bool(decisive)));
                    }
                    CelValue::Bool(_) => {}
                    other => {
                        let op = if decisive { "||" } else { "&&" };
                        first_err.get_or_insert_with(|| {
                            no_overload(format!(
                                "{} {op} _ (operand must be bool)",
                                other.type_name()
                            ))
                        });
                    }
                },
                Err(e @ CelError::TooComplex { .. }) => return Err(e),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(Cow::Owned(CelValue::Bool(!decisive))),
        }
    }

    fn binary(&mut self, op: BinaryOp, a: Val<'a>, b: Val<'a>) -> Result<Val<'a>, CelError> {
        let result = match op {
            BinaryOp::Eq | BinaryOp::Ne => {
                self.charge(comparison_cost(&a, &b))?;
                CelValue::Bool(values_equal(&a, &b) == (op == BinaryOp::Eq))
            }
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
                self.charge(comparison_cost(&a, &b))?;
                let ord = compare(&a, &b, op)?;
                CelValue::Bool(ord.is_some_and(|o| match op {
                    BinaryOp::Lt => o == Ordering::Less,
                    BinaryOp::Le => o != Ordering::Greater,
                    BinaryOp::Gt => o == Ordering::Greater,
                    _ => o != Ordering::Less,
                }))
            }
            BinaryOp::In => match (&*a, &*b) {
                (_, CelValue::List(items)) => {
                    self.charge(b.cost())?;
                    CelValue::Bool(items.iter().any(|item| values_equal(&a, item)))
                }
                (CelValue::String(key), CelValue::Map(m)) => CelValue::Bool(m.contains_key(key)),
                (_, CelValue::Map(_)) => CelValue::Bool(false),
                _ => {
                    return Err(no_overload(format!(
                        "{} in {}",
                        a.type_name(),
                        b.type_name()
                    )))
                }
            },
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => {
                return self.arithmetic(op, a, b).map(Cow::Owned);
            }
        };
        Ok(Cow::Owned(result))
    }

    fn arithmetic(&mut self, op: BinaryOp, a: Val<'a>, b: Val<'a>) -> Result<CelValue, CelError> {
        match (op, &*a, &*b) {
            (_, CelValue::Int(x), CelValue::Int(y)) => int_arithmetic(op, *x, *y),
            (_, CelValue::Double(x), CelValue::Double(y)) if op != BinaryOp::Rem => {
                Ok(CelValue::Double(match op {
                    BinaryOp::Add => x + y,
                    BinaryOp::Sub => x - y,
                    BinaryOp::Mul => x * y,
                    _ => x / y,
                }))
            }
            (BinaryOp::Add, CelValue::String(x), CelValue::String(y)) => {
                let len = x.len().saturating_add(y.len());
                if len > MAX_STRING_BYTES {
                    return Err(too_complex(format!(
                        "string concatenation result exceeds {MAX_STRING_BYTES} bytes"
                    )));
                }
                self.charge(len)?;
                let mut out = String::with_capacity(len);
                out.push_str(x);
                out.push_str(y);
                Ok(CelValue::String(out))
            }
            (BinaryOp::Add, CelValue::List(x), CelValue::List(y)) => {
                if x.len().saturating_add(y.len()) > MAX_LIST_LEN {
                    return Err(too_complex(format!(
                        "list concatenation result exceeds {MAX_LIST_LEN} elements"
                    )));
                }
                let (CelValue::List(mut left), CelValue::List(right)) =
                    (self.owned(a)?, self.owned(b)?)
                else {
                    return Err(err("internal error: list operands changed kind"));
                };
                left.extend(right);
                Ok(CelValue::List(left))
            }
            _ => Err(no_overload(format!(
                "{} {} {}",
                a.type_name(),
                op.symbol(),
                b.type_name()
            ))),
        }
    }

    fn call(&mut self, name: &str, args: &'a [Node]) -> Result<Val<'a>, CelError> {
        let [arg] = args else {
            return Err(err(format!("wrong number of arguments to '{name}'")));
        };
        let arg = self.eval(arg)?;
        self.apply_function(name, arg)
    }

    /// Applies global function `name` to an already evaluated argument
    /// (kept apart from [`Self::call`] to keep the recursive frame small).
    fn apply_function(&mut self, name: &str, arg: Val<'a>) -> Result<Val<'a>, CelError> {
        if let CelValue::String(s) = &*arg {
            self.charge(s.len())?;
        }
        let value = match name {
            "dyn" => return Ok(arg),
            "string" if matches!(&*arg, CelValue::String(_)) => return Ok(arg),
            "int" => CelValue::Int(to_int(&arg)?),
            "double" => CelValue::Double(to_double(&arg)?),
            "string" => CelValue::String(to_string_value(&arg)?),
            "bool" => CelValue::Bool(to_bool(&arg)?),
            "size" => self.size(&arg)?,
            "parseJson" => self.parse_json(&arg)?,
            _ => return Err(err(format!("unknown function '{name}'"))),
        };
        Ok(Cow::Owned(value))
    }

    fn method(
        &mut self,
        target: &'a Node,
        name: &str,
        args: &'a [Node],
    ) -> Result<Val<'a>, CelError> {
        let recv = self.eval(target)?;
        self.apply_method(recv, name, args)
    }

    /// Applies method `name` to an evaluated receiver.
    fn apply_method(
        &mut self,
        recv: Val<'a>,
        name: &str,
        args: &'a [Node],
    ) -> Result<Val<'a>, CelError> {
        let value = match (name, args) {
            ("size", []) => self.size(&recv)?,
            ("contains" | "startsWith" | "endsWith", [arg]) => {
                let arg = self.eval(arg)?;
                let (CelValue::String(s), CelValue::String(t)) = (&*recv, &*arg) else {
                    return Err(no_overload(format!(
                        "{}.{name}({})",
                        recv.type_name(),
                        arg.type_name()
                    )));
                };
                self.charge(s.len().saturating_add(t.len()))?;
                CelValue::Bool(match name {
                    "contains" => s.contains(t.as_str()),
                    "startsWith" => s.starts_with(t.as_str()),
                    _ => s.ends_with(t.as_str()),
                })
            }
            _ => {
                return Err(err(format!(
                    "unknown method '{name}' with {} argument(s)",
                    args.len()
                )))
            }
        };
        Ok(Cow::Owned(value))
    }

    fn size(&mut self, v: &CelValue) -> Result<CelValue, CelError> {
        let n = match v {
            CelValue::String(s) => {
                self.charge(s.len())?;
                s.chars().count()
            }
            CelValue::List(items) => items.len(),
            CelValue::Map(m) => m.len(),
            other => return Err(no_overload(format!("size({})", other.type_name()))),
        };
        Ok(CelValue::Int(i64::try_from(n).unwrap_or(i64::MAX)))
    }

    fn parse_json(&mut self, v: &CelValue) -> Result<CelValue, CelError> {
        let CelValue::String(s) = v else {
            return Err(no_overload(format!("parseJson({})", v.type_name())));
        };
        self.charge(s.len())?;
        // serde_json bounds its own recursion depth (128 levels).
        let json: serde_json::Value =
            serde_json::from_str(s).map_err(|e| err(format!("failed to unmarshal JSON: {e}")))?;
        let value = CelValue::from(&json);
        self.charge(value.cost())?;
        Ok(value)
    }
}

/// Work to charge for comparing `a` with `b`, computed without walking
/// anything that is not also charged: strings cost their shorter length,
/// two containers the size of both (the walk itself), anything else 1.
fn comparison_cost(a: &CelValue, b: &CelValue) -> usize {
    match (a, b) {
        (CelValue::String(x), CelValue::String(y)) => x.len().min(y.len()) + 1,
        (CelValue::List(_) | CelValue::Map(_), CelValue::List(_) | CelValue::Map(_)) => {
            a.cost().saturating_add(b.cost())
        }
        _ => 1,
    }
}
