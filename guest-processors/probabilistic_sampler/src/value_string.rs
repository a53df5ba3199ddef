//! The string form of an attribute value as the Collector's `pcommon.Value.AsString` writes
//! it, which `from_attribute` hashing depends on: strings as-is, booleans and integers in
//! decimal, doubles in the ES6 number format, bytes in standard base64, maps and lists as
//! JSON (map keys sorted, as Go's `encoding/json`).

use sluice_guest_sdk::otlp::any_value::Value;
use sluice_guest_sdk::prelude::*;

/// `AsString`.
pub fn value_as_string(value: &AnyValue) -> String {
    match &value.value {
        None => String::new(),
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::DoubleValue(d)) => {
            if d.is_finite() {
                es6_number(*d)
            } else {
                format!("json: unsupported value: {}", go_g_special(*d))
            }
        }
        Some(Value::BytesValue(b)) => base64(b),
        Some(Value::KvlistValue(_)) | Some(Value::ArrayValue(_)) => {
            let mut out = String::new();
            // Go's json.Marshal fails on NaN or infinities, and AsString then returns "".
            if write_json(value, &mut out) {
                out
            } else {
                String::new()
            }
        }
        Some(Value::StringValueStrindex(i)) => i.to_string(),
    }
}

fn go_g_special(d: f64) -> &'static str {
    if d.is_nan() {
        "NaN"
    } else if d > 0.0 {
        "+Inf"
    } else {
        "-Inf"
    }
}

/// Go's `float64AsString` / JSON float format: shortest round-trip digits, exponent form only
/// below 1e-6 or from 1e21, with `e-7`/`e+21` style exponents.
fn es6_number(d: f64) -> String {
    let abs = d.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = format!("{d:e}");
        match s.split_once('e') {
            Some((mantissa, exp)) if !exp.starts_with('-') => format!("{mantissa}e+{exp}"),
            _ => s,
        }
    } else {
        format!("{d}")
    }
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Writes `value` as Go's `json.Marshal` of its `AsRaw` form; false if Go would fail.
fn write_json(value: &AnyValue, out: &mut String) -> bool {
    match &value.value {
        None => out.push_str("null"),
        Some(Value::StringValue(s)) => write_json_string(s, out),
        Some(Value::BoolValue(b)) => out.push_str(if *b { "true" } else { "false" }),
        Some(Value::IntValue(i)) => out.push_str(&i.to_string()),
        Some(Value::StringValueStrindex(i)) => out.push_str(&i.to_string()),
        Some(Value::DoubleValue(d)) => {
            if !d.is_finite() {
                return false;
            }
            out.push_str(&es6_number(*d));
        }
        Some(Value::BytesValue(b)) => {
            out.push('"');
            out.push_str(&base64(b));
            out.push('"');
        }
        Some(Value::ArrayValue(a)) => {
            out.push('[');
            for (i, v) in a.values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if !write_json(v, out) {
                    return false;
                }
            }
            out.push(']');
        }
        Some(Value::KvlistValue(m)) => {
            // A Go map: later duplicates win, keys are written sorted.
            let mut entries: Vec<(&str, Option<&AnyValue>)> = Vec::new();
            for kv in &m.values {
                match entries.iter_mut().find(|(k, _)| *k == kv.key) {
                    Some(entry) => entry.1 = kv.value.as_ref(),
                    None => entries.push((kv.key.as_str(), kv.value.as_ref())),
                }
            }
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(k, out);
                out.push(':');
                match v {
                    Some(v) => {
                        if !write_json(v, out) {
                            return false;
                        }
                    }
                    None => out.push_str("null"),
                }
            }
            out.push('}');
        }
    }
    true
}

/// A JSON string with Go's HTML-safe escaping.
fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_use_the_es6_format() {
        assert_eq!(es6_number(1.0), "1");
        assert_eq!(es6_number(0.5), "0.5");
        assert_eq!(es6_number(1e21), "1e+21");
        assert_eq!(es6_number(1.5e-7), "1.5e-7");
        assert_eq!(es6_number(123456.789), "123456.789");
    }

    #[test]
    fn base64_pads() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
    }

    #[test]
    fn maps_are_sorted_json() {
        let v = AnyValue::map([KeyValue::new("b", 1i64), KeyValue::new("a", "<x>")]);
        assert_eq!(value_as_string(&v), r#"{"a":"\u003cx\u003e","b":1}"#);
    }
}
