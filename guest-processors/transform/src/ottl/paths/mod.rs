//! Paths: which telemetry field a path names, and reading and writing it.

mod nested;
mod scalars;

use sluice_guest_sdk::otlp::{AnyValue, KeyValue};

use super::EvalError;
use super::context::Context;
use super::eval::eval;
use super::program::Key;
use super::target::Target;
use super::value::Value;

/// A field of one context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// `cache`: a scratch map, emptied before each item.
    Cache,
    Resource(Common),
    Scope(ScopeField),
    Span(SpanField),
    SpanEvent(EventField),
    Metric(MetricField),
    DataPoint(PointField),
    Log(LogField),
}

/// Fields every context with attributes has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Common {
    Attributes,
    DroppedAttributesCount,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeField {
    Common(Common),
    Name,
    Version,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanField {
    Common(Common),
    TraceId,
    TraceIdString,
    SpanId,
    SpanIdString,
    ParentSpanId,
    ParentSpanIdString,
    TraceState,
    Name,
    Kind,
    KindString,
    StartTimeUnixNano,
    EndTimeUnixNano,
    DroppedEventsCount,
    DroppedLinksCount,
    StatusCode,
    StatusMessage,
    Flags,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventField {
    Common(Common),
    Name,
    TimeUnixNano,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricField {
    Name,
    Description,
    Unit,
    Type,
    AggregationTemporality,
    IsMonotonic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PointField {
    Attributes,
    StartTimeUnixNano,
    TimeUnixNano,
    ValueDouble,
    ValueInt,
    Flags,
    Count,
    Sum,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogField {
    Common(Common),
    TimeUnixNano,
    ObservedTimeUnixNano,
    SeverityNumber,
    SeverityText,
    Body,
    BodyString,
    Flags,
    TraceId,
    TraceIdString,
    SpanId,
    SpanIdString,
    EventName,
}

const ATTRS: Common = Common::Attributes;
const DROPPED: Common = Common::DroppedAttributesCount;

/// The fields of each context, by name.
fn table(ctx: Context) -> &'static [(&'static str, Field)] {
    use Field as F;
    match ctx {
        Context::Resource => &[
            ("attributes", F::Resource(ATTRS)),
            ("dropped_attributes_count", F::Resource(DROPPED)),
        ],
        Context::Scope => &[
            ("name", F::Scope(ScopeField::Name)),
            ("version", F::Scope(ScopeField::Version)),
            ("attributes", F::Scope(ScopeField::Common(ATTRS))),
            (
                "dropped_attributes_count",
                F::Scope(ScopeField::Common(DROPPED)),
            ),
        ],
        Context::Span => &[
            ("trace_id", F::Span(SpanField::TraceId)),
            ("trace_id.string", F::Span(SpanField::TraceIdString)),
            ("span_id", F::Span(SpanField::SpanId)),
            ("span_id.string", F::Span(SpanField::SpanIdString)),
            ("parent_span_id", F::Span(SpanField::ParentSpanId)),
            (
                "parent_span_id.string",
                F::Span(SpanField::ParentSpanIdString),
            ),
            ("trace_state", F::Span(SpanField::TraceState)),
            ("name", F::Span(SpanField::Name)),
            ("kind", F::Span(SpanField::Kind)),
            ("kind.string", F::Span(SpanField::KindString)),
            (
                "start_time_unix_nano",
                F::Span(SpanField::StartTimeUnixNano),
            ),
            ("end_time_unix_nano", F::Span(SpanField::EndTimeUnixNano)),
            ("attributes", F::Span(SpanField::Common(ATTRS))),
            (
                "dropped_attributes_count",
                F::Span(SpanField::Common(DROPPED)),
            ),
            (
                "dropped_events_count",
                F::Span(SpanField::DroppedEventsCount),
            ),
            ("dropped_links_count", F::Span(SpanField::DroppedLinksCount)),
            ("status.code", F::Span(SpanField::StatusCode)),
            ("status.message", F::Span(SpanField::StatusMessage)),
            ("flags", F::Span(SpanField::Flags)),
        ],
        Context::SpanEvent => &[
            ("name", F::SpanEvent(EventField::Name)),
            ("time_unix_nano", F::SpanEvent(EventField::TimeUnixNano)),
            ("attributes", F::SpanEvent(EventField::Common(ATTRS))),
            (
                "dropped_attributes_count",
                F::SpanEvent(EventField::Common(DROPPED)),
            ),
        ],
        Context::Metric => &[
            ("name", F::Metric(MetricField::Name)),
            ("description", F::Metric(MetricField::Description)),
            ("unit", F::Metric(MetricField::Unit)),
            ("type", F::Metric(MetricField::Type)),
            (
                "aggregation_temporality",
                F::Metric(MetricField::AggregationTemporality),
            ),
            ("is_monotonic", F::Metric(MetricField::IsMonotonic)),
        ],
        Context::DataPoint => &[
            ("attributes", F::DataPoint(PointField::Attributes)),
            (
                "start_time_unix_nano",
                F::DataPoint(PointField::StartTimeUnixNano),
            ),
            ("time_unix_nano", F::DataPoint(PointField::TimeUnixNano)),
            ("value_double", F::DataPoint(PointField::ValueDouble)),
            ("value_int", F::DataPoint(PointField::ValueInt)),
            ("flags", F::DataPoint(PointField::Flags)),
            ("count", F::DataPoint(PointField::Count)),
            ("sum", F::DataPoint(PointField::Sum)),
        ],
        Context::Log => &[
            ("time_unix_nano", F::Log(LogField::TimeUnixNano)),
            (
                "observed_time_unix_nano",
                F::Log(LogField::ObservedTimeUnixNano),
            ),
            ("severity_number", F::Log(LogField::SeverityNumber)),
            ("severity_text", F::Log(LogField::SeverityText)),
            ("body", F::Log(LogField::Body)),
            ("body.string", F::Log(LogField::BodyString)),
            ("attributes", F::Log(LogField::Common(ATTRS))),
            (
                "dropped_attributes_count",
                F::Log(LogField::Common(DROPPED)),
            ),
            ("flags", F::Log(LogField::Flags)),
            ("trace_id", F::Log(LogField::TraceId)),
            ("trace_id.string", F::Log(LogField::TraceIdString)),
            ("span_id", F::Log(LogField::SpanId)),
            ("span_id.string", F::Log(LogField::SpanIdString)),
            ("event_name", F::Log(LogField::EventName)),
        ],
    }
}

/// The field `name` (dotted, without the context prefix) of `ctx`.
pub fn resolve(ctx: Context, name: &str) -> Option<Field> {
    if name == "cache" {
        return Some(Field::Cache);
    }
    table(ctx).iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

/// The field names of `ctx`, for error messages.
pub fn names(ctx: Context) -> String {
    let mut names: Vec<&str> = table(ctx).iter().map(|(n, _)| *n).collect();
    names.push("cache");
    names.join(", ")
}

impl Field {
    /// The context a statement must run in to reach this field (none for `cache`).
    pub fn context(self) -> Option<Context> {
        Some(match self {
            Field::Cache => return None,
            Field::Resource(_) => Context::Resource,
            Field::Scope(_) => Context::Scope,
            Field::Span(_) => Context::Span,
            Field::SpanEvent(_) => Context::SpanEvent,
            Field::Metric(_) => Context::Metric,
            Field::DataPoint(_) => Context::DataPoint,
            Field::Log(_) => Context::Log,
        })
    }

    /// Whether the field holds a map or a value that can be indexed (`["key"]`).
    pub fn indexable(self) -> bool {
        matches!(
            self,
            Field::Cache
                | Field::Resource(Common::Attributes)
                | Field::Scope(ScopeField::Common(Common::Attributes))
                | Field::Span(SpanField::Common(Common::Attributes))
                | Field::SpanEvent(EventField::Common(Common::Attributes))
                | Field::DataPoint(PointField::Attributes)
                | Field::Log(LogField::Common(Common::Attributes) | LogField::Body)
        )
    }
}

/// A compiled path: a field, then indexes.
#[derive(Debug)]
pub struct CPath {
    pub field: Field,
    pub keys: Vec<Key>,
    /// The path as written, for error messages.
    pub text: String,
}

/// An index with its value known.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyRef {
    Str(String),
    Int(i64),
}

fn resolve_keys(keys: &[Key], t: &Target) -> Result<Vec<KeyRef>, EvalError> {
    keys.iter()
        .map(|k| match k {
            Key::Str(s) => Ok(KeyRef::Str(s.clone())),
            Key::Int(i) => Ok(KeyRef::Int(*i)),
            Key::Expr(e) => match eval(e, t)? {
                Value::Str(s) => Ok(KeyRef::Str(s)),
                Value::Int(i) => Ok(KeyRef::Int(i)),
                other => Err(EvalError(format!(
                    "an index must be a string or an int, not {}",
                    other.type_name()
                ))),
            },
        })
        .collect()
}

/// The root of an indexable field.
enum RootMut<'t> {
    Map(&'t mut Vec<KeyValue>),
    Value(&'t mut Option<AnyValue>),
}

fn root_mut<'t>(field: Field, t: &'t mut Target) -> Result<RootMut<'t>, EvalError> {
    Ok(RootMut::Map(match field {
        Field::Cache => t.cache,
        Field::Resource(_) => &mut t.resource_mut().attributes,
        Field::Scope(_) => &mut t.scope_mut()?.attributes,
        Field::Span(_) => &mut t.span_mut()?.attributes,
        Field::SpanEvent(_) => &mut t.event_mut()?.attributes,
        Field::DataPoint(_) => return Ok(RootMut::Map(scalars::point_attrs_mut(t)?)),
        Field::Log(LogField::Body) => return Ok(RootMut::Value(&mut t.log_mut()?.body)),
        Field::Log(_) => &mut t.log_mut()?.attributes,
        Field::Metric(_) => return Err(EvalError("metric fields cannot be indexed".into())),
    }))
}

/// Reads the path.
pub fn get(p: &CPath, t: &Target) -> Result<Value, EvalError> {
    if !p.field.indexable() {
        return scalars::get(p.field, t);
    }
    let keys = resolve_keys(&p.keys, t)?;
    match p.field {
        Field::Log(LogField::Body) => Ok(nested::get_value(t.log()?.body.as_ref(), &keys)),
        field => Ok(nested::get_map(scalars::attrs(field, t)?, &keys)),
    }
}

/// Writes the path; returns whether anything changed. Setting `nil` does nothing.
pub fn set(p: &CPath, t: &mut Target, v: Value) -> Result<bool, EvalError> {
    if v.is_nil() {
        return Ok(false);
    }
    if !p.field.indexable() {
        return scalars::set(p.field, t, v);
    }
    let keys = resolve_keys(&p.keys, t)?;
    match root_mut(p.field, t)? {
        RootMut::Map(map) if keys.is_empty() => match v {
            Value::Map(m) => Ok(replace(map, m)),
            other => Err(EvalError(format!(
                "{} is a map; cannot set it to a {}",
                p.text,
                other.type_name()
            ))),
        },
        RootMut::Map(map) => nested::set_in_map(map, &keys, v),
        RootMut::Value(slot) => {
            let slot = slot.get_or_insert_with(AnyValue::empty);
            if keys.is_empty() {
                Ok(replace(slot, AnyValue::from(v)))
            } else {
                nested::set_in_value(slot, &keys, v)
            }
        }
    }
}

fn replace<T: PartialEq>(slot: &mut T, new: T) -> bool {
    let changed = *slot != new;
    *slot = new;
    changed
}

/// The map the path names, for the map editors; `None` when the path holds nil.
pub fn map_mut<'t>(
    p: &CPath,
    t: &'t mut Target,
) -> Result<Option<&'t mut Vec<KeyValue>>, EvalError> {
    if !p.field.indexable() {
        return Err(EvalError(format!("{} is not a map", p.text)));
    }
    let keys = resolve_keys(&p.keys, t)?;
    match root_mut(p.field, t)? {
        RootMut::Map(map) => nested::map_in_map(map, &keys, &p.text),
        RootMut::Value(None) => Ok(None),
        RootMut::Value(Some(v)) => nested::map_in_value(v, &keys, &p.text),
    }
}
