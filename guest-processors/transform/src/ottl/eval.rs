//! Evaluating values and conditions against one item.

use sluice_guest_sdk::otlp::{AnyValue, KeyValue};

use super::EvalError;
use super::ast::MathOp;
use super::funcs::converters;
use super::paths::{self, KeyRef};
use super::program::{Cond, Expr, Key};
use super::target::Target;
use super::value::{Value, compare};

pub fn eval(e: &Expr, t: &Target) -> Result<Value, EvalError> {
    match e {
        Expr::Lit(v) => Ok(v.clone()),
        Expr::Path(p) => paths::get(p, t),
        Expr::Call(call, keys) => {
            let v = converters::call(call, t)?;
            if keys.is_empty() {
                Ok(v)
            } else {
                index(v, keys, t)
            }
        }
        Expr::List(items) => Ok(Value::List(
            items.iter().map(|i| eval(i, t)).collect::<Result<_, _>>()?,
        )),
        Expr::Map(entries) => Ok(Value::Map(
            entries
                .iter()
                .map(|(k, v)| Ok(KeyValue::new(k.clone(), AnyValue::from(eval(v, t)?))))
                .collect::<Result<_, EvalError>>()?,
        )),
        Expr::Math(l, op, r) => math(eval(l, t)?, *op, eval(r, t)?),
    }
}

/// Indexes a converter's result: maps by string, lists by int.
fn index(mut v: Value, keys: &[Key], t: &Target) -> Result<Value, EvalError> {
    for key in keys {
        let key = match key {
            Key::Str(s) => KeyRef::Str(s.clone()),
            Key::Int(i) => KeyRef::Int(*i),
            Key::Expr(e) => match eval(e, t)? {
                Value::Str(s) => KeyRef::Str(s),
                Value::Int(i) => KeyRef::Int(i),
                other => {
                    return Err(EvalError(format!(
                        "an index must be a string or an int, not {}",
                        other.type_name()
                    )));
                }
            },
        };
        v = match (v, key) {
            (Value::Map(m), KeyRef::Str(k)) => Value::from(
                m.iter()
                    .find(|kv| kv.key == k)
                    .and_then(|kv| kv.value.as_ref()),
            ),
            (Value::List(mut l), KeyRef::Int(i)) => {
                let len = l.len();
                match usize::try_from(i).ok().filter(|i| *i < len) {
                    Some(i) => l.swap_remove(i),
                    None => {
                        return Err(EvalError(format!(
                            "index {i} is out of range for a list of {len}"
                        )));
                    }
                }
            }
            (other, _) => {
                return Err(EvalError(format!(
                    "cannot index a {} with that key",
                    other.type_name()
                )));
            }
        };
    }
    Ok(v)
}

fn math(l: Value, op: MathOp, r: Value) -> Result<Value, EvalError> {
    match (l, r) {
        (Value::Int(a), Value::Int(b)) => Ok(Value::Int(match op {
            MathOp::Add => a.wrapping_add(b),
            MathOp::Sub => a.wrapping_sub(b),
            MathOp::Mul => a.wrapping_mul(b),
            MathOp::Div if b == 0 => return Err(EvalError("division by zero".into())),
            MathOp::Div => a.wrapping_div(b),
        })),
        (Value::Double(a), Value::Double(b)) => Ok(Value::Double(match op {
            MathOp::Add => a + b,
            MathOp::Sub => a - b,
            MathOp::Mul => a * b,
            MathOp::Div if b == 0.0 => return Err(EvalError("division by zero".into())),
            MathOp::Div => a / b,
        })),
        (a, b) => Err(EvalError(format!(
            "math needs two ints or two doubles, got {} and {}",
            a.type_name(),
            b.type_name()
        ))),
    }
}

pub fn eval_cond(c: &Cond, t: &Target) -> Result<bool, EvalError> {
    match c {
        Cond::Or(terms) => {
            for term in terms {
                if eval_cond(term, t)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Cond::And(terms) => {
            for term in terms {
                if !eval_cond(term, t)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Cond::Not(inner) => Ok(!eval_cond(inner, t)?),
        Cond::Cmp(l, op, r) => Ok(compare(&eval(l, t)?, *op, &eval(r, t)?)),
        Cond::Term(e) => match eval(e, t)? {
            Value::Bool(b) => Ok(b),
            other => Err(EvalError(format!(
                "a condition must be true or false, got {}",
                other.type_name()
            ))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn math_follows_ottl_rules() {
        assert_eq!(
            math(Value::Int(7), MathOp::Div, Value::Int(2)).unwrap(),
            Value::Int(3)
        );
        assert_eq!(
            math(Value::Double(1.5), MathOp::Mul, Value::Double(2.0)).unwrap(),
            Value::Double(3.0)
        );
        assert!(math(Value::Int(1), MathOp::Add, Value::Double(1.0)).is_err());
        assert!(math(Value::Int(1), MathOp::Div, Value::Int(0)).is_err());
    }
}
