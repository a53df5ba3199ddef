//! Prometheus exporter settings: `prometheus` (a scrape endpoint) and `prometheusremotewrite`
//! (pushes to a remote-write receiver), with the OpenTelemetry Collector's field names and
//! defaults (opentelemetry-collector-contrib `exporter/prometheusexporter/config.go` and
//! `exporter/prometheusremotewriteexporter/{config.go,factory.go}`).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::{AuthReference, RetrySettings, TlsClientSettings, TlsServerSettings};

/// `resource_to_telemetry_conversion`: copy every resource attribute onto every data point as a
/// label (a resource attribute replaces a data point attribute of the same name, as the
/// Collector's `resourcetotelemetry` wrapper does).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResourceToTelemetrySettings {
    /// Off by default: only `job`, `instance` and `target_info` carry resource attributes.
    pub enabled: bool,
}

/// `translation_strategy`: how OTLP names become Prometheus names. When set it overrides
/// `add_metric_suffixes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum TranslationStrategy {
    /// Invalid characters become `_`; unit and type suffixes are added (the default behaviour).
    UnderscoreEscapingWithSuffixes,
    /// Invalid characters become `_`; no unit or `_total` suffixes.
    UnderscoreEscapingWithoutSuffixes,
    /// UTF-8 names with suffixes. Parsed so the exporter can refuse it by name: the text
    /// format 0.0.4 and remote write 1.0 need classic names.
    #[serde(rename = "NoUTF8EscapingWithSuffixes")]
    NoUtf8EscapingWithSuffixes,
    /// Names passed through untouched. Parsed so the exporter can refuse it by name (see above).
    NoTranslation,
}

impl TranslationStrategy {
    /// Whether unit and type suffixes are added, for the strategies Sluice implements; `None`
    /// for the UTF-8 strategies it refuses.
    pub fn add_suffixes(self) -> Option<bool> {
        match self {
            TranslationStrategy::UnderscoreEscapingWithSuffixes => Some(true),
            TranslationStrategy::UnderscoreEscapingWithoutSuffixes => Some(false),
            TranslationStrategy::NoUtf8EscapingWithSuffixes
            | TranslationStrategy::NoTranslation => None,
        }
    }

    /// The spelling used in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            TranslationStrategy::UnderscoreEscapingWithSuffixes => "UnderscoreEscapingWithSuffixes",
            TranslationStrategy::UnderscoreEscapingWithoutSuffixes => {
                "UnderscoreEscapingWithoutSuffixes"
            }
            TranslationStrategy::NoUtf8EscapingWithSuffixes => "NoUTF8EscapingWithSuffixes",
            TranslationStrategy::NoTranslation => "NoTranslation",
        }
    }
}

/// `exporters.prometheus[/name]`: serves the metrics it receives on `GET /metrics` for a
/// Prometheus server to scrape.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrometheusExporterSettings {
    /// `host:port` to listen on, e.g. `0.0.0.0:8889` (required).
    pub endpoint: String,
    /// Serve HTTPS with this certificate (and require client certificates with
    /// `client_ca_file`). Absent: plaintext HTTP.
    pub tls: Option<TlsServerSettings>,
    /// Prefix of every metric name (`namespace_metric`); empty: none.
    #[serde(default)]
    pub namespace: String,
    /// Labels added to every series (a data point attribute of the same name wins).
    #[serde(default)]
    pub const_labels: BTreeMap<String, String>,
    /// Write each sample's own timestamp (milliseconds) after its value. Default false: the
    /// scrape time is used, as Prometheus recommends.
    #[serde(default)]
    pub send_timestamps: bool,
    /// A series not updated for this long is no longer served (default 5m).
    #[serde(default = "default_metric_expiration", with = "humantime_serde")]
    pub metric_expiration: Duration,
    /// Copy resource attributes onto every series as labels.
    #[serde(default)]
    pub resource_to_telemetry_conversion: ResourceToTelemetrySettings,
    /// Accepted for Collector compatibility: Sluice always serves the Prometheus text format
    /// 0.0.4, which every Prometheus version scrapes.
    #[serde(default)]
    pub enable_open_metrics: bool,
    /// Add unit suffixes (`_seconds`, `_bytes`, `_ratio`) and `_total` to counters (default
    /// true). Ignored when `translation_strategy` is set.
    #[serde(default = "default_true")]
    pub add_metric_suffixes: bool,
    /// Overrides `add_metric_suffixes`; the UTF-8 strategies are refused at start.
    pub translation_strategy: Option<TranslationStrategy>,
}

impl PrometheusExporterSettings {
    /// Settings with the Collector's defaults for `endpoint`.
    pub fn new(endpoint: impl Into<String>) -> Self {
        PrometheusExporterSettings {
            endpoint: endpoint.into(),
            tls: None,
            namespace: String::new(),
            const_labels: BTreeMap::new(),
            send_timestamps: false,
            metric_expiration: default_metric_expiration(),
            resource_to_telemetry_conversion: ResourceToTelemetrySettings::default(),
            enable_open_metrics: false,
            add_metric_suffixes: true,
            translation_strategy: None,
        }
    }
}

/// `remote_write_queue`: the Collector's queue in front of remote write. Accepted for Collector
/// compatibility; how Sluice queues remote-write requests is the sender's business.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RemoteWriteQueueSettings {
    /// Default true.
    pub enabled: bool,
    /// Requests the queue holds (default 10000).
    pub queue_size: usize,
    /// Concurrent senders (default 5).
    pub num_consumers: usize,
}

impl Default for RemoteWriteQueueSettings {
    fn default() -> Self {
        RemoteWriteQueueSettings {
            enabled: true,
            queue_size: 10_000,
            num_consumers: 5,
        }
    }
}

/// `target_info`: whether a `target_info` series carries the resource attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TargetInfoSettings {
    /// Default true.
    pub enabled: bool,
}

impl Default for TargetInfoSettings {
    fn default() -> Self {
        TargetInfoSettings { enabled: true }
    }
}

/// `exporters.prometheusremotewrite[/name]`: Prometheus remote write 1.0 (snappy-compressed
/// protobuf `prometheus.WriteRequest`) to `endpoint`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteWriteExporterSettings {
    /// Full URL of the receiver, e.g. `https://prometheus:9090/api/v1/write` (required).
    pub endpoint: String,
    /// Extra HTTP headers on every request (e.g. `X-Scope-OrgID`). The remote-write headers
    /// (`Content-Encoding`, `Content-Type`, `X-Prometheus-Remote-Write-Version`) cannot be
    /// replaced.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Client TLS: CA to trust, client certificate for mTLS.
    #[serde(default)]
    pub tls: TlsClientSettings,
    /// A client authenticator extension (`basicauth`, `bearertokenauth`).
    pub auth: Option<AuthReference>,
    /// Labels added to every series (a data point attribute of the same name wins).
    #[serde(default)]
    pub external_labels: BTreeMap<String, String>,
    /// Prefix of every metric name; empty: none.
    #[serde(default)]
    pub namespace: String,
    /// Copy resource attributes onto every series as labels.
    #[serde(default)]
    pub resource_to_telemetry_conversion: ResourceToTelemetrySettings,
    /// Add unit suffixes and `_total` (default true). Ignored when `translation_strategy` is set.
    #[serde(default = "default_true")]
    pub add_metric_suffixes: bool,
    /// Overrides `add_metric_suffixes`; the UTF-8 strategies are refused.
    pub translation_strategy: Option<TranslationStrategy>,
    /// Deadline of one HTTP request (default 5s).
    #[serde(default = "default_remote_write_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// Retries of failed requests. Absent: the Collector's remote-write defaults (enabled,
    /// 50ms initial, 200ms max interval, 1m max elapsed). Fields left out of a given block take
    /// the general exporter defaults (5s initial, 30s max, 300s elapsed).
    #[serde(default = "default_remote_write_retry")]
    pub retry_on_failure: RetrySettings,
    /// Accepted for Collector compatibility (see [`RemoteWriteQueueSettings`]).
    #[serde(default)]
    pub remote_write_queue: RemoteWriteQueueSettings,
    /// A request's uncompressed protobuf stays below this many bytes (default 3000000); larger
    /// exports are split into several requests.
    #[serde(default = "default_max_batch_size_bytes")]
    pub max_batch_size_bytes: usize,
    /// The `target_info` series (default enabled).
    #[serde(default)]
    pub target_info: TargetInfoSettings,
    /// Also send metric metadata (type, help, unit), in separate requests after the samples.
    #[serde(default)]
    pub send_metadata: bool,
    /// Accepted for Collector compatibility and ignored.
    pub max_batch_request_parallelism: Option<usize>,
}

impl RemoteWriteExporterSettings {
    /// Settings with the Collector's defaults for `endpoint`.
    pub fn new(endpoint: impl Into<String>) -> Self {
        RemoteWriteExporterSettings {
            endpoint: endpoint.into(),
            headers: BTreeMap::new(),
            tls: TlsClientSettings::default(),
            auth: None,
            external_labels: BTreeMap::new(),
            namespace: String::new(),
            resource_to_telemetry_conversion: ResourceToTelemetrySettings::default(),
            add_metric_suffixes: true,
            translation_strategy: None,
            timeout: default_remote_write_timeout(),
            retry_on_failure: default_remote_write_retry(),
            remote_write_queue: RemoteWriteQueueSettings::default(),
            max_batch_size_bytes: default_max_batch_size_bytes(),
            target_info: TargetInfoSettings::default(),
            send_metadata: false,
            max_batch_request_parallelism: None,
        }
    }
}

fn default_true() -> bool {
    true
}

fn default_metric_expiration() -> Duration {
    Duration::from_secs(5 * 60)
}

fn default_remote_write_timeout() -> Duration {
    Duration::from_secs(5)
}

fn default_max_batch_size_bytes() -> usize {
    3_000_000
}

fn default_remote_write_retry() -> RetrySettings {
    RetrySettings {
        enabled: true,
        initial_interval: Duration::from_millis(50),
        max_interval: Duration::from_millis(200),
        max_elapsed_time: Duration::from_secs(60),
        ..RetrySettings::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse<T: serde::de::DeserializeOwned>(yaml: &str) -> Result<T, serde_yaml::Error> {
        serde_yaml::from_str(yaml)
    }

    #[test]
    fn prometheus_minimal_takes_collector_defaults() {
        let s: PrometheusExporterSettings = parse("endpoint: 0.0.0.0:8889").unwrap();
        assert_eq!(s, PrometheusExporterSettings::new("0.0.0.0:8889"));
        assert_eq!(s.metric_expiration, Duration::from_secs(300));
        assert!(s.add_metric_suffixes);
        assert!(!s.send_timestamps);
        assert!(!s.resource_to_telemetry_conversion.enabled);
        assert!(s.tls.is_none());
    }

    #[test]
    fn prometheus_full_collector_example() {
        let yaml = r#"
endpoint: "1.2.3.4:1234"
tls:
  ca_file: "/path/to/ca.pem"
  cert_file: "/path/to/cert.pem"
  key_file: "/path/to/key.pem"
namespace: test-space
const_labels:
  label1: value1
  "another label": spaced value
send_timestamps: true
metric_expiration: 180m
enable_open_metrics: true
add_metric_suffixes: false
resource_to_telemetry_conversion:
  enabled: true
"#;
        let s: PrometheusExporterSettings = parse(yaml).unwrap();
        assert_eq!(s.endpoint, "1.2.3.4:1234");
        let tls = s.tls.unwrap();
        assert_eq!(tls.cert_file.unwrap().to_str(), Some("/path/to/cert.pem"));
        assert_eq!(s.namespace, "test-space");
        assert_eq!(s.const_labels["another label"], "spaced value");
        assert!(s.send_timestamps);
        assert_eq!(s.metric_expiration, Duration::from_secs(180 * 60));
        assert!(s.enable_open_metrics);
        assert!(!s.add_metric_suffixes);
        assert!(s.resource_to_telemetry_conversion.enabled);
    }

    #[test]
    fn prometheus_requires_endpoint_and_refuses_unknown_fields() {
        let missing = parse::<PrometheusExporterSettings>("namespace: x").unwrap_err();
        assert!(missing.to_string().contains("endpoint"), "{missing}");
        let unknown =
            parse::<PrometheusExporterSettings>("endpoint: :8889\nmetric_expiry: 1m").unwrap_err();
        assert!(unknown.to_string().contains("metric_expiry"), "{unknown}");
    }

    #[test]
    fn translation_strategy_parses_every_collector_value() {
        for (text, suffixes) in [
            ("UnderscoreEscapingWithSuffixes", Some(true)),
            ("UnderscoreEscapingWithoutSuffixes", Some(false)),
            ("NoUTF8EscapingWithSuffixes", None),
            ("NoTranslation", None),
        ] {
            let s: PrometheusExporterSettings =
                parse(&format!("endpoint: :8889\ntranslation_strategy: {text}")).unwrap();
            let strategy = s.translation_strategy.unwrap();
            assert_eq!(strategy.as_str(), text);
            assert_eq!(strategy.add_suffixes(), suffixes);
        }
        assert!(
            parse::<PrometheusExporterSettings>("endpoint: :1\ntranslation_strategy: Other")
                .is_err()
        );
    }

    #[test]
    fn remote_write_minimal_takes_collector_defaults() {
        let s: RemoteWriteExporterSettings =
            parse("endpoint: http://prometheus:9090/api/v1/write").unwrap();
        assert_eq!(
            s,
            RemoteWriteExporterSettings::new("http://prometheus:9090/api/v1/write")
        );
        assert_eq!(s.timeout, Duration::from_secs(5));
        assert_eq!(s.max_batch_size_bytes, 3_000_000);
        assert!(s.target_info.enabled);
        assert!(s.add_metric_suffixes);
        assert!(!s.send_metadata);
        assert_eq!(
            s.retry_on_failure.initial_interval,
            Duration::from_millis(50)
        );
        assert_eq!(s.retry_on_failure.max_interval, Duration::from_millis(200));
        assert_eq!(s.retry_on_failure.max_elapsed_time, Duration::from_secs(60));
        assert_eq!(s.remote_write_queue, RemoteWriteQueueSettings::default());
    }

    #[test]
    fn remote_write_collector_example() {
        // From the Collector's testdata/config.yaml (prometheus_remote_write/2), with fields
        // Sluice does not accept (write_buffer_size) left out.
        let yaml = r#"
namespace: "test-space"
retry_on_failure:
  enabled: true
  initial_interval: 10s
  max_interval: 60s
  max_elapsed_time: 10m
endpoint: "https://localhost:8888/api/v1/write"
tls:
  ca_file: "/var/lib/mycert.pem"
add_metric_suffixes: false
headers:
  Prometheus-Remote-Write-Version: "0.1.0"
  X-Scope-OrgID: "234"
external_labels:
  key1: value1
  key2: value2
resource_to_telemetry_conversion:
  enabled: true
remote_write_queue:
  queue_size: 2000
  num_consumers: 10
max_batch_size_bytes: 1000
target_info:
  enabled: false
send_metadata: true
timeout: 10s
max_batch_request_parallelism: 10
auth:
  authenticator: basicauth/prw
"#;
        let s: RemoteWriteExporterSettings = parse(yaml).unwrap();
        assert_eq!(s.namespace, "test-space");
        assert_eq!(s.retry_on_failure.initial_interval, Duration::from_secs(10));
        assert_eq!(
            s.retry_on_failure.max_elapsed_time,
            Duration::from_secs(600)
        );
        assert_eq!(s.tls.ca_file.unwrap().to_str(), Some("/var/lib/mycert.pem"));
        assert!(!s.add_metric_suffixes);
        assert_eq!(s.headers["X-Scope-OrgID"], "234");
        assert_eq!(s.external_labels.len(), 2);
        assert!(s.resource_to_telemetry_conversion.enabled);
        assert_eq!(s.remote_write_queue.queue_size, 2000);
        assert_eq!(s.remote_write_queue.num_consumers, 10);
        assert!(s.remote_write_queue.enabled);
        assert_eq!(s.max_batch_size_bytes, 1000);
        assert!(!s.target_info.enabled);
        assert!(s.send_metadata);
        assert_eq!(s.timeout, Duration::from_secs(10));
        assert_eq!(s.auth.unwrap().authenticator.to_string(), "basicauth/prw");
    }

    #[test]
    fn remote_write_refuses_unknown_fields() {
        let err =
            parse::<RemoteWriteExporterSettings>("endpoint: http://x\nwal:\n  directory: /tmp")
                .unwrap_err();
        assert!(err.to_string().contains("wal"), "{err}");
        let err = parse::<RemoteWriteExporterSettings>("headers: {}").unwrap_err();
        assert!(err.to_string().contains("endpoint"), "{err}");
    }
}
