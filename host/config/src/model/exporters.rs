//! Exporter settings: `debug`, `file`, `otlp`, `otlphttp` and `loki`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::{
    AuthReference, Compression, CompressionParams, QueueSettings, RetrySettings, TlsClientSettings,
};

/// How much the debug exporter prints, as the Collector's `verbosity`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verbosity {
    #[default]
    Basic,
    Normal,
    Detailed,
}

/// `exporters.debug[/name]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DebugSettings {
    pub verbosity: Verbosity,
    /// Accepted for Collector compatibility (log sampling of the debug output).
    pub sampling_initial: Option<u64>,
    pub sampling_thereafter: Option<u64>,
    pub use_internal_logger: Option<bool>,
}

/// `exporters.file[/name]`: OTLP/JSON, one request per line.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    pub path: PathBuf,
    /// `json` (default) or `proto` (length-prefixed protobuf, as the Collector).
    #[serde(default)]
    pub format: FileFormat,
    /// How often written data is fsynced (`1s`, or nanoseconds); absent or 0: only at shutdown.
    /// Every request is written to the OS before it is acknowledged either way.
    #[serde(default)]
    pub flush_interval: Option<serde_yaml::Value>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    #[default]
    Json,
    Proto,
}

/// `exporters.otlp[/name]` (also `otlp_grpc`): OTLP over gRPC.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtlpGrpcExporterSettings {
    /// `host:port` or a URL (`https://host:port`). Without a scheme, TLS is used unless
    /// `tls.insecure` is set (as the Collector).
    pub endpoint: String,
    #[serde(default)]
    pub tls: TlsClientSettings,
    /// Extra gRPC metadata on every call.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub compression: Compression,
    #[serde(default)]
    pub compression_params: CompressionParams,
    /// Deadline of one export call (default 5s).
    #[serde(default = "default_grpc_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    pub auth: Option<AuthReference>,
    #[serde(default)]
    pub retry_on_failure: RetrySettings,
    #[serde(default)]
    pub sending_queue: QueueSettings,
    /// Overrides the `:authority` of requests.
    pub authority: Option<String>,
    /// Accepted for Collector compatibility and ignored.
    pub keepalive: Option<serde_yaml::Value>,
    pub balancer_name: Option<String>,
    pub wait_for_ready: Option<bool>,
    pub read_buffer_size: Option<serde_yaml::Value>,
    pub write_buffer_size: Option<serde_yaml::Value>,
}

/// `exporters.otlphttp[/name]` (also `otlp_http`): OTLP over HTTP.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtlpHttpExporterSettings {
    /// Base URL; `/v1/traces`, `/v1/metrics`, `/v1/logs` are appended per signal.
    pub endpoint: Option<String>,
    /// Full URL for one signal, used as is (overrides `endpoint` for that signal).
    pub traces_endpoint: Option<String>,
    pub metrics_endpoint: Option<String>,
    pub logs_endpoint: Option<String>,
    #[serde(default)]
    pub tls: TlsClientSettings,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub compression: Compression,
    #[serde(default)]
    pub compression_params: CompressionParams,
    /// `proto` (default) or `json`.
    #[serde(default)]
    pub encoding: HttpEncoding,
    /// Deadline of one request (default 30s).
    #[serde(default = "default_http_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    pub auth: Option<AuthReference>,
    #[serde(default)]
    pub retry_on_failure: RetrySettings,
    #[serde(default)]
    pub sending_queue: QueueSettings,
    /// Accepted for Collector compatibility and ignored.
    pub read_buffer_size: Option<serde_yaml::Value>,
    pub write_buffer_size: Option<serde_yaml::Value>,
    pub max_idle_conns: Option<serde_yaml::Value>,
    pub max_idle_conns_per_host: Option<serde_yaml::Value>,
    pub max_conns_per_host: Option<serde_yaml::Value>,
    pub idle_conn_timeout: Option<serde_yaml::Value>,
    pub disable_keep_alives: Option<bool>,
    pub http2_read_idle_timeout: Option<serde_yaml::Value>,
    pub http2_ping_timeout: Option<serde_yaml::Value>,
    pub proxy_url: Option<String>,
}

impl OtlpHttpExporterSettings {
    /// The URL a signal is posted to.
    pub fn url(&self, signal: crate::Signal) -> Option<String> {
        let (explicit, path) = match signal {
            crate::Signal::Traces => (&self.traces_endpoint, "v1/traces"),
            crate::Signal::Metrics => (&self.metrics_endpoint, "v1/metrics"),
            crate::Signal::Logs => (&self.logs_endpoint, "v1/logs"),
        };
        if let Some(url) = explicit {
            return Some(url.clone());
        }
        let base = self.endpoint.as_ref()?;
        Some(format!("{}/{path}", base.trim_end_matches('/')))
    }
}

/// Body encoding of the OTLP/HTTP exporter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HttpEncoding {
    #[default]
    Proto,
    Json,
}

/// `exporters.loki[/name]`: Loki's push API (`/loki/api/v1/push`, JSON), for Loki versions
/// without the native `/otlp` endpoint.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LokiExporterSettings {
    /// Full push URL, e.g. `https://loki:3100/loki/api/v1/push`.
    pub endpoint: String,
    #[serde(default)]
    pub tls: TlsClientSettings,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Sent as `X-Scope-OrgID`.
    pub tenant_id: Option<String>,
    /// Which attributes become stream labels.
    #[serde(default)]
    pub labels: LokiLabels,
    #[serde(default)]
    pub compression: Compression,
    #[serde(default = "default_http_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    pub auth: Option<AuthReference>,
    #[serde(default)]
    pub retry_on_failure: RetrySettings,
    #[serde(default)]
    pub sending_queue: QueueSettings,
}

/// Attribute name → label name; an empty label name keeps the attribute name with `.`
/// replaced by `_` (`service.name` → `service_name`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LokiLabels {
    pub resource: BTreeMap<String, String>,
    pub attributes: BTreeMap<String, String>,
    /// Add `level` from the record's severity (default true).
    pub level: bool,
}

impl Default for LokiLabels {
    fn default() -> Self {
        LokiLabels {
            resource: BTreeMap::from([("service.name".to_owned(), String::new())]),
            attributes: BTreeMap::new(),
            level: true,
        }
    }
}

fn default_grpc_timeout() -> Duration {
    Duration::from_secs(5)
}

fn default_http_timeout() -> Duration {
    Duration::from_secs(30)
}
