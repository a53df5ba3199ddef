//! Tenants: the `tenancy` extension, `tenant_processors` and `headers_setter`.

use std::time::Duration;

use sluice_config::{
    CertificateField, ConfigErrors, Extension, HeaderAction, Processor, Receiver, TenantSource,
    load_documents,
};

fn load(yaml: &str) -> Result<sluice_config::Config, Vec<String>> {
    load_documents(vec![(Some("t.yaml".into()), yaml.to_owned())], &|_| None)
        .map_err(|ConfigErrors(errs)| errs.iter().map(ToString::to_string).collect())
}

const GOOD: &str = r#"
extensions:
  tenancy:
    sources:
      - basic_auth
      - bearer_token
      - client_certificate: cn
      - header: X-Scope-OrgID
      - resource_attribute: tenant.id
    default_tenant: shared
    set_resource_attribute: tenant.id
    limits: {spans_per_second: 1000, burst: 2s}
    tenants:
      acme: {limits: {spans_per_second: 0, max_concurrent_requests: 4}}
  headers_setter:
    headers:
      - {key: X-Scope-OrgID, from_attribute: tenant}
      - {key: X-Team, from_context: x-team, default_value: none, action: insert}
receivers:
  otlp:
    tenancy: tenancy
    protocols: {http: {endpoint: "127.0.0.1:0"}}
processors:
  transform/acme: {trace_statements: ['set(attributes["t"], "acme")']}
  tenant_processors:
    tenants:
      acme: {processors: [transform/acme], limits: {memory_mib: 16, timeout: 20ms}, on_error: drop}
    default: {processors: []}
exporters:
  otlphttp: {endpoint: "http://localhost:1", auth: {authenticator: headers_setter}}
service:
  extensions: [tenancy, headers_setter]
  pipelines: {traces: {receivers: [otlp], processors: [tenant_processors], exporters: [otlphttp]}}
"#;

#[test]
fn a_full_tenancy_config_loads() {
    let config = load(GOOD).unwrap_or_else(|e| panic!("{e:#?}"));
    let Some(Extension::Tenancy(t)) = config.extensions.get(&"tenancy".parse().unwrap()) else {
        panic!("no tenancy");
    };
    assert_eq!(
        t.sources,
        vec![
            TenantSource::BasicAuth,
            TenantSource::BearerToken,
            TenantSource::ClientCertificate(CertificateField::Cn),
            TenantSource::Header("X-Scope-OrgID".into()),
            TenantSource::ResourceAttribute("tenant.id".into()),
        ]
    );
    let acme = t.limits_of("acme");
    assert_eq!(
        acme.spans_per_second,
        Some(0),
        "the tenant's own 0 means unlimited"
    );
    assert_eq!(acme.max_concurrent_requests, Some(4));
    assert_eq!(acme.burst, Some(Duration::from_secs(2)), "inherited");
    assert_eq!(t.limits_of("other").spans_per_second, Some(1000));
    let Some(Extension::HeadersSetter(h)) =
        config.extensions.get(&"headers_setter".parse().unwrap())
    else {
        panic!("no headers_setter");
    };
    assert_eq!(h.headers[1].action, HeaderAction::Insert);
    let Some(Receiver::Otlp(otlp)) = config.receivers.get(&"otlp".parse().unwrap()) else {
        panic!("no receiver");
    };
    assert_eq!(
        otlp.tenancy.as_ref().map(ToString::to_string).as_deref(),
        Some("tenancy")
    );
    let Some(Processor::TenantProcessors(tp)) =
        config.processors.get(&"tenant_processors".parse().unwrap())
    else {
        panic!("no tenant_processors");
    };
    assert_eq!(tp.tenants["acme"].processors.len(), 1);
}

#[test]
fn the_default_source_is_the_x_scope_orgid_header() {
    let config = load(&GOOD.replace(
        "    sources:\n      - basic_auth\n      - bearer_token\n      - client_certificate: cn\n      - header: X-Scope-OrgID\n      - resource_attribute: tenant.id\n",
        "",
    ))
    .unwrap_or_else(|e| panic!("{e:#?}"));
    let Some(Extension::Tenancy(t)) = config.extensions.get(&"tenancy".parse().unwrap()) else {
        panic!("no tenancy");
    };
    assert_eq!(
        t.sources,
        vec![TenantSource::Header("X-Scope-OrgID".into())]
    );
}

#[test]
fn bad_tenancy_settings_are_reported_with_their_paths() {
    let errs = load(&GOOD.replace("client_certificate: cn", "client_certificate: serial"))
        .expect_err("invalid");
    assert!(
        errs.iter().any(|e| e.contains(
            "extensions.tenancy.sources[2]: client_certificate: takes cn (common name) or san"
        )),
        "{errs:#?}"
    );
    let bad = GOOD
        .replace("default_tenant: shared", "default_tenant: 'two words'")
        .replace("acme: {limits", "'a/b': {limits")
        .replace("from_context: x-team,", "from_context: x-team, value: v,")
        .replace("from_attribute: tenant}", "from_attribute: password}")
        .replace("tenancy: tenancy\n", "tenancy: headers_setter\n");
    let errs = load(&bad).expect_err("invalid");
    for expected in [
        "extensions.tenancy.default_tenant: a tenant id is",
        "extensions.tenancy.tenants.a/b: a tenant id is",
        "extensions.headers_setter.headers[1]: set exactly one of",
        "extensions.headers_setter.headers[0].from_attribute: \"password\" is not an identity attribute",
        "receivers.otlp.tenancy: \"headers_setter\" is not a tenancy extension",
    ] {
        assert!(
            errs.iter().any(|e| e.contains(expected)),
            "{expected}\n{errs:#?}"
        );
    }
}

#[test]
fn tenant_chains_name_guest_processors_that_exist() {
    let bad = GOOD
        .replace(
            "[transform/acme]",
            "[transform/acme, batch, transform/nope]",
        )
        .replace(
            "processors:\n  transform/acme",
            "processors:\n  batch: {}\n  transform/acme",
        );
    let errs = load(&bad).expect_err("invalid");
    for expected in [
        "processors.tenant_processors.tenants.acme.processors[1]: processor \"batch\" cannot run per tenant",
        "processors.tenant_processors.tenants.acme.processors[2]: processor \"transform/nope\" is not defined",
    ] {
        assert!(
            errs.iter().any(|e| e.contains(expected)),
            "{expected}\n{errs:#?}"
        );
    }
}

#[test]
fn a_receiver_cannot_authenticate_with_headers_setter_nor_use_a_disabled_tenancy() {
    let bad = GOOD
        .replace(
            "protocols: {http: {endpoint: \"127.0.0.1:0\"}}",
            "protocols: {http: {endpoint: \"127.0.0.1:0\", auth: {authenticator: headers_setter}}}",
        )
        .replace(
            "extensions: [tenancy, headers_setter]",
            "extensions: [headers_setter]",
        );
    let errs = load(&bad).expect_err("invalid");
    for expected in [
        "receivers.otlp.protocols.http.auth.authenticator: \"headers_setter\" sets headers on exports",
        "receivers.otlp.tenancy: \"tenancy\" must also be enabled",
    ] {
        assert!(
            errs.iter().any(|e| e.contains(expected)),
            "{expected}\n{errs:#?}"
        );
    }
}

#[test]
fn token_names_must_be_tenant_ids_when_they_name_tenants() {
    let with_token = GOOD.replace(
        "  headers_setter:\n",
        "  bearertokenauth: {named_tokens: {'team a': t0k3n}}\n  headers_setter:\n",
    );
    let errs = load(&with_token).expect_err("invalid");
    assert!(
        errs.iter().any(|e| e.contains(
            "extensions.bearertokenauth.named_tokens.team a: names a tenant (tenancy source bearer_token)"
        )),
        "{errs:#?}"
    );
    let without_source = with_token.replace("      - bearer_token\n", "");
    assert!(
        load(&without_source).is_ok(),
        "only a bearer_token source makes names tenant ids"
    );
}
