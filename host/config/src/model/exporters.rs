//! Exporter settings: `debug` and `file`.

use std::path::PathBuf;

use serde::Deserialize;

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
