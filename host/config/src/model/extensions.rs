//! Operational extensions: `health_check` and `file_storage`.

use std::path::PathBuf;

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

/// `extensions.file_storage[/name]`: a directory where exporters' `sending_queue` keeps its
/// data (`sending_queue.storage: file_storage/name`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FileStorageSettings {
    /// Default `/var/lib/otelcol/file_storage`, as the Collector.
    pub directory: PathBuf,
    /// fsync every write before acknowledging (default false). Without it, acknowledged data
    /// survives kill -9 (it is in the OS page cache) but not a power loss.
    pub fsync: bool,
    /// Create `directory` when it does not exist (default false).
    pub create_directory: bool,
    /// Accepted for Collector compatibility: Sluice deletes fully delivered segment files
    /// as it goes, so there is nothing to compact.
    pub compaction: Option<serde_yaml::Value>,
    /// Accepted for Collector compatibility and ignored.
    pub timeout: Option<serde_yaml::Value>,
    pub directory_permissions: Option<String>,
}

impl Default for FileStorageSettings {
    fn default() -> Self {
        FileStorageSettings {
            directory: PathBuf::from("/var/lib/otelcol/file_storage"),
            fsync: false,
            create_directory: false,
            compaction: None,
            timeout: None,
            directory_permissions: None,
        }
    }
}
