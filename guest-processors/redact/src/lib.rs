//! Example Sluice processor: replaces the values of attributes whose keys match configured
//! regular expressions.
//!
//! ```yaml
//! processors:
//!   wasm/redact:
//!     component: redact.wasm
//!     config:
//!       patterns: ["password", "token.*"]   # regexes searched in each key (unanchored)
//!       replacement: "***"                  # default "***"
//!       case_sensitive: false               # default false: "Password" matches "password"
//! ```
//!
//! Every attribute list is covered: resource, scope, span, span event, span link, data
//! point, exemplar and log record, plus keys of nested maps inside attribute values and map
//! log bodies. A matching value of any type becomes the replacement string. Batches where
//! nothing matched are answered `unchanged`, so the host forwards them without re-encoding.

use std::collections::HashMap;

use regex_lite::Regex;
use serde::Deserialize;
use sluice_guest_sdk::config::{self, ConfigProblem};
use sluice_guest_sdk::otlp::any_value::Value;
use sluice_guest_sdk::prelude::*;

/// The processor's `config:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// Regular expressions searched in attribute keys (unanchored; use `^...$` to anchor).
    patterns: Vec<String>,
    /// What matching values become.
    #[serde(default = "default_replacement")]
    replacement: String,
    /// Whether patterns are case-sensitive.
    #[serde(default)]
    case_sensitive: bool,
}

fn default_replacement() -> String {
    "***".to_owned()
}

/// Most batches repeat the same few keys; remember up to this many verdicts.
const KEY_CACHE_LIMIT: usize = 4096;

pub struct Redact {
    keys: Regex,
    replacement: String,
    verdicts: HashMap<String, bool>,
}

impl Redact {
    fn matches(&mut self, key: &str) -> bool {
        if let Some(&m) = self.verdicts.get(key) {
            return m;
        }
        let m = self.keys.is_match(key);
        if self.verdicts.len() >= KEY_CACHE_LIMIT {
            self.verdicts.clear();
        }
        self.verdicts.insert(key.to_owned(), m);
        m
    }

    /// Redacts matching entries of `attrs`, recursing into nested maps; true if any changed.
    fn redact_list(&mut self, attrs: &mut [KeyValue]) -> bool {
        let mut changed = false;
        for kv in attrs {
            if self.matches(&kv.key) {
                let redacted = AnyValue::string(self.replacement.as_str());
                if kv.value.as_ref() != Some(&redacted) {
                    kv.value = Some(redacted);
                    changed = true;
                }
            } else if let Some(v) = kv.value.as_mut() {
                changed |= self.redact_nested(v);
            }
        }
        changed
    }

    fn redact_nested(&mut self, value: &mut AnyValue) -> bool {
        match value.value.as_mut() {
            Some(Value::KvlistValue(map)) => self.redact_list(&mut map.values),
            Some(Value::ArrayValue(array)) => {
                let mut changed = false;
                for v in &mut array.values {
                    changed |= self.redact_nested(v);
                }
                changed
            }
            _ => false,
        }
    }

    fn redact<B: Batch>(&mut self, batch: &mut B) -> bool {
        let mut changed = false;
        batch.for_each_attributes_mut(&mut |_, attrs| changed |= self.redact_list(attrs));
        changed
    }
}

fn outcome(changed: bool) -> Outcome {
    if changed {
        Outcome::Modified
    } else {
        Outcome::Unchanged
    }
}

impl Processor for Redact {
    fn init(config_json: &str) -> Result<Init<Self>, Vec<ConfigProblem>> {
        let config: Config = config::parse(config_json)?;
        let mut problems = Vec::new();
        if config.patterns.is_empty() {
            problems.push(ConfigProblem::new(
                "patterns",
                "at least one pattern is required",
            ));
        }
        for (i, p) in config.patterns.iter().enumerate() {
            if let Err(e) = Regex::new(p) {
                problems.push(ConfigProblem::new(
                    format!("patterns[{i}]"),
                    format!("invalid regular expression {p:?}: {e}"),
                ));
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let flags = if config.case_sensitive { "" } else { "(?i)" };
        let alternation: Vec<String> = config.patterns.iter().map(|p| format!("(?:{p})")).collect();
        let keys = Regex::new(&format!("{flags}{}", alternation.join("|"))).map_err(|e| {
            vec![ConfigProblem::new(
                "patterns",
                format!("patterns do not combine: {e}"),
            )]
        })?;
        Ok(Init::new(Redact {
            keys,
            replacement: config.replacement,
            verdicts: HashMap::new(),
        }))
    }

    fn process_traces(
        &mut self,
        batch: &mut ExportTraceServiceRequest,
        _: &RequestContext,
    ) -> Result<Outcome, Error> {
        Ok(outcome(self.redact(batch)))
    }

    fn process_metrics(
        &mut self,
        batch: &mut ExportMetricsServiceRequest,
        _: &RequestContext,
    ) -> Result<Outcome, Error> {
        Ok(outcome(self.redact(batch)))
    }

    fn process_logs(
        &mut self,
        batch: &mut ExportLogsServiceRequest,
        _: &RequestContext,
    ) -> Result<Outcome, Error> {
        let mut changed = self.redact(batch);
        for rl in &mut batch.resource_logs {
            for sl in &mut rl.scope_logs {
                for rec in &mut sl.log_records {
                    if let Some(body) = rec.body.as_mut() {
                        changed |= self.redact_nested(body);
                    }
                }
            }
        }
        Ok(outcome(changed))
    }
}

sluice_guest_sdk::export_processor!(Redact);

#[cfg(test)]
mod tests;
