//! The `service:` section: enabled extensions, pipelines and Sluice's own telemetry.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::id::{ComponentId, PipelineId};

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSettings {
    #[serde(default)]
    pub extensions: Vec<ComponentId>,
    #[serde(default, deserialize_with = "pipelines")]
    pub pipelines: BTreeMap<PipelineId, PipelineSettings>,
    #[serde(default)]
    pub telemetry: TelemetrySettings,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineSettings {
    #[serde(default)]
    pub receivers: Vec<ComponentId>,
    #[serde(default)]
    pub processors: Vec<ComponentId>,
    #[serde(default)]
    pub exporters: Vec<ComponentId>,
}

fn pipelines<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<PipelineId, PipelineSettings>, D::Error> {
    let raw = BTreeMap::<String, PipelineSettings>::deserialize(d)?;
    raw.into_iter()
        .map(|(k, v)| Ok((k.parse().map_err(serde::de::Error::custom)?, v)))
        .collect()
}

/// `service.telemetry`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    #[serde(default)]
    pub metrics: MetricsTelemetry,
    #[serde(default)]
    pub logs: LogsTelemetry,
    pub resource: Option<BTreeMap<String, Option<String>>>,
}

/// `service.telemetry.metrics`: where Sluice serves its own Prometheus metrics.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsTelemetry {
    /// `none` turns the endpoint off; anything else serves it.
    pub level: String,
    /// Legacy form of the listen address (`localhost:8888`).
    pub address: Option<String>,
    /// The Collector's newer form: `readers: [{pull: {exporter: {prometheus: {host, port}}}}]`.
    pub readers: Vec<serde_yaml::Value>,
}

impl Default for MetricsTelemetry {
    fn default() -> Self {
        MetricsTelemetry {
            level: "normal".into(),
            address: None,
            readers: Vec::new(),
        }
    }
}

impl MetricsTelemetry {
    /// The listen address of the self-metrics endpoint, or `None` when turned off.
    pub fn endpoint(&self) -> Option<String> {
        if self.level == "none" {
            return None;
        }
        if let Some(address) = &self.address {
            return Some(address.clone());
        }
        for reader in &self.readers {
            let prom = &reader["pull"]["exporter"]["prometheus"];
            if prom.is_mapping() {
                let host = prom["host"].as_str().unwrap_or("localhost");
                let port = prom["port"].as_u64().unwrap_or(8888);
                return Some(format!("{host}:{port}"));
            }
        }
        Some("localhost:8888".into())
    }
}

/// `service.telemetry.logs`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogsTelemetry {
    /// `debug`, `info` (default), `warn`, `error`.
    pub level: String,
    /// `console` (default) or `json`; the command line's `--log-format` wins.
    pub encoding: Option<String>,
}

impl Default for LogsTelemetry {
    fn default() -> Self {
        LogsTelemetry {
            level: "info".into(),
            encoding: None,
        }
    }
}
