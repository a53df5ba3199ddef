//! Tenants end to end: identity from three sources, each tenant's own transform, isolation
//! from a tenant whose guest fails, quotas, a live swap of one tenant, and the tenant header
//! reaching a second Sluice.

mod chain;
mod context;
mod isolation;
mod quotas;
mod swap;

use anyhow::{Context, Result};
use serde_json::{Value, json};
use sluice_tests::output::{Output, string_attribute};

/// The attribute each tenant's transform sets.
const EDIT: &str = "tenant.edit";

/// A transform that sets [`EDIT`] to `value` on every span.
fn stamp(value: &str) -> Value {
    json!({ "trace_statements": [format!("set(span.attributes[\"{EDIT}\"], \"{value}\")")] })
}

/// Enable the `tenancy` extension with `settings` and make the `otlp` receiver use it.
fn tenancy(setup: &mut sluice_tests::Setup, settings: Value) {
    setup.extension("tenancy", settings);
    setup.config["receivers"]["otlp"]["tenancy"] = json!("tenancy");
}

/// `(span name, value of EDIT)` of every span in the output.
fn edits(output: &Output) -> Vec<(String, Option<String>)> {
    output
        .spans()
        .iter()
        .map(|span| {
            (
                span["name"].as_str().unwrap_or_default().to_owned(),
                string_attribute(span.get("attributes"), EDIT),
            )
        })
        .collect()
}

/// Span names of a request.
fn names(
    request: &opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest,
) -> Vec<String> {
    sluice_tests::fake::span_names(request)
}

/// The value of a metric series in a Prometheus exposition, 0 when absent.
fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    sluice_tests::metric_sum(text, name, labels)
}

/// Wait until the output holds every span of `wanted`.
async fn wait_for_all(sluice: &sluice_tests::Sluice, wanted: &[String]) -> Result<Output> {
    sluice
        .wait_for_spans(wanted)
        .await
        .context("not every accepted span arrived")
}
