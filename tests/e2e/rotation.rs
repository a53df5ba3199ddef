//! Certificate rotation: when the server certificate files are replaced, new handshakes present
//! the new certificate without a restart, and a connection opened before keeps working.
//! Sluice learns of the change by watching the files (no `reload_interval` is configured).

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use http::StatusCode;
use rustls::pki_types::CertificateDer;
use sluice_tests::http::{Client, Request};
use sluice_tests::{Certs, Identity, Setup, Sluice, fake, poll};

/// Generous: a file watcher reacts in milliseconds, a polling fallback within a second or two.
const ROTATION_PATIENCE: Duration = Duration::from_secs(15);

async fn start(certs: &Certs) -> Result<Sluice> {
    let mut setup = Setup::new()?;
    setup.tls(certs.server_tls());
    setup.start().await
}

/// Wait until a new handshake on `client` presents `wanted`.
async fn presents(client: &Client, wanted: &CertificateDer<'static>) -> Result<()> {
    let seen = poll(ROTATION_PATIENCE, || async {
        let cert = client.presented_certificate().await.ok()?;
        (&cert == wanted).then_some(())
    })
    .await;
    seen.with_context(|| {
        format!("new handshakes did not present the new certificate within {ROTATION_PATIENCE:?}")
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn rotated_certificate_is_used_by_new_handshakes_and_open_connections_keep_working()
-> Result<()> {
    let certs = Certs::new()?;
    let sluice = start(&certs).await?;
    let old = certs.server_cert_der()?;
    let http = Client::tls(sluice.http, certs.client(Identity::None, &[b"h2"])?);
    let grpc = Client::tls(sluice.grpc, certs.client(Identity::None, &[b"h2"])?);

    let mut open = http.connect_h2().await?;
    ensure!(
        open.peer_certificates.first() == Some(&old),
        "the first connection did not see the first certificate"
    );
    let before = fake::traces(1, 2, 1);
    let response = open.send(&Request::protobuf("/v1/traces", &before)).await?;
    ensure!(
        response.status == StatusCode::OK,
        "before rotation: {} {}",
        response.status,
        response.text()
    );

    certs.replace_server(&certs.issue_server()?)?;
    let new = certs.server_cert_der()?;
    ensure!(new != old, "the test did not change the certificate");
    presents(&http, &new).await.context("HTTP listener")?;
    presents(&grpc, &new).await.context("gRPC listener")?;

    let after = fake::traces(1, 2, 1);
    let response = open
        .send(&Request::protobuf("/v1/traces", &after))
        .await
        .context("the HTTP/2 connection opened before the rotation broke")?;
    ensure!(
        response.status == StatusCode::OK,
        "after rotation: {} {}",
        response.status,
        response.text()
    );
    let mut names = fake::span_names(&before);
    names.extend(fake::span_names(&after));
    sluice.wait_for_spans(&names).await?;
    sluice.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn broken_certificate_file_keeps_the_old_certificate() -> Result<()> {
    let certs = Certs::new()?;
    let sluice = start(&certs).await?;
    let old = certs.server_cert_der()?;
    let http = Client::tls(sluice.http, certs.client(Identity::None, &[b"http/1.1"])?);

    std::fs::write(
        certs.path("server.crt"),
        "-----BEGIN CERTIFICATE-----\nbroken\n",
    )?;
    // An absence can only be observed over time: give the watcher a moment to see the bad file.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let cert = http
        .presented_certificate()
        .await
        .context("handshake after a broken file")?;
    ensure!(
        cert == old,
        "after a broken certificate file, the server presents another certificate"
    );
    let traces = fake::traces(1, 1, 1);
    let response = http.send(&Request::protobuf("/v1/traces", &traces)).await?;
    ensure!(
        response.status == StatusCode::OK,
        "{} {}",
        response.status,
        response.text()
    );

    // A good file afterwards is picked up: the watcher is still alive.
    certs.replace_server(&certs.issue_server()?)?;
    presents(&http, &certs.server_cert_der()?).await?;
    sluice.stop().await;
    Ok(())
}
