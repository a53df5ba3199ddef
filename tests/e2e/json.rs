//! OTLP/JSON and OTLP/protobuf requests carry the same data: the same request sent both ways
//! is written identically by the file exporter, and decodes back to exactly what was sent.
//! Answers come in the request's content type.

use anyhow::{Context, Result, ensure};
use http::StatusCode;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sluice_tests::http::{Client, JSON, PROTOBUF, Request};
use sluice_tests::{PATIENCE, Sluice, fake, poll};

/// Send `message` as protobuf and then as JSON to `path`; return the two lines written.
async fn both_ways<M>(
    sluice: &Sluice,
    path: &str,
    message: &M,
) -> Result<(serde_json::Value, serde_json::Value)>
where
    M: prost::Message + Serialize,
{
    let client = Client::plaintext(sluice.http);
    let before = sluice.output()?.lines.len();
    for (content_type, body) in [
        (PROTOBUF, fake::protobuf(message)),
        (JSON, fake::json(message)),
    ] {
        let response = client
            .send(&Request::post(path, content_type, body))
            .await?;
        ensure!(
            response.status == StatusCode::OK,
            "{content_type}: {} {}",
            response.status,
            response.text()
        );
        ensure!(
            response.header("content-type") == Some(content_type),
            "answered {:?} to a {content_type} request",
            response.header("content-type")
        );
        if content_type == JSON {
            serde_json::from_slice::<serde_json::Value>(&response.body)
                .context("the JSON answer is not JSON")?;
        }
    }
    let lines = poll(PATIENCE, || async {
        let lines = sluice.output().ok()?.lines;
        (lines.len() >= before + 2).then_some(lines)
    })
    .await
    .context("the two requests were not both written")?;
    Ok((lines[before].clone(), lines[before + 1].clone()))
}

/// The output line decodes (with opentelemetry-proto's OTLP/JSON mapping) to what was sent.
fn decodes_to<M>(line: &serde_json::Value, sent: &M) -> Result<()>
where
    M: DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let written: M =
        serde_json::from_value(line.clone()).context("the output line is not OTLP/JSON")?;
    ensure!(
        &written == sent,
        "written differs from sent:\nwritten: {written:?}\nsent:    {sent:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn json_and_protobuf_traces_give_the_same_data() -> Result<()> {
    let sluice = Sluice::plaintext().await?;
    let sent: ExportTraceServiceRequest = fake::traces(2, 3, 4);
    let (from_protobuf, from_json) = both_ways(&sluice, "/v1/traces", &sent).await?;
    ensure!(
        from_protobuf == from_json,
        "protobuf wrote\n{from_protobuf}\nJSON wrote\n{from_json}"
    );
    decodes_to(&from_protobuf, &sent)?;
    sluice.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn json_and_protobuf_metrics_give_the_same_data() -> Result<()> {
    let sluice = Sluice::plaintext().await?;
    let sent: ExportMetricsServiceRequest = fake::metrics(2, 3, 4);
    let (from_protobuf, from_json) = both_ways(&sluice, "/v1/metrics", &sent).await?;
    ensure!(
        from_protobuf == from_json,
        "protobuf wrote\n{from_protobuf}\nJSON wrote\n{from_json}"
    );
    decodes_to(&from_protobuf, &sent)?;
    sluice.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn json_and_protobuf_logs_give_the_same_data() -> Result<()> {
    let sluice = Sluice::plaintext().await?;
    let sent: ExportLogsServiceRequest = fake::logs(2, 3, 4);
    let (from_protobuf, from_json) = both_ways(&sluice, "/v1/logs", &sent).await?;
    ensure!(
        from_protobuf == from_json,
        "protobuf wrote\n{from_protobuf}\nJSON wrote\n{from_json}"
    );
    decodes_to(&from_protobuf, &sent)?;
    sluice.stop().await;
    Ok(())
}
