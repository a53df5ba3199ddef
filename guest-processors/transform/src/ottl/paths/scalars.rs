//! Reading and writing fields that hold one value (names, ids, times, enums).

use sluice_guest_sdk::otlp::metrics::{metric::Data, number_data_point};
use sluice_guest_sdk::otlp::trace::Status;
use sluice_guest_sdk::otlp::{AnyValue, KeyValue};
use sluice_guest_sdk::points::{DataPointMut, DataPointRef};

use super::{EventField, Field, LogField, MetricField, PointField, ScopeField, SpanField};
use crate::ottl::EvalError;
use crate::ottl::target::Target;
use crate::ottl::value::{Value, hex, string_like, unhex};

const KINDS: [&str; 6] = [
    "Unspecified",
    "Internal",
    "Server",
    "Client",
    "Producer",
    "Consumer",
];

/// The attribute list an indexable map field names.
pub(super) fn attrs<'t>(field: Field, t: &'t Target) -> Result<&'t [KeyValue], EvalError> {
    Ok(match field {
        Field::Cache => t.cache,
        Field::Resource(_) => t.resource().map_or(&[][..], |r| &r.attributes),
        Field::Scope(_) => t.scope()?.map_or(&[][..], |s| &s.attributes),
        Field::Span(_) => &t.span()?.attributes,
        Field::SpanEvent(_) => &t.event()?.attributes,
        Field::DataPoint(_) => t.point()?.attributes(),
        Field::Log(_) => &t.log()?.attributes,
        Field::Metric(_) => return Err(EvalError("metric fields are not maps".into())),
    })
}

pub(super) fn point_attrs_mut<'t>(t: &'t mut Target) -> Result<&'t mut Vec<KeyValue>, EvalError> {
    Ok(match t.point_mut()? {
        DataPointMut::Number(p) => &mut p.attributes,
        DataPointMut::Histogram(p) => &mut p.attributes,
        DataPointMut::ExponentialHistogram(p) => &mut p.attributes,
        DataPointMut::Summary(p) => &mut p.attributes,
    })
}

fn int(v: u64) -> Value {
    Value::Int(v as i64)
}

pub(super) fn get(field: Field, t: &Target) -> Result<Value, EvalError> {
    Ok(match field {
        Field::Resource(_) => int(t
            .resource()
            .map_or(0, |r| r.dropped_attributes_count)
            .into()),
        Field::Scope(f) => {
            let s = t.scope()?.cloned().unwrap_or_default();
            match f {
                ScopeField::Name => Value::Str(s.name),
                ScopeField::Version => Value::Str(s.version),
                ScopeField::Common(_) => int(s.dropped_attributes_count.into()),
            }
        }
        Field::Span(f) => {
            let s = t.span()?;
            let status = s.status.clone().unwrap_or_default();
            match f {
                SpanField::TraceId => Value::Bytes(s.trace_id.clone()),
                SpanField::TraceIdString => Value::Str(hex(&s.trace_id)),
                SpanField::SpanId => Value::Bytes(s.span_id.clone()),
                SpanField::SpanIdString => Value::Str(hex(&s.span_id)),
                SpanField::ParentSpanId => Value::Bytes(s.parent_span_id.clone()),
                SpanField::ParentSpanIdString => Value::Str(hex(&s.parent_span_id)),
                SpanField::TraceState => Value::Str(s.trace_state.clone()),
                SpanField::Name => Value::Str(s.name.clone()),
                SpanField::Kind => Value::Int(s.kind.into()),
                SpanField::KindString => Value::Str(
                    KINDS
                        .get(s.kind as usize)
                        .copied()
                        .unwrap_or("Unspecified")
                        .into(),
                ),
                SpanField::StartTimeUnixNano => int(s.start_time_unix_nano),
                SpanField::EndTimeUnixNano => int(s.end_time_unix_nano),
                SpanField::Common(_) => int(s.dropped_attributes_count.into()),
                SpanField::DroppedEventsCount => int(s.dropped_events_count.into()),
                SpanField::DroppedLinksCount => int(s.dropped_links_count.into()),
                SpanField::StatusCode => Value::Int(status.code.into()),
                SpanField::StatusMessage => Value::Str(status.message),
                SpanField::Flags => int(s.flags.into()),
            }
        }
        Field::SpanEvent(f) => {
            let e = t.event()?;
            match f {
                EventField::Name => Value::Str(e.name.clone()),
                EventField::TimeUnixNano => int(e.time_unix_nano),
                EventField::Common(_) => int(e.dropped_attributes_count.into()),
            }
        }
        Field::Metric(f) => metric_get(f, t)?,
        Field::DataPoint(f) => point_get(f, t.point()?),
        Field::Log(f) => {
            let l = t.log()?;
            match f {
                LogField::TimeUnixNano => int(l.time_unix_nano),
                LogField::ObservedTimeUnixNano => int(l.observed_time_unix_nano),
                LogField::SeverityNumber => Value::Int(l.severity_number.into()),
                LogField::SeverityText => Value::Str(l.severity_text.clone()),
                LogField::BodyString => {
                    string_like(&Value::from(l.body.as_ref())).map_or(Value::Nil, Value::Str)
                }
                LogField::Common(_) => int(l.dropped_attributes_count.into()),
                LogField::Flags => int(l.flags.into()),
                LogField::TraceId => Value::Bytes(l.trace_id.clone()),
                LogField::TraceIdString => Value::Str(hex(&l.trace_id)),
                LogField::SpanId => Value::Bytes(l.span_id.clone()),
                LogField::SpanIdString => Value::Str(hex(&l.span_id)),
                LogField::EventName => Value::Str(l.event_name.clone()),
                LogField::Body => Value::from(l.body.as_ref()),
            }
        }
        Field::Cache => Value::Map(t.cache.clone()),
    })
}

fn metric_get(f: MetricField, t: &Target) -> Result<Value, EvalError> {
    let m = t.metric()?;
    let (temporality, monotonic) = match &m.data {
        Some(Data::Sum(s)) => (s.aggregation_temporality, s.is_monotonic),
        Some(Data::Histogram(h)) => (h.aggregation_temporality, false),
        Some(Data::ExponentialHistogram(h)) => (h.aggregation_temporality, false),
        _ => (0, false),
    };
    Ok(match f {
        MetricField::Name => Value::Str(m.name.clone()),
        MetricField::Description => Value::Str(m.description.clone()),
        MetricField::Unit => Value::Str(m.unit.clone()),
        MetricField::Type => Value::Int(match &m.data {
            None => 0,
            Some(Data::Gauge(_)) => 1,
            Some(Data::Sum(_)) => 2,
            Some(Data::Histogram(_)) => 3,
            Some(Data::ExponentialHistogram(_)) => 4,
            Some(Data::Summary(_)) => 5,
        }),
        MetricField::AggregationTemporality => Value::Int(temporality.into()),
        MetricField::IsMonotonic => Value::Bool(monotonic),
    })
}

fn point_get(f: PointField, p: DataPointRef<'_>) -> Value {
    match (f, p) {
        (PointField::Attributes, p) => Value::Map(p.attributes().to_vec()),
        (PointField::StartTimeUnixNano, p) => int(p.start_time_unix_nano()),
        (PointField::TimeUnixNano, p) => int(p.time_unix_nano()),
        (PointField::Flags, p) => int(p.flags().into()),
        (PointField::ValueDouble, DataPointRef::Number(n)) => match n.value {
            Some(number_data_point::Value::AsDouble(d)) => Value::Double(d),
            _ => Value::Double(0.0),
        },
        (PointField::ValueInt, DataPointRef::Number(n)) => match n.value {
            Some(number_data_point::Value::AsInt(i)) => Value::Int(i),
            _ => Value::Int(0),
        },
        (PointField::Count, DataPointRef::Histogram(h)) => int(h.count),
        (PointField::Count, DataPointRef::ExponentialHistogram(h)) => int(h.count),
        (PointField::Count, DataPointRef::Summary(s)) => int(s.count),
        (PointField::Sum, DataPointRef::Histogram(h)) => h.sum.map_or(Value::Nil, Value::Double),
        (PointField::Sum, DataPointRef::ExponentialHistogram(h)) => {
            h.sum.map_or(Value::Nil, Value::Double)
        }
        (PointField::Sum, DataPointRef::Summary(s)) => Value::Double(s.sum),
        _ => Value::Nil,
    }
}

fn wrong(what: &str, v: &Value) -> EvalError {
    EvalError(format!("expected {what}, got {}", v.type_name()))
}

fn string(v: Value) -> Result<String, EvalError> {
    match v {
        Value::Str(s) => Ok(s),
        other => Err(wrong("a string", &other)),
    }
}

fn i64_of(v: &Value) -> Result<i64, EvalError> {
    match v {
        Value::Int(i) => Ok(*i),
        other => Err(wrong("an int", other)),
    }
}

fn u64_of(v: &Value) -> Result<u64, EvalError> {
    u64::try_from(i64_of(v)?).map_err(|_| EvalError("expected a non-negative int".into()))
}

fn u32_of(v: &Value) -> Result<u32, EvalError> {
    u32::try_from(i64_of(v)?)
        .map_err(|_| EvalError("expected an int between 0 and 4294967295".into()))
}

fn i32_of(v: &Value) -> Result<i32, EvalError> {
    i32::try_from(i64_of(v)?).map_err(|_| EvalError("int out of range".into()))
}

fn id(v: Value, len: usize) -> Result<Vec<u8>, EvalError> {
    match v {
        Value::Bytes(b) if b.len() == len => Ok(b),
        other => Err(EvalError(format!(
            "expected {len} bytes, got {}",
            other.type_name()
        ))),
    }
}

fn id_hex(v: Value, len: usize) -> Result<Vec<u8>, EvalError> {
    let s = string(v)?;
    unhex(&s)
        .filter(|b| b.len() == len)
        .ok_or_else(|| EvalError(format!("expected {} hex digits, got {s:?}", len * 2)))
}

fn put<T: PartialEq>(slot: &mut T, new: T) -> bool {
    let changed = *slot != new;
    *slot = new;
    changed
}

pub(super) fn set(field: Field, t: &mut Target, v: Value) -> Result<bool, EvalError> {
    Ok(match field {
        Field::Resource(_) => put(&mut t.resource_mut().dropped_attributes_count, u32_of(&v)?),
        Field::Scope(f) => {
            let s = t.scope_mut()?;
            match f {
                ScopeField::Name => put(&mut s.name, string(v)?),
                ScopeField::Version => put(&mut s.version, string(v)?),
                ScopeField::Common(_) => put(&mut s.dropped_attributes_count, u32_of(&v)?),
            }
        }
        Field::Span(f) => span_set(f, t, v)?,
        Field::SpanEvent(f) => {
            let e = t.event_mut()?;
            match f {
                EventField::Name => put(&mut e.name, string(v)?),
                EventField::TimeUnixNano => put(&mut e.time_unix_nano, u64_of(&v)?),
                EventField::Common(_) => put(&mut e.dropped_attributes_count, u32_of(&v)?),
            }
        }
        Field::Metric(f) => {
            let m = t.metric_mut()?;
            match f {
                MetricField::Name => put(&mut m.name, string(v)?),
                MetricField::Description => put(&mut m.description, string(v)?),
                MetricField::Unit => put(&mut m.unit, string(v)?),
                _ => {
                    return Err(EvalError(
                        "metric type, temporality and monotonicity are read-only".into(),
                    ));
                }
            }
        }
        Field::DataPoint(f) => point_set(f, t.point_mut()?, v)?,
        Field::Log(f) => {
            let l = t.log_mut()?;
            match f {
                LogField::TimeUnixNano => put(&mut l.time_unix_nano, u64_of(&v)?),
                LogField::ObservedTimeUnixNano => put(&mut l.observed_time_unix_nano, u64_of(&v)?),
                LogField::SeverityNumber => put(&mut l.severity_number, i32_of(&v)?),
                LogField::SeverityText => put(&mut l.severity_text, string(v)?),
                LogField::Body | LogField::BodyString => put(&mut l.body, Some(AnyValue::from(v))),
                LogField::Common(_) => put(&mut l.dropped_attributes_count, u32_of(&v)?),
                LogField::Flags => put(&mut l.flags, u32_of(&v)?),
                LogField::TraceId => put(&mut l.trace_id, id(v, 16)?),
                LogField::TraceIdString => put(&mut l.trace_id, id_hex(v, 16)?),
                LogField::SpanId => put(&mut l.span_id, id(v, 8)?),
                LogField::SpanIdString => put(&mut l.span_id, id_hex(v, 8)?),
                LogField::EventName => put(&mut l.event_name, string(v)?),
            }
        }
        Field::Cache => return Err(EvalError("cache can only be set to a map".into())),
    })
}

fn span_set(f: SpanField, t: &mut Target, v: Value) -> Result<bool, EvalError> {
    let s = t.span_mut()?;
    Ok(match f {
        SpanField::TraceId => put(&mut s.trace_id, id(v, 16)?),
        SpanField::TraceIdString => put(&mut s.trace_id, id_hex(v, 16)?),
        SpanField::SpanId => put(&mut s.span_id, id(v, 8)?),
        SpanField::SpanIdString => put(&mut s.span_id, id_hex(v, 8)?),
        SpanField::ParentSpanId => put(&mut s.parent_span_id, id(v, 8)?),
        SpanField::ParentSpanIdString => put(&mut s.parent_span_id, id_hex(v, 8)?),
        SpanField::TraceState => put(&mut s.trace_state, string(v)?),
        SpanField::Name => put(&mut s.name, string(v)?),
        SpanField::Kind => put(&mut s.kind, i32_of(&v)?),
        SpanField::KindString => {
            let name = string(v)?;
            let kind = KINDS.iter().position(|k| *k == name).ok_or_else(|| {
                EvalError(format!(
                    "unknown span kind {name:?}; expected one of {}",
                    KINDS.join(", ")
                ))
            })?;
            put(&mut s.kind, kind as i32)
        }
        SpanField::StartTimeUnixNano => put(&mut s.start_time_unix_nano, u64_of(&v)?),
        SpanField::EndTimeUnixNano => put(&mut s.end_time_unix_nano, u64_of(&v)?),
        SpanField::Common(_) => put(&mut s.dropped_attributes_count, u32_of(&v)?),
        SpanField::DroppedEventsCount => put(&mut s.dropped_events_count, u32_of(&v)?),
        SpanField::DroppedLinksCount => put(&mut s.dropped_links_count, u32_of(&v)?),
        SpanField::StatusCode => put(
            &mut s.status.get_or_insert_with(Status::default).code,
            i32_of(&v)?,
        ),
        SpanField::StatusMessage => put(
            &mut s.status.get_or_insert_with(Status::default).message,
            string(v)?,
        ),
        SpanField::Flags => put(&mut s.flags, u32_of(&v)?),
    })
}

fn point_set(f: PointField, mut p: DataPointMut<'_>, v: Value) -> Result<bool, EvalError> {
    Ok(match (f, &mut p) {
        (PointField::StartTimeUnixNano, p) => put(p.start_time_unix_nano_mut(), u64_of(&v)?),
        (PointField::TimeUnixNano, p) => put(p.time_unix_nano_mut(), u64_of(&v)?),
        (PointField::Flags, p) => put(p.flags_mut(), u32_of(&v)?),
        (PointField::ValueDouble, DataPointMut::Number(n)) => match v {
            Value::Double(d) => put(&mut n.value, Some(number_data_point::Value::AsDouble(d))),
            other => return Err(wrong("a double", &other)),
        },
        (PointField::ValueInt, DataPointMut::Number(n)) => put(
            &mut n.value,
            Some(number_data_point::Value::AsInt(i64_of(&v)?)),
        ),
        (PointField::Count, DataPointMut::Histogram(h)) => put(&mut h.count, u64_of(&v)?),
        (PointField::Count, DataPointMut::ExponentialHistogram(h)) => {
            put(&mut h.count, u64_of(&v)?)
        }
        (PointField::Count, DataPointMut::Summary(s)) => put(&mut s.count, u64_of(&v)?),
        (PointField::Attributes, _) => {
            return Err(EvalError(
                "data point attributes can only be set to a map".into(),
            ));
        }
        _ => return Err(EvalError(format!("this data point has no {f:?} field"))),
    })
}
