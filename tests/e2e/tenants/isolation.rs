//! Three tenants identified three ways (client certificate CN over gRPC + mTLS, BasicAuth user,
//! `X-Scope-OrgID` header) each get only their own transform, while three more tenants' guests
//! panic, loop and exhaust their memory on the same host at the same time.

use anyhow::{Result, ensure};
use http::HeaderName;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use serde_json::json;
use sluice_tests::certs::CLIENT_CN;
use sluice_tests::fixture_guests::fixture_guest;
use sluice_tests::http::{Client, Request};
use sluice_tests::{Certs, Identity, Protocol, Setup, Via, fake, htpasswd};

use super::{edits, metric, names, stamp, tenancy, wait_for_all};

const ORG: HeaderName = HeaderName::from_static("x-scope-orgid");
/// Tenants whose guest fails on a batch with a `boom` span: (tenant, fixture).
const FAILING: [(&str, &str); 3] = [
    ("mallory-panic", "panic"),
    ("mallory-spin", "spin"),
    ("mallory-hog", "hog"),
];

/// A request of `spans` spans; with `boom`, its first span is named `boom` (the fixtures'
/// trigger).
fn request(spans: usize, boom: bool) -> ExportTraceServiceRequest {
    let mut request = fake::traces(1, spans, 2);
    if boom {
        request.resource_spans[0].scope_spans[0].spans[0].name = "boom".into();
    }
    request
}

#[tokio::test(flavor = "multi_thread")]
async fn each_tenant_gets_only_its_own_transform_while_others_guests_fail() -> Result<()> {
    let certs = Certs::new()?;
    let mut setup = Setup::new()?;
    setup.grpc("tls", certs.mtls());
    setup.extension(
        "basicauth/server",
        json!({ "htpasswd": { "inline": format!("{}\n{}\n",
            htpasswd::sha("alice", "pw"), htpasswd::sha("gateway", "pw")) } }),
    );
    setup.http("auth", json!({ "authenticator": "basicauth/server" }));
    tenancy(
        &mut setup,
        json!({ "sources": [{ "client_certificate": "cn" }, { "header": "X-Scope-OrgID" }, "basic_auth"] }),
    );
    let mut tenants = serde_json::Map::new();
    for tenant in ["alice", CLIENT_CN, "carol"] {
        let id = format!("transform/{tenant}");
        setup.config["processors"][&id] = stamp(tenant);
        tenants.insert(tenant.into(), json!({ "processors": [id] }));
    }
    for (tenant, fixture) in FAILING {
        let id = format!("wasm/{fixture}");
        setup.config["processors"][&id] = json!({ "component": fixture_guest(fixture)? });
        tenants.insert(
            tenant.into(),
            json!({ "processors": [id], "on_error": "drop",
                    "limits": { "memory_mib": 16, "timeout": "50ms" } }),
        );
    }
    setup.traces_processor("tenant_processors", json!({ "tenants": tenants }));
    let sluice = setup.start().await?;

    let mtls = Via::tls(
        Protocol::Grpc,
        certs.client(Identity::Good, Protocol::Grpc.alpn())?,
    );
    let http = Client::plaintext(sluice.http);
    let (mut expected, mut sent_failing) = (Vec::new(), 0usize);
    for _round in 0..4 {
        let (alice, bob, carol) = (request(5, false), request(5, false), request(5, false));
        let failing: Vec<_> = FAILING
            .iter()
            .map(|(t, _)| (*t, request(3, true)))
            .collect();
        let as_alice = Request::protobuf("/v1/traces", &alice).basic_auth("alice", "pw");
        let as_carol = Request::protobuf("/v1/traces", &carol)
            .basic_auth("gateway", "pw")
            .header(ORG, "carol");
        let (a, b, c, f) = tokio::join!(
            http.send(&as_alice),
            mtls.traces(&sluice, &bob),
            http.send(&as_carol),
            futures_join_all(&http, &failing),
        );
        ensure!(
            a?.status == 200 && c?.status == 200,
            "alice or carol refused"
        );
        b.map_err(|e| anyhow::anyhow!("{e}"))?;
        for status in f? {
            // on_error: drop still acknowledges: the data was accepted, then dropped.
            ensure!(status == 200, "a failing tenant's request got {status}");
        }
        sent_failing += failing.len();
        for (tenant, request) in [("alice", &alice), (CLIENT_CN, &bob), ("carol", &carol)] {
            expected.extend(names(request).into_iter().map(|n| (n, tenant)));
        }
    }

    let wanted: Vec<String> = expected.iter().map(|(n, _)| n.clone()).collect();
    let output = wait_for_all(&sluice, &wanted).await?;
    let seen = edits(&output);
    for (name, tenant) in &expected {
        let edit = seen
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, e)| e.as_deref())
            .collect::<Vec<_>>();
        ensure!(
            edit == [Some(*tenant)],
            "span {name} of {tenant} arrived as {edit:?}: it must arrive once, with only its own tenant's edit"
        );
    }
    ensure!(
        seen.len() == expected.len(),
        "{} spans arrived, {} expected: the failing tenants' batches (on_error: drop) must not",
        seen.len(),
        expected.len()
    );

    let text = sluice.self_metrics().await?;
    for (tenant, _) in FAILING {
        let errors = metric(
            &text,
            "sluice_processor_errors_total",
            &[("tenant", tenant)],
        );
        ensure!(
            errors >= 1.0,
            "no processor error counted for {tenant}:\n{text}"
        );
    }
    for tenant in ["alice", CLIENT_CN, "carol"] {
        let errors = metric(
            &text,
            "sluice_processor_errors_total",
            &[("tenant", tenant)],
        );
        ensure!(errors == 0.0, "{tenant} has {errors} processor errors");
    }
    ensure!(sent_failing == 12);
    sluice.stop().await;
    Ok(())
}

/// Send each failing tenant's request at once (header-identified, through the gateway user).
async fn futures_join_all(
    http: &Client,
    requests: &[(&str, ExportTraceServiceRequest)],
) -> Result<Vec<http::StatusCode>> {
    let mut tasks = tokio::task::JoinSet::new();
    for (tenant, request) in requests {
        let request = Request::protobuf("/v1/traces", request)
            .basic_auth("gateway", "pw")
            .header(ORG, tenant);
        let http = http.clone();
        tasks.spawn(async move { http.send(&request).await.map(|r| r.status) });
    }
    let mut statuses = Vec::new();
    while let Some(result) = tasks.join_next().await {
        statuses.push(result??);
    }
    Ok(statuses)
}
