//! Seed 002's metrics path against a real Prometheus: spans → the `spanmetrics` connector (a
//! WebAssembly guest) → the `prometheus` exporter (scraped) and the `prometheusremotewrite`
//! exporter (remote write into the same Prometheus). PromQL over what Prometheus stored gives
//! the p95 latency and the error rate of the spans sent; the dashboard's queries all run.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Result, ensure};
use serde_json::json;
use sluice_tests::fake::{self, SpanSpec};
use sluice_tests::process::{free_port, workspace_root};
use sluice_tests::prometheus::Prometheus;
use sluice_tests::{PATIENCE, Protocol, Setup, Via};

#[tokio::test(flavor = "multi_thread")]
async fn prometheus_computes_p95_and_error_rate_from_span_metrics_scraped_and_remote_written()
-> Result<()> {
    let scrape: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
    let own: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
    let prometheus = Prometheus::start(&[("sluice-spanmetrics", scrape), ("sluice", own)]).await?;

    let mut setup = Setup::new()?;
    setup.config["connectors"] = json!({ "spanmetrics": {
        "histogram": { "explicit": { "buckets": ["100ms", "200ms", "500ms", "1s"] } },
        "metrics_flush_interval": "1s",
    }});
    setup.config["exporters"]["prometheus"] = json!({ "endpoint": scrape.to_string() });
    setup.config["exporters"]["prometheusremotewrite"] = json!({
        "endpoint": prometheus.remote_write_url(),
        "external_labels": { "via": "remote_write" },
        "retry_on_failure": { "initial_interval": "100ms" },
    });
    setup.config["service"]["pipelines"] = json!({
        "traces": { "receivers": ["otlp"], "exporters": ["spanmetrics", "file"] },
        "metrics": { "receivers": ["spanmetrics"], "exporters": ["prometheus", "prometheusremotewrite"] },
    });
    setup.config["service"]["telemetry"]["metrics"]["address"] = json!(own.to_string());
    let sluice = setup.start().await?;

    // 90 fast successful calls and 10 slow failing ones: p95 lies in the (200, 500] ms bucket,
    // which holds the 10 slow calls, at rank 95: 200 + 300 × (95 − 90) / 10 = 350 ms.
    let service = fake::unique("checkout");
    let mut specs: Vec<SpanSpec> = (0..90)
        .map(|t| SpanSpec {
            duration_ms: 50,
            error: false,
            trace: t,
        })
        .collect();
    specs.extend((90..100).map(|t| SpanSpec {
        duration_ms: 300,
        error: true,
        trace: t,
    }));
    let traces = fake::service_spans(&service, "GET /cart", &specs);
    Via::plaintext(Protocol::Grpc)
        .traces(&sluice, &traces)
        .await?;

    let within = PATIENCE * 3;
    for (path, selector) in [
        ("scrape", "job=\"sluice-spanmetrics\""),
        ("remote write", "via=\"remote_write\""),
    ] {
        let s = format!("service_name=\"{service}\", {selector}");
        let calls = prometheus
            .wait_for_value(
                &format!("sum(traces_span_metrics_calls_total{{{s}}})"),
                within,
                |v| v >= 100.0,
            )
            .await?;
        ensure!(calls == 100.0, "{path}: {calls} calls counted, 100 sent");
        let p95 = prometheus
            .wait_for_value(
                &format!(
                    "histogram_quantile(0.95, sum by (le) (traces_span_metrics_duration_milliseconds_bucket{{{s}}}))"
                ),
                within,
                |v| v > 0.0,
            )
            .await?;
        ensure!(
            (p95 - 350.0).abs() < 1e-6,
            "{path}: p95 is {p95} ms, expected 350 ms"
        );
        let error_rate = prometheus
            .wait_for_value(
                &format!(
                    "sum(traces_span_metrics_calls_total{{{s}, status_code=\"STATUS_CODE_ERROR\"}}) / sum(traces_span_metrics_calls_total{{{s}}})"
                ),
                within,
                |v| v > 0.0,
            )
            .await?;
        ensure!(
            (error_rate - 0.1).abs() < 1e-9,
            "{path}: error rate {error_rate}, expected 0.1"
        );
    }

    // Sluice's own metrics are scraped too (the SluiceDown and refusal alerts use them).
    prometheus
        .wait_for_value(
            "sum(otelcol_receiver_accepted_spans_total{job=\"sluice\"})",
            within,
            |v| v >= 100.0,
        )
        .await?;

    // Every query of the shipped dashboard is valid PromQL for this Prometheus.
    let dashboard: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(
        workspace_root().join("config/grafana/sluice.json"),
    )?)?;
    for panel in dashboard["panels"].as_array().into_iter().flatten() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            if let Some(expr) = target["expr"].as_str() {
                let expr = expr
                    .replace("$__rate_interval", "1m")
                    .replace("$service", ".*");
                prometheus.query(&expr).await?;
            }
        }
    }
    sluice.stop().await;
    tokio::time::sleep(Duration::from_millis(10)).await;
    Ok(())
}
