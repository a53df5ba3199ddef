//! The persistent sending queue: spans acknowledged while the backend is down survive kill -9
//! of Sluice and are delivered after a restart, once the backend is up.

use std::net::SocketAddr;

use anyhow::{Context, Result, ensure};
use http::StatusCode;
use serde_json::json;
use sluice_tests::http::{Client, Request};
use sluice_tests::output::Output;
use sluice_tests::process::{Process, free_port};
use sluice_tests::{PATIENCE, Setup, fake, poll};

use super::fast_retry;

/// Acknowledged requests before the kill.
const REQUESTS: usize = 50;

#[tokio::test(flavor = "multi_thread")]
async fn acknowledged_spans_survive_kill_9_and_arrive_after_restart() -> Result<()> {
    let backend_port = free_port()?;
    let http: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
    let health: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
    let mut front = Setup::new()?;
    let queue_dir = front.dir().join("queue");
    std::fs::create_dir_all(&queue_dir)?;
    front.http("endpoint", json!(http.to_string()));
    front.extension("health_check", json!({ "endpoint": health.to_string() }));
    front.extension("file_storage/queue", json!({ "directory": queue_dir }));
    front.export_to(
        "otlp/backend",
        json!({
            "endpoint": format!("127.0.0.1:{backend_port}"),
            "tls": { "insecure": true },
            "timeout": "1s",
            "retry_on_failure": fast_retry(),
            "sending_queue": { "storage": "file_storage/queue" },
        }),
    );
    let config = front.write()?;
    let log = front.dir().join("sluice.log");

    let mut sluice = Process::spawn(&config, &log)?;
    sluice.wait_healthy(health).await?;
    let client = Client::plaintext(http);
    let mut acked = Vec::new();
    for _ in 0..REQUESTS {
        let traces = fake::traces(2, 5, 3);
        let response = client
            .send(&Request::protobuf("/v1/traces", &traces))
            .await?;
        ensure!(
            response.status == StatusCode::OK,
            "request refused: {} {}",
            response.status,
            response.text()
        );
        acked.extend(fake::span_names(&traces));
    }
    sluice.kill().await?;
    let on_disk: u64 = std::fs::read_dir(&queue_dir)?
        .flatten()
        .flat_map(|d| std::fs::read_dir(d.path()).into_iter().flatten().flatten())
        .filter_map(|f| f.metadata().ok())
        .map(|m| m.len())
        .sum();
    ensure!(
        on_disk > 0,
        "nothing was written to the queue directory {}",
        queue_dir.display()
    );

    let mut sluice = Process::spawn(&config, &log)?;
    sluice.wait_healthy(health).await?;
    let mut backend = Setup::new()?;
    backend.grpc("endpoint", json!(format!("127.0.0.1:{backend_port}")));
    let backend = backend.start().await?;

    let delivered = poll(PATIENCE * 3, || async {
        let have = Output::read(backend.output_path()).ok()?.span_names();
        acked.iter().all(|n| have.contains(n)).then_some(have)
    })
    .await;
    let have = match delivered {
        Some(have) => have,
        None => {
            let have = Output::read(backend.output_path())?.span_names();
            let missing = acked.iter().filter(|n| !have.contains(n)).count();
            anyhow::bail!(
                "{missing} of {} acknowledged spans never arrived after the restart; log:\n{}",
                acked.len(),
                sluice.log()
            );
        }
    };
    let duplicated = acked
        .iter()
        .filter(|n| have.iter().filter(|h| h == n).count() > 1)
        .count();
    ensure!(duplicated == 0, "{duplicated} spans were delivered twice");
    sluice.terminate().await?;
    sluice
        .wait(PATIENCE)
        .await
        .context("clean exit after delivery")?;
    backend.stop().await;
    Ok(())
}
