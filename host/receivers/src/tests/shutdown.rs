//! Graceful shutdown: in-flight requests finish, new connections are refused, and the grace
//! period bounds the wait.

use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message;

use super::fixtures;
use super::grpc::channel;
use super::{Harness, PROTOBUF, Recorder, post, settings};

async fn refuses_connections(addr: std::net::SocketAddr) -> bool {
    for _ in 0..500 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

#[tokio::test]
async fn in_flight_http_and_grpc_requests_complete_during_shutdown() {
    let recorder = Recorder::holding();
    let harness = Harness::start(settings(|_, _| {}), recorder.consumers()).await;
    let (http_addr, grpc_addr) = (harness.http(), harness.grpc());

    let http = tokio::spawn(async move {
        let body = fixtures::spec_traces().encode_to_vec();
        post(http_addr, "/v1/traces", &[PROTOBUF], body).await
    });
    recorder.entered.notified().await;
    let channel = channel(grpc_addr).await;
    let grpc = tokio::spawn(async move {
        TraceServiceClient::new(channel)
            .export(fixtures::spec_traces())
            .await
    });
    recorder.entered.notified().await;

    let shutdown = tokio::spawn(harness.receiver.shutdown(Duration::from_secs(10)));
    assert!(
        refuses_connections(http_addr).await,
        "HTTP listener still open"
    );
    assert!(
        refuses_connections(grpc_addr).await,
        "gRPC listener still open"
    );
    assert!(
        !shutdown.is_finished(),
        "shutdown must wait for in-flight requests"
    );

    recorder.release.notify_one();
    recorder.release.notify_one();
    let answer = http.await.unwrap();
    assert_eq!(answer.status, 200);
    grpc.await.unwrap().expect("gRPC request completes");
    tokio::time::timeout(Duration::from_secs(5), shutdown)
        .await
        .expect("shutdown returns once requests are done")
        .unwrap();
    assert_eq!(recorder.batches().len(), 2);
}

#[tokio::test]
async fn shutdown_gives_up_on_requests_after_the_grace_period() {
    let recorder = Recorder::holding();
    let harness = Harness::start(settings(|_, _| {}), recorder.consumers()).await;
    let addr = harness.http();
    let request = tokio::spawn(async move {
        let body = fixtures::spec_traces().encode_to_vec();
        let request = super::request("POST", addr, "/v1/traces", &[PROTOBUF], body);
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp))
                .await
                .unwrap();
        tokio::spawn(connection);
        sender.send_request(request).await
    });
    recorder.entered.notified().await;

    let started = Instant::now();
    harness.receiver.shutdown(Duration::from_millis(200)).await;
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(200),
        "returned after {took:?}"
    );
    assert!(took < Duration::from_secs(3), "returned after {took:?}");
    assert!(
        request.await.unwrap().is_err(),
        "the held request is cut off"
    );
}
