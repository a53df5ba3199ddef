//! Settings of the Collector components that Sluice runs as built-in WebAssembly guests
//! (`probabilistic_sampler`, the `spanmetrics` connector): the guest validates the Collector's
//! fields; the host keeps only Sluice's own `on_error` and `limits`.

use serde::{Deserialize, Deserializer};

use super::{OnError, WasmLimits};

/// A built-in guest's settings: everything except `on_error` and `limits` goes to the guest's
/// `init` as JSON, and the guest reports what it does not accept.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BuiltinGuestSettings {
    /// The Collector's fields, for the guest.
    pub config: serde_yaml::Mapping,
    /// What happens to a batch when the guest fails (default `pass`).
    pub on_error: OnError,
    /// Sandbox limits of the guest.
    pub limits: WasmLimits,
}

impl<'de> Deserialize<'de> for BuiltinGuestSettings {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut config = Option::<serde_yaml::Mapping>::deserialize(d)?.unwrap_or_default();
        let take = |config: &mut serde_yaml::Mapping, key: &str| config.remove(key);
        let on_error = match take(&mut config, "on_error") {
            Some(v) => serde_yaml::from_value(v)
                .map_err(|e| serde::de::Error::custom(format!("on_error: {e}")))?,
            None => OnError::default(),
        };
        let limits = match take(&mut config, "limits") {
            Some(v) => serde_yaml::from_value(v)
                .map_err(|e| serde::de::Error::custom(format!("limits: {e}")))?,
            None => WasmLimits::default(),
        };
        Ok(BuiltinGuestSettings {
            config,
            on_error,
            limits,
        })
    }
}

impl BuiltinGuestSettings {
    /// The guest's configuration as JSON (`{}` when empty).
    pub fn guest_config_json(&self) -> String {
        super::yaml_to_json(&serde_yaml::Value::Mapping(self.config.clone())).to_string()
    }
}
