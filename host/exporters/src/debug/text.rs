//! Rendering of OTLP values as the Collector's pdata prints them (`pcommon.Value.AsString`,
//! `Timestamp.String`, `TraceID.String`, Go's float verbs and the enums' `String`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use base64::Engine as _;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};

/// Hex of a trace or span id; empty for an absent or all-zero id, as pdata's `String()`.
pub fn hex_id(id: &[u8]) -> String {
    if id.iter().all(|b| *b == 0) {
        return String::new();
    }
    let mut out = String::with_capacity(id.len() * 2);
    for b in id {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// `2020-02-11 20:26:12.000000321 +0000 UTC`, as Go's `time.Time.String()` in UTC.
pub fn timestamp(unix_nanos: u64) -> String {
    let secs = unix_nanos / 1_000_000_000;
    let nanos = unix_nanos % 1_000_000_000;
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    let mut out = format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    out.push_str(" +0000 UTC");
    out
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`, for non-negative day counts).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// The pdata type name of a value: `Str`, `Int`, `Double`, `Bool`, `Map`, `Slice`, `Bytes`, `Empty`.
pub fn value_type(value: Option<&AnyValue>) -> &'static str {
    match value.and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(_)) => "Str",
        Some(Value::BoolValue(_)) => "Bool",
        Some(Value::IntValue(_)) => "Int",
        Some(Value::DoubleValue(_)) => "Double",
        Some(Value::ArrayValue(_)) => "Slice",
        Some(Value::KvlistValue(_)) => "Map",
        Some(Value::BytesValue(_)) => "Bytes",
        // A profiles-only dictionary reference: treated as absent, as OTLP asks.
        Some(Value::StringValueStrindex(_)) | None => "Empty",
    }
}

/// A value as pdata's `AsString`: strings as is, maps and slices as JSON, bytes as base64.
pub fn value_as_string(value: Option<&AnyValue>) -> String {
    match value.and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::DoubleValue(d)) => float_json(*d),
        Some(Value::BytesValue(b)) => base64::engine::general_purpose::STANDARD.encode(b),
        Some(v @ (Value::ArrayValue(_) | Value::KvlistValue(_))) => {
            let mut out = String::new();
            write_json(&mut out, Some(v));
            out
        }
        Some(Value::StringValueStrindex(_)) | None => String::new(),
    }
}

/// `Str(value)`, as the detailed output prints attribute values and bodies.
pub fn typed_value(value: Option<&AnyValue>) -> String {
    format!("{}({})", value_type(value), value_as_string(value))
}

/// `key=value` pairs of an attribute list, in their order.
pub fn attribute_pairs(attributes: &[KeyValue]) -> Vec<String> {
    attributes
        .iter()
        .map(|kv| format!("{}={}", kv.key, value_as_string(kv.value.as_ref())))
        .collect()
}

/// The raw JSON of a value, as Go's `json.Marshal(value.AsRaw())`: map keys sorted.
fn write_json(out: &mut String, value: Option<&Value>) {
    match value {
        None | Some(Value::StringValueStrindex(_)) => out.push_str("null"),
        Some(Value::StringValue(s)) => write_json_string(out, s),
        Some(Value::BoolValue(b)) => out.push_str(if *b { "true" } else { "false" }),
        Some(Value::IntValue(i)) => out.push_str(&i.to_string()),
        Some(Value::DoubleValue(d)) if d.is_finite() => out.push_str(&float_json(*d)),
        Some(Value::DoubleValue(_)) => out.push_str("null"),
        Some(Value::BytesValue(b)) => {
            write_json_string(out, &base64::engine::general_purpose::STANDARD.encode(b));
        }
        Some(Value::ArrayValue(array)) => {
            out.push('[');
            for (i, v) in array.values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, v.value.as_ref());
            }
            out.push(']');
        }
        Some(Value::KvlistValue(list)) => {
            // Sorted keys, the last of duplicates wins: Go's `map[string]any`.
            let entries: BTreeMap<&str, Option<&Value>> = list
                .values
                .iter()
                .map(|kv| {
                    (
                        kv.key.as_str(),
                        kv.value.as_ref().and_then(|v| v.value.as_ref()),
                    )
                })
                .collect();
            out.push('{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(out, key);
                out.push(':');
                write_json(out, value);
            }
            out.push('}');
        }
    }
}

fn write_json_string(out: &mut String, s: &str) {
    match serde_json::to_string(s) {
        Ok(quoted) => out.push_str(&quoted),
        Err(_) => out.push_str("\"\""),
    }
}

/// Go's `float64AsString` (ES6 number formatting): `1.5`, `100`, `1e-7`, `1e+21`.
pub fn float_json(f: f64) -> String {
    if !f.is_finite() {
        return format!("json: unsupported value: {}", float_v(f));
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let (mantissa, exp) = shortest_exp(f);
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{}", exp.unsigned_abs());
    }
    format!("{f}")
}

/// Go's `%v` of a float64 (shortest `%g`): `1.5`, `100000`, `1e+06`, `1e-05`, `+Inf`.
pub fn float_v(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    let (mantissa, exp) = shortest_exp(f);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.unsigned_abs());
    }
    format!("{f}")
}

/// Go's `%f`: six decimals, `+Inf`/`-Inf`/`NaN`.
pub fn float_f(f: f64) -> String {
    if f.is_finite() {
        format!("{f:.6}")
    } else {
        float_v(f)
    }
}

/// The shortest round-trip digits of `f` as (mantissa, decimal exponent): (`1.5`, 3) for 1500.
fn shortest_exp(f: f64) -> (String, i32) {
    let s = format!("{f:e}");
    match s.split_once('e') {
        Some((mantissa, exp)) => (mantissa.to_owned(), exp.parse().unwrap_or(0)),
        None => (s, 0),
    }
}

/// `SpanKind.String()`.
pub fn span_kind(kind: i32) -> String {
    match kind {
        0 => "Unspecified".to_owned(),
        1 => "Internal".to_owned(),
        2 => "Server".to_owned(),
        3 => "Client".to_owned(),
        4 => "Producer".to_owned(),
        5 => "Consumer".to_owned(),
        other => other.to_string(),
    }
}

/// `StatusCode.String()`.
pub fn status_code(code: i32) -> String {
    match code {
        0 => "Unset".to_owned(),
        1 => "Ok".to_owned(),
        2 => "Error".to_owned(),
        other => other.to_string(),
    }
}

/// `SeverityNumber.String()`: `Unspecified`, `Trace`, `Trace2` … `Fatal4`.
pub fn severity(number: i32) -> String {
    const NAMES: [&str; 6] = ["Trace", "Debug", "Info", "Warn", "Error", "Fatal"];
    match number {
        0 => "Unspecified".to_owned(),
        1..=24 => {
            let idx = (number - 1) as usize;
            match idx % 4 {
                0 => NAMES[idx / 4].to_owned(),
                n => format!("{}{}", NAMES[idx / 4], n + 1),
            }
        }
        other => format!("SeverityNumber({other})"),
    }
}

/// `AggregationTemporality.String()`.
pub fn temporality(value: i32) -> String {
    match value {
        0 => "Unspecified".to_owned(),
        1 => "Delta".to_owned(),
        2 => "Cumulative".to_owned(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValueList};

    fn v(value: Value) -> AnyValue {
        AnyValue { value: Some(value) }
    }

    #[test]
    fn timestamps_print_like_go_time_string() {
        assert_eq!(timestamp(0), "1970-01-01 00:00:00 +0000 UTC");
        assert_eq!(
            timestamp(1_581_452_772_000_000_321),
            "2020-02-11 20:26:12.000000321 +0000 UTC"
        );
        assert_eq!(
            timestamp(1_709_251_200_500_000_000),
            "2024-03-01 00:00:00.5 +0000 UTC"
        );
    }

    #[test]
    fn ids_are_lower_hex_and_empty_when_zero() {
        assert_eq!(hex_id(&[0xAB, 0x01]), "ab01");
        assert_eq!(hex_id(&[0; 16]), "");
        assert_eq!(hex_id(&[]), "");
    }

    #[test]
    fn floats_follow_go_verbs() {
        assert_eq!(float_v(1.5), "1.5");
        assert_eq!(float_v(100_000.0), "100000");
        assert_eq!(float_v(1_000_000.0), "1e+06");
        assert_eq!(float_v(0.00001), "1e-05");
        assert_eq!(float_v(f64::INFINITY), "+Inf");
        assert_eq!(float_f(1.23), "1.230000");
        assert_eq!(float_json(1e21), "1e+21");
        assert_eq!(float_json(1e-7), "1e-7");
        assert_eq!(float_json(123_456_789.0), "123456789");
    }

    #[test]
    fn values_print_with_their_type() {
        let map = v(Value::KvlistValue(KeyValueList {
            values: vec![
                KeyValue {
                    key: "b".into(),
                    value: Some(v(Value::IntValue(2))),
                    ..Default::default()
                },
                KeyValue {
                    key: "a".into(),
                    value: Some(v(Value::ArrayValue(ArrayValue {
                        values: vec![
                            v(Value::StringValue("x\"y".into())),
                            v(Value::BoolValue(true)),
                        ],
                    }))),
                    ..Default::default()
                },
            ],
        }));
        assert_eq!(typed_value(Some(&map)), r#"Map({"a":["x\"y",true],"b":2})"#);
        assert_eq!(
            typed_value(Some(&v(Value::BytesValue(b"hi".to_vec())))),
            "Bytes(aGk=)"
        );
        assert_eq!(typed_value(Some(&v(Value::DoubleValue(2.0)))), "Double(2)");
        assert_eq!(typed_value(None), "Empty()");
    }

    #[test]
    fn enums_have_collector_names() {
        assert_eq!(severity(9), "Info");
        assert_eq!(severity(12), "Info4");
        assert_eq!(severity(24), "Fatal4");
        assert_eq!(span_kind(2), "Server");
        assert_eq!(status_code(2), "Error");
        assert_eq!(temporality(2), "Cumulative");
    }
}
