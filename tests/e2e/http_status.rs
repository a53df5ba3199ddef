//! Every error answer of the OTLP/HTTP receiver (and its gRPC counterpart where there is one):
//! 405, 415, 400 with a `google.rpc.Status`, 413, 401 with `WWW-Authenticate`, and 503 with
//! `Retry-After` (gRPC `Unavailable`) while the memory limiter refuses.

use anyhow::{Context, Result, ensure};
use http::header::{ALLOW, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{Method, StatusCode};
use serde_json::json;
use sluice_tests::http::{Client, JSON, PROTOBUF, Request, Response};
use sluice_tests::{Export, Protocol, Setup, Sluice, Via, fake, grpc, htpasswd};

/// gRPC code numbers as `google.rpc.Status` carries them.
const INVALID_ARGUMENT: i32 = 3;
const UNAVAILABLE: i32 = 14;

fn expect(response: &Response, status: StatusCode) -> Result<()> {
    ensure!(
        response.status == status,
        "expected {status}, got {} ({:?}): {}",
        response.status,
        response.headers,
        response.text()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn http_wrong_method_is_405() -> Result<()> {
    let sluice = Sluice::plaintext().await?;
    let client = Client::plaintext(sluice.http);
    for method in [Method::GET, Method::PUT] {
        let request = Request::protobuf("/v1/traces", &fake::traces(1, 1, 1)).method(method);
        let response = client.send(&request).await?;
        expect(&response, StatusCode::METHOD_NOT_ALLOWED)?;
        ensure!(
            response.header(ALLOW.as_str()) == Some("POST"),
            "405 without Allow: POST: {:?}",
            response.headers
        );
    }
    ensure!(
        sluice.output()?.is_empty(),
        "a 405 request reached the pipeline"
    );
    sluice.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn http_other_content_type_is_415() -> Result<()> {
    let sluice = Sluice::plaintext().await?;
    let body = fake::protobuf(&fake::traces(1, 1, 1));
    for content_type in ["text/plain", "application/grpc", "application/xml"] {
        let request = Request::post("/v1/traces", content_type, body.clone());
        expect(
            &Client::plaintext(sluice.http).send(&request).await?,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        )?;
    }
    ensure!(
        sluice.output()?.is_empty(),
        "a 415 request reached the pipeline"
    );
    sluice.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn http_undecodable_protobuf_is_400_with_rpc_status() -> Result<()> {
    let sluice = Sluice::plaintext().await?;
    // Field 1 (resource_spans) as a length-delimited value running past the end.
    let request = Request::post("/v1/traces", PROTOBUF, vec![0x0a, 0xff, 0x01, 0x02]);
    let response = Client::plaintext(sluice.http).send(&request).await?;
    expect(&response, StatusCode::BAD_REQUEST)?;
    ensure!(
        response.header(CONTENT_TYPE.as_str()) == Some(PROTOBUF),
        "400 not in protobuf: {:?}",
        response.headers
    );
    let status = response
        .rpc_status()
        .context("the 400 body is not a google.rpc.Status")?;
    ensure!(
        status.code == INVALID_ARGUMENT,
        "google.rpc.Status code {} (want InvalidArgument)",
        status.code
    );
    ensure!(
        !status.message.is_empty(),
        "google.rpc.Status without a message"
    );
    sluice.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn http_undecodable_json_is_400_with_json_status() -> Result<()> {
    let sluice = Sluice::plaintext().await?;
    let body =
        json!({ "resourceSpans": [{ "scopeSpans": [{ "spans": [{ "traceId": "not hex" }] }] }] });
    let request = Request::post("/v1/traces", JSON, body.to_string());
    let response = Client::plaintext(sluice.http).send(&request).await?;
    expect(&response, StatusCode::BAD_REQUEST)?;
    let status: serde_json::Value =
        serde_json::from_slice(&response.body).context("the 400 body is not JSON")?;
    ensure!(
        status["code"] == INVALID_ARGUMENT,
        "JSON status {status} (want code 3)"
    );
    ensure!(
        status["message"].as_str().is_some_and(|m| !m.is_empty()),
        "JSON status without a message: {status}"
    );
    sluice.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn grpc_undecodable_message_is_invalid_argument() -> Result<()> {
    let sluice = Sluice::plaintext().await?;
    let answer = grpc::raw_call(
        sluice.grpc,
        grpc::TRACES_PATH,
        &[0x0a, 0xff, 0x01, 0x02],
        false,
    )
    .await?;
    // Issue 2 asks for InvalidArgument on bad data (tonic's own decode error would be Internal).
    ensure!(
        answer.code() == Some(tonic::Code::InvalidArgument),
        "expected InvalidArgument, got {answer:?}"
    );
    sluice.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn http_body_over_max_request_body_size_is_413() -> Result<()> {
    let mut setup = Setup::new()?;
    setup.http("max_request_body_size", json!(4096));
    let sluice = setup.start().await?;
    let client = Client::plaintext(sluice.http);
    let big = fake::traces(1, 40, 10);
    let body = fake::protobuf(&big);
    ensure!(
        body.len() > 4096,
        "the test body is too small: {}",
        body.len()
    );

    let response = client
        .send(&Request::post("/v1/traces", PROTOBUF, body.clone()))
        .await?;
    expect(&response, StatusCode::PAYLOAD_TOO_LARGE)?;
    // Small on the wire, too large once decompressed.
    let gzipped = Request::post("/v1/traces", PROTOBUF, body).gzip();
    ensure!(
        gzipped.body.len() < 4096,
        "gzip did not shrink the body enough: {}",
        gzipped.body.len()
    );
    expect(&client.send(&gzipped).await?, StatusCode::PAYLOAD_TOO_LARGE)?;
    // Under the limit is fine.
    let small = fake::traces(1, 1, 1);
    expect(
        &client
            .send(&Request::protobuf("/v1/traces", &small))
            .await?,
        StatusCode::OK,
    )?;

    let arrived = sluice.wait_for_spans(&fake::span_names(&small)).await?;
    ensure!(
        arrived.spans().len() == 1,
        "only the small request may arrive: {:?}",
        arrived.span_names()
    );
    sluice.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn grpc_message_over_max_recv_msg_size_is_refused() -> Result<()> {
    let mut setup = Setup::new()?;
    setup.grpc("max_recv_msg_size_mib", json!(1));
    let sluice = setup.start().await?;
    let big = fake::traces(1, 10_000, 4);
    ensure!(
        fake::protobuf(&big).len() > 1 << 20,
        "the test message is too small"
    );
    let refusal = match Via::plaintext(Protocol::Grpc).traces(&sluice, &big).await {
        Ok(()) => anyhow::bail!("a message over max_recv_msg_size_mib was accepted"),
        Err(refusal) => refusal,
    };
    ensure!(
        matches!(
            refusal.grpc_code,
            Some(tonic::Code::ResourceExhausted | tonic::Code::OutOfRange)
        ),
        "expected ResourceExhausted (or tonic's OutOfRange), got {refusal}"
    );
    ensure!(
        sluice.output()?.is_empty(),
        "the refused message reached the pipeline"
    );
    sluice.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn http_missing_credentials_is_401_with_www_authenticate() -> Result<()> {
    let mut setup = Setup::new()?;
    setup.basic_auth(&[htpasswd::bcrypt("alice", "password")]);
    let sluice = setup.start().await?;
    let client = Client::plaintext(sluice.http);
    let traces = fake::traces(1, 1, 1);
    for request in [
        Request::protobuf("/v1/traces", &traces),
        Request::protobuf("/v1/traces", &traces).basic_auth("alice", "wrong"),
        Request::protobuf("/v1/traces", &traces).header(http::header::AUTHORIZATION, "Bearer abc"),
    ] {
        let response = client.send(&request).await?;
        expect(&response, StatusCode::UNAUTHORIZED)?;
        let challenge = response
            .header(WWW_AUTHENTICATE.as_str())
            .unwrap_or_default();
        ensure!(
            challenge.starts_with("Basic"),
            "401 with WWW-Authenticate {challenge:?}"
        );
    }
    ensure!(
        sluice.output()?.is_empty(),
        "an unauthenticated request reached the pipeline"
    );
    sluice.stop().await;
    Ok(())
}

/// `limit_mib: 1` is below any process's resident memory, so the limiter refuses from the start.
#[tokio::test(flavor = "multi_thread")]
async fn refusing_pipeline_is_503_with_retry_after_and_grpc_unavailable() -> Result<()> {
    let mut setup = Setup::new()?;
    setup.processor(
        "memory_limiter",
        json!({ "check_interval": "100ms", "limit_mib": 1 }),
    );
    let sluice = setup.start().await?;
    let export = Export::new();

    let response = Client::plaintext(sluice.http)
        .send(&Request::protobuf("/v1/traces", &export.traces))
        .await?;
    expect(&response, StatusCode::SERVICE_UNAVAILABLE)?;
    let retry_after = response
        .header(RETRY_AFTER.as_str())
        .context("503 without Retry-After")?;
    ensure!(
        retry_after.parse::<u64>().is_ok(),
        "Retry-After is not delay-seconds: {retry_after:?}"
    );
    let status = response
        .rpc_status()
        .context("the 503 body is not a google.rpc.Status")?;
    ensure!(
        status.code == UNAVAILABLE,
        "google.rpc.Status code {} (want Unavailable)",
        status.code
    );

    let refusal = Via::plaintext(Protocol::Grpc)
        .traces(&sluice, &export.traces)
        .await;
    let code = refusal.as_ref().err().and_then(|r| r.grpc_code);
    ensure!(
        code == Some(tonic::Code::Unavailable),
        "gRPC: expected Unavailable, got {refusal:?}"
    );

    export.absent_from(&sluice)?;
    sluice.stop().await;
    Ok(())
}
