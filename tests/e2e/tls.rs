//! TLS on the receivers: a client that trusts the CA is accepted, a client that trusts another
//! CA refuses the server's certificate, and plain HTTP on the TLS port is told to use https.

use anyhow::{Result, ensure};
use sluice_tests::http::{Client, Request};
use sluice_tests::{Certs, Export, Identity, Protocol, Setup, Via};

async fn accepts_client_trusting_the_ca(protocol: Protocol) -> Result<()> {
    let certs = Certs::new()?;
    let mut setup = Setup::new()?;
    setup.tls(certs.server_tls());
    let sluice = setup.start().await?;
    let export = Export::new();
    let client = certs.client(Identity::None, protocol.alpn())?;
    Via::tls(protocol, client).all(&sluice, &export).await?;
    export.arrived_in(&sluice).await?;
    sluice.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_grpc_accepts_client_trusting_the_ca() -> Result<()> {
    accepts_client_trusting_the_ca(Protocol::Grpc).await
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_http_accepts_client_trusting_the_ca() -> Result<()> {
    accepts_client_trusting_the_ca(Protocol::Http).await
}

async fn refused_by_client_trusting_another_ca(protocol: Protocol) -> Result<()> {
    let certs = Certs::new()?;
    let mut setup = Setup::new()?;
    setup.tls(certs.server_tls());
    let sluice = setup.start().await?;
    let export = Export::new();
    let client = certs.client_trusting_other_ca(protocol.alpn())?;
    let refusal = match Via::tls(protocol, client)
        .traces(&sluice, &export.traces)
        .await
    {
        Ok(()) => anyhow::bail!("{protocol:?}: a client trusting another CA completed an export"),
        Err(refusal) => refusal,
    };
    ensure!(
        refusal.message.contains("UnknownIssuer"),
        "{protocol:?}: expected the client to reject the server certificate as UnknownIssuer, got: {refusal}"
    );
    export.absent_from(&sluice)?;
    sluice.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_grpc_is_refused_by_client_trusting_another_ca() -> Result<()> {
    refused_by_client_trusting_another_ca(Protocol::Grpc).await
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_http_is_refused_by_client_trusting_another_ca() -> Result<()> {
    refused_by_client_trusting_another_ca(Protocol::Http).await
}

/// Seed 000's "http vs https" trouble: the answer says what is wrong.
#[tokio::test(flavor = "multi_thread")]
async fn plain_http_on_the_tls_port_is_told_to_use_https() -> Result<()> {
    let certs = Certs::new()?;
    let mut setup = Setup::new()?;
    setup.tls(certs.server_tls());
    let sluice = setup.start().await?;
    let export = Export::new();
    let request = Request::protobuf("/v1/traces", &export.traces);
    let response = Client::plaintext(sluice.http).send(&request).await?;
    ensure!(
        response.status == 400,
        "expected 400, got {} {}",
        response.status,
        response.text()
    );
    ensure!(
        response.text().contains("HTTPS"),
        "the answer should say the server speaks HTTPS: {:?}",
        response.text()
    );
    export.absent_from(&sluice)?;
    sluice.stop().await;
    Ok(())
}
