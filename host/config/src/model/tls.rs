//! TLS settings, in the Collector's `configtls` shape.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// TLS protocol version, as written in the Collector's config ("1.2", "1.3").
///
/// "1.0" and "1.1" parse (so the error can say why they are refused) but fail validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
pub enum TlsVersion {
    #[serde(rename = "1.0")]
    V1_0,
    #[serde(rename = "1.1")]
    V1_1,
    #[serde(rename = "1.2")]
    V1_2,
    #[serde(rename = "1.3")]
    V1_3,
}

impl std::fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TlsVersion::V1_0 => "1.0",
            TlsVersion::V1_1 => "1.1",
            TlsVersion::V1_2 => "1.2",
            TlsVersion::V1_3 => "1.3",
        })
    }
}

/// Server-side TLS (`receivers.otlp.protocols.*.tls`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsServerSettings {
    /// PEM file with the server certificate chain.
    #[serde(default, deserialize_with = "super::empty_as_none")]
    pub cert_file: Option<PathBuf>,
    /// PEM file with the server private key.
    #[serde(default, deserialize_with = "super::empty_as_none")]
    pub key_file: Option<PathBuf>,
    /// Inline PEM certificate chain (instead of `cert_file`).
    pub cert_pem: Option<String>,
    /// Inline PEM private key (instead of `key_file`).
    pub key_pem: Option<String>,
    /// CA bundle that client certificates must chain to. Setting it requires and verifies client
    /// certificates (mTLS).
    #[serde(default, deserialize_with = "super::empty_as_none")]
    pub client_ca_file: Option<PathBuf>,
    /// Accepted for Collector compatibility. On a server it does not enable client verification:
    /// Sluice warns and points at `client_ca_file`.
    #[serde(default, deserialize_with = "super::empty_as_none")]
    pub ca_file: Option<PathBuf>,
    /// Inline form of `ca_file`.
    pub ca_pem: Option<String>,
    /// Lowest TLS version accepted (default "1.2"; "1.0"/"1.1" are refused).
    pub min_version: Option<TlsVersion>,
    /// Highest TLS version accepted (default "1.3").
    pub max_version: Option<TlsVersion>,
    /// Re-read certificate, key and client CA files at this interval (files are also watched).
    #[serde(default, with = "humantime_serde")]
    pub reload_interval: Option<Duration>,
    /// Accepted for Collector compatibility; re-reading the client CA is always on.
    pub client_ca_file_reload: Option<bool>,
    /// Accepted for Collector compatibility and ignored: rustls picks safe suites.
    pub cipher_suites: Option<Vec<String>>,
}

/// Client-side TLS (exporters).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsClientSettings {
    /// Plaintext (no TLS) for gRPC endpoints without a scheme.
    #[serde(default)]
    pub insecure: bool,
    /// CA bundle to verify the server (default: the system roots).
    #[serde(default, deserialize_with = "super::empty_as_none")]
    pub ca_file: Option<PathBuf>,
    pub ca_pem: Option<String>,
    /// Client certificate chain for mTLS.
    #[serde(default, deserialize_with = "super::empty_as_none")]
    pub cert_file: Option<PathBuf>,
    pub cert_pem: Option<String>,
    /// Client private key for mTLS.
    #[serde(default, deserialize_with = "super::empty_as_none")]
    pub key_file: Option<PathBuf>,
    pub key_pem: Option<String>,
    /// Do not verify the server certificate (never in production).
    #[serde(default)]
    pub insecure_skip_verify: bool,
    /// Name to verify the server certificate against instead of the endpoint's host.
    pub server_name_override: Option<String>,
    pub min_version: Option<TlsVersion>,
    pub max_version: Option<TlsVersion>,
    #[serde(default, with = "humantime_serde")]
    pub reload_interval: Option<Duration>,
    pub include_system_ca_certs_pool: Option<bool>,
}
