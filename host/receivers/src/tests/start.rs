//! What `start` checks before serving: endpoints, authenticator references, TLS material.

use sluice_config::{AuthReference, ComponentId, OtlpReceiverSettings, TlsServerSettings};
use sluice_pipeline::metrics::Metrics;

use super::{Harness, Recorder, id, settings};
use crate::{Authenticators, ReceiverError, SignalConsumers};

async fn start_error(settings: OtlpReceiverSettings) -> ReceiverError {
    let started = crate::start(
        &id(),
        &settings,
        SignalConsumers::default(),
        &Authenticators::new(),
        &crate::Tenancies::new(),
        &Metrics::new(),
    )
    .await;
    match started {
        Ok(_) => panic!("start should fail"),
        Err(error) => error,
    }
}

#[tokio::test]
async fn localhost_endpoints_bind_to_the_loopback_address() {
    let settings = settings(|grpc, http| {
        grpc.endpoint = "localhost:0".into();
        http.endpoint = "localhost:0".into();
    });
    let harness = Harness::start(settings, Recorder::new().consumers()).await;
    assert!(harness.grpc().ip().is_loopback());
    assert!(harness.http().ip().is_loopback());
    assert_ne!(harness.grpc().port(), 0);
}

#[tokio::test]
async fn an_endpoint_in_use_fails_start_naming_the_field() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let error = start_error(settings(|grpc, _| grpc.endpoint = addr.to_string())).await;
    assert_eq!(
        error.to_string(),
        format!(
            "receivers.otlp.protocols.grpc.endpoint: cannot listen on {addr}: address in use; \
             stop the other process or pick another port"
        )
    );
}

#[tokio::test]
async fn an_unresolvable_endpoint_fails_start() {
    let error = start_error(settings(|_, http| http.endpoint = "no-port".into())).await;
    assert!(
        error
            .to_string()
            .starts_with("receivers.otlp.protocols.http.endpoint: cannot resolve \"no-port\""),
        "{error}"
    );
}

#[tokio::test]
async fn an_unknown_authenticator_fails_start_naming_it() {
    let reference = AuthReference {
        authenticator: ComponentId::new("basicauth", Some("missing")),
    };
    let error = start_error(settings(|_, http| http.auth = Some(reference))).await;
    assert!(
        error.to_string().starts_with(
            "receivers.otlp.protocols.http.auth.authenticator: \"basicauth/missing\" is not a \
             configured server authenticator"
        ),
        "{error}"
    );
}

#[tokio::test]
async fn missing_tls_files_fail_start_naming_the_field() {
    sluice_tls::install_crypto_provider();
    let tls = TlsServerSettings {
        cert_file: Some("/nonexistent/server.crt".into()),
        key_file: Some("/nonexistent/server.key".into()),
        ..Default::default()
    };
    let error = start_error(settings(|grpc, _| grpc.tls = Some(tls))).await;
    assert!(
        error.to_string().starts_with(
            "receivers.otlp.protocols.grpc.tls.cert_file: cannot read /nonexistent/server.crt"
        ),
        "{error}"
    );
}

#[tokio::test]
async fn duplicate_url_paths_fail_start() {
    let error = start_error(settings(|_, http| http.logs_url_path = "/v1/traces".into())).await;
    assert_eq!(
        error.to_string(),
        "receivers.otlp.protocols.http.logs_url_path: \"/v1/traces\" is already the path of traces"
    );
}

#[tokio::test]
async fn an_http_only_receiver_has_no_grpc_address() {
    let mut settings = settings(|_, _| {});
    settings.protocols.grpc = None;
    let harness = Harness::start(settings, Recorder::new().consumers()).await;
    assert!(harness.receiver.grpc_addr().is_none());
    assert!(harness.receiver.http_addr().is_some());
}
