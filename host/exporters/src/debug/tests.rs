use std::io;
use std::sync::{Arc, Mutex};

use sluice_pipeline::RequestContext;

use super::*;
use crate::fixtures;

#[test]
fn basic_prints_the_collector_counts_only() {
    assert_eq!(
        format_traces(&fixtures::traces(2, 3), Verbosity::Basic),
        "Traces resource spans=2 spans=6\n"
    );
    assert_eq!(
        format_metrics(&fixtures::metrics(), Verbosity::Basic),
        "Metrics resource metrics=1 metrics=5 data points=5\n"
    );
    assert_eq!(
        format_logs(&fixtures::logs(4), Verbosity::Basic),
        "Logs resource logs=1 log records=4\n"
    );
    assert_eq!(
        format_traces(&Default::default(), Verbosity::Basic),
        "Traces resource spans=0 spans=0\n"
    );
}

#[test]
fn normal_adds_one_line_per_item() {
    let out = format_traces(&fixtures::traces(1, 3), Verbosity::Normal);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "Traces resource spans=1 spans=3");
    assert_eq!(lines.len(), 1 + 2 + 3, "{out}");
    assert!(lines[3].starts_with("operation0 0102030405060708090a0b0c0d0e0f10 1112131415161718"));

    let out = format_metrics(&fixtures::metrics(), Verbosity::Normal);
    assert_eq!(out.lines().count(), 1 + 2 + 5, "{out}");
    assert!(
        out.contains("\ngauge-int{label-1=label-value-1} 123\n"),
        "{out}"
    );

    let out = format_logs(&fixtures::logs(2), Verbosity::Normal);
    assert!(
        out.ends_with("\nrecord 1 app=server instance_num=1\n"),
        "{out}"
    );
}

#[test]
fn detailed_dumps_every_field() {
    let out = format_traces(&fixtures::traces(1, 1), Verbosity::Detailed);
    assert!(
        out.starts_with("Traces resource spans=1 spans=1\nResourceSpans #0\n"),
        "{out}"
    );
    for line in [
        "     -> resource-attr: Str(resource-attr-val-1)",
        "Span #0",
        "    Kind           : Server",
        "    Status code    : Unset",
        "     -> http.status: Int(200)",
    ] {
        assert!(
            out.contains(&format!("{line}\n")),
            "{line:?} missing in\n{out}"
        );
    }

    let out = format_metrics(&fixtures::metrics(), Verbosity::Detailed);
    assert!(
        out.contains("\n     -> DataType: ExponentialHistogram\n"),
        "{out}"
    );

    let out = format_logs(&fixtures::logs(1), Verbosity::Detailed);
    assert!(
        out.contains("\nBody: Str(record 0)\nAttributes:\n"),
        "{out}"
    );
}

/// Captures what the fmt subscriber prints.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("lock")).into_owned()
    }
}

async fn consume_logged(verbosity: Verbosity, payload: Payload) -> (String, Metrics) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let metrics = Metrics::new();
    let settings = DebugSettings {
        verbosity,
        ..Default::default()
    };
    let exporter = DebugExporter::new(&ComponentId::new("debug", Some("x")), &settings, &metrics);
    exporter
        .consume(Batch::new(payload, RequestContext::default()))
        .await
        .expect("the debug exporter never fails");
    (captured.text(), metrics)
}

#[tokio::test]
async fn consume_logs_the_summary_with_target_and_exporter_id() {
    let (out, metrics) =
        consume_logged(Verbosity::Basic, Payload::Traces(fixtures::traces(1, 2))).await;
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(
        out.contains(" INFO sluice::exporter::debug: Traces"),
        "{out}"
    );
    assert!(out.contains("exporter=\"debug/x\""), "{out}");
    assert!(out.contains("resource spans=1 spans=2"), "{out}");
    let sent = "otelcol_exporter_sent_spans_total{exporter=\"debug/x\"} 2";
    assert!(metrics.encode().contains(sent), "{}", metrics.encode());
}

#[tokio::test]
async fn consume_logs_the_dump_after_the_summary() {
    let (out, metrics) = consume_logged(Verbosity::Normal, Payload::Logs(fixtures::logs(2))).await;
    assert!(
        out.contains("Logs exporter=\"debug/x\" resource logs=1 log records=2"),
        "{out}"
    );
    assert!(
        out.contains("record 0 app=server instance_num=1\n"),
        "{out}"
    );
    let sent = "otelcol_exporter_sent_log_records_total{exporter=\"debug/x\"} 2";
    assert!(metrics.encode().contains(sent), "{}", metrics.encode());

    let (out, metrics) =
        consume_logged(Verbosity::Detailed, Payload::Metrics(fixtures::metrics())).await;
    assert!(out.contains("Metric #4\n"), "{out}");
    let sent = "otelcol_exporter_sent_metric_points_total{exporter=\"debug/x\"} 5";
    assert!(metrics.encode().contains(sent), "{}", metrics.encode());
}
