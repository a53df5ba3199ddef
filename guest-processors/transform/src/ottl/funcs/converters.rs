//! Converters: pure functions from values to a value.

use super::{Func, args, sha256_hex};
use crate::ottl::EvalError;
use crate::ottl::eval::eval;
use crate::ottl::program::Call;
use crate::ottl::target::Target;
use crate::ottl::value::{Value, base64, format_double, from_json, hex, string_like, to_json};

fn arg(call: &Call, i: usize, t: &Target) -> Result<Value, EvalError> {
    eval(args::expr(&call.args, i)?, t)
}

fn string_arg(call: &Call, i: usize, t: &Target, name: &str) -> Result<String, EvalError> {
    match arg(call, i, t)? {
        Value::Str(s) => Ok(s),
        other => Err(EvalError(format!(
            "{name} expects a string, got {}",
            other.type_name()
        ))),
    }
}

fn int_arg(call: &Call, i: usize, t: &Target, name: &str) -> Result<i64, EvalError> {
    match arg(call, i, t)? {
        Value::Int(n) => Ok(n),
        other => Err(EvalError(format!(
            "{name} expects an int, got {}",
            other.type_name()
        ))),
    }
}

pub fn call(call: &Call, t: &Target) -> Result<Value, EvalError> {
    Ok(match call.func {
        Func::Concat => {
            let delimiter = string_arg(call, 1, t, "Concat's delimiter")?;
            let mut parts = Vec::new();
            for e in args::exprs(&call.args, 0)? {
                parts.push(string_like(&eval(e, t)?).unwrap_or_else(|| "<nil>".to_owned()));
            }
            Value::Str(parts.join(&delimiter))
        }
        Func::IsMatch => {
            let re = args::regex(&call.args, 1)?;
            match arg(call, 0, t)? {
                Value::Nil => Value::Bool(false),
                Value::Bytes(b) => Value::Bool(re.is_match(&base64(&b))),
                v => Value::Bool(string_like(&v).is_some_and(|s| re.is_match(&s))),
            }
        }
        Func::Int => match arg(call, 0, t)? {
            Value::Int(i) => Value::Int(i),
            Value::Double(d) if d.is_finite() => Value::Int(d.trunc() as i64),
            Value::Bool(b) => Value::Int(i64::from(b)),
            Value::Str(s) => s.trim().parse().map_or(Value::Nil, Value::Int),
            _ => Value::Nil,
        },
        Func::Double => match arg(call, 0, t)? {
            Value::Double(d) => Value::Double(d),
            Value::Int(i) => Value::Double(i as f64),
            Value::Bool(b) => Value::Double(if b { 1.0 } else { 0.0 }),
            Value::Str(s) => s.trim().parse().map_or(Value::Nil, Value::Double),
            _ => Value::Nil,
        },
        Func::Bool => match arg(call, 0, t)? {
            Value::Bool(b) => Value::Bool(b),
            Value::Int(i) => Value::Bool(i != 0),
            Value::Double(d) => Value::Bool(d != 0.0),
            Value::Str(s) => match s.as_str() {
                "1" | "t" | "T" | "true" | "TRUE" | "True" => Value::Bool(true),
                "0" | "f" | "F" | "false" | "FALSE" | "False" => Value::Bool(false),
                _ => Value::Nil,
            },
            _ => Value::Nil,
        },
        Func::String => match arg(call, 0, t)? {
            Value::Nil => Value::Nil,
            Value::Bytes(b) => Value::Str(hex(&b)),
            Value::Double(d) => Value::Str(format_double(d)),
            v @ (Value::Map(_) | Value::List(_)) => Value::Str(to_json(&v).to_string()),
            v => string_like(&v).map_or(Value::Nil, Value::Str),
        },
        Func::Sha256 => Value::Str(sha256_hex(&string_arg(call, 0, t, "SHA256")?)),
        Func::IsString => Value::Bool(matches!(arg(call, 0, t)?, Value::Str(_))),
        Func::IsMap => Value::Bool(matches!(arg(call, 0, t)?, Value::Map(_))),
        Func::IsInt => Value::Bool(matches!(arg(call, 0, t)?, Value::Int(_))),
        Func::IsDouble => Value::Bool(matches!(arg(call, 0, t)?, Value::Double(_))),
        Func::IsBool => Value::Bool(matches!(arg(call, 0, t)?, Value::Bool(_))),
        Func::IsList => Value::Bool(matches!(arg(call, 0, t)?, Value::List(_))),
        Func::Len => match arg(call, 0, t)? {
            Value::Str(s) => Value::Int(s.len() as i64),
            Value::List(l) => Value::Int(l.len() as i64),
            Value::Map(m) => Value::Int(m.len() as i64),
            other => {
                return Err(EvalError(format!(
                    "Len expects a string, list or map, got {}",
                    other.type_name()
                )));
            }
        },
        Func::ToLowerCase => Value::Str(string_arg(call, 0, t, "ToLowerCase")?.to_lowercase()),
        Func::ToUpperCase => Value::Str(string_arg(call, 0, t, "ToUpperCase")?.to_uppercase()),
        Func::ParseJson => {
            let s = string_arg(call, 0, t, "ParseJSON")?;
            let json: serde_json::Value = serde_json::from_str(&s)
                .map_err(|e| EvalError(format!("ParseJSON: invalid JSON: {e}")))?;
            from_json(json)
        }
        Func::Split => {
            let s = string_arg(call, 0, t, "Split")?;
            let delimiter = string_arg(call, 1, t, "Split's delimiter")?;
            Value::List(
                s.split(delimiter.as_str())
                    .map(|p| Value::Str(p.to_owned()))
                    .collect(),
            )
        }
        Func::Substring => {
            let s = string_arg(call, 0, t, "Substring")?;
            let start = int_arg(call, 1, t, "Substring's start")?;
            let length = int_arg(call, 2, t, "Substring's length")?;
            let range = usize::try_from(start)
                .ok()
                .zip(usize::try_from(length).ok());
            let sub = range.and_then(|(start, len)| s.get(start..start.checked_add(len)?));
            match sub {
                Some(sub) => Value::Str(sub.to_owned()),
                None => {
                    return Err(EvalError(format!(
                        "Substring({start}, {length}) is out of range or splits a character of a {}-byte string",
                        s.len()
                    )));
                }
            }
        }
        Func::HasPrefix => {
            let s = string_arg(call, 0, t, "HasPrefix")?;
            Value::Bool(s.starts_with(&string_arg(call, 1, t, "HasPrefix's prefix")?))
        }
        Func::HasSuffix => {
            let s = string_arg(call, 0, t, "HasSuffix")?;
            Value::Bool(s.ends_with(&string_arg(call, 1, t, "HasSuffix's suffix")?))
        }
        Func::Coalesce => {
            for e in args::exprs(&call.args, 0)? {
                let v = eval(e, t)?;
                if !v.is_nil() {
                    return Ok(v);
                }
            }
            Value::Nil
        }
        editor => {
            return Err(EvalError(format!(
                "internal: {editor:?} is not a converter"
            )));
        }
    })
}
