//! OTLP/gRPC with tonic's generated clients.

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use sluice_pipeline::{ConsumeError, Payload, Transport};
use tonic::Code;
use tonic::codec::CompressionEncoding;
use tonic::transport::Channel;

use super::fixtures;
use super::{Harness, Recorder, settings};

pub(crate) async fn channel(addr: std::net::SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .expect("gRPC connect")
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
