//! A tenant over its rate limit is refused with HTTP 429 + Retry-After and gRPC
//! ResourceExhausted + RetryInfo, while another tenant at the same moment gets 200, and the
//! refusals are counted per tenant.

use anyhow::{Context, Result, ensure};
use serde_json::json;
use sluice_tests::http::{Client, Request};
use sluice_tests::{Protocol, Setup, Via, fake, htpasswd};

use super::{metric, tenancy};

#[tokio::test(flavor = "multi_thread")]
async fn a_tenant_over_quota_is_refused_while_another_is_served() -> Result<()> {
    let mut setup = Setup::new()?;
    setup.basic_auth(&[htpasswd::sha("small", "pw"), htpasswd::sha("big", "pw")]);
    tenancy(
        &mut setup,
        json!({
            "sources": ["basic_auth"],
            "tenants": { "small": { "limits": { "spans_per_second": 10, "burst": "1s" } } },
        }),
    );
    let mut config = setup.config.clone();
    let mut sluice = setup.start().await?;
    let http = Client::plaintext(sluice.http);
    let send = |user: &'static str| {
        let request =
            Request::protobuf("/v1/traces", &fake::traces(1, 30, 1)).basic_auth(user, "pw");
        let http = http.clone();
        async move { http.send(&request).await }
    };

    // 30 spans against a 10/s budget: admitted (an idle tenant may overdraw once), leaving
    // the bucket ~2 s in debt.
    ensure!(
        send("small").await?.status == 200,
        "the first request is within the burst"
    );
    let (small, big) = tokio::join!(send("small"), send("big"));
    let (small, big) = (small?, big?);
    ensure!(
        small.status == 429,
        "small over quota got {}: {}",
        small.status,
        small.text()
    );
    let retry_after: u64 = small
        .header("retry-after")
        .context("429 without Retry-After")?
        .parse()?;
    ensure!((1..=4).contains(&retry_after), "Retry-After {retry_after}");
    ensure!(big.status == 200, "big, unlimited, got {}", big.status);

    // gRPC: ResourceExhausted with a RetryInfo detail.
    let refusal = Via::plaintext(Protocol::Grpc)
        .basic_auth("small", "pw")
        .traces(&sluice, &fake::traces(1, 5, 1))
        .await
        .err()
        .context("small over quota was accepted over gRPC")?;
    ensure!(
        refusal.grpc_code == Some(tonic::Code::ResourceExhausted),
        "gRPC answered {refusal}"
    );
    Via::plaintext(Protocol::Grpc)
        .basic_auth("big", "pw")
        .traces(&sluice, &fake::traces(1, 5, 1))
        .await
        .map_err(|e| anyhow::anyhow!("big refused over gRPC: {e}"))?;

    let text = sluice.self_metrics().await?;
    let limited = metric(
        &text,
        "sluice_tenant_refused_spans_total",
        &[("tenant", "small")],
    );
    ensure!(limited >= 35.0, "refused spans of small: {limited}\n{text}");
    let accepted = metric(
        &text,
        "sluice_tenant_accepted_spans_total",
        &[("tenant", "big")],
    );
    ensure!(accepted == 35.0, "accepted spans of big: {accepted}");
    ensure!(
        metric(
            &text,
            "sluice_tenant_refused_spans_total",
            &[("tenant", "big")]
        ) == 0.0,
        "big was refused"
    );

    // A reload raises small's limit: served at once, no restart.
    config["extensions"]["tenancy"]["tenants"]["small"]["limits"]["spans_per_second"] =
        json!(1_000_000);
    sluice.reload(&config)?;
    let after = send("small").await?;
    ensure!(
        after.status == 200,
        "small after the reload got {}",
        after.status
    );
    sluice.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn grpc_resource_exhausted_carries_retry_info() -> Result<()> {
    let mut setup = Setup::new()?;
    tenancy(&mut setup, json!({ "limits": { "spans_per_second": 1 } }));
    let sluice = setup.start().await?;
    let mut client = opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient::connect(
        format!("http://{}", sluice.grpc),
    )
    .await?;
    let mut refused = None;
    for _ in 0..3 {
        let mut request = tonic::Request::new(fake::traces(1, 5, 1));
        request
            .metadata_mut()
            .insert("x-scope-orgid", "acme".parse()?);
        if let Err(status) = client.export(request).await {
            refused = Some(status);
            break;
        }
    }
    let status = refused.context("a 1 span/s tenant was never refused")?;
    ensure!(
        status.code() == tonic::Code::ResourceExhausted,
        "{status:?}"
    );
    let delay = sluice_pipeline::rpc_status::retry_delay(status.details())
        .context("no RetryInfo detail with a delay")?;
    ensure!(
        delay >= std::time::Duration::from_secs(1),
        "retry delay {delay:?}"
    );
    sluice.stop().await;
    Ok(())
}
