//! Processors that run as WebAssembly components: the built-in `transform` (OTTL) and `wasm`
//! (any component built against `wit/processor.wit`).

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// What happens to a batch when its processor fails (trap, timeout, memory cap, bad output).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnError {
    /// Forward the batch as it arrived (default: nothing is lost silently).
    #[default]
    Pass,
    /// Discard the batch (counted and logged).
    Drop,
}

/// Sandbox limits of one processor instance.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WasmLimits {
    /// Linear memory cap per instance, in MiB (default 64).
    pub memory_mib: u64,
    /// Deadline of one call (default 100ms).
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
}

impl Default for WasmLimits {
    fn default() -> Self {
        WasmLimits {
            memory_mib: 64,
            timeout: Duration::from_millis(100),
        }
    }
}

/// `processors.wasm[/name]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WasmSettings {
    /// Path of the component (`.wasm`), watched for changes (hot swap).
    pub component: PathBuf,
    /// Handed to the guest's `init` as JSON; the guest validates it.
    #[serde(default)]
    pub config: serde_yaml::Value,
    #[serde(default)]
    pub on_error: OnError,
    #[serde(default)]
    pub limits: WasmLimits,
}

/// `processors.transform[/name]`: the Collector's transform processor, run by the built-in
/// transform guest. The statements are checked by the guest at start-up (and by `validate`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransformSettings {
    #[serde(default)]
    pub trace_statements: serde_yaml::Value,
    #[serde(default)]
    pub metric_statements: serde_yaml::Value,
    #[serde(default)]
    pub log_statements: serde_yaml::Value,
    /// `ignore` (default), `silent` or `propagate`, as in the Collector.
    #[serde(default)]
    pub error_mode: Option<String>,
    /// Sluice's addition: what to do with a batch when the guest fails.
    #[serde(default)]
    pub on_error: OnError,
    #[serde(default)]
    pub limits: WasmLimits,
}

impl TransformSettings {
    /// The guest's view of the settings: the Collector's fields only, as JSON.
    pub fn guest_config_json(&self) -> String {
        let mut map = serde_json::Map::new();
        for (key, value) in [
            ("trace_statements", &self.trace_statements),
            ("metric_statements", &self.metric_statements),
            ("log_statements", &self.log_statements),
        ] {
            if !value.is_null() {
                map.insert(key.into(), yaml_to_json(value));
            }
        }
        if let Some(mode) = &self.error_mode {
            map.insert("error_mode".into(), serde_json::Value::String(mode.clone()));
        }
        serde_json::Value::Object(map).to_string()
    }
}

impl WasmSettings {
    pub fn guest_config_json(&self) -> String {
        match &self.config {
            serde_yaml::Value::Null => "{}".to_owned(),
            other => yaml_to_json(other).to_string(),
        }
    }
}

/// YAML to JSON for guest configs (YAML keys that are not strings become their YAML text).
pub fn yaml_to_json(value: &serde_yaml::Value) -> serde_json::Value {
    use serde_yaml::Value as Y;
    match value {
        Y::Null => serde_json::Value::Null,
        Y::Bool(b) => serde_json::Value::Bool(*b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into()
            } else if let Some(u) = n.as_u64() {
                u.into()
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(serde_json::Value::Null, serde_json::Value::Number)
            }
        }
        Y::String(s) => serde_json::Value::String(s.clone()),
        Y::Sequence(items) => items.iter().map(yaml_to_json).collect(),
        Y::Mapping(map) => map
            .iter()
            .map(|(k, v)| (crate::expand::key_text(k), yaml_to_json(v)))
            .collect::<serde_json::Map<_, _>>()
            .into(),
        Y::Tagged(t) => yaml_to_json(&t.value),
    }
}
