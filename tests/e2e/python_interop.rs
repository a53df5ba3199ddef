//! Interop with the real OpenTelemetry Python SDK (opentelemetry-sdk and the OTLP exporters from
//! PyPI): tests/python/send.py exports a span, a counter and a log record over mTLS with
//! BasicAuth, configured only through the standard `OTEL_EXPORTER_OTLP_*` variables, and the
//! names, attributes and bodies must arrive in the file exporter's output.
//!
//! The venv is created by tests/python/setup-venv.sh. Without network the test skips with a loud
//! message, except in CI (`CI` set), where it fails.

use std::net::SocketAddr;

use anyhow::{Context, Result, ensure};
use sluice_tests::output::string_attribute;
use sluice_tests::{Certs, Identity, Setup, Sluice, fake, htpasswd, python};

const USER: &str = "python-sdk";
const PASSWORD: &str = "p@ss word+/=";

async fn sdk_exports_every_signal(
    protocol: &str,
    listener: fn(&Sluice) -> SocketAddr,
) -> Result<()> {
    let Some(interpreter) = python::interpreter().await? else {
        return Ok(());
    };
    let certs = Certs::new()?;
    let mut setup = Setup::new()?;
    setup.tls(certs.mtls());
    setup.basic_auth(&[htpasswd::bcrypt(USER, PASSWORD)]);
    let sluice = setup.start().await?;

    let name = fake::unique("python");
    let service = fake::unique("python-service");
    let (cert, key) = certs
        .client_files(Identity::Good)
        .context("good client files")?;
    let authorization = htpasswd::authorization(USER, PASSWORD).replace(' ', "%20");
    let env = [
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol.to_owned()),
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("https://{}", listener(&sluice)),
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
        (
            "OTEL_EXPORTER_OTLP_HEADERS",
            format!("Authorization={authorization}"),
        ),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "10".to_owned()),
        ("OTEL_SERVICE_NAME", service.clone()),
    ];
    let sent = python::send(&interpreter, &name, &env).await?;
    ensure!(
        sent.success,
        "send.py failed over {protocol}:\n{}",
        sent.stderr
    );

    sluice.wait_for_spans(std::slice::from_ref(&name)).await?;
    sluice.wait_for_metrics(&[format!("{name}.count")]).await?;
    let output = sluice.wait_for_logs(&[format!("log {name}")]).await?;

    let span = output
        .spans()
        .into_iter()
        .find(|s| s["name"] == name.as_str())
        .context("span")?;
    ensure!(
        string_attribute(span.get("attributes"), "sluice.test").as_deref() == Some(name.as_str()),
        "span attribute sluice.test missing: {span}"
    );
    let metric = output
        .metrics()
        .into_iter()
        .find(|m| m["name"] == format!("{name}.count"))
        .context("metric")?;
    let point = metric
        .pointer("/sum/dataPoints/0")
        .context("the counter has no sum data point")?;
    ensure!(
        string_attribute(point.get("attributes"), "sluice.test").as_deref() == Some(name.as_str()),
        "data point attribute sluice.test missing: {metric}"
    );
    ensure!(point["asInt"] == "7", "counter value: {point}");
    let services = output.resource_attribute("service.name");
    ensure!(
        services.iter().filter(|s| **s == service).count() >= 3,
        "resource service.name={service} not on every signal: {services:?}"
    );
    sluice.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn python_sdk_exports_over_grpc_with_mtls_and_basic_auth() -> Result<()> {
    sdk_exports_every_signal("grpc", |s| s.grpc).await
}

#[tokio::test(flavor = "multi_thread")]
async fn python_sdk_exports_over_http_with_mtls_and_basic_auth() -> Result<()> {
    sdk_exports_every_signal("http/protobuf", |s| s.http).await
}
