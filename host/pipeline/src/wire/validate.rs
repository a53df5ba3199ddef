//! Checking that an encoded export request decodes, without decoding it: a walk of
//! every message of the OTLP schema that accepts exactly what prost's decoding of the
//! `opentelemetry-proto` types accepts (known fields with their wire type, strings valid UTF-8,
//! lengths inside their message, messages nested at most 100 deep, unknown fields skipped as
//! prost skips them), and counts the items. A receiver whose pipeline reads requests as bytes
//! only checks them this way: the stages that decode later cannot fail.

use prost::encoding::{DecodeContext, WireType, decode_key, decode_varint, skip_field};

use crate::Signal;

/// How a field is encoded.
#[derive(Clone, Copy)]
enum Kind {
    /// int32, uint32, int64, bool, enum: any varint.
    Varint,
    Fixed32,
    Fixed64,
    Bytes,
    /// UTF-8.
    Str,
    Message(&'static Schema),
    /// repeated fixed64 or double: packed (a length-delimited run of 8-byte values) or one value.
    PackedFixed64,
    /// repeated uint64: packed (a length-delimited run of varints) or one varint.
    PackedVarint,
}

/// One message type: its name (for errors) and its known fields, in field number order (field
/// `n` is usually at index `n - 1`, which [`Schema::field`] tries first).
struct Schema {
    name: &'static str,
    fields: &'static [(u32, &'static str, Kind)],
    /// Whether a message of this type is one item of the request (a span, a log record).
    item: bool,
}

impl Schema {
    fn field(&self, tag: u32) -> Option<&(u32, &'static str, Kind)> {
        let at = usize::try_from(tag).ok()?.checked_sub(1)?;
        match self.fields.get(at) {
            Some(field) if field.0 == tag => Some(field),
            _ => self.fields.iter().find(|(n, _, _)| *n == tag),
        }
    }
}

use Kind::{Bytes, Fixed32, Fixed64, Message, PackedFixed64, PackedVarint, Str, Varint};

const fn schema(name: &'static str, fields: &'static [(u32, &'static str, Kind)]) -> Schema {
    Schema {
        name,
        fields,
        item: false,
    }
}

static ANY_VALUE: Schema = schema(
    "AnyValue",
    &[
        (1, "string_value", Str),
        (2, "bool_value", Varint),
        (3, "int_value", Varint),
        (4, "double_value", Fixed64),
        (5, "array_value", Message(&ARRAY_VALUE)),
        (6, "kvlist_value", Message(&KEY_VALUE_LIST)),
        (7, "bytes_value", Bytes),
        (8, "string_value_strindex", Varint),
    ],
);
static ARRAY_VALUE: Schema = schema("ArrayValue", &[(1, "values", Message(&ANY_VALUE))]);
static KEY_VALUE_LIST: Schema = schema("KeyValueList", &[(1, "values", Message(&KEY_VALUE))]);
static KEY_VALUE: Schema = schema(
    "KeyValue",
    &[
        (1, "key", Str),
        (2, "value", Message(&ANY_VALUE)),
        (3, "key_strindex", Varint),
    ],
);
static SCOPE: Schema = schema(
    "InstrumentationScope",
    &[
        (1, "name", Str),
        (2, "version", Str),
        (3, "attributes", Message(&KEY_VALUE)),
        (4, "dropped_attributes_count", Varint),
    ],
);
static ENTITY_REF: Schema = schema(
    "EntityRef",
    &[
        (1, "schema_url", Str),
        (2, "type", Str),
        (3, "id_keys", Str),
        (4, "description_keys", Str),
    ],
);
static RESOURCE: Schema = schema(
    "Resource",
    &[
        (1, "attributes", Message(&KEY_VALUE)),
        (2, "dropped_attributes_count", Varint),
        (3, "entity_refs", Message(&ENTITY_REF)),
    ],
);

static STATUS: Schema = schema("Status", &[(2, "message", Str), (3, "code", Varint)]);
static EVENT: Schema = schema(
    "Event",
    &[
        (1, "time_unix_nano", Fixed64),
        (2, "name", Str),
        (3, "attributes", Message(&KEY_VALUE)),
        (4, "dropped_attributes_count", Varint),
    ],
);
static LINK: Schema = schema(
    "Link",
    &[
        (1, "trace_id", Bytes),
        (2, "span_id", Bytes),
        (3, "trace_state", Str),
        (4, "attributes", Message(&KEY_VALUE)),
        (5, "dropped_attributes_count", Varint),
        (6, "flags", Fixed32),
    ],
);
static SPAN: Schema = Schema {
    item: true,
    ..schema(
        "Span",
        &[
            (1, "trace_id", Bytes),
            (2, "span_id", Bytes),
            (3, "trace_state", Str),
            (4, "parent_span_id", Bytes),
            (5, "name", Str),
            (6, "kind", Varint),
            (7, "start_time_unix_nano", Fixed64),
            (8, "end_time_unix_nano", Fixed64),
            (9, "attributes", Message(&KEY_VALUE)),
            (10, "dropped_attributes_count", Varint),
            (11, "events", Message(&EVENT)),
            (12, "dropped_events_count", Varint),
            (13, "links", Message(&LINK)),
            (14, "dropped_links_count", Varint),
            (15, "status", Message(&STATUS)),
            (16, "flags", Fixed32),
        ],
    )
};
static SCOPE_SPANS: Schema = schema(
    "ScopeSpans",
    &[
        (1, "scope", Message(&SCOPE)),
        (2, "spans", Message(&SPAN)),
        (3, "schema_url", Str),
    ],
);
static RESOURCE_SPANS: Schema = schema(
    "ResourceSpans",
    &[
        (1, "resource", Message(&RESOURCE)),
        (2, "scope_spans", Message(&SCOPE_SPANS)),
        (3, "schema_url", Str),
    ],
);
static TRACES_REQUEST: Schema = schema(
    "ExportTraceServiceRequest",
    &[(1, "resource_spans", Message(&RESOURCE_SPANS))],
);

static LOG_RECORD: Schema = Schema {
    item: true,
    ..schema(
        "LogRecord",
        &[
            (1, "time_unix_nano", Fixed64),
            (2, "severity_number", Varint),
            (3, "severity_text", Str),
            (5, "body", Message(&ANY_VALUE)),
            (6, "attributes", Message(&KEY_VALUE)),
            (7, "dropped_attributes_count", Varint),
            (8, "flags", Fixed32),
            (9, "trace_id", Bytes),
            (10, "span_id", Bytes),
            (11, "observed_time_unix_nano", Fixed64),
            (12, "event_name", Str),
        ],
    )
};
static SCOPE_LOGS: Schema = schema(
    "ScopeLogs",
    &[
        (1, "scope", Message(&SCOPE)),
        (2, "log_records", Message(&LOG_RECORD)),
        (3, "schema_url", Str),
    ],
);
static RESOURCE_LOGS: Schema = schema(
    "ResourceLogs",
    &[
        (1, "resource", Message(&RESOURCE)),
        (2, "scope_logs", Message(&SCOPE_LOGS)),
        (3, "schema_url", Str),
    ],
);
static LOGS_REQUEST: Schema = schema(
    "ExportLogsServiceRequest",
    &[(1, "resource_logs", Message(&RESOURCE_LOGS))],
);

static EXEMPLAR: Schema = schema(
    "Exemplar",
    &[
        (2, "time_unix_nano", Fixed64),
        (3, "as_double", Fixed64),
        (4, "span_id", Bytes),
        (5, "trace_id", Bytes),
        (6, "as_int", Fixed64),
        (7, "filtered_attributes", Message(&KEY_VALUE)),
    ],
);
static NUMBER_DATA_POINT: Schema = schema(
    "NumberDataPoint",
    &[
        (2, "start_time_unix_nano", Fixed64),
        (3, "time_unix_nano", Fixed64),
        (4, "as_double", Fixed64),
        (5, "exemplars", Message(&EXEMPLAR)),
        (6, "as_int", Fixed64),
        (7, "attributes", Message(&KEY_VALUE)),
        (8, "flags", Varint),
    ],
);
static HISTOGRAM_DATA_POINT: Schema = schema(
    "HistogramDataPoint",
    &[
        (2, "start_time_unix_nano", Fixed64),
        (3, "time_unix_nano", Fixed64),
        (4, "count", Fixed64),
        (5, "sum", Fixed64),
        (6, "bucket_counts", PackedFixed64),
        (7, "explicit_bounds", PackedFixed64),
        (8, "exemplars", Message(&EXEMPLAR)),
        (9, "attributes", Message(&KEY_VALUE)),
        (10, "flags", Varint),
        (11, "min", Fixed64),
        (12, "max", Fixed64),
    ],
);
static BUCKETS: Schema = schema(
    "Buckets",
    &[(1, "offset", Varint), (2, "bucket_counts", PackedVarint)],
);
static EXPONENTIAL_HISTOGRAM_DATA_POINT: Schema = schema(
    "ExponentialHistogramDataPoint",
    &[
        (1, "attributes", Message(&KEY_VALUE)),
        (2, "start_time_unix_nano", Fixed64),
        (3, "time_unix_nano", Fixed64),
        (4, "count", Fixed64),
        (5, "sum", Fixed64),
        (6, "scale", Varint),
        (7, "zero_count", Fixed64),
        (8, "positive", Message(&BUCKETS)),
        (9, "negative", Message(&BUCKETS)),
        (10, "flags", Varint),
        (11, "exemplars", Message(&EXEMPLAR)),
        (12, "min", Fixed64),
        (13, "max", Fixed64),
        (14, "zero_threshold", Fixed64),
    ],
);
static VALUE_AT_QUANTILE: Schema = schema(
    "ValueAtQuantile",
    &[(1, "quantile", Fixed64), (2, "value", Fixed64)],
);
static SUMMARY_DATA_POINT: Schema = schema(
    "SummaryDataPoint",
    &[
        (2, "start_time_unix_nano", Fixed64),
        (3, "time_unix_nano", Fixed64),
        (4, "count", Fixed64),
        (5, "sum", Fixed64),
        (6, "quantile_values", Message(&VALUE_AT_QUANTILE)),
        (7, "attributes", Message(&KEY_VALUE)),
        (8, "flags", Varint),
    ],
);
static GAUGE: Schema = schema("Gauge", &[(1, "data_points", Message(&NUMBER_DATA_POINT))]);
static SUM: Schema = schema(
    "Sum",
    &[
        (1, "data_points", Message(&NUMBER_DATA_POINT)),
        (2, "aggregation_temporality", Varint),
        (3, "is_monotonic", Varint),
    ],
);
static HISTOGRAM: Schema = schema(
    "Histogram",
    &[
        (1, "data_points", Message(&HISTOGRAM_DATA_POINT)),
        (2, "aggregation_temporality", Varint),
    ],
);
static EXPONENTIAL_HISTOGRAM: Schema = schema(
    "ExponentialHistogram",
    &[
        (1, "data_points", Message(&EXPONENTIAL_HISTOGRAM_DATA_POINT)),
        (2, "aggregation_temporality", Varint),
    ],
);
static SUMMARY: Schema = schema(
    "Summary",
    &[(1, "data_points", Message(&SUMMARY_DATA_POINT))],
);
static METRIC: Schema = schema(
    "Metric",
    &[
        (1, "name", Str),
        (2, "description", Str),
        (3, "unit", Str),
        (5, "gauge", Message(&GAUGE)),
        (7, "sum", Message(&SUM)),
        (9, "histogram", Message(&HISTOGRAM)),
        (10, "exponential_histogram", Message(&EXPONENTIAL_HISTOGRAM)),
        (11, "summary", Message(&SUMMARY)),
        (12, "metadata", Message(&KEY_VALUE)),
    ],
);
static SCOPE_METRICS: Schema = schema(
    "ScopeMetrics",
    &[
        (1, "scope", Message(&SCOPE)),
        (2, "metrics", Message(&METRIC)),
        (3, "schema_url", Str),
    ],
);
static RESOURCE_METRICS: Schema = schema(
    "ResourceMetrics",
    &[
        (1, "resource", Message(&RESOURCE)),
        (2, "scope_metrics", Message(&SCOPE_METRICS)),
        (3, "schema_url", Str),
    ],
);
static METRICS_REQUEST: Schema = schema(
    "ExportMetricsServiceRequest",
    &[(1, "resource_metrics", Message(&RESOURCE_METRICS))],
);

/// prost's recursion limit: messages nested deeper do not decode.
const RECURSION_LIMIT: u32 = 100;

/// Why a request does not decode, with the path to the field at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(String);

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Invalid {}

/// Checks that `request`, an encoded export request of `signal`, decodes, and returns its item
/// count (spans, data points, log records).
pub fn validate(signal: Signal, request: &[u8]) -> Result<usize, Invalid> {
    let schema = match signal {
        Signal::Traces => &TRACES_REQUEST,
        Signal::Logs => &LOGS_REQUEST,
        Signal::Metrics => &METRICS_REQUEST,
    };
    let mut items = 0;
    let checked = message(request, schema, RECURSION_LIMIT, &mut items);
    checked.and_then(|()| match signal {
        // A metric's points are those of its last data field (a oneof): counted as decoding
        // counts them, once the request is known to decode.
        Signal::Metrics => super::count_items(signal, request)
            .map_err(|e| Invalid(format!("ExportMetricsServiceRequest: {e}"))),
        Signal::Traces | Signal::Logs => Ok(items),
    })
}

fn invalid(schema: &Schema, field: &str, problem: impl std::fmt::Display) -> Invalid {
    Invalid(format!("{}.{field}: {problem}", schema.name))
}

/// Checks one message; `depth` is what is left of the recursion limit, as prost counts it.
fn message(mut buf: &[u8], schema: &Schema, depth: u32, items: &mut usize) -> Result<(), Invalid> {
    if schema.item {
        *items += 1;
    }
    while !buf.is_empty() {
        let (tag, wire) = key(&mut buf).map_err(|e| invalid(schema, "(key)", e))?;
        let Some(&(_, name, kind)) = schema.field(tag) else {
            // As prost: an unknown field is skipped, groups included, within the limit.
            if depth == 0 {
                return Err(invalid(
                    schema,
                    "(unknown field)",
                    "recursion limit reached",
                ));
            }
            skip_field(wire, tag, &mut buf, DecodeContext::default())
                .map_err(|e| invalid(schema, &format!("(field {tag})"), e))?;
            continue;
        };
        let expected = match kind {
            Varint => WireType::Varint,
            Fixed32 => WireType::ThirtyTwoBit,
            Fixed64 => WireType::SixtyFourBit,
            // A repeated scalar field decodes packed or not, as prost's `merge_repeated`.
            PackedVarint if wire == WireType::Varint => WireType::Varint,
            PackedFixed64 if wire == WireType::SixtyFourBit => WireType::SixtyFourBit,
            Bytes | Str | Message(_) | PackedFixed64 | PackedVarint => WireType::LengthDelimited,
        };
        if wire != expected {
            return Err(invalid(
                schema,
                name,
                format_args!("invalid wire type: {wire:?} (expected {expected:?})"),
            ));
        }
        // `wire` is now the one the field's kind allows: it says how the value is framed, the
        // kind what is checked inside a length-delimited one.
        match wire {
            WireType::Varint => {
                varint(&mut buf).map_err(|e| invalid(schema, name, e))?;
            }
            WireType::ThirtyTwoBit | WireType::SixtyFourBit => {
                let n = if wire == WireType::ThirtyTwoBit { 4 } else { 8 };
                if buf.len() < n {
                    return Err(invalid(schema, name, "buffer underflow"));
                }
                buf = &buf[n..];
            }
            // Length-delimited (no kind allows a group).
            _ => {
                let len = varint(&mut buf).map_err(|e| invalid(schema, name, e))?;
                let len = usize::try_from(len)
                    .ok()
                    .filter(|&len| len <= buf.len())
                    .ok_or_else(|| invalid(schema, name, "buffer underflow"))?;
                let (value, rest) = buf.split_at(len);
                buf = rest;
                match kind {
                    Str if !utf8(value) => {
                        return Err(invalid(
                            schema,
                            name,
                            "invalid string value: data is not UTF-8 encoded",
                        ));
                    }
                    PackedFixed64 if value.len() % 8 != 0 => {
                        return Err(invalid(
                            schema,
                            name,
                            "packed 8-byte values: the length is not a multiple of 8",
                        ));
                    }
                    PackedVarint => {
                        let mut values = value;
                        while !values.is_empty() {
                            varint(&mut values).map_err(|e| invalid(schema, name, e))?;
                        }
                    }
                    Message(inner) => {
                        if depth == 0 {
                            return Err(invalid(schema, name, "recursion limit reached"));
                        }
                        // Attributes are most of a request: their usual shape is checked
                        // without the general walk (anything else takes it).
                        let usual =
                            std::ptr::eq(inner, &KEY_VALUE) && usual_key_value(value, depth - 1);
                        if !usual {
                            message(value, inner, depth - 1, items)?;
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(())
}

/// Whether `bytes` is UTF-8: almost every string in telemetry is ASCII, which a word at a
/// time checks faster than `from_utf8` does on short strings.
fn utf8(bytes: &[u8]) -> bool {
    bytes.is_ascii() || std::str::from_utf8(bytes).is_ok()
}

/// A field key, as prost's `decode_key` reads it; one-byte keys (field numbers 1 to 15) inline.
fn key(buf: &mut &[u8]) -> Result<(u32, WireType), prost::DecodeError> {
    if let Some(&byte) = buf.first()
        // A one-byte varint with a field number of at least 1.
        && (8..0x80).contains(&byte)
        && let Ok(wire) = WireType::try_from(u64::from(byte & 7))
    {
        *buf = &buf[1..];
        return Ok((u32::from(byte >> 3), wire));
    }
    decode_key(buf)
}

/// A varint, as prost's `decode_varint` reads it; one-byte values inline.
fn varint(buf: &mut &[u8]) -> Result<u64, prost::DecodeError> {
    match buf.first() {
        Some(&byte) if byte < 0x80 => {
            *buf = &buf[1..];
            Ok(u64::from(byte))
        }
        _ => decode_varint(buf),
    }
}

/// Whether `kv` is a `KeyValue` in the shape SDKs write, which decodes: a key (field 1), then a
/// value (field 2) holding exactly one string, bool, int or double; one-byte lengths, valid
/// UTF-8, and room for the value's nesting within `depth` (what is left of the limit at the
/// `KeyValue`). `false` says nothing: the general walk then decides.
fn usual_key_value(kv: &[u8], depth: u32) -> bool {
    // A length-delimited field with tag byte `tag` and a one-byte length at `at`.
    let field = |buf: &[u8], at: usize, tag: u8| -> Option<(usize, usize)> {
        if *buf.get(at)? != tag {
            return None;
        }
        let len = usize::from(*buf.get(at + 1)?);
        let end = at + 2 + len;
        (len < 0x80 && end <= buf.len()).then_some((at + 2, end))
    };
    let Some((key_start, key_end)) = field(kv, 0, 0x0a) else {
        return false;
    };
    let Some((value_start, value_end)) = field(kv, key_end, 0x12) else {
        return false;
    };
    if value_end != kv.len() || depth == 0 || !utf8(&kv[key_start..key_end]) {
        return false;
    }
    let value = &kv[value_start..value_end];
    match value.first() {
        Some(0x0a) => field(value, 0, 0x0a)
            .is_some_and(|(start, end)| end == value.len() && utf8(&value[start..end])),
        // bool, int: one varint ending the value; at most 10 bytes, a 10th byte below 2 (as
        // prost reads a varint).
        Some(0x10 | 0x18) => {
            let varint = &value[1..];
            let Some((&last, body)) = varint.split_last() else {
                return false;
            };
            body.len() < 10
                && body.iter().all(|b| b & 0x80 != 0)
                && last < if body.len() == 9 { 0x02 } else { 0x80 }
        }
        Some(0x21) => value.len() == 9,
        _ => false,
    }
}

#[cfg(test)]
mod tests;
