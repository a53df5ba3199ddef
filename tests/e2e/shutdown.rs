//! SIGTERM during a steady send loses nothing that was acknowledged: the `sluice` process (batch
//! processor holding data for a minute, file exporter) drains and flushes on SIGTERM, exits 0,
//! and every span of every request answered 200 is in the file.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use http::StatusCode;
use serde_json::json;
use sluice_tests::http::{Client, Request};
use sluice_tests::output::Output;
use sluice_tests::process::{Process, free_port};
use sluice_tests::{PATIENCE, Setup, fake, poll};
use tokio::sync::Mutex;

/// Concurrent clients.
const SENDERS: usize = 4;
/// Requests acknowledged before SIGTERM is sent.
const ACKED_BEFORE_SIGTERM: usize = 40;

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_during_steady_send_loses_nothing_acknowledged() -> Result<()> {
    let mut setup = Setup::new()?;
    let http: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
    let health: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
    setup.http("endpoint", json!(http.to_string()));
    setup.extension("health_check", json!({ "endpoint": health.to_string() }));
    // Nothing leaves the batch processor before shutdown: the flush on SIGTERM is under test.
    setup.processor(
        "batch",
        json!({ "timeout": "60s", "send_batch_size": 1_000_000 }),
    );
    let config = setup.write()?;
    let output = setup.dir().join("out.jsonl");
    let mut sluice = Process::spawn(&config, &setup.dir().join("sluice.log"))?;
    sluice.wait_healthy(health).await?;

    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let requests: Arc<Mutex<usize>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let senders: Vec<_> = (0..SENDERS)
        .map(|_| {
            let (acked, requests, stop) = (acked.clone(), requests.clone(), stop.clone());
            tokio::spawn(async move {
                let client = Client::plaintext(http);
                while !stop.load(Ordering::Relaxed) {
                    let traces = fake::traces(1, 5, 2);
                    match client.send(&Request::protobuf("/v1/traces", &traces)).await {
                        Ok(response) if response.status == StatusCode::OK => {
                            acked.lock().await.extend(fake::span_names(&traces));
                            *requests.lock().await += 1;
                        }
                        // Refused or not listening any more: not acknowledged, nothing promised.
                        _ => tokio::time::sleep(Duration::from_millis(5)).await,
                    }
                }
            })
        })
        .collect();

    let steady = poll(PATIENCE, || async {
        (*requests.lock().await >= ACKED_BEFORE_SIGTERM).then_some(())
    })
    .await;
    steady.with_context(|| {
        format!(
            "Sluice did not acknowledge {ACKED_BEFORE_SIGTERM} requests; log:\n{}",
            sluice.log()
        )
    })?;
    sluice.terminate().await?;
    let status = sluice.wait(Duration::from_secs(30)).await?;
    stop.store(true, Ordering::Relaxed);
    for sender in senders {
        sender.await?;
    }
    ensure!(
        status.success(),
        "Sluice exited with {status} after SIGTERM; log:\n{}",
        sluice.log()
    );

    let acked = acked.lock().await.clone();
    let written = Output::read(&output)?.span_names();
    let lost: Vec<&String> = acked
        .iter()
        .filter(|name| !written.contains(name))
        .collect();
    ensure!(
        lost.is_empty(),
        "{} of {} acknowledged spans are not in the output after SIGTERM (first: {:?}); log:\n{}",
        lost.len(),
        acked.len(),
        lost.first(),
        sluice.log()
    );
    Ok(())
}
