//! Operational extensions: `health_check`.

use serde::Deserialize;

/// `extensions.health_check[/name]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HealthCheckSettings {
    /// Listen address (default `localhost:13133`).
    pub endpoint: String,
    /// URL path of the status page (default `/`).
    pub path: String,
    pub check_collector_pipeline: Option<serde_yaml::Value>,
}

impl Default for HealthCheckSettings {
    fn default() -> Self {
        HealthCheckSettings {
            endpoint: "localhost:13133".into(),
            path: "/".into(),
            check_collector_pipeline: None,
        }
    }
}
