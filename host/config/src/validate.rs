//! Whole-config checks that no single component can make: pipeline references, signal support,
//! authenticator references, TLS versions and limits. Every problem is reported, each with its path.

use std::collections::BTreeSet;

use crate::error::ConfigError;
use crate::id::ComponentId;
use crate::load::{Declared, ids};
use crate::model::*;

pub(crate) fn validate(config: &Config, declared: &Declared, errors: &mut Vec<ConfigError>) {
    pipelines(config, declared, errors);
    connectors(config, errors);
    service_extensions(config, declared, errors);
    for (id, receiver) in &config.receivers {
        let Receiver::Otlp(otlp) = receiver;
        otlp_receiver(config, declared, &format!("receivers.{id}"), otlp, errors);
    }
    for (id, processor) in &config.processors {
        processor_settings(&format!("processors.{id}"), processor, errors);
        if let Processor::TenantProcessors(t) = processor {
            tenant_processors(config, declared, id, t, errors);
        }
    }
    for (id, exporter) in &config.exporters {
        exporter_settings(
            config,
            declared,
            &format!("exporters.{id}"),
            exporter,
            errors,
        );
    }
    for (id, extension) in &config.extensions {
        extension_settings(&format!("extensions.{id}"), extension, errors);
    }
    token_names_as_tenants(config, errors);
}

/// With a `bearer_token` tenant source, a token's name is a tenant id: check it now rather
/// than answer 400 to every request that presents the token.
fn token_names_as_tenants(config: &Config, errors: &mut Vec<ConfigError>) {
    let named_by_token = config.extensions.values().any(
        |e| matches!(e, Extension::Tenancy(t) if t.sources.contains(&TenantSource::BearerToken)),
    );
    if !named_by_token {
        return;
    }
    for (id, extension) in &config.extensions {
        if let Extension::BearerTokenAuth(b) = extension {
            for name in b.named_tokens.iter().flat_map(|n| n.keys()) {
                if !is_tenant_id(name) {
                    errors.push(ConfigError::new(
                        format!("extensions.{id}.named_tokens.{name}"),
                        format!("names a tenant (tenancy source bearer_token): {TENANT_ID_RULE}"),
                    ));
                }
            }
        }
    }
}

fn pipelines(config: &Config, declared: &Declared, errors: &mut Vec<ConfigError>) {
    if config.service.pipelines.is_empty() {
        errors.push(ConfigError::new(
            "service.pipelines",
            "no pipelines configured: add at least one (e.g. traces: {receivers: [otlp], exporters: [debug]})",
        ));
    }
    for (pipeline_id, pipeline) in &config.service.pipelines {
        let base = format!("service.pipelines.{pipeline_id}");
        let signal = pipeline_id.signal;
        if pipeline.receivers.is_empty() {
            errors.push(ConfigError::new(
                format!("{base}.receivers"),
                "a pipeline needs at least one receiver",
            ));
        }
        if pipeline.exporters.is_empty() {
            errors.push(ConfigError::new(
                format!("{base}.exporters"),
                "a pipeline needs at least one exporter",
            ));
        }
        let mut check = |list: &[ComponentId],
                         field: &'static str,
                         noun: &str,
                         defined: &dyn Fn(&ComponentId) -> Option<bool>,
                         known: String| {
            let mut seen = BTreeSet::new();
            for (i, id) in list.iter().enumerate() {
                let path = format!("{base}.{field}[{i}]");
                if !seen.insert(id) {
                    errors.push(ConfigError::new(
                        path,
                        format!("{noun} {id:?} is listed twice"),
                    ));
                    continue;
                }
                match defined(id) {
                    None if declared.contains(field, id) => {}
                    None => errors.push(ConfigError::new(
                        path,
                        format!(
                            "{noun} \"{id}\" is not defined in {field} (defined: {})",
                            if known.is_empty() { "none" } else { &known }
                        ),
                    )),
                    Some(false) => errors.push(ConfigError::new(
                        path,
                        format!("{noun} \"{id}\" does not support {signal}"),
                    )),
                    Some(true) => {}
                }
            }
        };
        check(
            &pipeline.receivers,
            "receivers",
            "receiver",
            &|id| {
                config
                    .receivers
                    .get(id)
                    .map(|r| r.supports(signal))
                    .or_else(|| config.connectors.get(id).map(|c| c.produces(signal)))
            },
            ids(&config.receivers),
        );
        check(
            &pipeline.processors,
            "processors",
            "processor",
            &|id| config.processors.get(id).map(|p| p.supports(signal)),
            ids(&config.processors),
        );
        check(
            &pipeline.exporters,
            "exporters",
            "exporter",
            &|id| {
                config
                    .exporters
                    .get(id)
                    .map(|e| e.supports(signal))
                    .or_else(|| config.connectors.get(id).map(|c| c.consumes(signal)))
            },
            ids(&config.exporters),
        );
    }
}

/// A connector must be the exporter of one pipeline and the receiver of another, as in the
/// Collector.
fn connectors(config: &Config, errors: &mut Vec<ConfigError>) {
    for id in config.connectors.keys() {
        let pipelines = config.service.pipelines.values();
        let exported = pipelines.clone().any(|p| p.exporters.contains(id));
        let received = pipelines.clone().any(|p| p.receivers.contains(id));
        if !(exported && received) {
            errors.push(ConfigError::new(
                format!("connectors.{id}"),
                "a connector must be listed as an exporter of one pipeline and as a receiver of \
                 another (e.g. traces: {exporters: [spanmetrics]}, metrics: {receivers: [spanmetrics]})",
            ));
        }
    }
}

fn service_extensions(config: &Config, declared: &Declared, errors: &mut Vec<ConfigError>) {
    for (i, id) in config.service.extensions.iter().enumerate() {
        if !declared.contains("extensions", id) {
            errors.push(ConfigError::new(
                format!("service.extensions[{i}]"),
                format!(
                    "extension \"{id}\" is not defined in extensions (defined: {})",
                    ids(&config.extensions)
                ),
            ));
        }
    }
}

fn otlp_receiver(
    config: &Config,
    declared: &Declared,
    path: &str,
    otlp: &OtlpReceiverSettings,
    errors: &mut Vec<ConfigError>,
) {
    if let Some(id) = &otlp.tenancy {
        let problem = match config.extensions.get(id) {
            None if declared.contains("extensions", id) => None,
            None => Some(format!(
                "extension \"{id}\" is not defined in extensions (defined: {})",
                ids(&config.extensions)
            )),
            Some(Extension::Tenancy(_)) => (!config.service.extensions.contains(id))
                .then(|| format!("\"{id}\" must also be enabled: add it to service.extensions")),
            Some(_) => Some(format!("\"{id}\" is not a tenancy extension")),
        };
        if let Some(message) = problem {
            errors.push(ConfigError::new(format!("{path}.tenancy"), message));
        }
    }
    let protocols = &otlp.protocols;
    if protocols.grpc.is_none() && protocols.http.is_none() {
        errors.push(ConfigError::new(
            format!("{path}.protocols"),
            "enable at least one protocol (grpc: or http:)",
        ));
    }
    if let Some(grpc) = &protocols.grpc {
        let p = format!("{path}.protocols.grpc");
        endpoint(&format!("{p}.endpoint"), &grpc.endpoint, errors);
        if grpc.transport != "tcp" {
            errors.push(ConfigError::new(
                format!("{p}.transport"),
                "only \"tcp\" is supported",
            ));
        }
        if grpc.max_recv_msg_size_mib == 0 {
            errors.push(ConfigError::new(
                format!("{p}.max_recv_msg_size_mib"),
                "must be at least 1",
            ));
        }
        if let Some(tls) = &grpc.tls {
            server_tls(&format!("{p}.tls"), tls, errors);
        }
        if let Some(auth) = &grpc.auth {
            authenticator(
                config,
                declared,
                &format!("{p}.auth.authenticator"),
                &auth.authenticator,
                AuthSide::Server,
                errors,
            );
        }
    }
    if let Some(http) = &protocols.http {
        let p = format!("{path}.protocols.http");
        endpoint(&format!("{p}.endpoint"), &http.endpoint, errors);
        if http.max_request_body_size == 0 {
            errors.push(ConfigError::new(
                format!("{p}.max_request_body_size"),
                "must be greater than 0",
            ));
        }
        for (field, value) in [
            ("traces_url_path", &http.traces_url_path),
            ("metrics_url_path", &http.metrics_url_path),
            ("logs_url_path", &http.logs_url_path),
        ] {
            if !value.starts_with('/') {
                errors.push(ConfigError::new(
                    format!("{p}.{field}"),
                    format!("{value:?} must start with '/'"),
                ));
            }
        }
        if let Some(tls) = &http.tls {
            server_tls(&format!("{p}.tls"), tls, errors);
        }
        if let Some(auth) = &http.auth {
            authenticator(
                config,
                declared,
                &format!("{p}.auth.authenticator"),
                &auth.authenticator,
                AuthSide::Server,
                errors,
            );
        }
    }
}

/// `host:port` with a numeric port; the host may be empty (all interfaces) or bracketed IPv6.
fn endpoint(path: &str, value: &str, errors: &mut Vec<ConfigError>) {
    let ok = value
        .rsplit_once(':')
        .is_some_and(|(host, port)| port.parse::<u16>().is_ok() && !host.contains("://"));
    if !ok {
        errors.push(ConfigError::new(
            path,
            format!("{value:?} is not a host:port listen address (e.g. 0.0.0.0:4317)"),
        ));
    }
}

fn server_tls(path: &str, tls: &TlsServerSettings, errors: &mut Vec<ConfigError>) {
    tls_versions(path, tls.min_version, tls.max_version, errors);
    let has_cert = tls.cert_file.is_some() || tls.cert_pem.is_some();
    let has_key = tls.key_file.is_some() || tls.key_pem.is_some();
    if tls.cert_file.is_some() && tls.cert_pem.is_some() {
        errors.push(ConfigError::new(
            format!("{path}.cert_pem"),
            "give cert_file or cert_pem, not both",
        ));
    }
    if tls.key_file.is_some() && tls.key_pem.is_some() {
        errors.push(ConfigError::new(
            format!("{path}.key_pem"),
            "give key_file or key_pem, not both",
        ));
    }
    if !has_cert {
        errors.push(ConfigError::new(
            format!("{path}.cert_file"),
            "a TLS server needs a certificate: set cert_file (or cert_pem), or remove tls: for plaintext",
        ));
    }
    if !has_key {
        errors.push(ConfigError::new(
            format!("{path}.key_file"),
            "a TLS server needs a private key: set key_file (or key_pem)",
        ));
    }
}

pub(crate) fn tls_versions(
    path: &str,
    min: Option<TlsVersion>,
    max: Option<TlsVersion>,
    errors: &mut Vec<ConfigError>,
) {
    for (field, version) in [("min_version", min), ("max_version", max)] {
        if let Some(v @ (TlsVersion::V1_0 | TlsVersion::V1_1)) = version {
            errors.push(ConfigError::new(
                format!("{path}.{field}"),
                format!(
                    "TLS {v} is refused: TLS 1.0 and 1.1 are deprecated (RFC 8996) and broken; \
                     use \"1.2\" (the default) or \"1.3\""
                ),
            ));
        }
    }
    if let (Some(min), Some(max)) = (min, max)
        && min > max
    {
        errors.push(ConfigError::new(
            format!("{path}.min_version"),
            format!("min_version {min} is above max_version {max}"),
        ));
    }
}

/// Which end of a connection an `auth.authenticator` reference is on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AuthSide {
    /// A receiver authenticating its clients (`htpasswd`, accepted tokens).
    Server,
    /// An exporter presenting credentials (`client_auth`, `token`/`filename`).
    Client,
}

/// An `auth.authenticator` reference: defined, enabled in `service.extensions`, and able to
/// serve `side`.
fn authenticator(
    config: &Config,
    declared: &Declared,
    path: &str,
    id: &ComponentId,
    side: AuthSide,
    errors: &mut Vec<ConfigError>,
) {
    let unusable = match (config.extensions.get(id), side) {
        (None, _) if declared.contains("extensions", id) => return,
        (None, _) => Some(format!(
            "authenticator \"{id}\" is not defined in extensions (defined: {})",
            ids(&config.extensions)
        )),
        (Some(Extension::BasicAuth(b)), AuthSide::Server) if b.htpasswd.is_none() => Some(format!(
            "\"{id}\" has no htpasswd: section, so it cannot authenticate clients of a receiver"
        )),
        (Some(Extension::BasicAuth(b)), AuthSide::Client) if b.client_auth.is_none() => Some(
            format!("\"{id}\" has no client_auth: section, so an exporter cannot use it"),
        ),
        (Some(Extension::BearerTokenAuth(b)), AuthSide::Client)
            if b.token.is_none() && b.filename.is_none() =>
        {
            Some(format!(
                "\"{id}\" needs token: or filename: to be used by an exporter"
            ))
        }
        (Some(Extension::HeadersSetter(_)), AuthSide::Server) => Some(format!(
            "\"{id}\" sets headers on exports: a receiver cannot authenticate with it"
        )),
        (
            Some(
                Extension::BasicAuth(_)
                | Extension::BearerTokenAuth(_)
                | Extension::HeadersSetter(_),
            ),
            _,
        ) => (!config.service.extensions.contains(id)).then(|| {
            format!("authenticator \"{id}\" must also be enabled: add it to service.extensions")
        }),
        (Some(_), _) => Some(format!("\"{id}\" is not an authenticator")),
    };
    if let Some(message) = unusable {
        errors.push(ConfigError::new(path, message));
    }
}

fn processor_settings(path: &str, processor: &Processor, errors: &mut Vec<ConfigError>) {
    match processor {
        // Needs the other processors: checked by `tenant_processors`.
        Processor::TenantProcessors(_) => {}
        Processor::Batch(b) => {
            if b.send_batch_size == 0 {
                errors.push(ConfigError::new(
                    format!("{path}.send_batch_size"),
                    "must be greater than 0",
                ));
            }
            if b.send_batch_max_size != 0 && b.send_batch_max_size < b.send_batch_size {
                errors.push(ConfigError::new(
                    format!("{path}.send_batch_max_size"),
                    "must be greater than or equal to send_batch_size (or 0 for no bound)",
                ));
            }
            if b.timeout.is_zero() {
                errors.push(ConfigError::new(
                    format!("{path}.timeout"),
                    "must be greater than 0",
                ));
            }
        }
        Processor::Transform(t) => {
            if let Some(mode) = &t.error_mode
                && !["ignore", "silent", "propagate"].contains(&mode.as_str())
            {
                errors.push(ConfigError::new(
                    format!("{path}.error_mode"),
                    format!("{mode:?} is not an error mode (ignore, silent, propagate)"),
                ));
            }
            if t.trace_statements.is_null()
                && t.metric_statements.is_null()
                && t.log_statements.is_null()
            {
                errors.push(ConfigError::new(
                    path,
                    "no statements: set trace_statements, metric_statements or log_statements",
                ));
            }
            wasm_limits(&format!("{path}.limits"), &t.limits, errors);
        }
        Processor::ProbabilisticSampler(g) => {
            wasm_limits(&format!("{path}.limits"), &g.limits, errors);
        }
        Processor::TailSampling(t) => {
            if t.policies.is_empty() {
                errors.push(ConfigError::new(
                    format!("{path}.policies"),
                    "no policies: add at least one (e.g. {name: all, type: always_sample})",
                ));
            }
            if t.num_traces == 0 {
                errors.push(ConfigError::new(
                    format!("{path}.num_traces"),
                    "must be greater than 0",
                ));
            }
            wasm_limits(&format!("{path}.limits"), &t.limits, errors);
        }
        Processor::Wasm(w) => {
            if w.component.as_os_str().is_empty() {
                errors.push(ConfigError::new(
                    format!("{path}.component"),
                    "must name a .wasm component file",
                ));
            }
            wasm_limits(&format!("{path}.limits"), &w.limits, errors);
        }
        Processor::MemoryLimiter(m) => {
            if m.check_interval.is_zero() {
                errors.push(ConfigError::new(
                    format!("{path}.check_interval"),
                    "must be greater than 0",
                ));
            }
            match (m.limit_mib, m.limit_percentage) {
                (0, None) => errors.push(ConfigError::new(
                    format!("{path}.limit_mib"),
                    "set limit_mib (or limit_percentage): the memory limiter needs a limit",
                )),
                (_, Some(p)) if p == 0 || p > 100 => errors.push(ConfigError::new(
                    format!("{path}.limit_percentage"),
                    "must be between 1 and 100",
                )),
                _ => {}
            }
            if let Some(spike) = m.spike_limit_mib
                && m.limit_mib != 0
                && spike >= m.limit_mib
            {
                errors.push(ConfigError::new(
                    format!("{path}.spike_limit_mib"),
                    format!("must be below limit_mib ({})", m.limit_mib),
                ));
            }
        }
    }
}

fn wasm_limits(path: &str, limits: &WasmLimits, errors: &mut Vec<ConfigError>) {
    if limits.memory_mib == 0 || limits.memory_mib > 4096 {
        errors.push(ConfigError::new(
            format!("{path}.memory_mib"),
            "must be between 1 and 4096",
        ));
    }
    if limits.timeout.is_zero() {
        errors.push(ConfigError::new(
            format!("{path}.timeout"),
            "must be greater than 0",
        ));
    }
}

fn extension_settings(path: &str, extension: &Extension, errors: &mut Vec<ConfigError>) {
    match extension {
        Extension::HealthCheck(h) => endpoint(&format!("{path}.endpoint"), &h.endpoint, errors),
        Extension::BasicAuth(b) => {
            if b.htpasswd.is_none() && b.client_auth.is_none() {
                errors.push(ConfigError::new(
                    path,
                    "set htpasswd: (server) or client_auth: (client)",
                ));
            }
            if let Some(h) = &b.htpasswd {
                if h.file.is_none() && h.inline.is_none() {
                    errors.push(ConfigError::new(
                        format!("{path}.htpasswd"),
                        "set file or inline",
                    ));
                }
                if h.file.as_ref().is_some_and(|f| f.as_os_str().is_empty()) {
                    errors.push(ConfigError::new(
                        format!("{path}.htpasswd.file"),
                        "is empty (is the environment variable that sets it defined?)",
                    ));
                }
            }
        }
        Extension::BearerTokenAuth(b) => {
            if b.token.is_none()
                && b.tokens.is_none()
                && b.named_tokens.is_none()
                && b.filename.is_none()
            {
                errors.push(ConfigError::new(
                    path,
                    "set token, tokens, named_tokens or filename",
                ));
            }
            for (name, token) in b.named_tokens.iter().flatten() {
                if name.is_empty() || token.is_empty() {
                    errors.push(ConfigError::new(
                        format!("{path}.named_tokens.{name}"),
                        "names and tokens must not be empty",
                    ));
                }
            }
        }
        Extension::FileStorage(f) => {
            if f.directory.as_os_str().is_empty() {
                errors.push(ConfigError::new(
                    format!("{path}.directory"),
                    "must not be empty",
                ));
            }
        }
        Extension::Tenancy(t) => tenancy(path, t, errors),
        Extension::HeadersSetter(h) => headers_setter(path, h, errors),
    }
}

fn tenancy(path: &str, t: &TenancySettings, errors: &mut Vec<ConfigError>) {
    if t.sources.is_empty() {
        errors.push(ConfigError::new(
            format!("{path}.sources"),
            "list at least one source (basic_auth, bearer_token, client_certificate: cn|san, \
             header: X-Scope-OrgID, resource_attribute: tenant.id)",
        ));
    }
    for (i, source) in t.sources.iter().enumerate() {
        let p = format!("{path}.sources[{i}]");
        match source {
            TenantSource::Header(name)
                if http::HeaderName::from_bytes(name.as_bytes()).is_err() =>
            {
                errors.push(ConfigError::new(
                    p,
                    format!("{name:?} is not a header name"),
                ))
            }
            TenantSource::ResourceAttribute(key) if key.is_empty() => {
                errors.push(ConfigError::new(p, "the attribute key must not be empty"))
            }
            _ => {}
        }
    }
    if !t.refuse_unidentified && !is_tenant_id(&t.default_tenant) {
        errors.push(ConfigError::new(
            format!("{path}.default_tenant"),
            TENANT_ID_RULE,
        ));
    }
    if t.set_resource_attribute.as_deref() == Some("") {
        errors.push(ConfigError::new(
            format!("{path}.set_resource_attribute"),
            "must not be empty (leave it out to set no attribute)",
        ));
    }
    tenant_limits(&format!("{path}.limits"), &t.limits, errors);
    for (tenant, settings) in &t.tenants {
        if !is_tenant_id(tenant) {
            errors.push(ConfigError::new(
                format!("{path}.tenants.{tenant}"),
                TENANT_ID_RULE,
            ));
        }
        tenant_limits(
            &format!("{path}.tenants.{tenant}.limits"),
            &settings.limits,
            errors,
        );
    }
}

fn tenant_limits(path: &str, limits: &TenantLimits, errors: &mut Vec<ConfigError>) {
    if limits.burst.is_some_and(|b| b.is_zero()) {
        errors.push(ConfigError::new(
            format!("{path}.burst"),
            "must be greater than 0",
        ));
    }
}

/// What a tenant id may be: it travels in headers (`X-Scope-OrgID`) and metric labels.
pub const TENANT_ID_RULE: &str =
    "a tenant id is 1 to 128 characters among letters, digits and ! - _ . * ' ( ) @ : +";

/// Whether `id` is a valid tenant id ([`TENANT_ID_RULE`]).
pub fn is_tenant_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!-_.*'()@:+".contains(&b))
}

fn headers_setter(path: &str, h: &HeadersSetterSettings, errors: &mut Vec<ConfigError>) {
    if h.headers.is_empty() {
        errors.push(ConfigError::new(
            format!("{path}.headers"),
            "list at least one header (e.g. {key: X-Scope-OrgID, from_attribute: tenant})",
        ));
    }
    for (i, header) in h.headers.iter().enumerate() {
        let p = format!("{path}.headers[{i}]");
        if http::HeaderName::from_bytes(header.key.as_bytes()).is_err() {
            errors.push(ConfigError::new(
                format!("{p}.key"),
                format!("{:?} is not a header name", header.key),
            ));
        }
        let sources = [
            header.value.is_some(),
            header.from_context.is_some(),
            header.from_attribute.is_some(),
        ]
        .iter()
        .filter(|s| **s)
        .count();
        match (header.action, sources) {
            (HeaderAction::Delete, 0) | (_, 1) => {}
            (HeaderAction::Delete, _) => errors.push(ConfigError::new(
                p.clone(),
                "action: delete takes no value, from_context or from_attribute",
            )),
            _ => errors.push(ConfigError::new(
                p.clone(),
                "set exactly one of value, from_context and from_attribute",
            )),
        }
        if let Some(attribute) = &header.from_attribute
            && !HEADER_ATTRIBUTES.contains(&attribute.as_str())
        {
            errors.push(ConfigError::new(
                format!("{p}.from_attribute"),
                format!(
                    "{attribute:?} is not an identity attribute ({})",
                    HEADER_ATTRIBUTES.join(", ")
                ),
            ));
        }
    }
}

/// A `tenant_processors` processor: its chains name WebAssembly processors that exist and
/// support every signal of the pipelines it is in.
fn tenant_processors(
    config: &Config,
    declared: &Declared,
    id: &ComponentId,
    settings: &TenantProcessorsSettings,
    errors: &mut Vec<ConfigError>,
) {
    let path = format!("processors.{id}");
    let signals: Vec<_> = config
        .service
        .pipelines
        .iter()
        .filter(|(_, p)| p.processors.contains(id))
        .map(|(pid, _)| pid.signal)
        .collect();
    let chains = settings
        .tenants
        .iter()
        .map(|(tenant, chain)| (format!("{path}.tenants.{tenant}"), Some(tenant), chain))
        .chain(
            settings
                .default
                .iter()
                .map(|chain| (format!("{path}.default"), None, chain)),
        );
    for (p, tenant, chain) in chains {
        if let Some(tenant) = tenant
            && !is_tenant_id(tenant)
        {
            errors.push(ConfigError::new(p.clone(), TENANT_ID_RULE));
        }
        if let Some(limits) = &chain.limits {
            wasm_limits(&format!("{p}.limits"), limits, errors);
        }
        for (i, member) in chain.processors.iter().enumerate() {
            let mp = format!("{p}.processors[{i}]");
            match config.processors.get(member) {
                None if declared.contains("processors", member) => {}
                None => errors.push(ConfigError::new(
                    mp,
                    format!(
                        "processor \"{member}\" is not defined in processors (defined: {})",
                        ids(&config.processors)
                    ),
                )),
                Some(
                    processor @ (Processor::Transform(_)
                    | Processor::Wasm(_)
                    | Processor::ProbabilisticSampler(_)),
                ) => {
                    if let Some(signal) = signals.iter().find(|s| !processor.supports(**s)) {
                        errors.push(ConfigError::new(
                            mp,
                            format!("processor \"{member}\" does not support {signal}"),
                        ));
                    }
                }
                Some(_) => errors.push(ConfigError::new(
                    mp,
                    format!(
                        "processor \"{member}\" cannot run per tenant: only transform, wasm \
                         and probabilistic_sampler processors can"
                    ),
                )),
            }
        }
    }
}

fn compression_params(
    path: &str,
    compression: Compression,
    params: &CompressionParams,
    errors: &mut Vec<ConfigError>,
) {
    if let Some(problem) = params.problem(compression) {
        errors.push(ConfigError::new(
            format!("{path}.compression_params.level"),
            problem,
        ));
    }
}

fn exporter_settings(
    config: &Config,
    declared: &Declared,
    path: &str,
    exporter: &Exporter,
    errors: &mut Vec<ConfigError>,
) {
    let url = |field: &str, value: &str, errors: &mut Vec<ConfigError>| {
        if !(value.starts_with("http://") || value.starts_with("https://")) {
            errors.push(ConfigError::new(
                format!("{path}.{field}"),
                format!("{value:?} is not an http:// or https:// URL"),
            ));
        }
    };
    let client_tls = |tls: &TlsClientSettings, errors: &mut Vec<ConfigError>| {
        tls_versions(
            &format!("{path}.tls"),
            tls.min_version,
            tls.max_version,
            errors,
        );
        let cert = tls.cert_file.is_some() || tls.cert_pem.is_some();
        let key = tls.key_file.is_some() || tls.key_pem.is_some();
        if cert != key {
            errors.push(ConfigError::new(
                format!("{path}.tls"),
                "a client certificate needs both cert_file and key_file",
            ));
        }
    };
    match exporter {
        Exporter::File(file) if file.path.as_os_str().is_empty() => {
            errors.push(ConfigError::new(
                format!("{path}.path"),
                "must not be empty",
            ));
        }
        Exporter::OtlpGrpc(s) => {
            if s.endpoint.is_empty() {
                errors.push(ConfigError::new(
                    format!("{path}.endpoint"),
                    "must be set (host:port or https://host:port)",
                ));
            }
            client_tls(&s.tls, errors);
            compression_params(path, s.compression, &s.compression_params, errors);
        }
        Exporter::OtlpHttp(s) => {
            if let Some(e) = &s.endpoint {
                url("endpoint", e, errors);
            }
            for (field, value) in [
                ("traces_endpoint", &s.traces_endpoint),
                ("metrics_endpoint", &s.metrics_endpoint),
                ("logs_endpoint", &s.logs_endpoint),
            ] {
                if let Some(v) = value {
                    url(field, v, errors);
                }
            }
            if s.endpoint.is_none()
                && s.traces_endpoint.is_none()
                && s.metrics_endpoint.is_none()
                && s.logs_endpoint.is_none()
            {
                errors.push(ConfigError::new(
                    format!("{path}.endpoint"),
                    "must be set (e.g. https://backend:4318)",
                ));
            }
            client_tls(&s.tls, errors);
            compression_params(path, s.compression, &s.compression_params, errors);
        }
        Exporter::Loki(s) => {
            url("endpoint", &s.endpoint, errors);
            client_tls(&s.tls, errors);
        }
        Exporter::PrometheusRemoteWrite(s) => {
            url("endpoint", &s.endpoint, errors);
            client_tls(&s.tls, errors);
        }
        Exporter::Prometheus(s) => {
            endpoint(&format!("{path}.endpoint"), &s.endpoint, errors);
            if let Some(tls) = &s.tls {
                server_tls(&format!("{path}.tls"), tls, errors);
            }
        }
        _ => {}
    }
    if let Some(auth) = exporter.auth() {
        authenticator(
            config,
            declared,
            &format!("{path}.auth.authenticator"),
            &auth.authenticator,
            AuthSide::Client,
            errors,
        );
    }
    if let Some(retry) = exporter.retry()
        && retry.enabled
        && (retry.multiplier < 1.0 || !(0.0..=1.0).contains(&retry.randomization_factor))
    {
        errors.push(ConfigError::new(
            format!("{path}.retry_on_failure"),
            "multiplier must be at least 1 and randomization_factor between 0 and 1",
        ));
    }
    if let Some(queue) = exporter.sending_queue() {
        if queue.enabled && (queue.num_consumers == 0 || queue.queue_size == 0) {
            errors.push(ConfigError::new(
                format!("{path}.sending_queue"),
                "num_consumers and queue_size must be at least 1",
            ));
        }
        if let Some(storage) = &queue.storage {
            let p = format!("{path}.sending_queue.storage");
            match config.extensions.get(storage) {
                None if declared.contains("extensions", storage) => {}
                None => errors.push(ConfigError::new(
                    p,
                    format!(
                        "storage \"{storage}\" is not defined in extensions (defined: {})",
                        ids(&config.extensions)
                    ),
                )),
                Some(Extension::FileStorage(_)) => {
                    if !config.service.extensions.contains(storage) {
                        errors.push(ConfigError::new(
                            p.clone(),
                            format!("storage \"{storage}\" must also be enabled: add it to service.extensions"),
                        ));
                    }
                    if !queue.enabled {
                        errors.push(ConfigError::new(
                            p,
                            "storage needs the queue: set sending_queue.enabled: true",
                        ));
                    }
                }
                Some(_) => errors.push(ConfigError::new(
                    p,
                    format!("\"{storage}\" is not a file_storage extension"),
                )),
            }
        }
    }
}
