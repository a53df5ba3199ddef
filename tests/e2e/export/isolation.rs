//! Each exporter of a pipeline has its own queue: one whose backend accepts connections and
//! never answers does not hold back its sibling.

use anyhow::{Result, ensure};
use serde_json::json;
use sluice_tests::{Export, Protocol, Setup, Via};
use tokio::net::TcpListener;

use super::fast_retry;

#[tokio::test(flavor = "multi_thread")]
async fn a_stuck_exporter_does_not_hold_back_its_sibling() -> Result<()> {
    // Accepts TCP connections and never answers: every export to it hangs until its timeout.
    let stuck = TcpListener::bind("127.0.0.1:0").await?;
    let stuck_addr = stuck.local_addr()?;
    let held = tokio::spawn(async move {
        let mut connections = Vec::new();
        while let Ok((stream, _)) = stuck.accept().await {
            connections.push(stream);
        }
    });
    let live = Setup::new()?.start().await?;

    let mut front = Setup::new()?;
    front.config["exporters"]["otlphttp/stuck"] = json!({
        "endpoint": format!("http://{stuck_addr}"),
        "timeout": "60s",
        "retry_on_failure": fast_retry(),
        "sending_queue": { "num_consumers": 2 },
    });
    front.config["exporters"]["otlp/live"] = json!({
        "endpoint": format!("127.0.0.1:{}", live.grpc.port()),
        "tls": { "insecure": true },
        "retry_on_failure": fast_retry(),
    });
    for signal in ["traces", "metrics", "logs"] {
        front.pipeline_exporters(signal, &["otlphttp/stuck", "otlp/live"]);
    }
    let front = front.start().await?;

    let exports: Vec<Export> = (0..20).map(|_| Export::new()).collect();
    for export in &exports {
        Via::plaintext(Protocol::Grpc).all(&front, export).await?;
    }
    // Within the usual patience, although the stuck exporter has 20 × 3 requests waiting.
    for export in &exports {
        export.arrived_in(&live).await?;
    }
    let text = front.self_metrics().await?;
    let queued = sluice_tests::metric_sum(
        &text,
        "otelcol_exporter_queue_size",
        &[("exporter", "otlphttp/stuck")],
    );
    ensure!(
        queued > 0.0,
        "the stuck exporter's queue should hold requests:\n{text}"
    );
    held.abort();
    live.stop().await;
    drop(front);
    Ok(())
}
