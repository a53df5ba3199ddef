use std::path::PathBuf;
use std::sync::Arc;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message as _;
use serde_json::Value;
use sluice_pipeline::{Payload, RequestContext};

use super::*;
use crate::fixtures::{self, Scratch};

fn settings(path: PathBuf, format: FileFormat) -> FileSettings {
    FileSettings {
        path,
        format,
        flush_interval: None,
    }
}

fn exporter(name: &str, settings: &FileSettings, metrics: &Metrics) -> FileExporter {
    FileExporter::new(&ComponentId::new("file", Some(name)), settings, metrics)
        .expect("create file exporter")
}

fn batch(payload: Payload) -> Batch {
    Batch::new(payload, RequestContext::default())
}

fn traces_named(name: &str, spans: usize) -> ExportTraceServiceRequest {
    let mut request = fixtures::traces(1, spans);
    for span in &mut request.resource_spans[0].scope_spans[0].spans {
        span.name = name.to_owned();
    }
    request
}

#[test]
fn json_follows_the_otlp_json_encoding() {
    let json = to_otlp_json(&Payload::Traces(fixtures::traces(1, 1))).expect("encode");
    assert!(!json.contains('\n'));
    let v: Value = serde_json::from_str(&json).expect("valid JSON");
    let span = &v["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    let trace_id = span["traceId"].as_str().expect("traceId is a string");
    assert_eq!(trace_id, "0102030405060708090a0b0c0d0e0f10");
    assert!(trace_id.len() == 32 && !trace_id.chars().any(|c| c.is_ascii_uppercase()));
    assert_eq!(span["spanId"], "1112131415161718");
    assert_eq!(span["startTimeUnixNano"], "1581452772000000321");
    assert_eq!(span["endTimeUnixNano"], "1581452773000000789");
    assert_eq!(span["kind"], 2);
    assert_eq!(span["attributes"][1]["value"]["intValue"], "200");
    assert_eq!(
        v["resourceSpans"][0]["resource"]["attributes"][0]["value"]["stringValue"],
        "resource-attr-val-1"
    );

    let json = to_otlp_json(&Payload::Metrics(fixtures::metrics())).expect("encode");
    let v: Value = serde_json::from_str(&json).expect("valid JSON");
    let metrics = &v["resourceMetrics"][0]["scopeMetrics"][0]["metrics"];
    assert_eq!(metrics[0]["gauge"]["dataPoints"][0]["asInt"], "123");
    assert_eq!(metrics[1]["sum"]["aggregationTemporality"], 2);
    assert_eq!(metrics[2]["histogram"]["dataPoints"][0]["count"], "1");

    let json = to_otlp_json(&Payload::Logs(fixtures::logs(1))).expect("encode");
    let v: Value = serde_json::from_str(&json).expect("valid JSON");
    let record = &v["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0];
    assert_eq!(record["severityNumber"], 9);
    assert_eq!(record["body"]["stringValue"], "record 0");
    assert_eq!(record["timeUnixNano"], "1581452773000000789");
}

#[tokio::test]
async fn bytes_are_written_as_they_are_in_proto_and_decoded_for_json() {
    let scratch = Scratch::new("bytes");
    let metrics = Metrics::new();
    let traces = Payload::Traces(traces_named("from-bytes", 2));
    let mut raw = traces.to_wire().to_vec();
    raw.extend_from_slice(&[0x78, 0x01]);
    let bytes = sluice_pipeline::Encoded::from_guest(
        sluice_config::Signal::Traces,
        raw.clone().into(),
        "wasm/t".into(),
    )
    .unwrap();
    let proto = scratch.join("out.pb");
    let file = exporter(
        "bytes-pb",
        &settings(proto.clone(), FileFormat::Proto),
        &metrics,
    );
    file.consume(batch(bytes.clone())).await.unwrap();
    file.shutdown().await;
    let written = fs::read(&proto).unwrap();
    assert_eq!(
        &written[4..],
        raw.as_slice(),
        "the bytes, unknown field and all"
    );

    let json = scratch.join("out.json");
    let file = exporter(
        "bytes-json",
        &settings(json.clone(), FileFormat::Json),
        &metrics,
    );
    file.consume(batch(bytes)).await.unwrap();
    file.shutdown().await;
    let line = fs::read_to_string(&json).unwrap();
    let back: ExportTraceServiceRequest = serde_json::from_str(line.trim_end()).unwrap();
    assert_eq!(Payload::Traces(back), traces);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_consumes_write_one_whole_line_each() {
    const N: usize = 40;
    let scratch = Scratch::new("concurrent");
    let path = scratch.join("out.json");
    let metrics = Metrics::new();
    let exporter = Arc::new(exporter(
        "concurrent",
        &settings(path.clone(), FileFormat::Json),
        &metrics,
    ));

    let tasks: Vec<_> = (0..N)
        .map(|i| {
            let exporter = exporter.clone();
            // Large enough records that an interleaved write would show.
            let request = traces_named(&format!("request-{i:02}"), 200);
            tokio::spawn(async move { exporter.consume(batch(Payload::Traces(request))).await })
        })
        .collect();
    for task in tasks {
        task.await.expect("task").expect("consume");
    }

    // `consume` returned: every line is already in the file, before any shutdown.
    let text = fs::read_to_string(&path).expect("read output");
    assert!(text.ends_with('\n'));
    let mut names: Vec<String> = text
        .lines()
        .map(|line| {
            let request: ExportTraceServiceRequest =
                serde_json::from_str(line).expect("each line is one OTLP/JSON request");
            let name = request.resource_spans[0].scope_spans[0].spans[0]
                .name
                .clone();
            assert_eq!(request, traces_named(&name, 200), "line round-trips");
            name
        })
        .collect();
    names.sort();
    let expected: Vec<String> = (0..N).map(|i| format!("request-{i:02}")).collect();
    assert_eq!(names, expected);

    exporter.shutdown().await;
    let sent = format!(
        "otelcol_exporter_sent_spans_total{{exporter=\"file/concurrent\"}} {}",
        N * 200
    );
    assert!(metrics.encode().contains(&sent), "{}", metrics.encode());
}

#[tokio::test]
async fn metrics_and_logs_round_trip_through_json_lines() {
    let scratch = Scratch::new("json-signals");
    let path = scratch.join("out.json");
    let exporter = exporter(
        "signals",
        &settings(path.clone(), FileFormat::Json),
        &Metrics::new(),
    );
    exporter
        .consume(batch(Payload::Metrics(fixtures::metrics())))
        .await
        .expect("metrics");
    exporter
        .consume(batch(Payload::Logs(fixtures::logs(3))))
        .await
        .expect("logs");
    exporter.shutdown().await;

    let text = fs::read_to_string(&path).expect("read output");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    let metrics: ExportMetricsServiceRequest =
        serde_json::from_str(lines[0]).expect("metrics line");
    assert_eq!(metrics, fixtures::metrics());
    let logs: ExportLogsServiceRequest = serde_json::from_str(lines[1]).expect("logs line");
    assert_eq!(logs, fixtures::logs(3));
}

#[tokio::test]
async fn proto_records_are_length_prefixed_and_round_trip() {
    let scratch = Scratch::new("proto");
    let path = scratch.join("out.pb");
    let exporter = exporter(
        "proto",
        &settings(path.clone(), FileFormat::Proto),
        &Metrics::new(),
    );
    let traces = fixtures::traces(2, 3);
    exporter
        .consume(batch(Payload::Traces(traces.clone())))
        .await
        .expect("traces");
    exporter
        .consume(batch(Payload::Metrics(fixtures::metrics())))
        .await
        .expect("metrics");
    exporter
        .consume(batch(Payload::Logs(fixtures::logs(2))))
        .await
        .expect("logs");
    exporter.shutdown().await;

    let bytes = fs::read(&path).expect("read output");
    let mut records = Vec::new();
    let mut rest = bytes.as_slice();
    while !rest.is_empty() {
        let (len, tail) = rest.split_at(4);
        let len = u32::from_be_bytes(len.try_into().expect("4 bytes")) as usize;
        let (record, tail) = tail.split_at(len);
        records.push(record.to_vec());
        rest = tail;
    }
    assert_eq!(records.len(), 3);
    assert_eq!(
        ExportTraceServiceRequest::decode(&*records[0]).expect("traces"),
        traces
    );
    assert_eq!(
        ExportMetricsServiceRequest::decode(&*records[1]).expect("metrics"),
        fixtures::metrics()
    );
    assert_eq!(
        ExportLogsServiceRequest::decode(&*records[2]).expect("logs"),
        fixtures::logs(2)
    );
}

#[tokio::test]
async fn missing_directories_are_created_and_existing_files_appended() {
    let scratch = Scratch::new("mkdir");
    let path = scratch.join("a/b/c/out.json");
    for _ in 0..2 {
        let exporter = exporter(
            "mkdir",
            &settings(path.clone(), FileFormat::Json),
            &Metrics::new(),
        );
        exporter
            .consume(batch(Payload::Logs(fixtures::logs(1))))
            .await
            .expect("consume");
        exporter.shutdown().await;
    }
    let text = fs::read_to_string(&path).expect("file created");
    assert_eq!(text.lines().count(), 2);
}

#[tokio::test]
async fn unopenable_paths_give_an_error_naming_exporter_and_path() {
    let scratch = Scratch::new("unopenable");
    let dir = scratch.0.clone();
    let id = ComponentId::new("file", Some("x"));

    // The path is a directory.
    let err = FileExporter::new(
        &id,
        &settings(dir.clone(), FileFormat::Json),
        &Metrics::new(),
    )
    .err()
    .expect("a directory cannot be opened as a file");
    assert_eq!(
        err.to_string(),
        format!(
            "exporters.file/x.path: cannot open {}: Is a directory",
            dir.display()
        )
    );

    // A parent is a regular file.
    let file = dir.join("plain");
    fs::write(&file, b"").expect("write");
    let err = FileExporter::new(
        &id,
        &settings(file.join("out.json"), FileFormat::Json),
        &Metrics::new(),
    )
    .err()
    .expect("a file cannot be a directory");
    let message = err.to_string();
    assert!(
        message.starts_with(&format!(
            "exporters.file/x.path: cannot create directory {}: ",
            file.display()
        )),
        "{message}"
    );
    assert!(!message.contains("os error"), "{message}");

    // No write permission (meaningless as root, which may write anywhere).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let locked = dir.join("locked");
        fs::create_dir(&locked).expect("mkdir");
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o500)).expect("chmod");
        let target = locked.join("out.json");
        if let Err(err) = FileExporter::new(
            &id,
            &settings(target.clone(), FileFormat::Json),
            &Metrics::new(),
        ) {
            assert_eq!(
                err.to_string(),
                format!(
                    "exporters.file/x.path: cannot open {}: Permission denied",
                    target.display()
                )
            );
        }
        let _ = fs::set_permissions(&locked, fs::Permissions::from_mode(0o700));
    }
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_failed_write_is_counted_logged_and_reported_as_internal() {
    let metrics = Metrics::new();
    // Every write to /dev/full fails with ENOSPC.
    let exporter = exporter(
        "full",
        &settings("/dev/full".into(), FileFormat::Json),
        &metrics,
    );
    let err = exporter
        .consume(batch(Payload::Traces(fixtures::traces(1, 3))))
        .await
        .expect_err("write must fail");
    match err {
        ConsumeError::Internal(message) => {
            assert!(message.contains("/dev/full"), "{message}");
            assert!(message.contains("No space left on device"), "{message}");
        }
        other => panic!("expected Internal, got {other:?}"),
    }
    let failed = "otelcol_exporter_send_failed_spans_total{exporter=\"file/full\"} 3";
    assert!(metrics.encode().contains(failed), "{}", metrics.encode());
}

#[tokio::test]
async fn consume_after_shutdown_fails_and_shutdown_is_idempotent() {
    let scratch = Scratch::new("after-shutdown");
    let path = scratch.join("out.json");
    let metrics = Metrics::new();
    let exporter = exporter("late", &settings(path, FileFormat::Json), &metrics);
    exporter.shutdown().await;
    exporter.shutdown().await;
    let err = exporter
        .consume(batch(Payload::Logs(fixtures::logs(2))))
        .await
        .expect_err("closed");
    assert!(matches!(err, ConsumeError::Internal(m) if m.contains("shut down")));
    let failed = "otelcol_exporter_send_failed_log_records_total{exporter=\"file/late\"} 2";
    assert!(metrics.encode().contains(failed), "{}", metrics.encode());
}

#[tokio::test]
async fn periodic_fsync_keeps_writing() {
    let scratch = Scratch::new("fsync");
    let path = scratch.join("out.json");
    let mut settings = settings(path.clone(), FileFormat::Json);
    settings.flush_interval = Some(serde_yaml::Value::String("10ms".into()));
    let exporter = exporter("fsync", &settings, &Metrics::new());
    for _ in 0..3 {
        exporter
            .consume(batch(Payload::Logs(fixtures::logs(1))))
            .await
            .expect("consume");
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    exporter.shutdown().await;
    assert_eq!(fs::read_to_string(&path).expect("read").lines().count(), 3);
}

#[test]
fn flush_interval_reads_go_durations() {
    let parse = |v: serde_yaml::Value| flush_interval("file", Some(&v));
    let s = |s: &str| serde_yaml::Value::String(s.to_owned());
    assert_eq!(parse(s("1s")).expect("1s"), Some(Duration::from_secs(1)));
    assert_eq!(
        parse(s("500ms")).expect("500ms"),
        Some(Duration::from_millis(500))
    );
    assert_eq!(
        parse(serde_yaml::Value::Number(250.into())).expect("ns"),
        Some(Duration::from_nanos(250))
    );
    assert_eq!(parse(s("0")).expect("zero"), None);
    assert_eq!(flush_interval("file", None).expect("absent"), None);
    let err = parse(s("soon")).expect_err("not a duration");
    assert_eq!(
        err.to_string(),
        "exporters.file.flush_interval: \"soon\" is not a duration (write it like 1s or 500ms)"
    );
}

#[test]
fn creating_outside_a_runtime_is_an_error() {
    let scratch = Scratch::new("no-runtime");
    let path = scratch.join("out.json");
    let err = FileExporter::new(
        &ComponentId::new("file", None),
        &settings(path, FileFormat::Json),
        &Metrics::new(),
    )
    .err()
    .expect("needs a runtime");
    assert!(matches!(err, ExportError::NoRuntime { .. }));
}
