//! Robustness: limits, stack safety, and property tests.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use serde_json::{json, Map, Value};

use super::super::*;
use super::{eval, eval_in};

/// Generous wall-clock bound for one parse + evaluate in a debug build.
const TIME_BOUND: Duration = Duration::from_secs(5);

fn sample_env() -> Env {
    let mut p = Map::new();
    p.insert("a".into(), json!("heads"));
    p.insert("n".into(), json!(3));
    p.insert("l".into(), json!([1, "x", {"k": true}]));
    Env::for_condition(&p)
        .with_var("x", CelValue::Int(1))
        .with_var("string_value", CelValue::String(r#"{"a": [1, 2]}"#.into()))
}

/// Parsing (and evaluating whatever parses) must not panic, must finish
/// quickly, and syntax errors must point inside the source.
fn check_robust(src: &str) {
    let start = Instant::now();
    match parse(src) {
        Ok(expr) => {
            let _ = expr.evaluate(&sample_env());
            let _ = expr.referenced_parameters();
        }
        Err(CelError::Syntax { offset, message }) => {
            assert!(
                offset <= src.len(),
                "offset {offset} beyond {} ({message})",
                src.len()
            );
            assert!(src.is_char_boundary(offset));
        }
        Err(_) => {}
    }
    assert!(start.elapsed() < TIME_BOUND, "took {:?}", start.elapsed());
}

const TOKENS: &[&str] = &[
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ".",
    ",",
    ":",
    "?",
    "+",
    "-",
    "*",
    "/",
    "%",
    "!",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "&&",
    "||",
    "in",
    "0",
    "1",
    "-1",
    "1.5",
    "1e3",
    ".5",
    "0x1F",
    "9223372036854775807",
    "9223372036854775808",
    "'a'",
    "\"b\"",
    "'\\u00e9'",
    "'é'",
    "'''t'''",
    "r'\\'",
    "true",
    "false",
    "null",
    "x",
    "y",
    "inputs",
    "parameter_values",
    "int",
    "double",
    "string",
    "bool",
    "size",
    "parseJson",
    "has",
    "dyn",
    "contains",
    "startsWith",
    "endsWith",
    "string_value",
    "'",
    "\"",
    "\\",
    "é",
    "😀",
    "#",
    "=",
    "&",
    "|",
    "//",
    "\n",
    "\u{0}",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_strings_never_panic(s in any::<String>()) {
        check_robust(&s);
    }

    #[test]
    fn token_soup_never_panics(
        picks in prop::collection::vec(0..TOKENS.len(), 0..60),
        spaced in any::<bool>(),
    ) {
        let sep = if spaced { " " } else { "" };
        let src: Vec<&str> = picks.iter().filter_map(|i| TOKENS.get(*i).copied()).collect();
        check_robust(&src.join(sep));
    }

    #[test]
    fn deep_nesting_is_rejected_not_overflowed(
        open in prop::sample::select(vec![
            "(", "[", "!", "-", "!-", "{'a':", "int(", "x.", "x[", "1 + ", "1 ? 1 : ", "size(",
            "[1, ", "x.y.", "inputs.parameter_values[", "true && (",
        ]),
        close in prop::sample::select(vec!["", ")", "]", "}", "1", "x", "1)"]),
        depth in 0usize..5_000,
    ) {
        let src = format!("{}x{}", open.repeat(depth), close.repeat(depth));
        check_robust(&src);
    }

    #[test]
    fn comparisons_match_reference(e in bool_expr()) {
        let mut params = Map::new();
        let src = render(&e, &mut params);
        let want = reference(&e);
        let got = evaluate_condition(&src, &params);
        prop_assert_eq!(got, Ok(want), "source: {}", src);
        let mut names: Vec<String> = parse(&src).map_err(|e| TestCaseError::fail(e.to_string()))?
            .referenced_parameters();
        names.sort();
        let mut expected: Vec<String> = params.keys().cloned().collect();
        expected.sort();
        prop_assert_eq!(names, expected);
    }
}

#[test]
fn extreme_inputs_never_panic() {
    for src in [
        "(".repeat(100_000),
        "(".repeat(60_000),
        "[".repeat(60_000),
        "!".repeat(60_000),
        "-".repeat(60_000) + "1",
        "x".to_string() + &".y".repeat(30_000),
        "1".to_string() + &"+1".repeat(30_000),
        vec!["x"; 20_000].join(" && "),
        "'".to_string() + &"é".repeat(30_000),
        "\"\\".to_string(),
        "'\\u12".to_string(),
        "1e".to_string(),
        "0x".to_string(),
        "r".to_string(),
    ] {
        check_robust(&src);
    }
}

#[derive(Debug, Clone)]
enum Operand {
    Int(i64),
    Double(f64),
    /// A JSON number bound as a parameter (a double in CEL).
    Param(f64),
    Str(String),
    ParamStr(String),
}

#[derive(Debug, Clone, Copy)]
enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone)]
enum BoolExpr {
    Cmp(Operand, CmpOp, Operand),
    Not(Box<BoolExpr>),
    And(Box<BoolExpr>, Box<BoolExpr>),
    Or(Box<BoolExpr>, Box<BoolExpr>),
}

fn int_strategy() -> impl Strategy<Value = i64> {
    prop_oneof![
        -40i64..40,
        any::<i64>(),
        prop::sample::select(vec![
            i64::MIN,
            i64::MAX,
            i64::MAX - 1,
            1 << 53,
            (1 << 53) + 1
        ]),
    ]
}

fn double_strategy() -> impl Strategy<Value = f64> {
    prop_oneof![
        (-160i32..160).prop_map(|x| f64::from(x) / 4.0),
        any::<f64>().prop_filter("finite", |d| d.is_finite()),
        prop::sample::select(vec![
            9_223_372_036_854_775_808.0,
            -9_223_372_036_854_775_808.0,
            9_223_372_036_854_774_784.0,
            9_007_199_254_740_992.0,
            -0.0,
            1e300,
        ]),
    ]
}

fn operand_pair() -> impl Strategy<Value = (Operand, Operand)> {
    let num = prop_oneof![
        int_strategy().prop_map(Operand::Int),
        double_strategy().prop_map(Operand::Double),
        double_strategy().prop_map(Operand::Param),
    ];
    let text = "[a-cé'\"\\\\]{0,4}";
    let string = prop_oneof![
        text.prop_map(Operand::Str),
        text.prop_map(Operand::ParamStr),
    ];
    prop_oneof![(num.clone(), num), (string.clone(), string)]
}

fn bool_expr() -> impl Strategy<Value = BoolExpr> {
    let op = prop::sample::select(vec![
        CmpOp::Eq,
        CmpOp::Ne,
        CmpOp::Lt,
        CmpOp::Le,
        CmpOp::Gt,
        CmpOp::Ge,
    ]);
    let leaf = (operand_pair(), op).prop_map(|((a, b), op)| BoolExpr::Cmp(a, op, b));
    leaf.prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|e| BoolExpr::Not(Box::new(e))),
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| BoolExpr::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner).prop_map(|(a, b)| BoolExpr::Or(Box::new(a), Box::new(b))),
        ]
    })
}

fn quote(s: &str) -> String {
    let escaped = s.replace('\\', "\\\\").replace('\'', "\\'");
    format!("'{escaped}'")
}

fn render_operand(o: &Operand, params: &mut Map<String, Value>) -> String {
    let mut bind = |v: Value| {
        let name = format!("p{}", params.len());
        let text = if params.len() & 1 == 0 {
            format!("inputs.parameter_values['{name}']")
        } else {
            format!("inputs.parameter_values[\"{name}\"]")
        };
        params.insert(name, v);
        text
    };
    match o {
        Operand::Int(i) => format!("{i}"),
        Operand::Double(d) => format!("{d:?}"),
        Operand::Param(d) => bind(json!(d)),
        Operand::Str(s) => quote(s),
        Operand::ParamStr(s) => bind(json!(s)),
    }
}

fn render(e: &BoolExpr, params: &mut Map<String, Value>) -> String {
    match e {
        BoolExpr::Cmp(a, op, b) => {
            let sym = match op {
                CmpOp::Eq => "==",
                CmpOp::Ne => "!=",
                CmpOp::Lt => "<",
                CmpOp::Le => "<=",
                CmpOp::Gt => ">",
                CmpOp::Ge => ">=",
            };
            let a = render_operand(a, params);
            let b = render_operand(b, params);
            format!("{a} {sym} {b}")
        }
        BoolExpr::Not(x) => format!("!({})", render(x, params)),
        BoolExpr::And(x, y) => format!("({}) && ({})", render(x, params), render(y, params)),
        BoolExpr::Or(x, y) => format!("({}) || ({})", render(x, params), render(y, params)),
    }
}

/// Exact int/double ordering computed differently from the implementation:
/// integral doubles compare as i128, others via a (safe) float comparison.
fn reference_int_double(i: i64, d: f64) -> Option<Ordering> {
    if d.fract() == 0.0 {
        Some(i128::from(i).cmp(&(d as i128)))
    } else {
        (i as f64).partial_cmp(&d)
    }
}

fn reference_order(a: &Operand, b: &Operand) -> Option<Ordering> {
    use Operand::*;
    match (a, b) {
        (Int(x), Int(y)) => Some(x.cmp(y)),
        (Int(x), Double(y) | Param(y)) => reference_int_double(*x, *y),
        (Double(x) | Param(x), Int(y)) => reference_int_double(*y, *x).map(Ordering::reverse),
        (Double(x) | Param(x), Double(y) | Param(y)) => x.partial_cmp(y),
        (Str(x) | ParamStr(x), Str(y) | ParamStr(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        _ => None,
    }
}

fn reference(e: &BoolExpr) -> bool {
    match e {
        BoolExpr::Cmp(a, op, b) => {
            let ord = reference_order(a, b);
            match op {
                CmpOp::Eq => ord == Some(Ordering::Equal),
                CmpOp::Ne => ord != Some(Ordering::Equal),
                CmpOp::Lt => ord == Some(Ordering::Less),
                CmpOp::Le => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
                CmpOp::Gt => ord == Some(Ordering::Greater),
                CmpOp::Ge => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
            }
        }
        BoolExpr::Not(x) => !reference(x),
        BoolExpr::And(x, y) => reference(x) && reference(y),
        BoolExpr::Or(x, y) => reference(x) || reference(y),
    }
}

#[test]
fn limits_are_enforced() {
    let too_complex = |r: Result<Expr, CelError>| matches!(r, Err(CelError::TooComplex { .. }));
    assert!(too_complex(parse(&"(".repeat(100_000))));
    assert!(too_complex(parse(&format!(
        "{}1{}",
        "(".repeat(33),
        ")".repeat(33)
    ))));
    assert!(parse(&format!("{}1{}", "(".repeat(30), ")".repeat(30))).is_ok());
    assert!(too_complex(parse(&format!("{}true", "!".repeat(50_000)))));
    assert!(too_complex(parse(&format!("{}true", "!-".repeat(10_000)))));
    assert!(too_complex(parse(&format!("a{}", ".b".repeat(20_000)))));
    assert!(too_complex(parse(&format!("a{}", "[0]".repeat(20_000)))));
    assert!(too_complex(parse(&format!("1{}", " + 1".repeat(1_000)))));
    assert!(too_complex(parse(&"[".repeat(1_000))));
    assert!(too_complex(parse(&"{'a':".repeat(1_000))));
    assert!(too_complex(parse(&"1 ? 1 : ".repeat(1_000))));
    assert!(too_complex(parse(&"int(".repeat(100))));
    // Long flat chains of && / || are fine.
    let chain = vec!["true"; 5_000].join(" && ");
    assert_eq!(eval(&chain), Ok(CelValue::Bool(true)));
    // Values built by + are capped.
    let big =
        "'x'".to_string() + &" + 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'".repeat(10);
    assert!(eval(&big).is_ok());
    let env = Env::new().with_var("s", CelValue::String("y".repeat(600_000)));
    assert!(matches!(
        eval_in("s + s", &env),
        Err(CelError::TooComplex { .. })
    ));
    let many = vec!["s"; 200].join(", ");
    assert!(matches!(
        eval_in(&format!("[{many}]"), &env),
        Err(CelError::TooComplex { .. })
    ));
}

/// The deepest inputs the limits admit must fit comfortably in a 1 MiB
/// thread stack even in debug builds (a stack overflow aborts the test run).
#[test]
fn deepest_accepted_inputs_fit_small_stacks() {
    let n = MAX_NESTING - 1;
    let chain = MAX_AST_DEPTH - 2;
    let cases = vec![
        format!("{}1{}", "(".repeat(n), ")".repeat(n)),
        format!("{}1{}", "[".repeat(n), "]".repeat(n)),
        format!("{}1{}", "int(".repeat(n), ")".repeat(n)),
        format!("{}1{}", "{'k': ".repeat(n), "}".repeat(n)),
        format!(
            "{}1{}",
            "1 || 1 && 1 == 1 + 1 * int(".repeat(n / 6),
            ")".repeat(n / 6)
        ),
        format!("'a'{}", ".size()".repeat(chain)),
        format!("x{}", "[0]".repeat(chain)),
        format!("x{}", ".y".repeat(chain)),
        format!("{}true", "!".repeat(chain)),
        format!("1{}", " + 1".repeat(chain)),
        format!("{}1", "true ? 1 : ".repeat(n)),
    ];
    let handle = std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(move || {
            let env = Env::new().with_var("x", CelValue::List(vec![CelValue::Int(1)]));
            for src in cases {
                let expr = parse(&src).map_err(|e| format!("{src:.40}: {e}"))?;
                let _ = expr.evaluate(&env);
            }
            Ok::<(), String>(())
        })
        .expect("spawn test thread");
    assert_eq!(handle.join().ok(), Some(Ok(())));
}

#[test]
fn work_on_large_values_is_budgeted() {
    let big: BTreeMap<String, CelValue> = (0..100_000)
        .map(|i| (format!("k{i}"), CelValue::Int(i)))
        .collect();
    let zeros = CelValue::String("0".repeat(1_000_000));
    let env = Env::new()
        .with_var("m", CelValue::Map(big))
        .with_var("z", zeros);
    // Comparing a big map with a scalar is cheap and never walks the map.
    let start = Instant::now();
    let src = vec!["m == 1"; 2_500].join(" || ");
    assert_eq!(eval_in(&src, &env), Ok(CelValue::Bool(false)));
    assert!(start.elapsed() < TIME_BOUND);
    // Repeatedly scanning a 1 MB string runs out of budget instead of time.
    let src = vec!["int(z) == 0"; 100].join(" && ");
    assert!(matches!(
        eval_in(&src, &env),
        Err(CelError::TooComplex { .. })
    ));
    let src = vec!["m == m"; 100].join(" && ");
    assert!(matches!(
        eval_in(&src, &env),
        Err(CelError::TooComplex { .. })
    ));
    assert!(start.elapsed() < TIME_BOUND);
}
