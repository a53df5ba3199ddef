//! Component and pipeline identifiers: `type[/name]` and `signal[/name]`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

/// A component id as written in the config: `otlp`, `otlp/tempo`, `basicauth/server`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ComponentId {
    kind: String,
    name: Option<String>,
}

impl ComponentId {
    pub fn new(kind: impl Into<String>, name: Option<&str>) -> Self {
        ComponentId {
            kind: kind.into(),
            name: name.map(str::to_owned),
        }
    }

    /// The component type (`otlp` in `otlp/tempo`).
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The instance name (`tempo` in `otlp/tempo`), if any.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}

impl fmt::Display for ComponentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{}/{}", self.kind, name),
            None => f.write_str(&self.kind),
        }
    }
}

impl FromStr for ComponentId {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (kind, name) = match s.split_once('/') {
            Some((kind, name)) => (kind, Some(name)),
            None => (s, None),
        };
        if kind.is_empty() {
            return Err(format!(
                "invalid component id {s:?}: the type before '/' is empty"
            ));
        }
        if !kind
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(format!(
                "invalid component id {s:?}: the type may only hold letters, digits, '_' and '-'"
            ));
        }
        if name.is_some_and(|n| n.is_empty() || n.contains('/')) {
            return Err(format!(
                "invalid component id {s:?}: the name after '/' must be non-empty and hold no '/'"
            ));
        }
        Ok(ComponentId::new(kind, name))
    }
}

impl<'de> Deserialize<'de> for ComponentId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The three OTLP signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Signal {
    Traces,
    Metrics,
    Logs,
}

impl Signal {
    pub const ALL: [Signal; 3] = [Signal::Traces, Signal::Metrics, Signal::Logs];

    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Traces => "traces",
            Signal::Metrics => "metrics",
            Signal::Logs => "logs",
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A pipeline id: `traces`, `metrics/prod`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PipelineId {
    pub signal: Signal,
    pub name: Option<String>,
}

impl fmt::Display for PipelineId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{}/{}", self.signal, name),
            None => write!(f, "{}", self.signal),
        }
    }
}

impl FromStr for PipelineId {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (signal, name) = match s.split_once('/') {
            Some((signal, name)) => (signal, Some(name.to_owned())),
            None => (s, None),
        };
        let signal = match signal {
            "traces" => Signal::Traces,
            "metrics" => Signal::Metrics,
            "logs" => Signal::Logs,
            other => {
                return Err(format!(
                    "invalid pipeline id {s:?}: {other:?} is not a signal (traces, metrics, logs)"
                ));
            }
        };
        if name.as_deref().is_some_and(str::is_empty) {
            return Err(format!("invalid pipeline id {s:?}: empty name after '/'"));
        }
        Ok(PipelineId { signal, name })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_type_and_name() {
        let id: ComponentId = "otlp/tempo".parse().unwrap();
        assert_eq!(id.kind(), "otlp");
        assert_eq!(id.name(), Some("tempo"));
        assert_eq!(id.to_string(), "otlp/tempo");
        assert!("/x".parse::<ComponentId>().is_err());
        assert!("a/".parse::<ComponentId>().is_err());
    }

    #[test]
    fn parses_pipeline_ids() {
        let id: PipelineId = "metrics/prod".parse().unwrap();
        assert_eq!(id.signal, Signal::Metrics);
        assert!("spans".parse::<PipelineId>().is_err());
    }
}
