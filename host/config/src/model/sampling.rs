//! `processors.tail_sampling[/name]`: the Collector's tail sampling processor. The host buffers
//! spans by trace (`decision_wait`, `num_traces`, `decision_cache`); the built-in guest
//! validates and evaluates `policies`.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

use super::wasm::{OnError, WasmLimits, yaml_to_json};

/// `processors.tail_sampling[/name]`, with the Collector's names and defaults.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TailSamplingSettings {
    /// Wait after the first span of a trace before deciding it (default 30s).
    #[serde(with = "humantime_serde")]
    pub decision_wait: Duration,
    /// Traces kept in memory awaiting their decision (default 50000). When full, the oldest
    /// trace is decided at once (the Collector drops it undecided).
    pub num_traces: usize,
    /// Expected new traces per second: sizes the buffer up front (default 0: it grows).
    pub expected_new_traces_per_sec: u64,
    /// How many decisions are remembered for spans that arrive after their trace was decided.
    pub decision_cache: DecisionCacheSettings,
    /// The sampling policies, in the Collector's syntax, validated and evaluated by the guest.
    pub policies: Vec<serde_yaml::Value>,
    /// Stop evaluating a trace's policies at the first one that samples it (default false).
    pub sample_on_first_match: bool,
    /// Sluice's addition: what happens to the traces of a call when the guest fails: `pass`
    /// (default) sends them on, i.e. sampled; `drop` discards them, i.e. not sampled.
    pub on_error: OnError,
    /// Sandbox limits of the policy guest.
    pub limits: WasmLimits,
}

impl Default for TailSamplingSettings {
    fn default() -> Self {
        TailSamplingSettings {
            decision_wait: Duration::from_secs(30),
            num_traces: 50_000,
            expected_new_traces_per_sec: 0,
            decision_cache: DecisionCacheSettings::default(),
            policies: Vec::new(),
            sample_on_first_match: false,
            on_error: OnError::default(),
            limits: WasmLimits::default(),
        }
    }
}

/// `decision_cache`: sizes, in trace ids, of the caches of decisions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DecisionCacheSettings {
    /// Sampled trace ids remembered (default 0: as many as `num_traces`, which is how long the
    /// Collector without a cache keeps a decided trace in its buffer).
    #[serde(deserialize_with = "count")]
    pub sampled_cache_size: usize,
    /// Not sampled trace ids remembered (default 0: as many as `num_traces`).
    #[serde(deserialize_with = "count")]
    pub non_sampled_cache_size: usize,
}

/// A count, also written with digit separators (`100_000`, as in the Collector's README:
/// its YAML parser reads that as a number, serde_yaml as a string).
fn count<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Count {
        Number(usize),
        Text(String),
    }
    match Count::deserialize(d)? {
        Count::Number(n) => Ok(n),
        Count::Text(text) => text
            .replace('_', "")
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("expected a count, got {text:?}"))),
    }
}

impl TailSamplingSettings {
    /// The guest's view of the settings, as JSON: `policies` and `sample_on_first_match`.
    pub fn guest_config_json(&self) -> String {
        let mut map = serde_json::Map::new();
        map.insert(
            "policies".into(),
            self.policies.iter().map(yaml_to_json).collect(),
        );
        map.insert(
            "sample_on_first_match".into(),
            self.sample_on_first_match.into(),
        );
        serde_json::Value::Object(map).to_string()
    }

    /// Problems of the host's fields, as (field, message); the guest checks `policies`.
    pub fn problems(&self) -> Vec<(&'static str, &'static str)> {
        let mut problems = Vec::new();
        if self.decision_wait.is_zero() {
            problems.push(("decision_wait", "must be greater than 0"));
        }
        if self.num_traces == 0 {
            problems.push(("num_traces", "must be greater than 0"));
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<TailSamplingSettings, serde_yaml::Error> {
        serde_yaml::from_str(yaml)
    }

    #[test]
    fn tail_sampling_minimal_takes_collector_defaults() {
        let s = parse("policies: [{name: all, type: always_sample}]").unwrap();
        assert_eq!(s.decision_wait, Duration::from_secs(30));
        assert_eq!(s.num_traces, 50_000);
        assert_eq!(s.expected_new_traces_per_sec, 0);
        assert_eq!(s.decision_cache, DecisionCacheSettings::default());
        assert_eq!(s.decision_cache.sampled_cache_size, 0);
        assert!(!s.sample_on_first_match);
        assert_eq!(s.on_error, OnError::Pass);
        assert_eq!(s.limits, WasmLimits::default());
        assert_eq!(s.policies.len(), 1);
        assert!(s.problems().is_empty());
        assert_eq!(parse("{}").unwrap(), TailSamplingSettings::default());
    }

    #[test]
    fn tail_sampling_full_collector_example() {
        let yaml = r#"
decision_wait: 10s
num_traces: 100
expected_new_traces_per_sec: 10
decision_cache:
  sampled_cache_size: 100_000
  non_sampled_cache_size: 200000
sample_on_first_match: true
on_error: drop
limits: {memory_mib: 128, timeout: 250ms}
policies:
  [
    {name: test-policy-1, type: always_sample},
    {name: test-policy-2, type: latency, latency: {threshold_ms: 5000, upper_threshold_ms: 10000}},
    {
      name: and-policy-1,
      type: and,
      and: {and_sub_policy: [{name: a, type: numeric_attribute, numeric_attribute: {key: key1, min_value: 50, max_value: 100}}]}
    },
  ]
"#;
        let s = parse(yaml).unwrap();
        assert_eq!(s.decision_wait, Duration::from_secs(10));
        assert_eq!(s.num_traces, 100);
        assert_eq!(s.expected_new_traces_per_sec, 10);
        assert_eq!(s.decision_cache.sampled_cache_size, 100_000);
        assert_eq!(s.decision_cache.non_sampled_cache_size, 200_000);
        assert!(s.sample_on_first_match);
        assert_eq!(s.on_error, OnError::Drop);
        assert_eq!(s.limits.memory_mib, 128);
        assert_eq!(s.limits.timeout, Duration::from_millis(250));
        assert_eq!(s.policies.len(), 3);

        let guest: serde_json::Value = serde_json::from_str(&s.guest_config_json()).unwrap();
        assert_eq!(guest["sample_on_first_match"], true);
        assert_eq!(guest["policies"][1]["latency"]["threshold_ms"], 5000);
        assert_eq!(
            guest["policies"][2]["and"]["and_sub_policy"][0]["name"],
            "a"
        );
        assert_eq!(guest.as_object().map(|o| o.len()), Some(2));
    }

    #[test]
    fn tail_sampling_refuses_unknown_fields_and_reports_problems() {
        let top = parse("decision_wait: 1s\nblock_on_overflow: true").unwrap_err();
        assert!(top.to_string().contains("block_on_overflow"), "{top}");
        let nested = parse("decision_cache: {sampled_cache: 10}").unwrap_err();
        assert!(nested.to_string().contains("sampled_cache"), "{nested}");
        let text = parse("decision_cache: {sampled_cache_size: lots}").unwrap_err();
        assert!(text.to_string().contains("lots"), "{text}");
        let wrong = parse("policies: {name: x}").unwrap_err();
        assert!(wrong.to_string().contains("policies"), "{wrong}");

        let zero = parse("decision_wait: 0s\nnum_traces: 0").unwrap();
        let fields: Vec<&str> = zero.problems().iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["decision_wait", "num_traces"]);
    }
}
