use serde_json::{json, Map, Value};

use super::*;

mod robust;

fn params(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("test params must be an object"),
    }
}

fn cond(src: &str, p: Value) -> Result<bool, CelError> {
    evaluate_condition(src, &params(p))
}

fn eval(src: &str) -> Result<CelValue, CelError> {
    parse(src)?.evaluate(&Env::new())
}

fn eval_in(src: &str, env: &Env) -> Result<CelValue, CelError> {
    parse(src)?.evaluate(env)
}

fn is_eval_err(r: Result<impl std::fmt::Debug, CelError>, needle: &str) {
    match r {
        Err(CelError::Eval { message }) => {
            assert!(
                message.contains(needle),
                "message {message:?} lacks {needle:?}"
            )
        }
        other => panic!("expected eval error containing {needle:?}, got {other:?}"),
    }
}

const FLIP: &str = "inputs.parameter_values['pipelinechannel--flip-Output'] == 'heads'";
const NOT_HEADS_AND_TAILS: &str = "!(inputs.parameter_values['pipelinechannel--flip-Output'] == 'heads') && inputs.parameter_values['pipelinechannel--flip-Output'] == 'tails'";
const INT_GT: &str = "int(inputs.parameter_values['pipelinechannel--number-Output']) > int(inputs.parameter_values['pipelinechannel--threshold'])";
const DOUBLE_GE: &str =
    "inputs.parameter_values['pipelinechannel--f-Output'] >= inputs.parameter_values['pipelinechannel--th']";
const BOOL_EQ: &str = "inputs.parameter_values['pipelinechannel--enabled'] == true";
const OR_MIXED: &str =
    "inputs.parameter_values['pipelinechannel--x'] != 'a' || inputs.parameter_values['pipelinechannel--y'] < 3";

#[test]
fn sdk_condition_string_equality() {
    assert_eq!(
        cond(FLIP, json!({"pipelinechannel--flip-Output": "heads"})),
        Ok(true)
    );
    assert_eq!(
        cond(FLIP, json!({"pipelinechannel--flip-Output": "tails"})),
        Ok(false)
    );
}

#[test]
fn sdk_condition_negation_and() {
    let p = |v: &str| json!({ "pipelinechannel--flip-Output": v });
    assert_eq!(cond(NOT_HEADS_AND_TAILS, p("tails")), Ok(true));
    assert_eq!(cond(NOT_HEADS_AND_TAILS, p("heads")), Ok(false));
    assert_eq!(cond(NOT_HEADS_AND_TAILS, p("edge")), Ok(false));
}

#[test]
fn sdk_condition_int_conversion() {
    let p = |n: Value, t: Value| json!({"pipelinechannel--number-Output": n, "pipelinechannel--threshold": t});
    assert_eq!(cond(INT_GT, p(json!(7), json!(5))), Ok(true));
    assert_eq!(cond(INT_GT, p(json!(5), json!(5))), Ok(false));
    assert_eq!(cond(INT_GT, p(json!(5.9), json!(5))), Ok(false));
    assert_eq!(cond(INT_GT, p(json!("12"), json!(11.2))), Ok(true));
}

#[test]
fn sdk_condition_doubles() {
    let p = |f: f64, t: f64| json!({"pipelinechannel--f-Output": f, "pipelinechannel--th": t});
    assert_eq!(cond(DOUBLE_GE, p(0.5, 0.5)), Ok(true));
    assert_eq!(cond(DOUBLE_GE, p(0.7, 0.5)), Ok(true));
    assert_eq!(cond(DOUBLE_GE, p(0.25, 0.5)), Ok(false));
}

#[test]
fn sdk_condition_bool() {
    assert_eq!(
        cond(BOOL_EQ, json!({"pipelinechannel--enabled": true})),
        Ok(true)
    );
    assert_eq!(
        cond(BOOL_EQ, json!({"pipelinechannel--enabled": false})),
        Ok(false)
    );
    // A string "true" is not the bool true.
    assert_eq!(
        cond(BOOL_EQ, json!({"pipelinechannel--enabled": "true"})),
        Ok(false)
    );
}

#[test]
fn sdk_condition_or_with_number() {
    let p = |x: &str, y: f64| json!({"pipelinechannel--x": x, "pipelinechannel--y": y});
    assert_eq!(cond(OR_MIXED, p("b", 10.0)), Ok(true));
    assert_eq!(cond(OR_MIXED, p("a", 2.0)), Ok(true));
    assert_eq!(cond(OR_MIXED, p("a", 3.0)), Ok(false));
    assert_eq!(cond(OR_MIXED, p("a", 3.5)), Ok(false));
}

#[test]
fn int_double_cross_comparisons() {
    for (src, want) in [
        ("1 == 1.0", true),
        ("1.0 == 1", true),
        ("1 != 1.5", true),
        ("2 < 2.5", true),
        ("2.5 < 2", false),
        ("3 <= 3.0", true),
        ("-1 > -1.5", true),
        ("9223372036854775807 < 9223372036854775808.0", true),
        ("9223372036854775807 == 9223372036854775807.0", false),
        ("-9223372036854775808 == -9223372036854775808.0", true),
        ("[1, 2] == [1.0, 2.0]", true),
        ("{'a': 1} == {'a': 1.0}", true),
        ("1 in [1.0, 2.0]", true),
        ("0.0 / 0.0 == 0.0 / 0.0", false),
        ("0.0 / 0.0 < 1", false),
    ] {
        assert_eq!(eval(src), Ok(CelValue::Bool(want)), "{src}");
    }
    let env = Env::for_condition(&params(json!({"x": 2})));
    let r = eval_in(
        "inputs.parameter_values['x'] < 3 && inputs.parameter_values['x'] == 2",
        &env,
    );
    assert_eq!(r, Ok(CelValue::Bool(true)));
    // JSON numbers are doubles, literals ints.
    assert_eq!(
        eval_in("inputs.parameter_values['x']", &env),
        Ok(CelValue::Double(2.0))
    );
    assert_eq!(eval("3"), Ok(CelValue::Int(3)));
}

#[test]
fn equality_across_kinds_is_false() {
    for src in [
        "1 == 'a'",
        "null == false",
        "[1] == {'a': 1}",
        "'1' == 1",
        "true == 1",
    ] {
        assert_eq!(eval(src), Ok(CelValue::Bool(false)), "{src}");
    }
    assert_eq!(eval("'a' != 1"), Ok(CelValue::Bool(true)));
    assert_eq!(eval("null == null"), Ok(CelValue::Bool(true)));
}

#[test]
fn short_circuit_absorbs_errors() {
    for (src, want) in [
        ("false && nope", false),
        ("nope && false", false),
        ("true || nope", true),
        ("nope || true", true),
        ("1 / 0 == 1 || true", true),
        ("'a' && false", false),
        ("false && (1 < 'a') && true", false),
        ("1 < 2 ? true : nope", true),
        ("true || 1 > 'x' || false", true),
    ] {
        assert_eq!(eval(src), Ok(CelValue::Bool(want)), "{src}");
    }
    is_eval_err(eval("true && nope"), "undeclared reference to 'nope'");
    is_eval_err(eval("nope || false"), "nope");
    is_eval_err(eval("true && 'a'"), "no such overload");
}

#[test]
fn error_kinds() {
    is_eval_err(eval("missing == 1"), "undeclared reference to 'missing'");
    is_eval_err(eval("'a' < 1"), "no such overload: string < int");
    is_eval_err(eval("1 + 1.0"), "no such overload: int + double");
    is_eval_err(eval("1 / 0"), "division by zero");
    is_eval_err(eval("1 % 0"), "modulus by zero");
    is_eval_err(eval("9223372036854775807 + 1"), "overflow");
    is_eval_err(eval("-(-9223372036854775808)"), "overflow");
    is_eval_err(eval("{'a': 1}['b']"), "no such key");
    is_eval_err(eval("{'a': 1}.b"), "no such key");
    is_eval_err(eval("[1][1]"), "index out of range");
    is_eval_err(eval("[1][-1]"), "index out of range");
    is_eval_err(eval("!1"), "no such overload");
    is_eval_err(eval("1 ? 2 : 3"), "condition must be bool");
    is_eval_err(eval("int(1e30)"), "range error");
    is_eval_err(eval("int('x1')"), "cannot convert");
    is_eval_err(eval("bool('yes')"), "cannot convert");
    is_eval_err(eval("{'a': 1, 'a': 2}"), "duplicate map key");
    is_eval_err(eval("{1: 2}"), "unsupported map key type");
    is_eval_err(eval("parseJson('{')"), "failed to unmarshal JSON");
    is_eval_err(eval("parseJson(1)"), "no such overload");
    is_eval_err(eval("1.5 % 1.0"), "no such overload");
    is_eval_err(eval("1 in 'abc'"), "no such overload");
    let r = cond("inputs.parameter_values['a']", json!({"a": "x"}));
    is_eval_err(r, "condition must evaluate to bool, got string");
    is_eval_err(
        cond("inputs.parameter_values['b'] == 1", json!({})),
        "no such key",
    );
}

#[test]
fn syntax_errors_carry_offsets() {
    let cases: &[(&str, usize, &str)] = &[
        ("1 +", 3, "unexpected end of input"),
        ("a == 'x", 5, "unterminated string"),
        ("a = 1", 2, "unexpected character"),
        ("(1 + 2", 6, "expected ')'"),
        ("foo(1)", 0, "unknown function 'foo'"),
        ("'x'.upper()", 4, "unknown method 'upper'"),
        ("int(1, 2)", 0, "expects 1 argument"),
        ("1 2", 2, "unexpected integer 2"),
        ("'é' == #", 8, "unexpected character '#'"),
        ("'\\q'", 1, "invalid escape"),
        ("'\\uD800'", 1, "invalid code point"),
        ("99999999999999999999", 0, "out of range"),
        ("9223372036854775808", 0, "out of range"),
        ("1u", 0, "unsigned"),
        ("b'x'", 0, "bytes literals"),
        ("if", 0, "reserved identifier"),
        ("a.'x'", 2, "expected a field or method name"),
        ("has(a)", 0, "has() requires"),
        ("[1, 2", 5, "expected ',' or ']'"),
        ("", 0, "unexpected end of input"),
        ("'a\nb'", 2, "newline in string"),
    ];
    for (src, offset, needle) in cases {
        match parse(src) {
            Err(CelError::Syntax { offset: o, message }) => {
                assert_eq!(o, *offset, "offset for {src:?} ({message})");
                assert!(
                    message.contains(needle),
                    "{src:?}: {message:?} lacks {needle:?}"
                );
                assert!(src.is_char_boundary(o));
            }
            other => panic!("{src:?}: expected syntax error, got {other:?}"),
        }
    }
}

#[test]
fn literals_and_escapes() {
    let s = |v: &str| Ok(CelValue::String(v.to_string()));
    assert_eq!(eval(r#"'a\'b\"c\\d\n\t\r'"#), s("a'b\"c\\d\n\t\r"));
    assert_eq!(eval(r#""\u00e9\U0001F600\x41\101""#), s("é😀AA"));
    assert_eq!(eval("r'a\\n'"), s("a\\n"));
    assert_eq!(eval("'''multi\nline'''"), s("multi\nline"));
    assert_eq!(eval("'é' + \"ü\""), s("éü"));
    assert_eq!(eval("1e3"), Ok(CelValue::Double(1000.0)));
    assert_eq!(eval("1.5"), Ok(CelValue::Double(1.5)));
    assert_eq!(eval(".5"), Ok(CelValue::Double(0.5)));
    assert_eq!(eval("2.5e-1"), Ok(CelValue::Double(0.25)));
    assert_eq!(eval("0x1F"), Ok(CelValue::Int(31)));
    assert_eq!(eval("-3"), Ok(CelValue::Int(-3)));
    assert_eq!(eval("-9223372036854775808"), Ok(CelValue::Int(i64::MIN)));
    assert_eq!(eval("--3"), Ok(CelValue::Int(3)));
    assert_eq!(eval("null"), Ok(CelValue::Null));
    assert_eq!(eval("!!true"), Ok(CelValue::Bool(true)));
    assert_eq!(
        eval("!-1 == 1 || true // comment"),
        Ok(CelValue::Bool(true))
    );
    assert_eq!(
        eval("[1, 'a', [true],]"),
        Ok(CelValue::List(vec![
            CelValue::Int(1),
            CelValue::String("a".into()),
            CelValue::List(vec![CelValue::Bool(true)]),
        ]))
    );
    assert_eq!(eval("{'k': 1, \"j\": null}.k"), Ok(CelValue::Int(1)));
}

#[test]
fn arithmetic_and_operators() {
    let i = |v: i64| Ok(CelValue::Int(v));
    assert_eq!(eval("1 + 2 * 3 - 4 / 2 % 3"), i(5));
    assert_eq!(eval("(1 + 2) * 3"), i(9));
    assert_eq!(eval("-7 / 2"), i(-3));
    assert_eq!(eval("-7 % 3"), i(-1));
    assert_eq!(eval("1.5 * 2.0 + 0.5"), Ok(CelValue::Double(3.5)));
    assert_eq!(eval("'ab' + 'cd'"), Ok(CelValue::String("abcd".into())));
    assert_eq!(eval("size([1] + [2, 3])"), i(3));
    assert_eq!(
        eval("'b' > 'a' && 'abc' < 'abd' && 'Z' < 'a'"),
        Ok(CelValue::Bool(true))
    );
    assert_eq!(eval("false < true"), Ok(CelValue::Bool(true)));
    assert_eq!(
        eval("2 in [1, 2] && 'a' in {'a': 1} && !('b' in {'a': 1})"),
        Ok(CelValue::Bool(true))
    );
    assert_eq!(eval("1 < 2 ? 'y' : 'n'"), Ok(CelValue::String("y".into())));
    assert_eq!(eval("false ? 1 : true ? 2 : 3"), i(2));
    assert_eq!(eval("1 < 2 == true"), Ok(CelValue::Bool(true)));
}

#[test]
fn functions_and_methods() {
    let s = |v: &str| Ok(CelValue::String(v.to_string()));
    let b = |v: bool| Ok(CelValue::Bool(v));
    assert_eq!(eval("int(3.7)"), Ok(CelValue::Int(3)));
    assert_eq!(eval("int(-3.7)"), Ok(CelValue::Int(-3)));
    assert_eq!(eval("int('42')"), Ok(CelValue::Int(42)));
    assert_eq!(eval("int('-42')"), Ok(CelValue::Int(-42)));
    assert_eq!(eval("double(2)"), Ok(CelValue::Double(2.0)));
    assert_eq!(eval("double('2.5')"), Ok(CelValue::Double(2.5)));
    assert_eq!(eval("string(3)"), s("3"));
    assert_eq!(eval("string(3.0)"), s("3"));
    assert_eq!(eval("string(2.5)"), s("2.5"));
    assert_eq!(eval("string(1000000.0)"), s("1e+06"));
    assert_eq!(eval("string(123456.0)"), s("123456"));
    assert_eq!(eval("string(0.0001)"), s("0.0001"));
    assert_eq!(eval("string(0.00001)"), s("1e-05"));
    assert_eq!(eval("string(-1.25e20)"), s("-1.25e+20"));
    assert_eq!(eval("string(true)"), s("true"));
    assert_eq!(eval("bool('true')"), b(true));
    assert_eq!(eval("bool('false')"), b(false));
    assert_eq!(eval("size('héllo')"), Ok(CelValue::Int(5)));
    assert_eq!(eval("'héllo'.size()"), Ok(CelValue::Int(5)));
    assert_eq!(eval("size({'a': 1})"), Ok(CelValue::Int(1)));
    assert_eq!(eval("[1, 2, 3].size()"), Ok(CelValue::Int(3)));
    assert_eq!(eval("'pipeline'.contains('line')"), b(true));
    assert_eq!(eval("'pipeline'.startsWith('pipe')"), b(true));
    assert_eq!(eval("'pipeline'.endsWith('pipe')"), b(false));
    assert_eq!(eval("dyn(1) == 1"), b(true));
    assert_eq!(eval("has({'a': 1}.a) && !has({'a': 1}.b)"), b(true));
    assert_eq!(
        eval("parseJson('[1, {\"x\": 2}]')[1].x"),
        Ok(CelValue::Double(2.0))
    );
}

#[test]
fn selector_examples() {
    let v = json!(r#"{"a": "x", "b": 1}"#);
    assert_eq!(
        evaluate_selector(r#"parseJson(string_value)["a"]"#, &v),
        Ok(json!("x"))
    );
    assert_eq!(
        evaluate_selector("parseJson(string_value)['b']", &v),
        Ok(json!(1.0))
    );
    let nested = json!(r#"{"a": {"b": [10, "y"]}}"#);
    assert_eq!(
        evaluate_selector(r#"parseJson(string_value)["a"]["b"][1]"#, &nested),
        Ok(json!("y"))
    );
    assert_eq!(
        evaluate_selector(r#"parseJson(string_value)["a"]["b"][0]"#, &nested),
        Ok(json!(10.0))
    );
    assert_eq!(
        evaluate_selector("parseJson(string_value)[0]", &json!("[true]")),
        Ok(json!(true))
    );
    // Selectors can also work on struct_value directly and compute values.
    let s = json!({"a": {"b": 2}});
    assert_eq!(evaluate_selector("struct_value.a.b", &s), Ok(json!(2.0)));
    assert_eq!(
        evaluate_selector("parseJson(string_value).a", &s),
        Ok(json!({"b": 2.0}))
    );
    assert_eq!(
        evaluate_selector("int(number_value) + 1", &json!(4)),
        Ok(json!(5))
    );
    assert_eq!(
        evaluate_selector("list_value", &json!([1, "a"])),
        Ok(json!([1.0, "a"]))
    );
    is_eval_err(
        evaluate_selector("parseJson(string_value)['zz']", &v),
        "no such key",
    );
    is_eval_err(
        evaluate_selector("number_value", &json!("s")),
        "undeclared reference",
    );
    is_eval_err(evaluate_selector("0.0 / 0.0", &json!(1)), "non-finite");
}

#[test]
fn selector_string_value_text_forms() {
    let text = |v: Value| match Env::for_selector(&v).get("string_value") {
        Some(CelValue::String(s)) => s.clone(),
        other => panic!("string_value not bound: {other:?}"),
    };
    assert_eq!(text(json!("plain")), "plain");
    assert_eq!(text(json!(3)), "3");
    assert_eq!(text(json!(3.0)), "3");
    assert_eq!(text(json!(-2.5)), "-2.5");
    assert_eq!(text(json!(1e21)), "1000000000000000000000");
    assert_eq!(text(json!(0.0000001)), "0.0000001");
    assert_eq!(text(json!(true)), "true");
    assert_eq!(text(json!(null)), "");
    assert_eq!(text(json!([1, "a", null])), r#"[1,"a",null]"#);
    assert_eq!(text(json!({"b": 1, "a": [true]})), r#"{"a":[true],"b":1}"#);
    let env = Env::for_selector(&json!(7));
    assert_eq!(env.get("number_value"), Some(&CelValue::Double(7.0)));
    assert!(env.get("bool_value").is_none());
    assert_eq!(
        Env::for_selector(&json!(null)).get("null_value"),
        Some(&CelValue::Null)
    );
    assert_eq!(
        Env::for_selector(&json!(false)).get("bool_value"),
        Some(&CelValue::Bool(false))
    );
    assert!(Env::for_selector(&json!({})).get("struct_value").is_some());
    assert!(Env::for_selector(&json!([])).get("list_value").is_some());
}

#[test]
fn value_json_round_trip() {
    let v = json!({"a": [1, 2.5, "s", null, true], "b": {}});
    let cel = CelValue::from(&v);
    assert_eq!(
        cel.to_json(),
        json!({"a": [1.0, 2.5, "s", null, true], "b": {}})
    );
    assert_eq!(CelValue::Int(3).to_json(), json!(3));
    assert_eq!(CelValue::Double(3.0).to_json(), json!(3.0));
    assert_eq!(CelValue::Double(f64::NAN).to_json(), Value::Null);
}

#[test]
fn referenced_parameters_and_source() {
    let e = parse(NOT_HEADS_AND_TAILS).expect("parses");
    assert_eq!(e.source(), NOT_HEADS_AND_TAILS);
    assert_eq!(
        e.referenced_parameters(),
        vec!["pipelinechannel--flip-Output"]
    );
    let e = parse(OR_MIXED).expect("parses");
    assert_eq!(
        e.referenced_parameters(),
        vec!["pipelinechannel--x", "pipelinechannel--y"]
    );
    let e = parse(r#"int(inputs.parameter_values["a"]) > 1 ? inputs.parameter_values.b : [inputs.parameter_values['c']]"#)
        .expect("parses");
    assert_eq!(e.referenced_parameters(), vec!["a", "b", "c"]);
    assert!(parse("x.parameter_values['a']")
        .expect("parses")
        .referenced_parameters()
        .is_empty());
}
