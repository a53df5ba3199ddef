//! Logs to Loki, against a stand-in that checks requests against Loki's documented API
//! (Loki itself cannot be installed here): the `loki` push exporter with TLS, BasicAuth and a
//! tenant, and the `otlphttp` exporter to Loki's native `/otlp` endpoint.

use anyhow::{Context, Result, ensure};
use serde_json::json;
use sluice_tests::loki::{Loki, check_otlp};
use sluice_tests::{Certs, Protocol, Setup, Via, fake};

use super::fast_retry;

#[tokio::test(flavor = "multi_thread")]
async fn loki_exporter_pushes_labelled_streams_with_tenant_and_basic_auth_over_tls() -> Result<()> {
    let certs = Certs::new()?;
    let loki = Loki::start_tls(&certs.path("server.crt"), &certs.path("server.key"), true).await?;
    let mut front = Setup::new()?;
    front.extension(
        "basicauth/loki",
        json!({ "client_auth": { "username": "tenant-a", "password": "pw" } }),
    );
    front.config["exporters"]["loki"] = json!({
        "endpoint": format!("https://127.0.0.1:{}/loki/api/v1/push", loki.backend.addr.port()),
        "tls": { "ca_file": certs.ca_file() },
        "tenant_id": "tenant-a",
        "auth": { "authenticator": "basicauth/loki" },
        "labels": { "resource": { "service.name": "", "e2e.resource": "resource" } },
        "retry_on_failure": fast_retry(),
    });
    front.pipeline_exporters("logs", &["loki"]);
    let front = front.start().await?;

    let logs = fake::logs(2, 3, 1);
    Via::plaintext(Protocol::Http).logs(&front, &logs).await?;
    let requests = loki.backend.wait_for_requests(1).await?;
    let push = &requests[0];
    ensure!(
        push.header("x-scope-orgid") == Some("tenant-a"),
        "no tenant header"
    );
    ensure!(
        push.header("authorization")
            .is_some_and(|a| a.starts_with("Basic ")),
        "no BasicAuth header"
    );
    let streams = loki.streams();
    ensure!(
        !streams.is_empty(),
        "Loki refused the push: {:?}",
        String::from_utf8_lossy(&push.body)
    );
    let lines: Vec<String> = streams
        .iter()
        .flat_map(|s| s.entries.iter().map(|(_, l)| l.clone()))
        .collect();
    let mut expected = fake::log_bodies(&logs);
    let mut got = lines.clone();
    expected.sort();
    got.sort();
    ensure!(got == expected, "lines {got:?} != bodies {expected:?}");
    for stream in &streams {
        ensure!(
            stream.labels.contains_key("service_name"),
            "no service_name label: {:?}",
            stream.labels
        );
        ensure!(
            stream.labels.get("level").map(String::as_str) == Some("info"),
            "no level label: {:?}",
            stream.labels
        );
        let resource = stream.labels.get("resource").context("no resource label")?;
        ensure!(
            stream
                .entries
                .iter()
                .all(|(_, l)| l.contains(&format!(" {resource} "))),
            "a line is in the wrong stream"
        );
        ensure!(
            stream.entries.windows(2).all(|w| w[0].0 <= w[1].0),
            "entries not in time order"
        );
    }
    ensure!(
        streams.len() == 2,
        "expected one stream per resource, got {}",
        streams.len()
    );
    front.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn otlphttp_exporter_reaches_lokis_native_otlp_endpoint() -> Result<()> {
    let loki = Loki::start(false).await?;
    let mut front = Setup::new()?;
    front.config["exporters"]["otlphttp/loki"] = json!({
        "endpoint": format!("http://{}/otlp", loki.backend.addr),
        "retry_on_failure": fast_retry(),
    });
    front.pipeline_exporters("logs", &["otlphttp/loki"]);
    let front = front.start().await?;
    let logs = fake::logs(1, 4, 1);
    Via::plaintext(Protocol::Http).logs(&front, &logs).await?;
    let requests = loki.backend.wait_for_requests(1).await?;
    ensure!(
        requests[0].path == "/otlp/v1/logs",
        "posted to {}",
        requests[0].path
    );
    let received = check_otlp(&requests[0])?;
    ensure!(
        received == logs,
        "Loki received something else than was sent"
    );
    front.stop().await;
    Ok(())
}
