//! Construction: readable errors naming the field, lazy connections, auth resolution.

use std::collections::BTreeMap;
use std::path::PathBuf;

use sluice_config::{
    AuthReference, BasicAuthSettings, BasicClientAuth, ComponentId, Extension, HealthCheckSettings,
    LokiExporterSettings, OtlpGrpcExporterSettings, OtlpHttpExporterSettings,
};
use sluice_pipeline::metrics::Metrics;

use super::support::init;
use crate::{ClientAuth, ExporterError, LokiExporter, OtlpGrpcExporter, OtlpHttpExporter};

fn grpc(endpoint: &str) -> OtlpGrpcExporterSettings {
    serde_yaml::from_str(&format!("endpoint: {endpoint:?}")).unwrap()
}

fn grpc_error(settings: &OtlpGrpcExporterSettings, auth: Option<ClientAuth>) -> String {
    let id = ComponentId::new("otlp", Some("x"));
    OtlpGrpcExporter::new(&id, settings, auth, Metrics::new().exporter("otlp/x"))
        .err()
        .expect("an error")
        .to_string()
}

#[tokio::test]
async fn errors_name_the_exporter_and_the_field() {
    init();
    let err = grpc_error(&grpc("dns:///collector:4317"), None);
    assert!(
        err.starts_with("exporters.otlp/x.endpoint: \"dns:///collector:4317\" is not usable"),
        "{err}"
    );
    assert!(err.contains("write it like"), "{err}");

    let mut bad_header = grpc("http://collector:4317");
    bad_header.headers = BTreeMap::from([("bad header".to_owned(), "v".to_owned())]);
    let err = grpc_error(&bad_header, None);
    assert!(
        err.starts_with("exporters.otlp/x.headers: \"bad header\""),
        "{err}"
    );

    let mut missing_ca = grpc("collector:4317");
    missing_ca.tls.ca_file = Some(PathBuf::from("/nonexistent/ca.crt"));
    let err = grpc_error(&missing_ca, None);
    assert!(
        err.starts_with("exporters.otlp/x.tls.ca_file: cannot read /nonexistent/ca.crt"),
        "{err}"
    );

    let mut needs_auth = grpc("http://collector:4317");
    needs_auth.auth = Some(AuthReference {
        authenticator: ComponentId::new("basicauth", Some("client")),
    });
    let err = grpc_error(&needs_auth, None);
    assert!(
        err.starts_with("exporters.otlp/x.auth: authenticator basicauth/client was not resolved"),
        "{err}"
    );

    let http: OtlpHttpExporterSettings = serde_yaml::from_str("endpoint: collector:4318").unwrap();
    let err = OtlpHttpExporter::new(
        &ComponentId::new("otlphttp", None),
        &http,
        None,
        Metrics::new().exporter("otlphttp"),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(
        err.starts_with("exporters.otlphttp.endpoint: \"collector:4318/v1/"),
        "{err}"
    );

    let loki: LokiExporterSettings = serde_yaml::from_str(
        "endpoint: http://loki:3100/loki/api/v1/push\nlabels: {attributes: {a.b: 'not-valid'}}",
    )
    .unwrap();
    let err = LokiExporter::new(
        &ComponentId::new("loki", None),
        &loki,
        None,
        Metrics::new().exporter("loki"),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(
        err.starts_with("exporters.loki.labels.attributes.a.b: \"not-valid\""),
        "{err}"
    );
}

#[tokio::test]
async fn an_unreachable_backend_is_not_an_error_at_start() {
    init();
    // Nothing resolves or listens there; construction must not care.
    let settings = grpc("https://collector.invalid:4317");
    let id = ComponentId::new("otlp", None);
    assert!(OtlpGrpcExporter::new(&id, &settings, None, Metrics::new().exporter("otlp")).is_ok());
    let http: OtlpHttpExporterSettings =
        serde_yaml::from_str("endpoint: https://collector.invalid:4318").unwrap();
    let id = ComponentId::new("otlphttp", None);
    assert!(OtlpHttpExporter::new(&id, &http, None, Metrics::new().exporter("otlphttp")).is_ok());
}

#[test]
fn exporters_need_a_runtime() {
    let settings = grpc("http://collector:4317");
    let id = ComponentId::new("otlp", None);
    let err = OtlpGrpcExporter::new(&id, &settings, None, Metrics::new().exporter("otlp"))
        .err()
        .unwrap();
    assert!(matches!(err, ExporterError::NoRuntime { .. }), "{err}");
}

#[test]
fn client_auth_from_extensions() {
    let id = ComponentId::new("basicauth", Some("server"));
    let server_only = Extension::BasicAuth(BasicAuthSettings::default());
    let err = ClientAuth::from_extension(&id, &server_only)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("extensions.basicauth/server: has no client_auth"),
        "{err}"
    );

    let health = Extension::HealthCheck(HealthCheckSettings::default());
    let err = ClientAuth::from_extension(&ComponentId::new("health_check", None), &health)
        .unwrap_err()
        .to_string();
    assert!(err.contains("is not an authenticator"), "{err}");

    let client = Extension::BasicAuth(BasicAuthSettings {
        htpasswd: None,
        client_auth: Some(BasicClientAuth {
            username: "u".into(),
            password: "hunter2".into(),
        }),
    });
    let auth = ClientAuth::from_extension(&id, &client).unwrap();
    let (name, value) = auth.header().unwrap();
    assert_eq!(name, http::header::AUTHORIZATION);
    assert_eq!(value, "Basic dTpodW50ZXIy");
    assert!(value.is_sensitive());
    assert!(!format!("{auth:?}").contains("dTpodW50ZXIy"));

    let bearer = Extension::BearerTokenAuth(sluice_config::BearerTokenAuthSettings::default());
    let err = ClientAuth::from_extension(&ComponentId::new("bearertokenauth", None), &bearer)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("extensions.bearertokenauth: a bearer token client needs"),
        "{err}"
    );
}
