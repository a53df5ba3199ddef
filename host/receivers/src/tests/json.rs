//! OTLP/JSON: the specification's example documents decode to the same payload as the
//! equivalent protobuf, and the encoding's details (hex ids, 64-bit integers as strings or
//! numbers, enums as integers) are honoured.

use prost::Message;
use sluice_pipeline::Payload;

use super::fixtures::{self, LOGS_JSON, METRICS_JSON, TRACE_JSON};
use super::{Harness, JSON, PROTOBUF, Recorder, post, settings};

/// POST the JSON document and the protobuf message to `path`; both must be accepted and
/// recorded as `expected`.
async fn json_and_protobuf_agree(
    path: &str,
    json: &'static str,
    protobuf: Vec<u8>,
    expected: Payload,
) {
    let recorder = Recorder::new();
    let harness = Harness::start(settings(|_, _| {}), recorder.consumers()).await;

    let answer = post(harness.http(), path, &[JSON], json).await;
    assert_eq!(answer.status, 200, "JSON: {:?}", answer.body);
    assert_eq!(answer.header("content-type"), Some("application/json"));
    assert_eq!(&answer.body[..], b"{}");

    let answer = post(harness.http(), path, &[PROTOBUF], protobuf).await;
    assert_eq!(answer.status, 200, "protobuf: {:?}", answer.body);
    assert_eq!(
        answer.header("content-type"),
        Some("application/x-protobuf")
    );
    assert!(answer.body.is_empty());

    let payloads = recorder.payloads();
    assert_eq!(payloads.len(), 2);
    assert_eq!(
        payloads[0], payloads[1],
        "JSON and protobuf decode differently"
    );
    assert_eq!(payloads[0], expected);
}

#[tokio::test]
async fn spec_trace_json_decodes_like_its_protobuf() {
    let expected = fixtures::spec_traces();
    json_and_protobuf_agree(
        "/v1/traces",
        TRACE_JSON,
        expected.encode_to_vec(),
        Payload::Traces(expected),
    )
    .await;
}

#[tokio::test]
async fn spec_metrics_json_decodes_like_its_protobuf() {
    let expected = fixtures::spec_metrics();
    json_and_protobuf_agree(
        "/v1/metrics",
        METRICS_JSON,
        expected.encode_to_vec(),
        Payload::Metrics(expected),
    )
    .await;
}

#[tokio::test]
async fn spec_logs_json_decodes_like_its_protobuf() {
    let expected = fixtures::spec_logs();
    json_and_protobuf_agree(
        "/v1/logs",
        LOGS_JSON,
        expected.encode_to_vec(),
        Payload::Logs(expected),
    )
    .await;
}

#[tokio::test]
async fn json_accepts_string_encoded_64_bit_integers_and_lowercase_ids() {
    // What the OTLP/JSON spec mandates for exporters: int64/fixed64 as strings, ids lowercase hex.
    let json = TRACE_JSON
        .replace(
            "5B8EFFF798038103D269B633813FC60C",
            "5b8efff798038103d269b633813fc60c",
        )
        .replace("1544712660000000000", "\"1544712660000000000\"")
        .replace("1544712661000000000", "\"1544712661000000000\"");
    let recorder = Recorder::new();
    let harness = Harness::start(settings(|_, _| {}), recorder.consumers()).await;
    let answer = post(
        harness.http(),
        "/v1/traces",
        &[("content-type", "application/json; charset=utf-8")],
        json,
    )
    .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(
        recorder.single().payload,
        Payload::Traces(fixtures::spec_traces())
    );

    let logs = LOGS_JSON.replace("\"intValue\": 10", "\"intValue\": \"10\"");
    let answer = post(harness.http(), "/v1/logs", &[JSON], logs).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(recorder.payloads()[1], Payload::Logs(fixtures::spec_logs()));
}

#[tokio::test]
async fn json_round_trips_through_the_crates_serializer() {
    // What Sluice's own exporters would send must come back unchanged.
    let expected = fixtures::spec_metrics();
    let json = serde_json::to_string(&expected).unwrap();
    let recorder = Recorder::new();
    let harness = Harness::start(settings(|_, _| {}), recorder.consumers()).await;
    let answer = post(harness.http(), "/v1/metrics", &[JSON], json).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(recorder.single().payload, Payload::Metrics(expected));
}

#[tokio::test]
async fn metrics_json_that_would_lose_data_is_refused_with_400() {
    // serde drops a histogram with a bad field to "no data"; the receiver must refuse it.
    let json = METRICS_JSON.replace(r#""count": 3"#, r#""count": "three""#);
    let recorder = Recorder::new();
    let harness = Harness::start(settings(|_, _| {}), recorder.consumers()).await;
    let answer = post(harness.http(), "/v1/metrics", &[JSON], json).await;
    assert_eq!(answer.status, 400);
    let message = answer.json()["message"].as_str().unwrap().to_owned();
    assert!(
        message.starts_with(
            "cannot decode ExportMetricsServiceRequest as JSON: \
             resourceMetrics[0].scopeMetrics[0].metrics[2] (\"my.histogram\")"
        ),
        "{message}"
    );
    assert!(recorder.batches().is_empty());
}
