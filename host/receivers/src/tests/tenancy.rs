//! Tenant identity on both protocols: each source, the default tenant, refusals, the split by
//! resource attribute and `set_resource_attribute`.

use std::collections::BTreeMap;
use std::sync::Arc;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use prost::Message;
use sluice_auth::{BasicAuth, BearerTokenAuth};
use sluice_config::{
    AuthReference, BearerTokenAuthSettings, ComponentId, HtpasswdSettings, OtlpReceiverSettings,
    TenancySettings, TenantSource,
};
use sluice_pipeline::{ConsumeError, Payload, Signal};
use tonic::Code;

use super::fixtures;
use super::grpc::channel;
use super::{Harness, PROTOBUF, Recorder, post, settings};
use crate::Authenticators;

pub(crate) fn tenancy(sources: Vec<TenantSource>) -> TenancySettings {
    TenancySettings {
        sources,
        ..Default::default()
    }
}

fn header() -> TenantSource {
    TenantSource::Header("X-Scope-OrgID".into())
}

/// The tenant of every recorded batch, in order.
pub(crate) fn tenants(recorder: &Recorder) -> Vec<String> {
    recorder
        .batches()
        .iter()
        .map(|b| b.context.tenant.as_deref().unwrap_or("<none>").to_owned())
        .collect()
}

/// A trace request with one resource (and `spans` spans) per entry; `Some(t)` sets
/// `tenant.id = t` on that resource.
pub(crate) fn traces_of(resources: &[(Option<&str>, usize)]) -> ExportTraceServiceRequest {
    let template = fixtures::traces(1, 0).resource_spans.remove(0);
    ExportTraceServiceRequest {
        resource_spans: resources
            .iter()
            .map(|(tenant, spans)| {
                let mut rs = template.clone();
                let resource = rs.resource.get_or_insert_with(Default::default);
                if let Some(tenant) = tenant {
                    resource
                        .attributes
                        .push(string_attribute("tenant.id", tenant));
                }
                let one = rs.scope_spans[0].spans[0].clone();
                rs.scope_spans[0].spans = vec![one; *spans];
                rs
            })
            .collect(),
    }
}

fn string_attribute(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

/// One value of the exposition (`0` when the series does not exist).
pub(crate) fn metric(harness: &Harness, series: &str) -> u64 {
    let text = harness.metrics.encode();
    text.lines()
        .find_map(|line| {
            line.strip_prefix(series)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

fn with_auth(authenticator: &str) -> OtlpReceiverSettings {
    let reference = AuthReference {
        authenticator: ComponentId::new(authenticator, Some("server")),
    };
    settings(|grpc, http| {
        grpc.auth = Some(reference.clone());
        http.auth = Some(reference);
    })
}

#[tokio::test]
async fn basic_auth_username_names_the_tenant() {
    let htpasswd = HtpasswdSettings {
        inline: Some("alice:password".into()),
        allow_plaintext: true,
        ..Default::default()
    };
    let mut authenticators = Authenticators::new();
    authenticators.insert(
        ComponentId::new("basicauth", Some("server")),
        Arc::new(BasicAuth::load(&htpasswd, "extensions.basicauth/server").unwrap()),
    );
    let recorder = Recorder::new();
    let harness = Harness::start_with_tenancy(
        with_auth("basicauth"),
        recorder.consumers(),
        &authenticators,
        &tenancy(vec![TenantSource::BasicAuth, header()]),
    )
    .await;
    // `alice:password`; the header comes second, so the username wins.
    let credentials = ("authorization", "Basic YWxpY2U6cGFzc3dvcmQ=");
    let body = fixtures::spec_traces().encode_to_vec();
    let answer = post(
        harness.http(),
        "/v1/traces",
        &[PROTOBUF, credentials, ("x-scope-orgid", "other")],
        body,
    )
    .await;
    assert_eq!(answer.status, 200);
    let mut request = tonic::Request::new(fixtures::spec_traces());
    request
        .metadata_mut()
        .insert("authorization", credentials.1.parse().unwrap());
    TraceServiceClient::new(channel(harness.grpc()).await)
        .export(request)
        .await
        .expect("gRPC export");
    assert_eq!(tenants(&recorder), ["alice", "alice"]);
}

#[tokio::test]
async fn the_matching_named_bearer_token_names_the_tenant() {
    let settings = BearerTokenAuthSettings {
        named_tokens: Some(BTreeMap::from([
            ("team-a".to_owned(), "secret-a".to_owned()),
            ("team-b".to_owned(), "secret-b".to_owned()),
        ])),
        ..Default::default()
    };
    let mut authenticators = Authenticators::new();
    authenticators.insert(
        ComponentId::new("bearertokenauth", Some("server")),
        Arc::new(BearerTokenAuth::load(&settings, "extensions.bearertokenauth/server").unwrap()),
    );
    let recorder = Recorder::new();
    let harness = Harness::start_with_tenancy(
        with_auth("bearertokenauth"),
        recorder.consumers(),
        &authenticators,
        &tenancy(vec![TenantSource::BearerToken]),
    )
    .await;
    let mut request = tonic::Request::new(fixtures::spec_traces());
    request
        .metadata_mut()
        .insert("authorization", "Bearer secret-b".parse().unwrap());
    TraceServiceClient::new(channel(harness.grpc()).await)
        .export(request)
        .await
        .expect("gRPC export");
    let body = fixtures::spec_traces().encode_to_vec();
    let answer = post(
        harness.http(),
        "/v1/traces",
        &[PROTOBUF, ("authorization", "Bearer secret-a")],
        body,
    )
    .await;
    assert_eq!(answer.status, 200);
    assert_eq!(tenants(&recorder), ["team-b", "team-a"]);
}

#[tokio::test]
async fn a_header_names_the_tenant_without_include_metadata() {
    let recorder = Recorder::new();
    let harness = Harness::start_with_tenancy(
        settings(|_, _| {}),
        recorder.consumers(),
        &Authenticators::new(),
        &tenancy(vec![header()]),
    )
    .await;
    let body = fixtures::spec_traces().encode_to_vec();
    let answer = post(
        harness.http(),
        "/v1/traces",
        &[PROTOBUF, ("X-Scope-OrgID", "acme")],
        body,
    )
    .await;
    assert_eq!(answer.status, 200);
    let mut request = tonic::Request::new(fixtures::spec_traces());
    request
        .metadata_mut()
        .insert("x-scope-orgid", "globex".parse().unwrap());
    TraceServiceClient::new(channel(harness.grpc()).await)
        .export(request)
        .await
        .expect("gRPC export");
    assert_eq!(tenants(&recorder), ["acme", "globex"]);
    assert!(
        recorder
            .batches()
            .iter()
            .all(|b| b.context.metadata.is_empty())
    );
    // Named as a whole, not changed: both requests travel on as their bytes.
    let raw = recorder.raw_batches();
    assert!(raw.iter().all(|b| b.payload.wire().is_some()), "{raw:?}");
}

#[tokio::test]
async fn no_source_gives_the_default_tenant_or_a_refusal_when_configured() {
    let recorder = Recorder::new();
    let anonymous = TenancySettings {
        default_tenant: "anonymous".into(),
        ..tenancy(vec![header()])
    };
    let harness = Harness::start_with_tenancy(
        settings(|_, _| {}),
        recorder.consumers(),
        &Authenticators::new(),
        &anonymous,
    )
    .await;
    let body = fixtures::spec_traces().encode_to_vec();
    let answer = post(harness.http(), "/v1/traces", &[PROTOBUF], body.clone()).await;
    assert_eq!(answer.status, 200);
    assert_eq!(tenants(&recorder), ["anonymous"]);

    let refusing = TenancySettings {
        refuse_unidentified: true,
        ..tenancy(vec![header()])
    };
    let recorder = Recorder::new();
    let harness = Harness::start_with_tenancy(
        settings(|_, _| {}),
        recorder.consumers(),
        &Authenticators::new(),
        &refusing,
    )
    .await;
    let answer = post(
        harness.http(),
        "/v1/traces",
        &[super::JSON],
        "{\"resourceSpans\":[]}",
    )
    .await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.json()["code"], 16);
    let message = answer.json()["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("names no tenant (looked at: header X-Scope-OrgID)"),
        "{message}"
    );
    let status = TraceServiceClient::new(channel(harness.grpc()).await)
        .export(fixtures::spec_traces())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status}");
    assert!(recorder.batches().is_empty());
    let series =
        "sluice_tenant_refused_spans_total{tenant=\"<unidentified>\",reason=\"unidentified\"}";
    assert_eq!(metric(&harness, series), 1);
}

#[tokio::test]
async fn an_invalid_tenant_id_is_400_or_invalid_argument_without_echoing_it_all() {
    let recorder = Recorder::new();
    let harness = Harness::start_with_tenancy(
        settings(|_, _| {}),
        recorder.consumers(),
        &Authenticators::new(),
        &tenancy(vec![header()]),
    )
    .await;
    let long = format!("../{}", "x".repeat(4000));
    let body = fixtures::spec_traces().encode_to_vec();
    let answer = post(
        harness.http(),
        "/v1/traces",
        &[super::JSON, ("x-scope-orgid", &long)],
        serde_json::to_vec(&serde_json::json!({"resourceSpans": []})).unwrap(),
    )
    .await;
    assert_eq!(answer.status, 400);
    let message = answer.json()["message"].as_str().unwrap().to_owned();
    assert!(message.starts_with("tenant id \"../xxx"), "{message}");
    assert!(
        message.contains("from header X-Scope-OrgID is not valid"),
        "{message}"
    );
    assert!(message.len() < 300, "{}", message.len());

    let mut request = tonic::Request::new(ExportTraceServiceRequest::decode(&body[..]).unwrap());
    request
        .metadata_mut()
        .insert("x-scope-orgid", "a b".parse().unwrap());
    let status = TraceServiceClient::new(channel(harness.grpc()).await)
        .export(request)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status}");
    assert!(recorder.batches().is_empty());
}

#[tokio::test]
async fn a_resource_attribute_splits_the_request_into_one_batch_per_tenant() {
    let recorder = Recorder::new();
    let settings_ = TenancySettings {
        set_resource_attribute: Some("sluice.tenant".into()),
        ..tenancy(vec![
            TenantSource::ResourceAttribute("tenant.id".into()),
            header(),
        ])
    };
    let harness = Harness::start_with_tenancy(
        settings(|_, _| {}),
        recorder.consumers(),
        &Authenticators::new(),
        &settings_,
    )
    .await;
    let request = traces_of(&[(Some("a"), 2), (None, 1), (Some("b"), 3), (Some("a"), 4)]);
    let answer = post(
        harness.http(),
        "/v1/traces",
        &[PROTOBUF, ("x-scope-orgid", "from-header")],
        request.encode_to_vec(),
    )
    .await;
    assert_eq!(answer.status, 200);
    assert_eq!(tenants(&recorder), ["a", "from-header", "b"]);
    let counts: Vec<usize> = recorder
        .payloads()
        .iter()
        .map(Payload::item_count)
        .collect();
    assert_eq!(counts, [6, 1, 3]);
    // Split and changed: delivered decoded, never with the request's bytes.
    assert!(
        recorder
            .raw_batches()
            .iter()
            .all(|b| b.payload.wire().is_none())
    );
    // Every resource carries its tenant in `set_resource_attribute`.
    for batch in recorder.batches() {
        let Payload::Traces(traces) = &batch.payload else {
            panic!("traces expected");
        };
        let tenant = batch.context.tenant.as_deref().unwrap();
        for rs in &traces.resource_spans {
            let attributes = &rs.resource.as_ref().unwrap().attributes;
            assert!(attributes.contains(&string_attribute("sluice.tenant", tenant)));
        }
    }
    let accepted = |tenant: &str| {
        metric(
            &harness,
            &format!("sluice_tenant_accepted_spans_total{{tenant=\"{tenant}\"}}"),
        )
    };
    assert_eq!(
        (accepted("a"), accepted("b"), accepted("from-header")),
        (6, 3, 1)
    );
}

#[tokio::test]
async fn downstream_refusals_are_counted_per_tenant() {
    let recorder = Recorder::failing(ConsumeError::refused("memory limit reached"));
    let harness = Harness::start_with_tenancy(
        settings(|_, _| {}),
        recorder.consumers(),
        &Authenticators::new(),
        &tenancy(vec![header()]),
    )
    .await;
    let answer = post(
        harness.http(),
        "/v1/logs",
        &[PROTOBUF, ("x-scope-orgid", "acme")],
        fixtures::spec_logs().encode_to_vec(),
    )
    .await;
    assert_eq!(answer.status, 503);
    let series = "sluice_tenant_refused_log_records_total{tenant=\"acme\",reason=\"downstream\"}";
    assert_eq!(metric(&harness, series), 1);
    let tenants = harness.metrics.receiver_tenants();
    assert_eq!(tenants.accepted_count("acme", Signal::Logs), 0);
}
