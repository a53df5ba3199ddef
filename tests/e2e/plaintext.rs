//! Plaintext OTLP (no TLS, no auth) is accepted over both protocols, for every signal, and what
//! was sent arrives exactly once.

use anyhow::Result;
use sluice_tests::{Export, Protocol, Sluice, Via};

async fn accepts_every_signal(protocol: Protocol) -> Result<()> {
    let sluice = Sluice::plaintext().await?;
    let export = Export::new();
    Via::plaintext(protocol).all(&sluice, &export).await?;
    export.arrived_in(&sluice).await?;
    sluice.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn plaintext_grpc_accepts_traces_metrics_and_logs() -> Result<()> {
    accepts_every_signal(Protocol::Grpc).await
}

#[tokio::test(flavor = "multi_thread")]
async fn plaintext_http_accepts_traces_metrics_and_logs() -> Result<()> {
    accepts_every_signal(Protocol::Http).await
}
