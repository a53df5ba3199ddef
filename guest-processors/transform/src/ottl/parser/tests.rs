use super::*;

fn path(segments: &[&str]) -> ExprKind {
    ExprKind::Path(Path {
        segments: segments.iter().map(|s| (s.to_string(), 0)).collect(),
        keys: vec![],
    })
}

fn strip(e: &Expr) -> ExprKind {
    match &e.kind {
        ExprKind::Path(p) => ExprKind::Path(Path {
            segments: p.segments.iter().map(|(s, _)| (s.clone(), 0)).collect(),
            keys: p.keys.clone(),
        }),
        k => k.clone(),
    }
}

#[test]
fn parses_set_with_keys_and_where() {
    let s = parse_statement(
        r#"set(attributes["env"], "dev") where metric.name == "a" and not IsMatch(name, "^x")"#,
    )
    .unwrap();
    assert_eq!(s.editor.name, "set");
    let ExprKind::Path(p) = &s.editor.args[0].value.kind else {
        panic!()
    };
    assert_eq!(p.dotted(), "attributes");
    assert_eq!(p.keys, [Key::Str("env".into())]);
    assert_eq!(s.editor.args[1].value.kind, ExprKind::Str("dev".into()));
    let Some(BoolExpr::And(terms)) = s.condition else {
        panic!()
    };
    assert!(
        matches!(&terms[0], BoolExpr::Cmp(l, CmpOp::Eq, _) if strip(l) == path(&["metric", "name"]))
    );
    assert!(matches!(&terms[1], BoolExpr::Not(inner) if matches!(**inner, BoolExpr::Term(_))));
}

#[test]
fn and_binds_tighter_than_or_and_parentheses_group() {
    let c = parse_condition("a == 1 or b == 2 and c == 3").unwrap();
    let BoolExpr::Or(t) = c else { panic!() };
    assert!(matches!(t[1], BoolExpr::And(_)));
    let c = parse_condition("(a == 1 or b == 2) and c == 3").unwrap();
    let BoolExpr::And(t) = c else { panic!() };
    assert!(matches!(t[0], BoolExpr::Or(_)));
}

#[test]
fn parenthesised_math_is_not_mistaken_for_a_condition_group() {
    let c = parse_condition("(1 + 2) * 3 == 9").unwrap();
    let BoolExpr::Cmp(left, CmpOp::Eq, _) = c else {
        panic!("{c:?}")
    };
    assert!(matches!(left.kind, ExprKind::Math(_, MathOp::Mul, _)));
}

#[test]
fn parses_lists_maps_enums_named_args_and_negative_numbers() {
    let s =
        parse_statement(r#"truncate_all(log.attributes, 100, truncation_marker = "...")"#).unwrap();
    assert_eq!(s.editor.args[2].name.as_deref(), Some("truncation_marker"));
    let s = parse_statement(r#"keep_keys(attributes, ["a", "b"])"#).unwrap();
    assert!(matches!(&s.editor.args[1].value.kind, ExprKind::List(l) if l.len() == 2));
    let s = parse_statement(r#"set(attributes["m"], {"a": 1, "b": [true]})"#).unwrap();
    assert!(matches!(&s.editor.args[1].value.kind, ExprKind::Map(m) if m.len() == 2));
    let s = parse_statement("set(severity_number, SEVERITY_NUMBER_INFO) where x > -1.5").unwrap();
    assert_eq!(
        s.editor.args[1].value.kind,
        ExprKind::Enum("SEVERITY_NUMBER_INFO".into())
    );
    assert!(
        matches!(s.condition, Some(BoolExpr::Cmp(_, CmpOp::Gt, Expr { kind: ExprKind::Float(f), .. })) if f == -1.5)
    );
}

#[test]
fn converter_results_can_be_indexed() {
    let s = parse_statement(r#"set(attributes["x"], Split(name, ",")[1])"#).unwrap();
    let ExprKind::Call(c) = &s.editor.args[1].value.kind else {
        panic!()
    };
    assert_eq!(c.name, "Split");
    assert_eq!(c.keys, [Key::Int(1)]);
}

#[test]
fn errors_point_at_the_offending_column() {
    let e = parse_statement(r#"set(attributes["env"] "dev")"#).unwrap_err();
    assert_eq!(e.col, 23);
    assert!(e.message.contains("\",\" or \")\""), "{}", e.message);

    let e = parse_statement(r#"Set(attributes["env"], "dev")"#).unwrap_err();
    assert_eq!(e.col, 1);
    assert!(
        e.message.contains("must start with an editor"),
        "{}",
        e.message
    );

    let e = parse_statement(r#"set(attributes["env"], "dev") when x"#).unwrap_err();
    assert_eq!(e.col, 31);

    let e = parse_statement(r#"set(attributes["a"], set(x, 1))"#).unwrap_err();
    assert_eq!(e.col, 22);
    assert!(e.message.contains("is an editor"), "{}", e.message);

    let e = parse_statement("set(name, ").unwrap_err();
    assert_eq!(e.col, 11);
    assert!(
        e.message.contains("the end of the statement"),
        "{}",
        e.message
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = format!("set(x, {}1{})", "(".repeat(500), ")".repeat(500));
    let e = parse_statement(&deep).unwrap_err();
    assert!(e.message.contains("nested more than"), "{}", e.message);
    let e = parse_condition(&format!("{}true", "not ".repeat(500))).unwrap_err();
    assert!(e.message.contains("nested more than"), "{}", e.message);
}
