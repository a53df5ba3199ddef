//! Tenants: who sent a request (`extensions.tenancy`), what each tenant may send (its limits),
//! which processors run on its data only (`processors.tenant_processors`), and how the tenant
//! travels on exports (`extensions.headers_setter`).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::{OnError, WasmLimits};
use crate::ComponentId;

/// `extensions.tenancy[/name]`, referenced by a receiver's `tenancy:` field.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TenancySettings {
    /// Where the tenant id comes from, in order: the first source that yields a value names
    /// the tenant (default: the `X-Scope-OrgID` header).
    pub sources: Vec<TenantSource>,
    /// The tenant of a request no source identifies (default `default`).
    pub default_tenant: String,
    /// Refuse a request no source identifies (HTTP 401, gRPC `Unauthenticated`) instead of
    /// giving it `default_tenant` (default false).
    pub refuse_unidentified: bool,
    /// Set this resource attribute to the tenant id on every resource the receiver accepts
    /// (e.g. `tenant.id`); unset by default.
    pub set_resource_attribute: Option<String>,
    /// Limits of every tenant without its own entry in `tenants` (default: none).
    pub limits: TenantLimits,
    /// Per tenant settings, by tenant id.
    pub tenants: BTreeMap<String, TenantSettings>,
}

impl Default for TenancySettings {
    fn default() -> Self {
        TenancySettings {
            sources: vec![TenantSource::Header(DEFAULT_TENANT_HEADER.to_owned())],
            default_tenant: "default".to_owned(),
            refuse_unidentified: false,
            set_resource_attribute: None,
            limits: TenantLimits::default(),
            tenants: BTreeMap::new(),
        }
    }
}

impl TenancySettings {
    /// The limits of `tenant`: its own fields where set, the defaults elsewhere.
    pub fn limits_of(&self, tenant: &str) -> TenantLimits {
        match self.tenants.get(tenant) {
            Some(own) => own.limits.or(&self.limits),
            None => self.limits.clone(),
        }
    }
}

/// Grafana Loki's, Mimir's and Tempo's tenant header.
pub const DEFAULT_TENANT_HEADER: &str = "X-Scope-OrgID";

/// One place a tenant id can come from. In YAML a bare word (`basic_auth`, `bearer_token`) or a
/// one-key map (`header: X-Scope-OrgID`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantSource {
    /// The username the BasicAuth authenticator accepted.
    BasicAuth,
    /// The name of the bearer token that matched (`bearertokenauth.named_tokens`).
    BearerToken,
    /// The verified client certificate (mTLS): its common name or its first DNS/URI SAN.
    ClientCertificate(CertificateField),
    /// A request header / gRPC metadata key (case-insensitive).
    Header(String),
    /// A resource attribute. Resolved per resource: one request may carry several tenants,
    /// and is split into one batch per tenant.
    ResourceAttribute(String),
}

const SOURCE_FORMS: &str = "basic_auth, bearer_token, client_certificate: cn|san, \
     header: <name>, resource_attribute: <key>";

impl<'de> Deserialize<'de> for TenantSource {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = serde_yaml::Value::deserialize(d)?;
        let (kind, argument) = match &value {
            serde_yaml::Value::String(kind) => (kind.as_str(), None),
            serde_yaml::Value::Mapping(map) if map.len() == 1 => match map.iter().next() {
                Some((serde_yaml::Value::String(kind), argument)) => {
                    (kind.as_str(), Some(argument))
                }
                _ => return Err(D::Error::custom(format!("expected one of {SOURCE_FORMS}"))),
            },
            _ => return Err(D::Error::custom(format!("expected one of {SOURCE_FORMS}"))),
        };
        let text = |argument: Option<&serde_yaml::Value>| match argument {
            Some(serde_yaml::Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            _ => Err(D::Error::custom(format!("{kind}: needs a non-empty name"))),
        };
        match (kind, argument) {
            ("basic_auth", None) => Ok(TenantSource::BasicAuth),
            ("bearer_token", None) => Ok(TenantSource::BearerToken),
            ("client_certificate", Some(field)) => match field.as_str() {
                Some("cn") => Ok(TenantSource::ClientCertificate(CertificateField::Cn)),
                Some("san") => Ok(TenantSource::ClientCertificate(CertificateField::San)),
                _ => Err(D::Error::custom(
                    "client_certificate: takes cn (common name) or san (first DNS or URI name)",
                )),
            },
            ("header", argument) => text(argument).map(TenantSource::Header),
            ("resource_attribute", argument) => text(argument).map(TenantSource::ResourceAttribute),
            _ => Err(D::Error::custom(format!(
                "unknown tenant source {kind:?}: expected one of {SOURCE_FORMS}"
            ))),
        }
    }
}

/// Which part of a client certificate names the tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateField {
    Cn,
    San,
}

/// `tenancy.tenants.<id>`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TenantSettings {
    /// Replaces the default limits field by field.
    pub limits: TenantLimits,
}

/// What one tenant may send. Unset: the default applies; 0: unlimited.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TenantLimits {
    pub spans_per_second: Option<u64>,
    pub data_points_per_second: Option<u64>,
    pub log_records_per_second: Option<u64>,
    /// Request bytes (as received, before decompression) per second.
    pub bytes_per_second: Option<u64>,
    /// Requests of this tenant being processed at once.
    pub max_concurrent_requests: Option<u32>,
    /// How long a burst at full rate an idle tenant may send at once (default 1s).
    #[serde(with = "humantime_serde")]
    pub burst: Option<Duration>,
}

impl TenantLimits {
    /// `self` where set, `fallback` elsewhere.
    pub fn or(&self, fallback: &TenantLimits) -> TenantLimits {
        TenantLimits {
            spans_per_second: self.spans_per_second.or(fallback.spans_per_second),
            data_points_per_second: self
                .data_points_per_second
                .or(fallback.data_points_per_second),
            log_records_per_second: self
                .log_records_per_second
                .or(fallback.log_records_per_second),
            bytes_per_second: self.bytes_per_second.or(fallback.bytes_per_second),
            max_concurrent_requests: self
                .max_concurrent_requests
                .or(fallback.max_concurrent_requests),
            burst: self.burst.or(fallback.burst),
        }
    }

    /// Whether any limit is set (and not 0).
    pub fn is_limited(&self) -> bool {
        [
            self.spans_per_second,
            self.data_points_per_second,
            self.log_records_per_second,
            self.bytes_per_second,
        ]
        .iter()
        .any(|l| l.is_some_and(|l| l > 0))
            || self.max_concurrent_requests.is_some_and(|c| c > 0)
    }
}

/// `processors.tenant_processors[/name]`: each listed tenant's data goes through its own chain
/// of WebAssembly processors (own instances, own limits), everyone else's through `default`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TenantProcessorsSettings {
    /// By tenant id.
    pub tenants: BTreeMap<String, TenantChain>,
    /// The chain of tenants not listed (and of data without a tenant); default: none, the
    /// data passes unchanged.
    pub default: Option<TenantChain>,
}

/// One tenant's processors.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TenantChain {
    /// Ids of processors defined under `processors:` (transform, wasm, probabilistic_sampler),
    /// run in this order. A processor listed for two tenants runs as separate instances.
    pub processors: Vec<ComponentId>,
    /// Replaces each processor's own `limits` for this tenant.
    pub limits: Option<WasmLimits>,
    /// Replaces each processor's own `on_error` for this tenant.
    pub on_error: Option<OnError>,
}

/// `extensions.headers_setter[/name]`: an exporter's `auth.authenticator` that sets request
/// headers from each batch's context, as the Collector's headers_setter extension.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HeadersSetterSettings {
    pub headers: Vec<HeaderSetting>,
}

/// One header `headers_setter` sets.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HeaderSetting {
    pub key: String,
    /// A fixed value.
    pub value: Option<String>,
    /// A request header / metadata key of the batch (needs `include_metadata` on the receiver).
    pub from_context: Option<String>,
    /// An attribute of the batch's identity: `tenant`, `username`, `token_name`, `client_cn`
    /// or `client_subject`.
    pub from_attribute: Option<String>,
    /// Used when the context or attribute has no value; without it the header is not set.
    pub default_value: Option<String>,
    pub action: HeaderAction,
}

/// Identity attributes `from_attribute` can name.
pub const HEADER_ATTRIBUTES: [&str; 5] = [
    "tenant",
    "username",
    "token_name",
    "client_cn",
    "client_subject",
];

/// What `headers_setter` does when the request already has the header.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeaderAction {
    /// Set only when absent.
    Insert,
    /// Replace only when present.
    Update,
    /// Set, replacing any value (default).
    #[default]
    Upsert,
    /// Remove.
    Delete,
}
