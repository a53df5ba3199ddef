//! OTLP/HTTP: routing, encodings, limits and answers, as the Collector gives them.

use std::io::Write;
use std::time::Duration;

use bytes::Bytes;
use prost::Message;
use sluice_pipeline::{ConsumeError, Payload, Transport};

use super::fixtures;
use super::{Harness, JSON, PROTOBUF, Recorder, post, request, send, settings};
use crate::http::status::Status;

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test]
async fn protobuf_exports_of_all_signals_reach_their_pipelines_and_are_counted() {
    let recorder = Recorder::new();
    let harness = Harness::start(settings(|_, _| {}), recorder.consumers()).await;
    let traces = fixtures::traces(3, 10);
    let metrics = fixtures::spec_metrics();
    let logs = fixtures::spec_logs();
    for (path, body) in [
        ("/v1/traces", traces.encode_to_vec()),
        ("/v1/metrics", metrics.encode_to_vec()),
        ("/v1/logs", logs.encode_to_vec()),
    ] {
        let answer = post(harness.http(), path, &[PROTOBUF], body).await;
        assert_eq!(answer.status, 200, "{path}: {:?}", answer.body);
    }
    let batches = recorder.batches();
    assert_eq!(batches[0].payload, Payload::Traces(traces));
    assert_eq!(batches[1].payload, Payload::Metrics(metrics));
    assert_eq!(batches[2].payload, Payload::Logs(logs));

    let context = &batches[0].context;
    assert_eq!(&*context.receiver, "otlp");
    assert_eq!(context.transport, Some(Transport::Http));
    assert_eq!(
        context.peer.map(|p| p.ip()),
        Some(std::net::Ipv4Addr::LOCALHOST.into())
    );
    assert_eq!(*context.auth, Default::default());
    assert!(
        context.metadata.is_empty(),
        "metadata only with include_metadata"
    );

    assert_eq!(harness.counter("accepted_spans", "http"), 3);
    assert_eq!(harness.counter("accepted_metric_points", "http"), 3);
    assert_eq!(harness.counter("accepted_log_records", "http"), 1);
}

#[tokio::test]
async fn a_protobuf_body_travels_on_as_its_bytes_and_json_decoded() {
    let recorder = Recorder::new();
    let harness = Harness::start(settings(|_, _| {}), recorder.consumers()).await;
    let traces = fixtures::traces(2, 3);
    // An unknown field: kept in the bytes, which are passed on as received.
    let mut raw = traces.encode_to_vec();
    raw.extend_from_slice(&[0x78, 0x01]);
    let headers = [PROTOBUF, ("content-encoding", "gzip")];
    let answer = post(harness.http(), "/v1/traces", &headers, gzip(&raw)).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let json = serde_json::to_string(&traces).unwrap();
    let answer = post(harness.http(), "/v1/traces", &[JSON], json).await;
    assert_eq!(answer.status, 200);
    let batches = recorder.raw_batches();
    let Payload::Encoded(encoded) = &batches[0].payload else {
        panic!("protobuf delivered decoded: {:?}", batches[0].payload)
    };
    assert_eq!(encoded.bytes().as_ref(), raw.as_slice());
    assert_eq!(
        encoded.known_decoded(),
        Some(&Payload::Traces(traces.clone()))
    );
    assert_eq!(batches[0].payload.item_count(), 2);
    assert_eq!(batches[1].payload, Payload::Traces(traces));
}

#[tokio::test]
async fn gzip_zstd_and_deflate_bodies_are_decompressed() {
    let recorder = Recorder::new();
    let harness = Harness::start(settings(|_, _| {}), recorder.consumers()).await;
    let traces = fixtures::traces(5, 100);
    let raw = traces.encode_to_vec();
    let zstd = zstd::encode_all(&raw[..], 3).unwrap();
    let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    zlib.write_all(&raw).unwrap();
    let deflate = zlib.finish().unwrap();
    for (encoding, body) in [("gzip", gzip(&raw)), ("zstd", zstd), ("deflate", deflate)] {
        let headers = [PROTOBUF, ("content-encoding", encoding)];
        let answer = post(harness.http(), "/v1/traces", &headers, body).await;
        assert_eq!(answer.status, 200, "{encoding}: {:?}", answer.body);
    }
    let payloads = recorder.payloads();
    assert_eq!(payloads.len(), 3);
    assert!(
        payloads
            .iter()
            .all(|p| *p == Payload::Traces(traces.clone()))
    );
}

#[tokio::test]
async fn unknown_content_encoding_is_400() {
    let harness = Harness::start(settings(|_, _| {}), Recorder::new().consumers()).await;
    let headers = [JSON, ("content-encoding", "br")];
    let answer = post(harness.http(), "/v1/traces", &headers, "{}").await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json()["code"], 3);
    assert!(
        answer.json()["message"]
            .as_str()
            .unwrap()
            .contains("unsupported Content-Encoding \"br\"")
    );
}

#[tokio::test]
async fn wrong_method_is_405_with_allow_post() {
    let harness = Harness::start(settings(|_, _| {}), Recorder::new().consumers()).await;
    let answer = send(request(
        "GET",
        harness.http(),
        "/v1/traces",
        &[],
        Bytes::new(),
    ))
    .await;
    assert_eq!(answer.status, 405);
    assert_eq!(answer.header("allow"), Some("POST"));
}

#[tokio::test]
async fn unsupported_content_type_is_415() {
    let harness = Harness::start(settings(|_, _| {}), Recorder::new().consumers()).await;
    let answer = post(
        harness.http(),
        "/v1/logs",
        &[("content-type", "text/plain")],
        "hi",
    )
    .await;
    assert_eq!(answer.status, 415);
    let answer = post(harness.http(), "/v1/logs", &[], "hi").await;
    assert_eq!(answer.status, 415, "no content type");
}

#[tokio::test]
async fn unknown_path_is_404() {
    let harness = Harness::start(settings(|_, _| {}), Recorder::new().consumers()).await;
    let answer = post(harness.http(), "/v1/profiles", &[PROTOBUF], Bytes::new()).await;
    assert_eq!(answer.status, 404);
}

#[tokio::test]
async fn configured_url_paths_replace_the_defaults() {
    let recorder = Recorder::new();
    let settings = settings(|_, http| http.traces_url_path = "/otlp/v1/traces".into());
    let harness = Harness::start(settings, recorder.consumers()).await;
    let body = fixtures::spec_traces().encode_to_vec();
    let answer = post(harness.http(), "/otlp/v1/traces", &[PROTOBUF], body.clone()).await;
    assert_eq!(answer.status, 200);
    let answer = post(harness.http(), "/v1/traces", &[PROTOBUF], body).await;
    assert_eq!(answer.status, 404);
}

/// The fixture traces with the first span's name made invalid UTF-8.
pub(crate) fn traces_with_invalid_utf8() -> Vec<u8> {
    let mut traces = fixtures::spec_traces();
    traces.resource_spans[0].scope_spans[0].spans[0].name = "\u{1}bad".into();
    let mut bytes = traces.encode_to_vec();
    let at = bytes.windows(4).position(|w| w == b"\x01bad").unwrap();
    bytes[at] = 0xff;
    bytes
}

#[tokio::test]
async fn a_pipeline_that_reads_bytes_gets_requests_checked_not_decoded() {
    let recorder = Recorder::reading_bytes();
    let harness = Harness::start(settings(|_, _| {}), recorder.consumers()).await;
    let traces = fixtures::spec_traces().encode_to_vec();
    let answer = post(harness.http(), "/v1/traces", &[PROTOBUF], traces.clone()).await;
    assert_eq!(answer.status, 200);
    let metrics = fixtures::spec_metrics().encode_to_vec();
    let answer = post(harness.http(), "/v1/metrics", &[PROTOBUF], metrics).await;
    assert_eq!(answer.status, 200);
    let batches = recorder.raw_batches();
    let [traces_batch, metrics_batch] = batches.as_slice() else {
        panic!("two batches expected, got {}", batches.len());
    };
    let Payload::Encoded(e) = &traces_batch.payload else {
        panic!("traces travel as bytes");
    };
    assert!(e.known_decoded().is_none(), "traces were decoded");
    assert_eq!(e.bytes().as_ref(), traces.as_slice());
    let spans = Payload::Traces(fixtures::spec_traces()).item_count();
    assert_eq!(e.items(), spans);
    let Payload::Encoded(m) = &metrics_batch.payload else {
        panic!("metrics travel as bytes");
    };
    assert!(m.known_decoded().is_none(), "metrics were decoded");
    let points = Payload::Metrics(fixtures::spec_metrics()).item_count();
    assert_eq!(m.items(), points);
    assert_eq!(harness.counter("accepted_spans", "http"), spans as u64);
    assert_eq!(
        harness.counter("accepted_metric_points", "http"),
        points as u64
    );

    // What does not decode is refused as before, with the field at fault.
    let answer = post(
        harness.http(),
        "/v1/traces",
        &[PROTOBUF],
        traces_with_invalid_utf8(),
    )
    .await;
    assert_eq!(answer.status, 400);
    let status = Status::decode(answer.body).unwrap();
    assert!(
        status.message.starts_with(
            "cannot decode ExportTraceServiceRequest as protobuf: Span.name: invalid string value"
        ),
        "{}",
        status.message
    );
    assert_eq!(recorder.raw_batches().len(), 2);
}

#[tokio::test]
async fn undecodable_body_is_400_with_a_status_in_the_request_encoding() {
    let harness = Harness::start(settings(|_, _| {}), Recorder::new().consumers()).await;

    let answer = post(
        harness.http(),
        "/v1/traces",
        &[PROTOBUF],
        &b"\xff\xff\xff"[..],
    )
    .await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.header("content-type"),
        Some("application/x-protobuf")
    );
    let status = Status::decode(answer.body).unwrap();
    assert_eq!(status.code, 3);
    assert!(
        status
            .message
            .starts_with("cannot decode ExportTraceServiceRequest as protobuf: "),
        "{}",
        status.message
    );

    let answer = post(
        harness.http(),
        "/v1/metrics",
        &[JSON],
        r#"{"resourceMetrics": 7}"#,
    )
    .await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.header("content-type"), Some("application/json"));
    let status = answer.json();
    assert_eq!(status["code"], 3);
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .starts_with("cannot decode ExportMetricsServiceRequest as JSON: "),
        "{status}"
    );
}

#[tokio::test]
async fn signal_without_pipeline_is_404_with_a_status() {
    let recorder = Recorder::new();
    let mut consumers = recorder.consumers();
    consumers.logs = None;
    let harness = Harness::start(settings(|_, _| {}), consumers).await;
    let answer = post(harness.http(), "/v1/logs", &[JSON], "{}").await;
    assert_eq!(answer.status, 404);
    assert_eq!(answer.json()["code"], 5);
    assert_eq!(
        answer.json()["message"],
        "receiver otlp is not part of any logs pipeline"
    );
}

fn limited(bytes: u64) -> sluice_config::OtlpReceiverSettings {
    settings(|_, http| http.max_request_body_size = bytes)
}

#[tokio::test]
async fn body_over_the_limit_is_413() {
    let harness = Harness::start(limited(1024 * 1024), Recorder::new().consumers()).await;
    let body = fixtures::traces(1, 1024 * 1024 + 10).encode_to_vec();
    let answer = post(harness.http(), "/v1/traces", &[PROTOBUF], body.clone()).await;
    assert_eq!(answer.status, 413);
    assert_eq!(
        Status::decode(answer.body).unwrap().message,
        "request body is larger than max_request_body_size (1048576 bytes)"
    );

    // Without Content-Length (chunked), the limit applies while reading.
    let chunks: Vec<Result<hyper::body::Frame<Bytes>, std::convert::Infallible>> = body
        .chunks(64 * 1024)
        .map(|c| Ok(hyper::body::Frame::data(Bytes::copy_from_slice(c))))
        .collect();
    let streamed = http_body_util::StreamBody::new(futures::stream::iter(chunks));
    let addr = harness.http();
    let request = ::http::Request::post(format!("http://{addr}/v1/traces"))
        .header("host", addr.to_string())
        .header("content-type", "application/x-protobuf")
        .body(streamed)
        .unwrap();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let answer = super::send_on(tcp, request).await;
    assert_eq!(answer.status, 413);
}

#[tokio::test]
async fn gzip_bomb_is_413_without_inflating_it() {
    // 1 GiB of zeros, compressed while generated (never held): 1,042,931 bytes of gzip, just
    // under the 1 MiB limit, so the wire body passes and only decompression can catch it.
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1024 * 1024];
    for _ in 0..1024 {
        encoder.write_all(&zeros).unwrap();
    }
    let bomb = encoder.finish().unwrap();
    assert!(bomb.len() < 1024 * 1024, "bomb is {} bytes", bomb.len());

    let harness = Harness::start(limited(1024 * 1024), Recorder::new().consumers()).await;
    let headers = [PROTOBUF, ("content-encoding", "gzip")];
    let answer = post(harness.http(), "/v1/traces", &headers, bomb).await;
    assert_eq!(answer.status, 413);
    assert_eq!(
        Status::decode(answer.body).unwrap().message,
        "decompressed request body is larger than max_request_body_size (1048576 bytes)"
    );
}

#[tokio::test]
async fn refused_data_is_503_with_retry_after_and_counted_as_refused() {
    let recorder = Recorder::failing(ConsumeError::Refused {
        reason: "memory limit".into(),
        retry_after: Some(Duration::from_millis(4200)),
    });
    let harness = Harness::start(settings(|_, _| {}), recorder.consumers()).await;
    let body = fixtures::traces(2, 1).encode_to_vec();
    let answer = post(harness.http(), "/v1/traces", &[PROTOBUF], body).await;
    assert_eq!(answer.status, 503);
    assert_eq!(answer.header("retry-after"), Some("5"));
    let status = Status::decode(answer.body).unwrap();
    assert_eq!(status.code, 14);
    assert!(
        status.message.contains("memory limit"),
        "{}",
        status.message
    );
    assert_eq!(harness.counter("refused_spans", "http"), 2);
    assert_eq!(harness.counter("accepted_spans", "http"), 0);

    let recorder = Recorder::failing(ConsumeError::refused("queue full"));
    let harness = Harness::start(settings(|_, _| {}), recorder.consumers()).await;
    let answer = post(harness.http(), "/v1/logs", &[JSON], fixtures::LOGS_JSON).await;
    assert_eq!(answer.status, 503);
    assert_eq!(
        answer.header("retry-after"),
        Some("1"),
        "default Retry-After"
    );
}

#[tokio::test]
async fn invalid_and_internal_pipeline_errors_are_400_and_500() {
    for (error, expected) in [
        (ConsumeError::Invalid("no service.name".into()), 400),
        (ConsumeError::Internal("disk full".into()), 500),
    ] {
        let recorder = Recorder::failing(error);
        let harness = Harness::start(settings(|_, _| {}), recorder.consumers()).await;
        let answer = post(harness.http(), "/v1/logs", &[JSON], fixtures::LOGS_JSON).await;
        assert_eq!(answer.status, expected, "{:?}", answer.body);
        assert_eq!(harness.counter("refused_log_records", "http"), 1);
    }
}

#[tokio::test]
async fn include_metadata_copies_headers_but_never_credentials() {
    let recorder = Recorder::new();
    let harness = Harness::start(
        settings(|_, http| http.include_metadata = true),
        recorder.consumers(),
    )
    .await;
    let headers = [
        PROTOBUF,
        ("x-tenant", "acme"),
        ("X-Scope-OrgID", "team-a"),
        ("authorization", "Bearer secret"),
        ("cookie", "session=secret"),
    ];
    let body = fixtures::spec_traces().encode_to_vec();
    let answer = post(harness.http(), "/v1/traces", &headers, body).await;
    assert_eq!(answer.status, 200);
    let context = recorder.single().context;
    assert_eq!(context.metadata_value("x-tenant"), Some("acme"));
    assert_eq!(context.metadata_value("x-scope-orgid"), Some("team-a"));
    assert!(!context.metadata.contains_key("authorization"));
    assert!(!context.metadata.contains_key("cookie"));
    let all = format!("{:?}", context.metadata);
    assert!(!all.contains("secret"), "{all}");
}

#[tokio::test]
async fn configured_response_headers_are_sent() {
    let settings = settings(|_, http| {
        http.response_headers
            .insert("X-Served-By".into(), "sluice".into());
    });
    let harness = Harness::start(settings, Recorder::new().consumers()).await;
    let answer = post(harness.http(), "/v1/traces", &[JSON], "{}").await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("x-served-by"), Some("sluice"));
}

#[tokio::test]
async fn empty_request_succeeds_without_reaching_the_pipeline() {
    let recorder = Recorder::new();
    let harness = Harness::start(settings(|_, _| {}), recorder.consumers()).await;
    let answer = post(harness.http(), "/v1/traces", &[PROTOBUF], Bytes::new()).await;
    assert_eq!(answer.status, 200);
    assert!(recorder.batches().is_empty());
}

#[tokio::test]
async fn otlp_http_is_also_served_over_h2c() {
    let recorder = Recorder::new();
    let harness = Harness::start(settings(|_, _| {}), recorder.consumers()).await;
    let tcp = tokio::net::TcpStream::connect(harness.http())
        .await
        .unwrap();
    let (mut sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tcp),
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    let body = fixtures::spec_traces().encode_to_vec();
    let response = sender
        .send_request(request(
            "POST",
            harness.http(),
            "/v1/traces",
            &[PROTOBUF],
            body,
        ))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.version(), ::http::Version::HTTP_2);
    assert_eq!(
        recorder.single().payload,
        Payload::Traces(fixtures::spec_traces())
    );
}
