//! The tenant travels on: a first Sluice identifies tenants by header and exports with
//! `headers_setter` (X-Scope-OrgID from the tenant); a second Sluice, the backend, identifies
//! them again from that header and stamps `tenant.id` on every resource.

use anyhow::{Result, ensure};
use http::HeaderName;
use serde_json::json;
use sluice_tests::http::{Client, Request};
use sluice_tests::{Setup, fake};

use super::{names, tenancy};

const ORG: HeaderName = HeaderName::from_static("x-scope-orgid");

#[tokio::test(flavor = "multi_thread")]
async fn the_tenant_header_reaches_a_second_sluice() -> Result<()> {
    let mut backend = Setup::new()?;
    tenancy(
        &mut backend,
        json!({ "refuse_unidentified": true, "set_resource_attribute": "tenant.id" }),
    );
    let backend = backend.start().await?;

    let mut front = Setup::new()?;
    tenancy(&mut front, json!({}));
    front.extension(
        "headers_setter",
        json!({ "headers": [{ "key": "X-Scope-OrgID", "from_attribute": "tenant" }] }),
    );
    front.export_to(
        "otlphttp/backend",
        json!({
            "endpoint": format!("http://{}", backend.http),
            "auth": { "authenticator": "headers_setter" },
            "retry_on_failure": super::super::export::fast_retry(),
        }),
    );
    let front = front.start().await?;

    let http = Client::plaintext(front.http);
    let mut expected = Vec::new();
    for tenant in ["acme", "globex", "initech"] {
        let request = fake::traces(1, 4, 1);
        let response = http
            .send(&Request::protobuf("/v1/traces", &request).header(ORG, tenant))
            .await?;
        ensure!(response.status == 200, "{tenant}: {}", response.text());
        expected.extend(names(&request).into_iter().map(|n| (n, tenant)));
    }
    let wanted: Vec<String> = expected.iter().map(|(n, _)| n.clone()).collect();
    let output = backend.wait_for_spans(&wanted).await?;
    for line in &output.lines {
        for resource in line["resourceSpans"].as_array().into_iter().flatten() {
            let tenant = sluice_tests::output::string_attribute(
                resource["resource"].get("attributes"),
                "tenant.id",
            );
            for span in resource["scopeSpans"][0]["spans"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let name = span["name"].as_str().unwrap_or_default();
                let want = expected.iter().find(|(n, _)| n == name).map(|(_, t)| *t);
                ensure!(
                    tenant.as_deref() == want,
                    "span {name} arrived with tenant.id {tenant:?}, sent as {want:?}"
                );
            }
        }
    }
    front.stop().await;
    backend.stop().await;
    Ok(())
}
