//! `auth.authenticator` with the real BasicAuth authenticator, on both protocols.

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message;
use sluice_auth::BasicAuth;
use sluice_config::{AuthReference, ComponentId, HtpasswdSettings, OtlpReceiverSettings};
use tonic::Code;

use super::fixtures;
use super::grpc::channel;
use super::{Harness, JSON, PROTOBUF, Recorder, post, settings};
use crate::Authenticators;

/// `Basic dXNlcjpwYXNzd29yZA==` is `user:password`.
const GOOD: &str = "Basic dXNlcjpwYXNzd29yZA==";
/// `user:nope`.
const BAD: &str = "Basic dXNlcjpub3Bl";

fn authenticators() -> Authenticators {
    let htpasswd = HtpasswdSettings {
        inline: Some("user:password".into()),
        allow_plaintext: true,
        ..Default::default()
    };
    let basic = BasicAuth::load(&htpasswd, "extensions.basicauth/server").unwrap();
    let mut authenticators = Authenticators::new();
    authenticators.insert(
        ComponentId::new("basicauth", Some("server")),
        Arc::new(basic),
    );
    authenticators
}

fn protected() -> OtlpReceiverSettings {
    let reference = AuthReference {
        authenticator: ComponentId::new("basicauth", Some("server")),
    };
    settings(|grpc, http| {
        grpc.auth = Some(reference.clone());
        http.auth = Some(reference);
    })
}

#[tokio::test]
async fn http_without_valid_credentials_is_401_with_a_challenge() {
    let recorder = Recorder::new();
    let harness = Harness::start_with(protected(), recorder.consumers(), &authenticators()).await;
    let body = fixtures::spec_traces().encode_to_vec();

    let answer = post(harness.http(), "/v1/traces", &[JSON], "{}").await;
    assert_eq!(answer.status, 401);
    assert_eq!(
        answer.header("www-authenticate"),
        Some(r#"Basic realm="sluice", charset="UTF-8""#)
    );
    assert_eq!(answer.json()["code"], 16);
    assert_eq!(answer.json()["message"], "missing credentials");

    let answer = post(
        harness.http(),
        "/v1/traces",
        &[JSON, ("authorization", BAD)],
        "{}",
    )
    .await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.json()["message"], "invalid credentials");

    // Authentication comes before the body is read or decoded.
    let answer = post(
        harness.http(),
        "/v1/traces",
        &[PROTOBUF],
        &b"\xff garbage"[..],
    )
    .await;
    assert_eq!(answer.status, 401);

    let answer = post(
        harness.http(),
        "/v1/traces",
        &[PROTOBUF, ("authorization", GOOD)],
        body,
    )
    .await;
    assert_eq!(answer.status, 200);
    let context = recorder.single().context;
    assert_eq!(context.auth.username.as_deref(), Some("user"));
    assert!(
        context.metadata.is_empty(),
        "identity without include_metadata, headers not"
    );
}

#[tokio::test]
async fn grpc_without_valid_credentials_is_unauthenticated() {
    let recorder = Recorder::new();
    let harness = Harness::start_with(protected(), recorder.consumers(), &authenticators()).await;
    let channel = channel(harness.grpc()).await;

    let status = TraceServiceClient::new(channel.clone())
        .export(fixtures::spec_traces())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(status.message(), "missing credentials");

    let mut request = tonic::Request::new(fixtures::spec_traces());
    request
        .metadata_mut()
        .insert("authorization", BAD.parse().unwrap());
    let status = TraceServiceClient::new(channel.clone())
        .export(request)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert!(recorder.batches().is_empty());

    let mut request = tonic::Request::new(fixtures::spec_traces());
    request
        .metadata_mut()
        .insert("authorization", GOOD.parse().unwrap());
    TraceServiceClient::new(channel)
        .export(request)
        .await
        .unwrap();
    assert_eq!(
        recorder.single().context.auth.username.as_deref(),
        Some("user")
    );
}

#[tokio::test]
async fn include_metadata_with_auth_keeps_identity_and_headers_but_not_the_credentials() {
    let recorder = Recorder::new();
    let mut settings = protected();
    if let Some(http) = settings.protocols.http.as_mut() {
        http.include_metadata = true;
    }
    let harness = Harness::start_with(settings, recorder.consumers(), &authenticators()).await;
    let headers = [PROTOBUF, ("authorization", GOOD), ("x-tenant", "acme")];
    let body = fixtures::spec_traces().encode_to_vec();
    let answer = post(harness.http(), "/v1/traces", &headers, body).await;
    assert_eq!(answer.status, 200);
    let context = recorder.single().context;
    assert_eq!(context.auth.username.as_deref(), Some("user"));
    assert_eq!(context.metadata_value("x-tenant"), Some("acme"));
    assert!(!context.metadata.contains_key("authorization"));
}

#[tokio::test]
async fn bearer_token_identity_is_the_token_name_never_the_token() {
    let settings = sluice_config::BearerTokenAuthSettings {
        tokens: Some(vec!["first-token".into(), "s3cret-token".into()]),
        ..Default::default()
    };
    let bearer =
        sluice_auth::BearerTokenAuth::load(&settings, "extensions.bearertokenauth").unwrap();
    let id = ComponentId::new("bearertokenauth", None);
    let mut authenticators = Authenticators::new();
    authenticators.insert(id.clone(), Arc::new(bearer));
    let receiver = super::settings(|_, http| {
        http.auth = Some(AuthReference { authenticator: id });
        http.include_metadata = true;
    });
    let recorder = Recorder::new();
    let harness = Harness::start_with(receiver, recorder.consumers(), &authenticators).await;

    let answer = post(harness.http(), "/v1/logs", &[JSON], fixtures::LOGS_JSON).await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.header("www-authenticate"), Some("Bearer"));

    let headers = [JSON, ("authorization", "Bearer s3cret-token")];
    let answer = post(harness.http(), "/v1/logs", &headers, fixtures::LOGS_JSON).await;
    assert_eq!(answer.status, 200);
    let context = recorder.single().context;
    assert!(context.auth.token_name.is_some(), "{:?}", context.auth);
    assert!(!format!("{context:?}").contains("s3cret"), "{context:?}");
}

#[tokio::test]
async fn cors_preflight_is_answered_before_authentication() {
    let mut settings = protected();
    if let Some(http) = settings.protocols.http.as_mut() {
        http.cors = Some(sluice_config::CorsSettings {
            allowed_origins: vec!["https://*.example.com".into()],
            ..Default::default()
        });
    }
    let harness =
        Harness::start_with(settings, Recorder::new().consumers(), &authenticators()).await;
    let preflight = super::request(
        "OPTIONS",
        harness.http(),
        "/v1/traces",
        &[
            ("origin", "https://app.example.com"),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", "content-type"),
        ],
        bytes::Bytes::new(),
    );
    let answer = super::send(preflight).await;
    assert_eq!(answer.status, 204);
    assert_eq!(
        answer.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert_eq!(answer.header("access-control-allow-methods"), Some("POST"));

    // The actual request still needs credentials, and carries the CORS grant either way.
    let headers = [JSON, ("origin", "https://app.example.com")];
    let answer = post(harness.http(), "/v1/traces", &headers, "{}").await;
    assert_eq!(answer.status, 401);
    assert_eq!(
        answer.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
}
