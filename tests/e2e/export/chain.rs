//! Two Sluice processes chained: everything sent to the first arrives at the second exactly
//! once, over OTLP/gRPC with mTLS + BasicAuth and over OTLP/HTTP with TLS + a bearer token.

use anyhow::Result;
use serde_json::json;
use sluice_tests::certs::Identity;
use sluice_tests::{Certs, Export, Protocol, Setup, Via, htpasswd};

use super::fast_retry;

#[tokio::test(flavor = "multi_thread")]
async fn grpc_exporter_with_mtls_and_basic_auth_delivers_every_item_exactly_once() -> Result<()> {
    let certs = Certs::new()?;
    let mut backend = Setup::new()?;
    backend.grpc("tls", certs.mtls());
    backend.basic_auth(&[htpasswd::bcrypt("edge", "s3cret")]);
    let backend = backend.start().await?;

    let (cert, key) = certs
        .client_files(Identity::Good)
        .expect("good client files");
    let mut front = Setup::new()?;
    front.extension(
        "basicauth/client",
        json!({ "client_auth": { "username": "edge", "password": "s3cret" } }),
    );
    front.export_to(
        "otlp/backend",
        json!({
            "endpoint": format!("127.0.0.1:{}", backend.grpc.port()),
            "tls": { "ca_file": certs.ca_file(), "cert_file": cert, "key_file": key },
            "auth": { "authenticator": "basicauth/client" },
            "retry_on_failure": fast_retry(),
        }),
    );
    let front = front.start().await?;

    let exports: Vec<Export> = (0..5).map(|_| Export::new()).collect();
    for export in &exports {
        Via::plaintext(Protocol::Grpc).all(&front, export).await?;
    }
    for export in &exports {
        export.arrived_in(&backend).await?;
    }
    front.stop().await;
    backend.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn http_exporter_with_tls_and_bearer_token_delivers_every_item_exactly_once() -> Result<()> {
    let certs = Certs::new()?;
    let mut backend = Setup::new()?;
    backend.http("tls", certs.server_tls());
    backend.extension(
        "bearertokenauth/server",
        json!({ "token": "t0ken-for-edge" }),
    );
    backend.protocols("auth", json!({ "authenticator": "bearertokenauth/server" }));
    let backend = backend.start().await?;

    let mut front = Setup::new()?;
    let token_file = front.dir().join("token");
    std::fs::write(&token_file, "t0ken-for-edge\n")?;
    front.extension("bearertokenauth/client", json!({ "filename": token_file }));
    front.export_to(
        "otlphttp/backend",
        json!({
            "endpoint": format!("https://127.0.0.1:{}", backend.http.port()),
            "tls": { "ca_file": certs.ca_file() },
            "auth": { "authenticator": "bearertokenauth/client" },
            "retry_on_failure": fast_retry(),
        }),
    );
    let front = front.start().await?;

    let exports: Vec<Export> = (0..5).map(|_| Export::new()).collect();
    for export in &exports {
        Via::plaintext(Protocol::Http).all(&front, export).await?;
    }
    for export in &exports {
        export.arrived_in(&backend).await?;
    }
    front.stop().await;
    backend.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn exporter_that_does_not_trust_the_backend_ca_delivers_nothing_and_says_why() -> Result<()> {
    let certs = Certs::new()?;
    let other = Certs::new()?;
    let mut backend = Setup::new()?;
    backend.http("tls", certs.server_tls());
    let backend = backend.start().await?;

    let mut front = Setup::new()?;
    front.export_to(
        "otlphttp/backend",
        json!({
            "endpoint": format!("https://127.0.0.1:{}", backend.http.port()),
            "tls": { "ca_file": other.ca_file() },
            "retry_on_failure": { "enabled": false },
        }),
    );
    let front = front.start().await?;
    let export = Export::new();
    Via::plaintext(Protocol::Http)
        .traces(&front, &export.traces)
        .await?;
    let failed = sluice_tests::poll(sluice_tests::PATIENCE, || async {
        let text = front.self_metrics().await.ok()?;
        let failed = sluice_tests::metric_sum(
            &text,
            "otelcol_exporter_send_failed_spans_total",
            &[("exporter", "otlphttp/backend")],
        );
        (failed > 0.0).then_some(failed)
    })
    .await;
    anyhow::ensure!(
        failed
            == Some(
                export
                    .traces
                    .resource_spans
                    .iter()
                    .map(|r| r.scope_spans[0].spans.len())
                    .sum::<usize>() as f64
            ),
        "the failed spans were not counted: {failed:?}"
    );
    export.absent_from(&backend)?;
    front.stop().await;
    backend.stop().await;
    Ok(())
}
