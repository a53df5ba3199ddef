//! mTLS (`client_ca_file`): only clients presenting a valid certificate from that CA get in.
//! Refusals are checked by the TLS alert the server sent, so a refusal for another reason
//! (or an accepted export) fails the test.

use anyhow::{Result, bail, ensure};
use sluice_tests::http::Client;
use sluice_tests::{Certs, Export, Identity, Protocol, Setup, Sluice, Via};

async fn start(certs: &Certs) -> Result<Sluice> {
    let mut setup = Setup::new()?;
    setup.tls(certs.mtls());
    setup.start().await
}

async fn refuses(protocol: Protocol, identity: Identity, alert: &str) -> Result<()> {
    let certs = Certs::new()?;
    let sluice = start(&certs).await?;
    let export = Export::new();
    let client = certs.client(identity, protocol.alpn())?;
    if Via::tls(protocol, client.clone())
        .traces(&sluice, &export.traces)
        .await
        .is_ok()
    {
        bail!("{protocol:?}: a client with {identity:?} certificate was accepted");
    }
    export.absent_from(&sluice)?;
    // Refused for the right reason: the alert the server sent.
    let addr = match protocol {
        Protocol::Grpc => sluice.grpc,
        Protocol::Http => sluice.http,
    };
    let refusal = Client::tls(addr, client).tls_refusal().await?;
    ensure!(
        refusal.as_deref().is_some_and(|r| r.contains(alert)),
        "{protocol:?} with {identity:?} certificate: expected the server's {alert} alert, got: {refusal:?}"
    );
    sluice.stop().await;
    Ok(())
}

async fn accepts_good_certificate(protocol: Protocol) -> Result<()> {
    let certs = Certs::new()?;
    let sluice = start(&certs).await?;
    let export = Export::new();
    let client = certs.client(Identity::Good, protocol.alpn())?;
    Via::tls(protocol, client).all(&sluice, &export).await?;
    export.arrived_in(&sluice).await?;
    sluice.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn mtls_grpc_refuses_client_without_certificate() -> Result<()> {
    refuses(Protocol::Grpc, Identity::None, "CertificateRequired").await
}

#[tokio::test(flavor = "multi_thread")]
async fn mtls_http_refuses_client_without_certificate() -> Result<()> {
    refuses(Protocol::Http, Identity::None, "CertificateRequired").await
}

#[tokio::test(flavor = "multi_thread")]
async fn mtls_grpc_refuses_certificate_from_another_ca() -> Result<()> {
    refuses(Protocol::Grpc, Identity::OtherCa, "UnknownCA").await
}

#[tokio::test(flavor = "multi_thread")]
async fn mtls_http_refuses_certificate_from_another_ca() -> Result<()> {
    refuses(Protocol::Http, Identity::OtherCa, "UnknownCA").await
}

#[tokio::test(flavor = "multi_thread")]
async fn mtls_grpc_refuses_expired_certificate() -> Result<()> {
    refuses(Protocol::Grpc, Identity::Expired, "CertificateExpired").await
}

#[tokio::test(flavor = "multi_thread")]
async fn mtls_http_refuses_expired_certificate() -> Result<()> {
    refuses(Protocol::Http, Identity::Expired, "CertificateExpired").await
}

#[tokio::test(flavor = "multi_thread")]
async fn mtls_grpc_accepts_good_certificate() -> Result<()> {
    accepts_good_certificate(Protocol::Grpc).await
}

#[tokio::test(flavor = "multi_thread")]
async fn mtls_http_accepts_good_certificate() -> Result<()> {
    accepts_good_certificate(Protocol::Http).await
}
