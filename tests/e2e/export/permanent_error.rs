//! A backend answering 400 gets the data exactly once: a permanent error is not retried, it is
//! logged and counted as lost.

use std::time::Duration;

use anyhow::{Result, ensure};
use bytes::Bytes;
use http::StatusCode;
use serde_json::json;
use sluice_tests::backend::Backend;
use sluice_tests::{Export, PATIENCE, Protocol, Setup, Via, metric_sum, poll};

use super::fast_retry;

#[tokio::test(flavor = "multi_thread")]
async fn http_400_from_the_backend_is_not_retried_and_counted_as_failed() -> Result<()> {
    let backend = Backend::start().await?;
    backend.respond(|_| {
        (
            StatusCode::BAD_REQUEST,
            vec![("content-type", "text/plain".into())],
            Bytes::from("invalid span: trace_id is empty"),
        )
    });
    let mut front = Setup::new()?;
    front.export_to(
        "otlphttp/strict",
        json!({ "endpoint": backend.url("http"), "retry_on_failure": fast_retry() }),
    );
    let front = front.start().await?;
    let export = Export::new();
    Via::plaintext(Protocol::Http)
        .traces(&front, &export.traces)
        .await?;

    let failed = poll(PATIENCE, || async {
        let text = front.self_metrics().await.ok()?;
        let failed = metric_sum(
            &text,
            "otelcol_exporter_send_failed_spans_total",
            &[("exporter", "otlphttp/strict")],
        );
        (failed > 0.0).then_some(failed)
    })
    .await;
    ensure!(
        failed == Some(6.0),
        "expected 6 failed spans, got {failed:?}"
    );
    // Give a retry (50 ms back-off) ample time to happen if it were going to.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let requests = backend.requests();
    ensure!(
        requests.len() == 1,
        "the backend saw {} requests, expected exactly 1",
        requests.len()
    );
    ensure!(
        requests[0].path == "/v1/traces",
        "posted to {}",
        requests[0].path
    );
    let text = front.self_metrics().await?;
    ensure!(
        metric_sum(&text, "sluice_exporter_retried_spans_total", &[]) == 0.0,
        "a permanent error was retried:\n{text}"
    );
    front.stop().await;
    Ok(())
}
