//! Operations endpoints: the health check answers like the Collector's, and the self metrics
//! count accepted spans per receiver and transport.

use anyhow::{Context, Result, ensure};
use http::StatusCode;
use sluice_tests::http::{Client, Request};
use sluice_tests::{Protocol, Setup, Via, fake};

#[tokio::test(flavor = "multi_thread")]
async fn health_check_answers_200_with_status_up_since_and_uptime() -> Result<()> {
    let mut setup = Setup::new()?;
    setup.health_check();
    let sluice = setup.start().await?;
    let health = sluice.health.context("no health check address")?;
    let response = Client::plaintext(health).send(&Request::get("/")).await?;
    ensure!(
        response.status == StatusCode::OK,
        "{} {}",
        response.status,
        response.text()
    );
    ensure!(
        response
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "not JSON: {:?}",
        response.headers
    );
    let body: serde_json::Value = serde_json::from_slice(&response.body)?;
    ensure!(body["status"] == "Server available", "status: {body}");
    let up_since = body["upSince"].as_str().context("no upSince")?;
    ensure!(
        up_since.len() >= 20 && up_since.contains('T') && up_since.as_bytes()[4] == b'-',
        "upSince is not an RFC 3339 time: {up_since:?}"
    );
    let uptime = body["uptime"].as_str().context("no uptime")?;
    ensure!(
        uptime.ends_with('s')
            && uptime
                .trim_end_matches('s')
                .parse::<f64>()
                .is_ok_and(|s| s >= 0.0),
        "uptime is not a Go duration like 1.5s: {uptime:?}"
    );
    sluice.stop().await;
    Ok(())
}

/// `name{labels} value` lines of a Prometheus text page, for one metric with all `labels`.
fn sample(page: &str, name: &str, labels: &[&str]) -> Option<f64> {
    page.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.strip_prefix(name))
        .filter(|rest| rest.starts_with('{'))
        .find(|rest| labels.iter().all(|label| rest.contains(label)))
        .and_then(|rest| rest.rsplit(' ').next()?.parse().ok())
}

#[tokio::test(flavor = "multi_thread")]
async fn self_metrics_count_accepted_spans_per_transport() -> Result<()> {
    let sluice = Setup::new()?.start().await?;
    let metrics = sluice.metrics.context("no self-metrics address")?;
    let (http_spans, grpc_spans) = (fake::traces(3, 4, 1), fake::traces(1, 5, 1));
    Via::plaintext(Protocol::Http)
        .traces(&sluice, &http_spans)
        .await?;
    Via::plaintext(Protocol::Http)
        .traces(&sluice, &fake::traces(1, 5, 1))
        .await?;
    Via::plaintext(Protocol::Grpc)
        .traces(&sluice, &grpc_spans)
        .await?;

    let response = Client::plaintext(metrics)
        .send(&Request::get("/metrics"))
        .await?;
    ensure!(
        response.status == StatusCode::OK,
        "{} {}",
        response.status,
        response.text()
    );
    let page = response.text();
    let name = "otelcol_receiver_accepted_spans_total";
    let http = sample(&page, name, &[r#"receiver="otlp""#, r#"transport="http""#]);
    let grpc = sample(&page, name, &[r#"receiver="otlp""#, r#"transport="grpc""#]);
    ensure!(
        http == Some(17.0),
        "{name} for http: {http:?} (want 17)\n{page}"
    );
    ensure!(
        grpc == Some(5.0),
        "{name} for grpc: {grpc:?} (want 5)\n{page}"
    );
    sluice.stop().await;
    Ok(())
}
