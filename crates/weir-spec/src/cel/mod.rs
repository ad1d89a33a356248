//! A small, hardened evaluator for the subset of CEL (Common Expression
//! Language) that the KFP SDK emits in compiled pipelines:
//!
//! * trigger conditions (`triggerPolicy.condition`), evaluated against a
//!   variable `inputs` holding `{parameter_values: {...}}`;
//! * parameter expression selectors (`parameterExpressionSelector`),
//!   evaluated against `string_value`, `number_value`, `bool_value`,
//!   `struct_value`, `list_value` and `null_value`.
//!
//! Semantics follow cel-go as configured by the KFP backend: JSON numbers are
//! doubles, integer literals are ints, ints and doubles compare numerically
//! (but are not mixed in arithmetic), equality across other kinds is false,
//! `&&`/`||` absorb errors when the other operand decides the result.
//!
//! Robustness: the source length, parser recursion, AST height, sizes of
//! strings/lists built by `+` and total evaluation work are all bounded, so
//! untrusted input can neither panic nor exhaust the stack.

mod ast;
mod eval;
mod lexer;
mod ops;
mod parser;
mod value;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

pub use value::CelValue;

/// Longest accepted source text, in bytes.
pub const MAX_SOURCE_LEN: usize = 64 * 1024;
/// Deepest accepted parser recursion: each parenthesis, list, map, call
/// argument list, index expression, ternary else-branch, and right operand
/// of a tighter-binding binary operator (`a || b && c`) counts one level.
/// Kept low so that even debug builds parse within ~0.5 MiB of stack.
pub const MAX_NESTING: usize = 32;
/// Tallest accepted AST (covers unary chains, member chains, operator chains).
pub const MAX_AST_DEPTH: usize = 128;
/// Longest string that `+` may build, in bytes.
pub const MAX_STRING_BYTES: usize = 1024 * 1024;
/// Longest list that `+` or a list literal may build.
pub const MAX_LIST_LEN: usize = 100_000;
/// Work units one evaluation may spend (roughly: nodes visited plus bytes or
/// elements copied, compared or scanned).
pub const MAX_EVAL_COST: usize = 16 * 1024 * 1024;

/// Errors from parsing or evaluating an expression.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CelError {
    /// The source is not valid in the supported CEL subset (including calls
    /// to unknown functions or methods, or wrong argument counts).
    #[error("CEL syntax error at offset {offset}: {message}")]
    Syntax { offset: usize, message: String },
    /// Evaluation failed: unknown variable, missing key, type mismatch,
    /// division by zero, a non-bool condition result, ...
    #[error("CEL evaluation error: {message}")]
    Eval { message: String },
    /// A resource limit was hit (source length, nesting, value size, work).
    #[error("CEL expression too complex: {message}")]
    TooComplex { message: String },
}

/// A parsed expression.
#[derive(Debug, Clone)]
pub struct Expr {
    source: String,
    root: ast::Node,
}

/// Parses `source` into an [`Expr`].
pub fn parse(source: &str) -> Result<Expr, CelError> {
    if source.len() > MAX_SOURCE_LEN {
        return Err(CelError::TooComplex {
            message: format!(
                "expression is {} bytes long; the limit is {MAX_SOURCE_LEN}",
                source.len()
            ),
        });
    }
    let tokens = lexer::tokenize(source)?;
    let root = parser::Parser::new(tokens).parse_all()?;
    Ok(Expr {
        source: source.to_string(),
        root,
    })
}

impl Expr {
    /// Evaluates the expression against the variables in `env`.
    pub fn evaluate(&self, env: &Env) -> Result<CelValue, CelError> {
        let mut evaluator = eval::Evaluator::new(env);
        let value = evaluator.eval(&self.root)?;
        Ok(value.into_owned())
    }

    /// The source text this expression was parsed from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The keys `k` of every `inputs.parameter_values['k']` (also
    /// `["k"]` and `inputs.parameter_values.k`), deduplicated, in order of
    /// first appearance.
    pub fn referenced_parameters(&self) -> Vec<String> {
        let mut out = Vec::new();
        collect_parameters(&self.root, &mut out);
        out
    }
}

fn is_parameter_values(node: &ast::Node) -> bool {
    use ast::Kind;
    match &node.kind {
        Kind::Select(operand, field) if field == "parameter_values" => {
            matches!(&operand.kind, Kind::Ident(name) if name == "inputs")
        }
        _ => false,
    }
}

/// Walks the AST (whose height is bounded by [`MAX_AST_DEPTH`]).
fn collect_parameters(node: &ast::Node, out: &mut Vec<String>) {
    use ast::Kind;
    let mut push = |key: &str| {
        if !out.iter().any(|k| k == key) {
            out.push(key.to_string());
        }
    };
    match &node.kind {
        Kind::Index(operand, index) if is_parameter_values(operand) => {
            if let Kind::Lit(CelValue::String(key)) = &index.kind {
                push(key);
            }
        }
        Kind::Select(operand, field) if is_parameter_values(operand) => push(field),
        _ => {}
    }
    match &node.kind {
        Kind::Lit(_) | Kind::Ident(_) => {}
        Kind::Select(a, _) | Kind::Has(a, _) | Kind::Unary(_, a) => collect_parameters(a, out),
        Kind::Index(a, b) | Kind::Binary(_, a, b) => {
            collect_parameters(a, out);
            collect_parameters(b, out);
        }
        Kind::Call(_, items) | Kind::List(items) | Kind::And(items) | Kind::Or(items) => {
            items.iter().for_each(|n| collect_parameters(n, out));
        }
        Kind::Method(target, _, args) => {
            collect_parameters(target, out);
            args.iter().for_each(|n| collect_parameters(n, out));
        }
        Kind::Map(entries) => entries.iter().for_each(|(k, v)| {
            collect_parameters(k, out);
            collect_parameters(v, out);
        }),
        Kind::Cond(a, b, c) => {
            collect_parameters(a, out);
            collect_parameters(b, out);
            collect_parameters(c, out);
        }
    }
}

/// Variables visible to an expression.
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: BTreeMap<String, CelValue>,
}

impl Env {
    /// An environment with no variables.
    pub fn new() -> Self {
        Env::default()
    }

    /// Binds (or rebinds) variable `name`.
    pub fn with_var(mut self, name: &str, value: CelValue) -> Self {
        self.vars.insert(name.to_string(), value);
        self
    }

    /// The value bound to `name`, if any.
    pub fn get(&self, name: &str) -> Option<&CelValue> {
        self.vars.get(name)
    }

    /// The environment for trigger conditions: `inputs` bound to
    /// `{parameter_values: {...}}`, with JSON numbers as doubles.
    pub fn for_condition(parameter_values: &serde_json::Map<String, serde_json::Value>) -> Self {
        let params = parameter_values
            .iter()
            .map(|(k, v)| (k.clone(), CelValue::from(v)))
            .collect();
        let mut inputs = BTreeMap::new();
        inputs.insert("parameter_values".to_string(), CelValue::Map(params));
        Env::new().with_var("inputs", CelValue::Map(inputs))
    }

    /// The environment for parameter expression selectors, mirroring KFP:
    /// `string_value` is always bound to the value's text form (a string as
    /// is, numbers like Go's `FormatFloat(f, 'f', -1)`, bools as
    /// `true`/`false`, null as `""`, lists and structs as compact JSON), and
    /// exactly one of `number_value`, `bool_value`, `struct_value`,
    /// `list_value`, `null_value` is bound when the value has that kind.
    pub fn for_selector(value: &serde_json::Value) -> Self {
        use serde_json::Value as Json;
        let env = Env::new().with_var("string_value", CelValue::String(value::json_text(value)));
        let kind_var = match value {
            Json::Null => Some("null_value"),
            Json::Bool(_) => Some("bool_value"),
            Json::Number(_) => Some("number_value"),
            Json::String(_) => None,
            Json::Array(_) => Some("list_value"),
            Json::Object(_) => Some("struct_value"),
        };
        match kind_var {
            Some(name) => env.with_var(name, CelValue::from(value)),
            None => env,
        }
    }
}

/// Parses and evaluates a trigger condition; the result must be a bool.
pub fn evaluate_condition(
    source: &str,
    parameter_values: &serde_json::Map<String, serde_json::Value>,
) -> Result<bool, CelError> {
    let expr = parse(source)?;
    match expr.evaluate(&Env::for_condition(parameter_values))? {
        CelValue::Bool(b) => Ok(b),
        other => Err(CelError::Eval {
            message: format!("condition must evaluate to bool, got {}", other.type_name()),
        }),
    }
}

/// Parses and evaluates a parameter expression selector against `value`.
/// A result containing NaN or an infinity is an error (JSON cannot hold it).
pub fn evaluate_selector(
    source: &str,
    value: &serde_json::Value,
) -> Result<serde_json::Value, CelError> {
    let expr = parse(source)?;
    let result = expr.evaluate(&Env::for_selector(value))?;
    if result.has_non_finite() {
        return Err(CelError::Eval {
            message: "selector result contains a non-finite number".to_string(),
        });
    }
    Ok(result.to_json())
}
