//! BasicAuth (`basicauth/server` with an htpasswd): a wrong password gets 401 / Unauthenticated,
//! the right password is accepted for bcrypt and `{SHA}` entries, on both protocols.

use anyhow::{Result, bail, ensure};
use sluice_tests::{Export, Protocol, Setup, Sluice, Via, htpasswd};

const BCRYPT_USER: &str = "alice";
const BCRYPT_PASSWORD: &str = "correct horse battery staple";
const SHA_USER: &str = "bob";
const SHA_PASSWORD: &str = "s3cr3t:with:colons";

async fn start() -> Result<Sluice> {
    let mut setup = Setup::new()?;
    setup.basic_auth(&[
        htpasswd::bcrypt(BCRYPT_USER, BCRYPT_PASSWORD),
        htpasswd::sha(SHA_USER, SHA_PASSWORD),
    ]);
    setup.start().await
}

async fn refuses(protocol: Protocol, user: &str, password: &str) -> Result<()> {
    let sluice = start().await?;
    let export = Export::new();
    let via = Via::plaintext(protocol).basic_auth(user, password);
    let refusal = match via.traces(&sluice, &export.traces).await {
        Ok(()) => bail!("{protocol:?}: {user} with a wrong password was accepted"),
        Err(refusal) => refusal,
    };
    match protocol {
        Protocol::Http => ensure!(
            refusal.http_status == Some(http::StatusCode::UNAUTHORIZED),
            "expected 401, got {refusal}"
        ),
        Protocol::Grpc => ensure!(
            refusal.grpc_code == Some(tonic::Code::Unauthenticated),
            "expected Unauthenticated, got {refusal}"
        ),
    }
    ensure!(
        !refusal.message.contains(password),
        "the answer repeats the password: {refusal}"
    );
    export.absent_from(&sluice)?;
    sluice.stop().await;
    Ok(())
}

async fn accepts(protocol: Protocol, user: &str, password: &str) -> Result<()> {
    let sluice = start().await?;
    let export = Export::new();
    Via::plaintext(protocol)
        .basic_auth(user, password)
        .all(&sluice, &export)
        .await?;
    export.arrived_in(&sluice).await?;
    sluice.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn basic_auth_grpc_wrong_password_is_unauthenticated() -> Result<()> {
    refuses(Protocol::Grpc, BCRYPT_USER, "wrong password").await?;
    refuses(Protocol::Grpc, SHA_USER, "wrong password").await
}

#[tokio::test(flavor = "multi_thread")]
async fn basic_auth_http_wrong_password_is_401() -> Result<()> {
    refuses(Protocol::Http, BCRYPT_USER, "wrong password").await?;
    refuses(Protocol::Http, SHA_USER, "wrong password").await
}

#[tokio::test(flavor = "multi_thread")]
async fn basic_auth_unknown_user_is_refused() -> Result<()> {
    refuses(Protocol::Http, "mallory", BCRYPT_PASSWORD).await?;
    refuses(Protocol::Grpc, "mallory", BCRYPT_PASSWORD).await
}

#[tokio::test(flavor = "multi_thread")]
async fn basic_auth_grpc_accepts_bcrypt_entry() -> Result<()> {
    accepts(Protocol::Grpc, BCRYPT_USER, BCRYPT_PASSWORD).await
}

#[tokio::test(flavor = "multi_thread")]
async fn basic_auth_http_accepts_bcrypt_entry() -> Result<()> {
    accepts(Protocol::Http, BCRYPT_USER, BCRYPT_PASSWORD).await
}

#[tokio::test(flavor = "multi_thread")]
async fn basic_auth_grpc_accepts_sha_entry() -> Result<()> {
    accepts(Protocol::Grpc, SHA_USER, SHA_PASSWORD).await
}

#[tokio::test(flavor = "multi_thread")]
async fn basic_auth_http_accepts_sha_entry() -> Result<()> {
    accepts(Protocol::Http, SHA_USER, SHA_PASSWORD).await
}
