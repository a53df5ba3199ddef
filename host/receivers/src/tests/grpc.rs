//! OTLP/gRPC with tonic's generated clients, and raw HTTP/2 requests for what they cannot send.

use bytes::{BufMut, Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message;
use sluice_pipeline::{ConsumeError, Payload, Transport};
use tonic::codec::CompressionEncoding;
use tonic::transport::Channel;
use tonic::{Code, Status};

use super::fixtures;
use super::{Harness, Recorder, settings};

pub(crate) async fn channel(addr: std::net::SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .expect("gRPC connect")
}

/// Send `message` in one uncompressed gRPC frame to `path` over h2c, as a client would; the
/// status from the answer's trailers (or headers, for a trailers-only answer).
async fn raw_call(addr: std::net::SocketAddr, path: &str, message: &[u8]) -> Status {
    let mut frame = BytesMut::new();
    frame.put_u8(0);
    frame.put_u32(message.len().try_into().unwrap());
    frame.put_slice(message);
    let request = ::http::Request::post(format!("http://{addr}{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(Full::new(Bytes::from(frame)))
        .unwrap();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tcp),
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let (parts, body) = response.into_parts();
    let trailers = body.collect().await.unwrap().trailers().cloned();
    trailers
        .and_then(|t| Status::from_header_map(&t))
        .or_else(|| Status::from_header_map(&parts.headers))
        .expect("a grpc-status")
}

#[tokio::test]
async fn exports_of_all_signals_reach_their_pipelines_and_are_counted() {
    let recorder = Recorder::new();
    let harness = Harness::start(settings(|_, _| {}), recorder.consumers()).await;
    let channel = channel(harness.grpc()).await;
    let traces = fixtures::traces(4, 10);
    TraceServiceClient::new(channel.clone())
        .export(traces.clone())
        .await
        .expect("traces");
    MetricsServiceClient::new(channel.clone())
        .export(fixtures::spec_metrics())
        .await
        .expect("metrics");
    LogsServiceClient::new(channel)
        .export(fixtures::spec_logs())
        .await
        .expect("logs");

    // The request message travels on as its bytes.
    let raw = recorder.raw_batches();
    assert_eq!(
        raw[0].payload.wire().map(|b| b.to_vec()),
        Some(traces.encode_to_vec())
    );
    let batches = recorder.batches();
    assert_eq!(batches[0].payload, Payload::Traces(traces));
    assert_eq!(
        batches[1].payload,
        Payload::Metrics(fixtures::spec_metrics())
    );
    assert_eq!(batches[2].payload, Payload::Logs(fixtures::spec_logs()));
    let context = &batches[0].context;
    assert_eq!(context.transport, Some(Transport::Grpc));
    assert_eq!(&*context.receiver, "otlp");
    assert!(context.peer.is_some());
    assert!(context.metadata.is_empty());
    assert_eq!(harness.counter("accepted_spans", "grpc"), 4);
    assert_eq!(harness.counter("accepted_metric_points", "grpc"), 3);
    assert_eq!(harness.counter("accepted_log_records", "grpc"), 1);
}

#[tokio::test]
async fn gzip_and_zstd_requests_are_accepted_and_answers_compressed_on_request() {
    let recorder = Recorder::new();
    let harness = Harness::start(settings(|_, _| {}), recorder.consumers()).await;
    let channel = channel(harness.grpc()).await;
    for (encoding, name) in [
        (CompressionEncoding::Gzip, "gzip"),
        (CompressionEncoding::Zstd, "zstd"),
    ] {
        let response = TraceServiceClient::new(channel.clone())
            .send_compressed(encoding)
            .accept_compressed(encoding)
            .export(fixtures::traces(10, 200))
            .await
            .unwrap_or_else(|e| panic!("{encoding:?}: {e}"));
        let answered = response
            .metadata()
            .get("grpc-encoding")
            .map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(answered.as_deref(), Some(name));
    }
    assert_eq!(recorder.batches().len(), 2);
}

#[tokio::test]
async fn messages_over_max_recv_msg_size_are_refused() {
    let recorder = Recorder::new();
    let settings = settings(|grpc, _| grpc.max_recv_msg_size_mib = 1);
    let harness = Harness::start(settings, recorder.consumers()).await;
    let channel = channel(harness.grpc()).await;
    let big = fixtures::traces(1, 1024 * 1024 + 10);

    // The length prefix is over the limit: tonic answers OutOfRange without reading further.
    let status = TraceServiceClient::new(channel.clone())
        .export(big.clone())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::OutOfRange, "{status}");

    // Small on the wire, too large once inflated: ResourceExhausted.
    let status = TraceServiceClient::new(channel)
        .send_compressed(CompressionEncoding::Gzip)
        .export(big)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status}");
    assert!(recorder.batches().is_empty());
}

#[tokio::test]
async fn refused_data_is_unavailable_and_counted_as_refused() {
    let recorder = Recorder::failing(ConsumeError::refused("memory limit"));
    let harness = Harness::start(settings(|_, _| {}), recorder.consumers()).await;
    let status = LogsServiceClient::new(channel(harness.grpc()).await)
        .export(fixtures::spec_logs())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert!(status.message().contains("memory limit"), "{status}");
    assert_eq!(harness.counter("refused_log_records", "grpc"), 1);
    assert_eq!(harness.counter("accepted_log_records", "grpc"), 0);
}

#[tokio::test]
async fn invalid_and_internal_pipeline_errors_map_to_grpc_codes() {
    for (error, expected) in [
        (ConsumeError::Invalid("bad".into()), Code::InvalidArgument),
        (ConsumeError::Internal("disk full".into()), Code::Internal),
    ] {
        let recorder = Recorder::failing(error);
        let harness = Harness::start(settings(|_, _| {}), recorder.consumers()).await;
        let status = TraceServiceClient::new(channel(harness.grpc()).await)
            .export(fixtures::spec_traces())
            .await
            .unwrap_err();
        assert_eq!(status.code(), expected);
    }
}

#[tokio::test]
async fn signal_without_pipeline_is_unimplemented() {
    let recorder = Recorder::new();
    let mut consumers = recorder.consumers();
    consumers.metrics = None;
    let harness = Harness::start(settings(|_, _| {}), consumers).await;
    let status = MetricsServiceClient::new(channel(harness.grpc()).await)
        .export(fixtures::spec_metrics())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented);
    assert_eq!(
        status.message(),
        "receiver otlp is not part of any metrics pipeline"
    );
}

#[tokio::test]
async fn include_metadata_copies_grpc_metadata_but_never_credentials() {
    let recorder = Recorder::new();
    let settings = settings(|grpc, _| grpc.include_metadata = true);
    let harness = Harness::start(settings, recorder.consumers()).await;
    let mut request = tonic::Request::new(fixtures::spec_traces());
    request
        .metadata_mut()
        .insert("x-tenant", "acme".parse().unwrap());
    request
        .metadata_mut()
        .insert("authorization", "Bearer secret".parse().unwrap());
    TraceServiceClient::new(channel(harness.grpc()).await)
        .export(request)
        .await
        .unwrap();
    let context = recorder.single().context;
    assert_eq!(context.metadata_value("x-tenant"), Some("acme"));
    assert!(!context.metadata.contains_key("authorization"));
    assert!(!format!("{:?}", context.metadata).contains("secret"));
}

#[tokio::test]
async fn undecodable_messages_are_invalid_argument_and_reach_no_pipeline() {
    let recorder = Recorder::new();
    let harness = Harness::start(settings(|_, _| {}), recorder.consumers()).await;
    // Field 1 (length-delimited) claims 255 bytes; 2 follow.
    let garbage = [0x0a, 0xff, 0x01, 0x02];
    for (service, request) in [
        ("trace.v1.TraceService", "ExportTraceServiceRequest"),
        ("metrics.v1.MetricsService", "ExportMetricsServiceRequest"),
        ("logs.v1.LogsService", "ExportLogsServiceRequest"),
    ] {
        let path = format!("/opentelemetry.proto.collector.{service}/Export");
        let status = raw_call(harness.grpc(), &path, &garbage).await;
        assert_eq!(status.code(), Code::InvalidArgument, "{path}: {status:?}");
        let expected = format!("cannot decode {request} as protobuf: ");
        assert!(status.message().starts_with(&expected), "{status:?}");
    }
    assert!(recorder.batches().is_empty());
    assert_eq!(harness.counter("refused_spans", "grpc"), 0);

    // The same exchange with a valid message goes through.
    let message = fixtures::spec_traces().encode_to_vec();
    let path = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
    let status = raw_call(harness.grpc(), path, &message).await;
    assert_eq!(status.code(), Code::Ok, "{status:?}");
    assert_eq!(
        recorder.single().payload,
        Payload::Traces(fixtures::spec_traces())
    );
}

#[tokio::test]
async fn a_pipeline_that_reads_bytes_gets_requests_checked_not_decoded() {
    let recorder = Recorder::reading_bytes();
    let harness = Harness::start(settings(|_, _| {}), recorder.consumers()).await;
    let path = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
    let bad = super::http::traces_with_invalid_utf8();
    let status = raw_call(harness.grpc(), path, &bad).await;
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(
        status.message().contains("Span.name: invalid string value"),
        "{status:?}"
    );
    assert!(recorder.raw_batches().is_empty());

    let message = fixtures::spec_traces().encode_to_vec();
    let status = raw_call(harness.grpc(), path, &message).await;
    assert_eq!(status.code(), Code::Ok, "{status:?}");
    let batches = recorder.raw_batches();
    let Payload::Encoded(e) = &batches[0].payload else {
        panic!("traces travel as bytes");
    };
    assert!(e.known_decoded().is_none(), "traces were decoded");
    assert_eq!(
        recorder.single().payload,
        Payload::Traces(fixtures::spec_traces())
    );
}

#[tokio::test]
async fn unknown_methods_are_unimplemented() {
    let harness = Harness::start(settings(|_, _| {}), Recorder::new().consumers()).await;
    for path in [
        "/opentelemetry.proto.collector.trace.v1.TraceService/Send",
        "/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export",
    ] {
        let status = raw_call(harness.grpc(), path, &[]).await;
        assert_eq!(status.code(), Code::Unimplemented, "{path}: {status:?}");
        assert!(status.message().contains(path), "{status:?}");
    }
}
