//! The backend goes away during a steady send and comes back: nothing acknowledged is lost and
//! the retries show in the metrics. A full queue makes the receiver refuse (503) and the
//! client's own retry succeeds once the backend is back.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use http::StatusCode;
use parking_lot::Mutex;
use serde_json::json;
use sluice_tests::http::{Client, Request};
use sluice_tests::output::Output;
use sluice_tests::process::free_port;
use sluice_tests::{PATIENCE, Setup, Sluice, fake, metric_sum, poll};

use super::fast_retry;

/// A Sluice backend on a fixed gRPC port writing to `out` (appending, so a restarted backend
/// adds to the same file).
async fn backend(port: u16, out: &std::path::Path) -> Result<Sluice> {
    let mut setup = Setup::new()?;
    setup.grpc("endpoint", json!(format!("127.0.0.1:{port}")));
    setup.config["exporters"]["file"]["path"] = json!(out);
    setup.start().await
}

fn front_exporting_to(port: u16, queue: serde_json::Value) -> Result<Setup> {
    let mut front = Setup::new()?;
    front.export_to(
        "otlp/backend",
        json!({
            "endpoint": format!("127.0.0.1:{port}"),
            "tls": { "insecure": true },
            "timeout": "2s",
            "retry_on_failure": fast_retry(),
            "sending_queue": queue,
        }),
    );
    Ok(front)
}

/// Wait until every name is in the file, then return how often each arrived.
async fn arrived(out: &std::path::Path, names: &[String]) -> Result<()> {
    let all = poll(PATIENCE * 3, || async {
        let have = Output::read(out).ok()?.span_names();
        names.iter().all(|n| have.contains(n)).then_some(())
    })
    .await;
    if all.is_none() {
        let have = Output::read(out)?.span_names();
        let missing = names.iter().filter(|n| !have.contains(n)).count();
        anyhow::bail!(
            "{missing} of {} acknowledged spans never arrived",
            names.len()
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn backend_down_for_20_seconds_loses_nothing_acknowledged() -> Result<()> {
    let files = tempfile::tempdir()?;
    let out = files.path().join("backend.jsonl");
    let port = free_port()?;
    let first = backend(port, &out).await?;
    let front = front_exporting_to(port, json!({}))?.start().await?;

    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let sender = {
        let (acked, stop, http) = (acked.clone(), stop.clone(), front.http);
        tokio::spawn(async move {
            let client = Client::plaintext(http);
            while !stop.load(Ordering::Relaxed) {
                let traces = fake::traces(1, 5, 2);
                if let Ok(r) = client.send(&Request::protobuf("/v1/traces", &traces)).await
                    && r.status == StatusCode::OK
                {
                    acked.lock().extend(fake::span_names(&traces));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    first.stop().await;
    let acked_when_down = acked.lock().len();
    tokio::time::sleep(Duration::from_secs(20)).await;
    let acked_while_down = acked.lock().len() - acked_when_down;
    let second = backend(port, &out).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Relaxed);
    sender.await?;

    ensure!(
        acked_while_down > 100,
        "the receiver should keep accepting while the backend is down (queue), acknowledged {acked_while_down}"
    );
    let names = acked.lock().clone();
    arrived(&out, &names).await?;
    let metrics = front.self_metrics().await?;
    let retried = metric_sum(
        &metrics,
        "sluice_exporter_retried_spans_total",
        &[("exporter", "otlp/backend")],
    );
    ensure!(retried > 0.0, "no retries counted:\n{metrics}");
    let failed = metric_sum(&metrics, "otelcol_exporter_send_failed_spans_total", &[]);
    ensure!(failed == 0.0, "{failed} spans counted as failed");
    front.stop().await;
    second.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn full_queue_refuses_with_503_and_the_clients_retry_succeeds_later() -> Result<()> {
    let files = tempfile::tempdir()?;
    let out = files.path().join("backend.jsonl");
    let port = free_port()?;
    let front = front_exporting_to(port, json!({ "queue_size": 3, "num_consumers": 1 }))?
        .start()
        .await?;
    let client = Client::plaintext(front.http);

    let mut acked = Vec::new();
    let mut refused = None;
    for _ in 0..20 {
        let traces = fake::traces(1, 2, 1);
        let response = client
            .send(&Request::protobuf("/v1/traces", &traces))
            .await?;
        match response.status {
            StatusCode::OK => acked.extend(fake::span_names(&traces)),
            StatusCode::SERVICE_UNAVAILABLE => {
                ensure!(
                    response.header("retry-after").is_some(),
                    "503 without Retry-After"
                );
                refused = Some(traces);
                break;
            }
            other => anyhow::bail!("unexpected status {other}: {}", response.text()),
        }
    }
    let refused = refused.context("the queue of 3 never filled up in 20 requests")?;
    let metrics = front.self_metrics().await?;
    ensure!(
        metric_sum(&metrics, "otelcol_exporter_enqueue_failed_spans_total", &[]) > 0.0,
        "enqueue failures not counted:\n{metrics}"
    );

    let backend = backend(port, &out).await?;
    // The client retries the refused request, as OTLP clients do on 503.
    let accepted = poll(PATIENCE, || async {
        let r = client
            .send(&Request::protobuf("/v1/traces", &refused))
            .await
            .ok()?;
        (r.status == StatusCode::OK).then_some(())
    })
    .await;
    accepted.context("the refused request was never accepted after the backend came back")?;
    acked.extend(fake::span_names(&refused));
    arrived(&out, &acked).await?;
    front.stop().await;
    backend.stop().await;
    Ok(())
}
