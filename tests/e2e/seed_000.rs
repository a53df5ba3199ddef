//! Seed 000 end to end: mTLS on OTLP/HTTP, the real Python SDK configured only through
//! `OTEL_EXPORTER_OTLP_*`, and the seed's `transform/add_tags` (`set(attributes["env"], "dev")`
//! under `context: metric`, unchanged) running as a WebAssembly component: every data point
//! that arrives carries `env=dev`.

use anyhow::{Context, Result, ensure};
use serde_json::json;
use sluice_tests::output::string_attribute;
use sluice_tests::{Certs, Identity, Setup, fake, python};

#[tokio::test(flavor = "multi_thread")]
async fn seed_000_add_tags_sets_env_on_every_data_point_from_the_python_sdk() -> Result<()> {
    let Some(interpreter) = python::interpreter().await? else {
        return Ok(());
    };
    let certs = Certs::new()?;
    let mut setup = Setup::new()?;
    setup.tls(certs.mtls());
    setup.processor(
        "transform/add_tags",
        json!({
            "metric_statements": [
                {"context": "metric", "statements": ["set(attributes[\"env\"], \"dev\")"]}
            ]
        }),
    );
    let sluice = setup.start().await?;

    let name = fake::unique("seed000");
    let (cert, key) = certs.client_files(Identity::Good).context("client files")?;
    let env = [
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".to_owned()),
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("https://{}", sluice.http),
        ),
        (
            "OTEL_EXPORTER_OTLP_CERTIFICATE",
            certs.ca_file().display().to_string(),
        ),
        (
            "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
            cert.display().to_string(),
        ),
        ("OTEL_EXPORTER_OTLP_CLIENT_KEY", key.display().to_string()),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "10".to_owned()),
        ("OTEL_SERVICE_NAME", "admin-server".to_owned()),
    ];
    let sent = python::send(&interpreter, &name, &env).await?;
    ensure!(sent.success, "send.py failed:\n{}", sent.stderr);

    let output = sluice.wait_for_metrics(&[format!("{name}.count")]).await?;
    let mut points = 0;
    for metric in output.metrics() {
        for point in metric
            .pointer("/sum/dataPoints")
            .and_then(|p| p.as_array())
            .into_iter()
            .flatten()
        {
            points += 1;
            ensure!(
                string_attribute(point.get("attributes"), "env").as_deref() == Some("dev"),
                "a data point without env=dev: {metric}"
            );
            // The SDK's own attribute survives next to the new one.
            ensure!(
                string_attribute(point.get("attributes"), "sluice.test").as_deref()
                    == Some(name.as_str()),
                "the SDK's attribute was lost: {metric}"
            );
        }
    }
    ensure!(points > 0, "no data points arrived");
    // Spans pass through the transform untouched (it has no trace statements).
    let output = sluice.wait_for_spans(std::slice::from_ref(&name)).await?;
    let span = output
        .spans()
        .into_iter()
        .find(|s| s["name"] == name.as_str())
        .context("span")?;
    ensure!(
        string_attribute(span.get("attributes"), "env").is_none(),
        "span got env: {span}"
    );
    sluice.stop().await;
    Ok(())
}
