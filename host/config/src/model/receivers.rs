//! Receiver settings: `otlp` with `protocols.grpc` and `protocols.http`.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::auth::AuthReference;
use super::tls::TlsServerSettings;

/// `receivers.otlp[/name]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtlpReceiverSettings {
    #[serde(default)]
    pub protocols: OtlpProtocols,
    /// A `tenancy` extension that names the tenant of each request and enforces its limits.
    #[serde(default)]
    pub tenancy: Option<crate::ComponentId>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtlpProtocols {
    /// `grpc:` present (even empty) enables the gRPC server.
    #[serde(default, deserialize_with = "super::present_or_null")]
    pub grpc: Option<GrpcServerSettings>,
    /// `http:` present (even empty) enables the HTTP server.
    #[serde(default, deserialize_with = "super::present_or_null")]
    pub http: Option<HttpServerSettings>,
}

/// `protocols.grpc`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GrpcServerSettings {
    /// Listen address (default `localhost:4317`).
    pub endpoint: String,
    /// Accepted for Collector compatibility: only `tcp` is supported.
    pub transport: String,
    pub tls: Option<TlsServerSettings>,
    pub auth: Option<AuthReference>,
    /// Largest accepted message after decompression, in MiB (default 4).
    pub max_recv_msg_size_mib: u64,
    pub max_concurrent_streams: Option<u32>,
    /// Make request metadata and the authenticated identity available to later stages.
    pub include_metadata: bool,
    pub keepalive: Option<serde_yaml::Value>,
    pub read_buffer_size: Option<u64>,
    pub write_buffer_size: Option<u64>,
}

impl Default for GrpcServerSettings {
    fn default() -> Self {
        GrpcServerSettings {
            endpoint: "localhost:4317".into(),
            transport: "tcp".into(),
            tls: None,
            auth: None,
            max_recv_msg_size_mib: 4,
            max_concurrent_streams: None,
            include_metadata: false,
            keepalive: None,
            read_buffer_size: None,
            write_buffer_size: None,
        }
    }
}

/// `protocols.http`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpServerSettings {
    /// Listen address (default `localhost:4318`).
    pub endpoint: String,
    pub tls: Option<TlsServerSettings>,
    pub auth: Option<AuthReference>,
    /// Largest accepted body, before and after decompression, in bytes (default 20 MiB).
    pub max_request_body_size: u64,
    pub include_metadata: bool,
    pub traces_url_path: String,
    pub metrics_url_path: String,
    pub logs_url_path: String,
    pub cors: Option<CorsSettings>,
    /// Extra response headers.
    pub response_headers: BTreeMap<String, String>,
}

impl Default for HttpServerSettings {
    fn default() -> Self {
        HttpServerSettings {
            endpoint: "localhost:4318".into(),
            tls: None,
            auth: None,
            max_request_body_size: 20 * 1024 * 1024,
            include_metadata: false,
            traces_url_path: "/v1/traces".into(),
            metrics_url_path: "/v1/metrics".into(),
            logs_url_path: "/v1/logs".into(),
            cors: None,
            response_headers: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsSettings {
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    #[serde(default)]
    pub allowed_headers: Vec<String>,
    pub max_age: Option<u64>,
}
