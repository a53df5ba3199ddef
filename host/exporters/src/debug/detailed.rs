//! `detailed` verbosity: the Collector's `otlptext` multi-line dump of every field (traces and
//! logs here, metrics in `detailed_metrics`).

use std::fmt::{self, Write as _};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};

use super::text::{hex_id, severity, span_kind, status_code, timestamp, typed_value};

/// The Collector's `dataBuffer`: one entry per line.
#[derive(Default)]
pub(super) struct Buffer {
    out: String,
}

impl Buffer {
    pub(super) fn entry(&mut self, args: fmt::Arguments<'_>) {
        let _ = self.out.write_fmt(args);
        self.out.push('\n');
    }

    /// `    Name           : value`
    fn attr(&mut self, name: &str, value: &str) {
        self.entry(format_args!("    {name:<15}: {value}"));
    }

    /// `header:` then `     -> key: Str(value)` per attribute; nothing when there are none.
    /// A header that itself starts with `     ->` indents its attributes one level further.
    pub(super) fn attributes(&mut self, header: &str, attributes: &[KeyValue]) {
        if attributes.is_empty() {
            return;
        }
        self.entry(format_args!("{header}:"));
        let prefix = match header.split_once("->") {
            Some((indent, _)) => format!("{indent}     ->"),
            None => "     ->".to_owned(),
        };
        for kv in attributes {
            self.entry(format_args!(
                "{prefix} {}: {}",
                kv.key,
                typed_value(kv.value.as_ref())
            ));
        }
    }

    pub(super) fn scope(&mut self, scope: Option<&InstrumentationScope>) {
        let name = scope.map_or("", |s| s.name.as_str());
        let version = scope.map_or("", |s| s.version.as_str());
        self.entry(format_args!("InstrumentationScope {name} {version}"));
        self.attributes(
            "InstrumentationScope attributes",
            scope.map_or(&[], |s| &s.attributes),
        );
    }

    pub(super) fn finish(self) -> String {
        self.out
    }

    fn events(&mut self, events: &[Event]) {
        if events.is_empty() {
            return;
        }
        self.entry(format_args!("Events:"));
        for (i, e) in events.iter().enumerate() {
            self.entry(format_args!("SpanEvent #{i}"));
            self.entry(format_args!("     -> Name: {}", e.name));
            self.entry(format_args!(
                "     -> Timestamp: {}",
                timestamp(e.time_unix_nano)
            ));
            self.entry(format_args!(
                "     -> DroppedAttributesCount: {}",
                e.dropped_attributes_count
            ));
            self.attributes("     -> Attributes:", &e.attributes);
        }
    }

    fn links(&mut self, links: &[Link]) {
        if links.is_empty() {
            return;
        }
        self.entry(format_args!("Links:"));
        for (i, l) in links.iter().enumerate() {
            self.entry(format_args!("SpanLink #{i}"));
            self.entry(format_args!("     -> Trace ID: {}", hex_id(&l.trace_id)));
            self.entry(format_args!("     -> ID: {}", hex_id(&l.span_id)));
            self.entry(format_args!("     -> TraceState: {}", l.trace_state));
            self.entry(format_args!(
                "     -> DroppedAttributesCount: {}",
                l.dropped_attributes_count
            ));
            self.attributes("     -> Attributes:", &l.attributes);
        }
    }
}

pub fn traces(request: &ExportTraceServiceRequest) -> String {
    let mut b = Buffer::default();
    for (i, rs) in request.resource_spans.iter().enumerate() {
        b.entry(format_args!("ResourceSpans #{i}"));
        b.entry(format_args!("Resource SchemaURL: {}", rs.schema_url));
        b.attributes(
            "Resource attributes",
            rs.resource.as_ref().map_or(&[], |r| &r.attributes),
        );
        for (j, ss) in rs.scope_spans.iter().enumerate() {
            b.entry(format_args!("ScopeSpans #{j}"));
            b.entry(format_args!("ScopeSpans SchemaURL: {}", ss.schema_url));
            b.scope(ss.scope.as_ref());
            for (k, span) in ss.spans.iter().enumerate() {
                b.entry(format_args!("Span #{k}"));
                b.attr("Trace ID", &hex_id(&span.trace_id));
                b.attr("Parent ID", &hex_id(&span.parent_span_id));
                b.attr("ID", &hex_id(&span.span_id));
                b.attr("Name", &span.name);
                b.attr("Kind", &span_kind(span.kind));
                if !span.trace_state.is_empty() {
                    b.attr("TraceState", &span.trace_state);
                }
                b.attr("Start time", &timestamp(span.start_time_unix_nano));
                b.attr("End time", &timestamp(span.end_time_unix_nano));
                let status = span.status.as_ref();
                b.attr("Status code", &status_code(status.map_or(0, |s| s.code)));
                b.attr("Status message", status.map_or("", |s| s.message.as_str()));
                let dropped = [
                    ("DroppedAttributesCount", span.dropped_attributes_count),
                    ("DroppedEventsCount", span.dropped_events_count),
                    ("DroppedLinksCount", span.dropped_links_count),
                ];
                for (name, count) in dropped {
                    b.attr(name, &count.to_string());
                }
                b.attributes("Attributes", &span.attributes);
                b.events(&span.events);
                b.links(&span.links);
            }
        }
    }
    b.finish()
}

pub fn logs(request: &ExportLogsServiceRequest) -> String {
    let mut b = Buffer::default();
    for (i, rl) in request.resource_logs.iter().enumerate() {
        b.entry(format_args!("ResourceLog #{i}"));
        b.entry(format_args!("Resource SchemaURL: {}", rl.schema_url));
        b.attributes(
            "Resource attributes",
            rl.resource.as_ref().map_or(&[], |r| &r.attributes),
        );
        for (j, sl) in rl.scope_logs.iter().enumerate() {
            b.entry(format_args!("ScopeLogs #{j}"));
            b.entry(format_args!("ScopeLogs SchemaURL: {}", sl.schema_url));
            b.scope(sl.scope.as_ref());
            for (k, lr) in sl.log_records.iter().enumerate() {
                b.entry(format_args!("LogRecord #{k}"));
                b.entry(format_args!(
                    "ObservedTimestamp: {}",
                    timestamp(lr.observed_time_unix_nano)
                ));
                b.entry(format_args!("Timestamp: {}", timestamp(lr.time_unix_nano)));
                b.entry(format_args!("SeverityText: {}", lr.severity_text));
                b.entry(format_args!(
                    "SeverityNumber: {}({})",
                    severity(lr.severity_number),
                    lr.severity_number
                ));
                if !lr.event_name.is_empty() {
                    b.entry(format_args!("EventName: {}", lr.event_name));
                }
                b.entry(format_args!("Body: {}", typed_value(lr.body.as_ref())));
                b.attributes("Attributes", &lr.attributes);
                b.entry(format_args!("Trace ID: {}", hex_id(&lr.trace_id)));
                b.entry(format_args!("Span ID: {}", hex_id(&lr.span_id)));
                b.entry(format_args!("Flags: {}", lr.flags));
            }
        }
    }
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};

    #[test]
    fn a_span_prints_every_field() {
        let request = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![fixtures::rich_span()],
                    ..Default::default()
                }],
                ..fixtures::traces(1, 0).resource_spans[0].clone()
            }],
        };
        assert_eq!(
            traces(&request),
            "ResourceSpans #0\n\
             Resource SchemaURL: \n\
             Resource attributes:\n     -> resource-attr: Str(resource-attr-val-1)\n\
             ScopeSpans #0\n\
             ScopeSpans SchemaURL: \n\
             InstrumentationScope  \n\
             Span #0\n    \
                 Trace ID       : 0102030405060708090a0b0c0d0e0f10\n    \
                 Parent ID      : \n    \
                 ID             : 1112131415161718\n    \
                 Name           : operationA\n    \
                 Kind           : Client\n    \
                 TraceState     : ot=th:0\n    \
                 Start time     : 2020-02-11 20:26:12.000000321 +0000 UTC\n    \
                 End time       : 2020-02-11 20:26:13.000000789 +0000 UTC\n    \
                 Status code    : Error\n    \
                 Status message : status-cancelled\n    \
                 DroppedAttributesCount: 1\n    \
                 DroppedEventsCount: 0\n    \
                 DroppedLinksCount: 0\n\
             Attributes:\n     -> span-attr: Str(span-attr-val)\n\
             Events:\n\
             SpanEvent #0\n     \
                 -> Name: event-with-attr\n     \
                 -> Timestamp: 2020-02-11 20:26:13.000000789 +0000 UTC\n     \
                 -> DroppedAttributesCount: 2\n     \
                 -> Attributes::\n          \
                 -> span-event-attr: Str(span-event-attr-val)\n\
             Links:\n\
             SpanLink #0\n     \
                 -> Trace ID: 0102030405060708090a0b0c0d0e0f10\n     \
                 -> ID: 1112131415161718\n     \
                 -> TraceState: \n     \
                 -> DroppedAttributesCount: 4\n"
        );
    }

    #[test]
    fn traces_number_every_resource_scope_and_span() {
        let out = traces(&fixtures::traces(2, 2));
        for header in [
            "ResourceSpans #1",
            "ScopeSpans #0",
            "Span #1",
            "InstrumentationScope lib 1.0",
        ] {
            assert!(
                out.contains(&format!("{header}\n")),
                "{header} missing in\n{out}"
            );
        }
        assert_eq!(out.matches("Span #").count(), 4);
    }

    #[test]
    fn a_log_record_prints_body_severity_and_ids() {
        let out = logs(&fixtures::logs(1));
        assert!(
            out.ends_with(
                "LogRecord #0\n\
                 ObservedTimestamp: 1970-01-01 00:00:00 +0000 UTC\n\
                 Timestamp: 2020-02-11 20:26:13.000000789 +0000 UTC\n\
                 SeverityText: INFO\n\
                 SeverityNumber: Info(9)\n\
                 Body: Str(record 0)\n\
                 Attributes:\n     -> app: Str(server)\n     -> instance_num: Int(1)\n\
                 Trace ID: 0102030405060708090a0b0c0d0e0f10\n\
                 Span ID: 1112131415161718\n\
                 Flags: 1\n"
            ),
            "{out}"
        );
        assert!(
            out.starts_with("ResourceLog #0\nResource SchemaURL: \n"),
            "{out}"
        );
    }
}
