//! A series' attributes: the four default dimensions with the Collector's value formats, the
//! configured dimensions looked up on the span, then the resource (or event), then the default,
//! and the key that identifies the series.

use sluice_guest_sdk::otlp::{AnyValue, InstrumentationScope, KeyValue, Span};
use sluice_guest_sdk::prost::Message;

use crate::config::{DefaultDimensions, Dimension};
use crate::proto;

pub const SERVICE_NAME: &str = "service.name";
pub const SPAN_NAME: &str = "span.name";
pub const SPAN_KIND: &str = "span.kind";
pub const STATUS_CODE: &str = "status.code";
pub const SCOPE_NAME: &str = "span.instrumentation.scope.name";
pub const SCOPE_VERSION: &str = "span.instrumentation.scope.version";
/// The attribute of the series that collects what exceeds `aggregation_cardinality_limit`.
pub const OVERFLOW: &str = "otel.metric.overflow";

/// Dimension names that are always present and cannot be configured again.
pub const RESERVED: [&str; 4] = [SERVICE_NAME, SPAN_KIND, STATUS_CODE, SPAN_NAME];

/// `span.kind` as the Collector writes it (`traceutil.SpanKindStr`); empty for unknown kinds.
pub fn span_kind(kind: i32) -> &'static str {
    match kind {
        0 => "SPAN_KIND_UNSPECIFIED",
        1 => "SPAN_KIND_INTERNAL",
        2 => "SPAN_KIND_SERVER",
        3 => "SPAN_KIND_CLIENT",
        4 => "SPAN_KIND_PRODUCER",
        5 => "SPAN_KIND_CONSUMER",
        _ => "",
    }
}

/// `status.code` as the Collector writes it (`traceutil.StatusCodeStr`); empty for unknown codes.
pub fn status_code(code: i32) -> &'static str {
    match code {
        0 => "STATUS_CODE_UNSET",
        1 => "STATUS_CODE_OK",
        2 => "STATUS_CODE_ERROR",
        _ => "",
    }
}

/// An attribute that carries no value (`KeyValue.value` absent) reads as the empty value.
static EMPTY: AnyValue = AnyValue { value: None };

/// A dimension value, borrowed from the batch or the config.
#[derive(Debug, Clone, Copy)]
pub enum Value<'a> {
    Str(&'a str),
    Any(&'a AnyValue),
}

/// Where configured dimensions are looked up, most specific first: the span's attributes, the
/// event's (events metric only), the resource's.
#[derive(Debug, Clone, Copy)]
pub struct Sources<'a> {
    pub span: &'a [KeyValue],
    pub event: &'a [KeyValue],
    pub resource: &'a [KeyValue],
}

fn find<'a>(attrs: &'a [KeyValue], name: &str) -> Option<&'a AnyValue> {
    attrs
        .iter()
        .find(|kv| kv.key == name)
        .map(|kv| kv.value.as_ref().unwrap_or(&EMPTY))
}

impl<'a> Sources<'a> {
    /// The value of `name`: span, then event, then resource attributes.
    pub fn get(&self, name: &str) -> Option<&'a AnyValue> {
        find(self.span, name)
            .or_else(|| find(self.event, name))
            .or_else(|| find(self.resource, name))
    }
}

/// The ordered attributes of one series, borrowed until the series has to be created.
#[derive(Debug, Clone, Default)]
pub struct AttrList<'a> {
    items: Vec<(&'a str, Value<'a>)>,
}

impl<'a> AttrList<'a> {
    /// The default dimensions (those not excluded) and, for scopes listed in
    /// `include_instrumentation_scope`, the scope's name and version.
    pub fn base(
        defaults: DefaultDimensions,
        service_name: &'a str,
        span: &'a Span,
        scope: Option<&'a InstrumentationScope>,
        include_scopes: &[String],
    ) -> Self {
        let mut list = AttrList {
            items: Vec::with_capacity(8),
        };
        if defaults.service_name {
            list.items.push((SERVICE_NAME, Value::Str(service_name)));
        }
        if defaults.span_name {
            list.items.push((SPAN_NAME, Value::Str(&span.name)));
        }
        if defaults.span_kind {
            list.items
                .push((SPAN_KIND, Value::Str(span_kind(span.kind))));
        }
        if defaults.status_code {
            let code = span.status.as_ref().map_or(0, |s| s.code);
            list.items
                .push((STATUS_CODE, Value::Str(status_code(code))));
        }
        if let Some(scope) = scope
            && !scope.name.is_empty()
            && include_scopes.contains(&scope.name)
        {
            list.items.push((SCOPE_NAME, Value::Str(&scope.name)));
            if !scope.version.is_empty() {
                list.items.push((SCOPE_VERSION, Value::Str(&scope.version)));
            }
        }
        list
    }

    /// Adds each dimension found in `sources` (or with a default); a name already present
    /// takes the new value in place, as the Collector's `PutEmpty` does.
    pub fn add_dimensions(&mut self, dimensions: &'a [Dimension], sources: &Sources<'a>) {
        for d in dimensions {
            let value = match sources.get(&d.name) {
                Some(v) => Value::Any(v),
                None => match &d.default {
                    Some(v) => Value::Any(v),
                    None => continue,
                },
            };
            match self.items.iter_mut().find(|(n, _)| *n == d.name) {
                Some(slot) => slot.1 = value,
                None => self.items.push((&d.name, value)),
            }
        }
    }

    /// This list plus `dimensions`; borrows nothing new when there are none.
    pub fn with(&self, dimensions: &'a [Dimension], sources: &Sources<'a>) -> Self {
        let mut list = self.clone();
        list.add_dimensions(dimensions, sources);
        list
    }

    /// Writes the series key, which is also the series' attributes as OTLP encodes them: one
    /// length-prefixed `KeyValue` message per attribute, in order ([`proto::repeated_field`]
    /// turns it into any data point's `attributes`). A string value encodes the same wherever
    /// it comes from, so spans and defaults share series.
    pub fn encode_key(&self, buf: &mut Vec<u8>) {
        buf.clear();
        for (name, value) in &self.items {
            write_key_value(buf, name, *value);
        }
    }
}

/// Appends one `KeyValue` message, length-prefixed.
pub fn write_key_value(buf: &mut Vec<u8>, name: &str, value: Value<'_>) {
    let text = match value {
        Value::Str(s) => Some(s),
        Value::Any(v) => v.as_str(),
    };
    // AnyValue: `string_value` (field 1), or the value's own encoding.
    let any_len = match (text, value) {
        (Some(s), _) => 1 + proto::varint_len(s.len() as u64) + s.len(),
        (None, Value::Any(v)) => v.encoded_len(),
        (None, Value::Str(_)) => 0,
    };
    let kv_len = 1
        + proto::varint_len(name.len() as u64)
        + name.len()
        + 1
        + proto::varint_len(any_len as u64)
        + any_len;
    proto::varint(buf, kv_len as u64);
    proto::bytes_field(buf, 1, name.as_bytes());
    buf.push(proto::key(2, proto::LEN));
    proto::varint(buf, any_len as u64);
    match (text, value) {
        (Some(s), _) => proto::bytes_field(buf, 1, s.as_bytes()),
        (None, Value::Any(v)) => {
            // Encoding into a Vec cannot run out of space.
            let _ = v.encode(buf);
        }
        (None, Value::Str(_)) => {}
    }
}

/// The attributes of the overflow series: `otel.metric.overflow = true`, encoded as a key.
pub fn overflow_key() -> Vec<u8> {
    static TRUE: AnyValue = AnyValue {
        value: Some(sluice_guest_sdk::otlp::any_value::Value::BoolValue(true)),
    };
    let mut buf = Vec::with_capacity(32);
    write_key_value(&mut buf, OVERFLOW, Value::Any(&TRUE));
    buf
}

fn write_str(buf: &mut Vec<u8>, s: &str) {
    let len = u32::try_from(s.len()).unwrap_or(u32::MAX);
    buf.extend_from_slice(&len.to_le_bytes());
    buf.extend_from_slice(s.as_bytes());
}

/// Appends `value` to a key: strings as text, other values as their protobuf encoding.
pub fn write_value(buf: &mut Vec<u8>, value: Value<'_>) {
    let text = match value {
        Value::Str(s) => Some(s),
        Value::Any(v) => v.as_str(),
    };
    match (text, value) {
        (Some(s), _) => {
            buf.push(b's');
            write_str(buf, s);
        }
        (None, Value::Any(v)) => {
            buf.push(b'v');
            // Encoding into a Vec cannot run out of space.
            let _ = v.encode_length_delimited(buf);
        }
        (None, Value::Str(_)) => {}
    }
}

/// Writes the key of a resource: its attributes (only `key_attributes` when given), sorted by
/// key so that the order a sender used does not matter.
pub fn resource_key(attrs: &[KeyValue], key_attributes: Option<&[String]>, buf: &mut Vec<u8>) {
    buf.clear();
    let mut selected: Vec<&KeyValue> = attrs
        .iter()
        .filter(|kv| key_attributes.is_none_or(|keys| keys.contains(&kv.key)))
        .collect();
    selected.sort_by(|a, b| a.key.cmp(&b.key));
    for kv in selected {
        write_str(buf, &kv.key);
        write_value(buf, Value::Any(kv.value.as_ref().unwrap_or(&EMPTY)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(k: &str, v: impl Into<AnyValue>) -> KeyValue {
        KeyValue::new(k, v)
    }

    #[test]
    fn lookup_prefers_span_then_event_then_resource() {
        let span = [kv("a", "span")];
        let event = [kv("a", "event"), kv("b", "event")];
        let resource = [kv("a", "res"), kv("b", "res"), kv("c", "res")];
        let s = Sources {
            span: &span,
            event: &event,
            resource: &resource,
        };
        assert_eq!(s.get("a").and_then(AnyValue::as_str), Some("span"));
        assert_eq!(s.get("b").and_then(AnyValue::as_str), Some("event"));
        assert_eq!(s.get("c").and_then(AnyValue::as_str), Some("res"));
        assert!(s.get("d").is_none());
    }

    fn key<'a>(items: Vec<(&'a str, Value<'a>)>) -> Vec<u8> {
        let mut buf = Vec::new();
        AttrList { items }.encode_key(&mut buf);
        buf
    }

    #[test]
    fn keys_tell_types_and_positions_apart() {
        let (int, text) = (AnyValue::int(5), AnyValue::string("5"));
        assert_ne!(
            key(vec![("x", Value::Any(&int))]),
            key(vec![("x", Value::Any(&text))])
        );
        assert_eq!(
            key(vec![("x", Value::Str("5"))]),
            key(vec![("x", Value::Any(&text))])
        );
        assert_ne!(
            key(vec![("ab", Value::Str("c"))]),
            key(vec![("a", Value::Str("bc"))])
        );
    }

    #[test]
    fn keys_are_the_encoded_attributes() {
        use sluice_guest_sdk::prost::Message;
        let int = AnyValue::int(200);
        let mut buf = Vec::new();
        AttrList {
            items: vec![
                ("service.name", Value::Str("api")),
                ("code", Value::Any(&int)),
            ],
        }
        .encode_key(&mut buf);
        let mut rest = buf.as_slice();
        let mut decoded = Vec::new();
        while !rest.is_empty() {
            decoded.push(KeyValue::decode_length_delimited(&mut rest).expect("a KeyValue"));
        }
        assert_eq!(decoded, vec![kv("service.name", "api"), kv("code", 200i64)]);
        let overflow = overflow_key();
        assert_eq!(
            KeyValue::decode_length_delimited(overflow.as_slice()).expect("a KeyValue"),
            kv("otel.metric.overflow", true)
        );
    }

    #[test]
    fn resource_keys_ignore_order_and_unselected_attributes() {
        let a = [kv("service.name", "x"), kv("host", "h1")];
        let b = [kv("host", "h1"), kv("service.name", "x")];
        let c = [kv("host", "h2"), kv("service.name", "x")];
        let (mut ka, mut kb, mut kc) = (Vec::new(), Vec::new(), Vec::new());
        resource_key(&a, None, &mut ka);
        resource_key(&b, None, &mut kb);
        resource_key(&c, None, &mut kc);
        assert_eq!(ka, kb);
        assert_ne!(ka, kc);
        let only = ["service.name".to_owned()];
        resource_key(&a, Some(&only), &mut ka);
        resource_key(&c, Some(&only), &mut kc);
        assert_eq!(ka, kc);
    }
}
