//! Compressed requests (gzip and zstd) are accepted over both protocols and decompressed.

use anyhow::Result;
use sluice_tests::{Compression, Export, Protocol, Sluice, Via};

async fn accepts(protocol: Protocol, compression: Compression) -> Result<()> {
    let sluice = Sluice::plaintext().await?;
    let export = Export::new();
    Via::plaintext(protocol)
        .compression(compression)
        .all(&sluice, &export)
        .await?;
    export.arrived_in(&sluice).await?;
    sluice.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn http_accepts_gzip_bodies() -> Result<()> {
    accepts(Protocol::Http, Compression::Gzip).await
}

#[tokio::test(flavor = "multi_thread")]
async fn http_accepts_zstd_bodies() -> Result<()> {
    accepts(Protocol::Http, Compression::Zstd).await
}

#[tokio::test(flavor = "multi_thread")]
async fn grpc_accepts_gzip_messages() -> Result<()> {
    accepts(Protocol::Grpc, Compression::Gzip).await
}

#[tokio::test(flavor = "multi_thread")]
async fn grpc_accepts_zstd_messages() -> Result<()> {
    accepts(Protocol::Grpc, Compression::Zstd).await
}
