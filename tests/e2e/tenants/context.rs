//! A guest sees the tenant and the environment in its request context: the `ok` fixture with
//! `show_context` writes them on every span.

use anyhow::{Result, ensure};
use http::HeaderName;
use serde_json::json;
use sluice_tests::fixture_guests::fixture_guest;
use sluice_tests::http::{Client, Request};
use sluice_tests::output::string_attribute;
use sluice_tests::{Setup, fake};

use super::{names, tenancy};

const ORG: HeaderName = HeaderName::from_static("x-scope-orgid");

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_sees_its_tenant_and_the_environment() -> Result<()> {
    let mut setup = Setup::new()?;
    setup.environment = Some("staging".into());
    tenancy(&mut setup, json!({}));
    setup.config["processors"]["wasm/show"] =
        json!({ "component": fixture_guest("ok")?, "config": { "show_context": true } });
    setup.traces_processor(
        "tenant_processors",
        json!({ "tenants": { "acme": { "processors": ["wasm/show"] } },
                "default": { "processors": ["wasm/show"] } }),
    );
    let sluice = setup.start().await?;
    let http = Client::plaintext(sluice.http);
    let (acme, other) = (fake::traces(1, 2, 1), fake::traces(1, 2, 1));
    for (request, tenant) in [(&acme, Some("acme")), (&other, None)] {
        let mut post = Request::protobuf("/v1/traces", request);
        if let Some(tenant) = tenant {
            post = post.header(ORG, tenant);
        }
        ensure!(http.send(&post).await?.status == 200);
    }
    let mut wanted = names(&acme);
    wanted.extend(names(&other));
    let output = sluice.wait_for_spans(&wanted).await?;
    for span in output.spans() {
        let name = span["name"].as_str().unwrap_or_default();
        let attributes = span.get("attributes");
        let tenant = string_attribute(attributes, "context.tenant");
        let expected = if names(&acme).iter().any(|n| n == name) {
            "acme"
        } else {
            "default"
        };
        ensure!(
            tenant.as_deref() == Some(expected),
            "{name}: tenant {tenant:?}"
        );
        let environment = string_attribute(attributes, "context.environment");
        ensure!(
            environment.as_deref() == Some("staging"),
            "{name}: environment {environment:?}"
        );
    }
    sluice.stop().await;
    Ok(())
}
