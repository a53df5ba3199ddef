//! Runtime values and OTTL's comparison and conversion rules.

use sluice_guest_sdk::otlp::any_value::Value as Any;
use sluice_guest_sdk::otlp::{AnyValue, ArrayValue, KeyValue, KeyValueList};

use super::ast::CmpOp;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Nil,
    Bool(bool),
    Int(i64),
    Double(f64),
    Str(String),
    Bytes(Vec<u8>),
    Map(Vec<KeyValue>),
    List(Vec<Value>),
}

impl Value {
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "nil",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Double(_) => "double",
            Value::Str(_) => "string",
            Value::Bytes(_) => "bytes",
            Value::Map(_) => "map",
            Value::List(_) => "list",
        }
    }

    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }
}

impl From<&AnyValue> for Value {
    fn from(v: &AnyValue) -> Self {
        match &v.value {
            None | Some(Any::StringValueStrindex(_)) => Value::Nil,
            Some(Any::StringValue(s)) => Value::Str(s.clone()),
            Some(Any::BoolValue(b)) => Value::Bool(*b),
            Some(Any::IntValue(i)) => Value::Int(*i),
            Some(Any::DoubleValue(d)) => Value::Double(*d),
            Some(Any::BytesValue(b)) => Value::Bytes(b.clone()),
            Some(Any::ArrayValue(a)) => Value::List(a.values.iter().map(Value::from).collect()),
            Some(Any::KvlistValue(m)) => Value::Map(m.values.clone()),
        }
    }
}

impl From<Option<&AnyValue>> for Value {
    fn from(v: Option<&AnyValue>) -> Self {
        v.map_or(Value::Nil, Value::from)
    }
}

impl From<Value> for AnyValue {
    fn from(v: Value) -> Self {
        let value = match v {
            Value::Nil => None,
            Value::Bool(b) => Some(Any::BoolValue(b)),
            Value::Int(i) => Some(Any::IntValue(i)),
            Value::Double(d) => Some(Any::DoubleValue(d)),
            Value::Str(s) => Some(Any::StringValue(s)),
            Value::Bytes(b) => Some(Any::BytesValue(b)),
            Value::Map(values) => Some(Any::KvlistValue(KeyValueList { values })),
            Value::List(items) => Some(Any::ArrayValue(ArrayValue {
                values: items.into_iter().map(AnyValue::from).collect(),
            })),
        };
        AnyValue { value }
    }
}

/// Compares by OTTL's rules: numbers across int/double, strings, bools (false < true);
/// bytes, maps and lists only for (in)equality; `nil` equals only `nil`. Values of
/// different kinds are "not equal": `!=` is true, every other operator false.
pub fn compare(a: &Value, op: CmpOp, b: &Value) -> bool {
    use std::cmp::Ordering;
    let ordering: Option<Ordering> = match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Int(x), Value::Double(y)) => (*x as f64).partial_cmp(y),
        (Value::Double(x), Value::Int(y)) => x.partial_cmp(&(*y as f64)),
        (Value::Double(x), Value::Double(y)) => x.partial_cmp(y),
        (Value::Str(x), Value::Str(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => {
            let equal = match (a, b) {
                (Value::Nil, Value::Nil) => true,
                (Value::Bytes(x), Value::Bytes(y)) => x == y,
                (Value::Map(x), Value::Map(y)) => maps_equal(x, y),
                (Value::List(x), Value::List(y)) => x == y,
                _ => false,
            };
            return match op {
                CmpOp::Eq => equal,
                CmpOp::Ne => !equal,
                _ => false,
            };
        }
    };
    let Some(o) = ordering else {
        return op == CmpOp::Ne; // NaN
    };
    match op {
        CmpOp::Eq => o == Ordering::Equal,
        CmpOp::Ne => o != Ordering::Equal,
        CmpOp::Lt => o == Ordering::Less,
        CmpOp::Le => o != Ordering::Greater,
        CmpOp::Gt => o == Ordering::Greater,
        CmpOp::Ge => o != Ordering::Less,
    }
}

/// Maps are equal when they hold the same keys with equal values, in any order.
fn maps_equal(a: &[KeyValue], b: &[KeyValue]) -> bool {
    a.len() == b.len()
        && a.iter().all(|kv| {
            b.iter()
                .any(|other| other.key == kv.key && other.value == kv.value)
        })
}

/// A double as Go's `strconv.FormatFloat(f, 'f', -1, 64)` writes it.
pub fn format_double(d: f64) -> String {
    if d.is_nan() {
        "NaN".into()
    } else if d.is_infinite() {
        if d > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{d}")
    }
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The value as JSON, the way pdata renders maps and slices.
pub fn to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Nil => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::Double(d) => serde_json::Number::from_f64(*d).map_or(J::Null, J::Number),
        Value::Str(s) => J::String(s.clone()),
        Value::Bytes(b) => J::String(base64(b)),
        Value::Map(m) => J::Object(
            m.iter()
                .map(|kv| (kv.key.clone(), to_json(&Value::from(kv.value.as_ref()))))
                .collect(),
        ),
        Value::List(l) => J::Array(l.iter().map(to_json).collect()),
    }
}

/// JSON as a value: numbers become doubles, objects maps, arrays lists (as `ParseJSON`).
pub fn from_json(j: serde_json::Value) -> Value {
    use serde_json::Value as J;
    match j {
        J::Null => Value::Nil,
        J::Bool(b) => Value::Bool(b),
        J::Number(n) => Value::Double(n.as_f64().unwrap_or(f64::NAN)),
        J::String(s) => Value::Str(s),
        J::Array(a) => Value::List(a.into_iter().map(from_json).collect()),
        J::Object(o) => Value::Map(
            o.into_iter()
                .map(|(k, v)| KeyValue::new(k, AnyValue::from(from_json(v))))
                .collect(),
        ),
    }
}

/// The string form used where a string is expected from any value (`Concat`, `IsMatch`):
/// numbers and bools as text, bytes as hex, maps and lists as JSON; `None` for nil.
pub fn string_like(v: &Value) -> Option<String> {
    Some(match v {
        Value::Nil => return None,
        Value::Str(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Double(d) => format_double(*d),
        Value::Bytes(b) => hex(b),
        Value::Map(_) | Value::List(_) => to_json(v).to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_across_numeric_types_and_refuses_mixed_kinds() {
        assert!(compare(&Value::Int(2), CmpOp::Eq, &Value::Double(2.0)));
        assert!(compare(&Value::Int(1), CmpOp::Lt, &Value::Double(1.5)));
        assert!(compare(&Value::Str("a".into()), CmpOp::Ne, &Value::Int(1)));
        assert!(!compare(&Value::Str("1".into()), CmpOp::Lt, &Value::Int(2)));
        assert!(compare(&Value::Nil, CmpOp::Eq, &Value::Nil));
        assert!(!compare(&Value::Nil, CmpOp::Le, &Value::Int(0)));
        assert!(compare(&Value::Bool(false), CmpOp::Lt, &Value::Bool(true)));
    }

    #[test]
    fn maps_compare_regardless_of_order() {
        let a = Value::Map(vec![KeyValue::new("x", 1i64), KeyValue::new("y", "b")]);
        let b = Value::Map(vec![KeyValue::new("y", "b"), KeyValue::new("x", 1i64)]);
        assert!(compare(&a, CmpOp::Eq, &b));
    }

    #[test]
    fn renders_like_pdata() {
        assert_eq!(format_double(1.0), "1");
        assert_eq!(format_double(0.25), "0.25");
        assert_eq!(base64(b"hello"), "aGVsbG8=");
        assert_eq!(base64(b"hi!"), "aGkh");
        assert_eq!(hex(&[0, 171]), "00ab");
        assert_eq!(unhex("00ab"), Some(vec![0, 171]));
        let m = Value::Map(vec![KeyValue::new("a", 1i64)]);
        assert_eq!(string_like(&m).as_deref(), Some(r#"{"a":1}"#));
    }
}
