//! Lean OTLP protobuf messages (prost), wire-compatible with `opentelemetry-proto` 0.33.
//!
//! Written out here instead of depending on `opentelemetry-proto`, which pulls parts of the
//! OpenTelemetry SDK (rand, getrandom, another wit-bindgen) into every guest even with its
//! default features off. Every field of OTLP 1.x is present: prost drops unknown fields on
//! decode, so a missing field would silently lose data whenever a guest re-encodes a batch
//! (`tests/interop.rs` checks that a fully populated message survives a round trip).

pub mod common;
pub mod logs;
pub mod metrics;
pub mod trace;

pub use common::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, Resource, any_value,
};
pub use logs::{ExportLogsServiceRequest, LogRecord, ResourceLogs, ScopeLogs, SeverityNumber};
pub use metrics::{ExportMetricsServiceRequest, Metric, ResourceMetrics, ScopeMetrics};
pub use trace::{ExportTraceServiceRequest, ResourceSpans, ScopeSpans, Span, Status};

use crate::Signal;

/// Where an attribute list sits in a batch; passed to [`Batch::for_each_attributes_mut`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Owner {
    Resource,
    Scope,
    Span,
    SpanEvent,
    SpanLink,
    DataPoint,
    Exemplar,
    LogRecord,
}

/// What the three export requests have in common.
pub trait Batch: prost::Message + Default + Sized {
    /// The signal whose request this is.
    const SIGNAL: Signal;

    /// Spans, data points or log records in the batch.
    fn item_count(&self) -> usize;

    /// Calls `f` with every attribute list in the batch: resources, scopes, and the signal's
    /// items (spans, span events and links; data points and exemplars; log records). Log
    /// bodies are not attribute lists and are not visited.
    fn for_each_attributes_mut(&mut self, f: &mut dyn FnMut(Owner, &mut Vec<KeyValue>));
}

fn scope_attrs(scope: &mut Option<InstrumentationScope>) -> Option<&mut Vec<KeyValue>> {
    scope.as_mut().map(|s| &mut s.attributes)
}

impl Batch for ExportTraceServiceRequest {
    const SIGNAL: Signal = Signal::Traces;

    fn item_count(&self) -> usize {
        self.resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .map(|s| s.spans.len())
            .sum()
    }

    fn for_each_attributes_mut(&mut self, f: &mut dyn FnMut(Owner, &mut Vec<KeyValue>)) {
        for rs in &mut self.resource_spans {
            if let Some(r) = rs.resource.as_mut() {
                f(Owner::Resource, &mut r.attributes);
            }
            for ss in &mut rs.scope_spans {
                if let Some(a) = scope_attrs(&mut ss.scope) {
                    f(Owner::Scope, a);
                }
                for span in &mut ss.spans {
                    f(Owner::Span, &mut span.attributes);
                    for e in &mut span.events {
                        f(Owner::SpanEvent, &mut e.attributes);
                    }
                    for l in &mut span.links {
                        f(Owner::SpanLink, &mut l.attributes);
                    }
                }
            }
        }
    }
}

impl Batch for ExportMetricsServiceRequest {
    const SIGNAL: Signal = Signal::Metrics;

    fn item_count(&self) -> usize {
        self.resource_metrics
            .iter()
            .flat_map(|r| &r.scope_metrics)
            .flat_map(|s| &s.metrics)
            .map(Metric::data_point_count)
            .sum()
    }

    fn for_each_attributes_mut(&mut self, f: &mut dyn FnMut(Owner, &mut Vec<KeyValue>)) {
        for rm in &mut self.resource_metrics {
            if let Some(r) = rm.resource.as_mut() {
                f(Owner::Resource, &mut r.attributes);
            }
            for sm in &mut rm.scope_metrics {
                if let Some(a) = scope_attrs(&mut sm.scope) {
                    f(Owner::Scope, a);
                }
                for m in &mut sm.metrics {
                    m.for_each_data_point_mut(|mut dp| {
                        f(Owner::DataPoint, dp.attributes_mut());
                        for ex in dp.exemplars_mut() {
                            f(Owner::Exemplar, &mut ex.filtered_attributes);
                        }
                    });
                }
            }
        }
    }
}

impl Batch for ExportLogsServiceRequest {
    const SIGNAL: Signal = Signal::Logs;

    fn item_count(&self) -> usize {
        self.resource_logs
            .iter()
            .flat_map(|r| &r.scope_logs)
            .map(|s| s.log_records.len())
            .sum()
    }

    fn for_each_attributes_mut(&mut self, f: &mut dyn FnMut(Owner, &mut Vec<KeyValue>)) {
        for rl in &mut self.resource_logs {
            if let Some(r) = rl.resource.as_mut() {
                f(Owner::Resource, &mut r.attributes);
            }
            for sl in &mut rl.scope_logs {
                if let Some(a) = scope_attrs(&mut sl.scope) {
                    f(Owner::Scope, a);
                }
                for rec in &mut sl.log_records {
                    f(Owner::LogRecord, &mut rec.attributes);
                }
            }
        }
    }
}
