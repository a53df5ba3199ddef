//! The processor's configuration: the Collector's `probabilistic_sampler` YAML (as JSON),
//! validated as its `config.go` does, with every problem reported at once.

use serde_json::{Map, Value};
use sluice_guest_sdk::ConfigProblem;

use crate::sampling::MIN_SAMPLING_PROBABILITY;

/// `mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The FNV hash of the seed and trace id (or a log attribute), 14 bits.
    HashSeed,
    /// OTEP 235 consistent sampling that multiplies arriving probabilities.
    Proportional,
    /// OTEP 235 consistent sampling that lowers arriving probabilities to the configured one.
    Equalizing,
}

/// The validated configuration, with the Collector's defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `sampling_percentage` as the Collector's `float32`.
    pub sampling_percentage: f32,
    /// `hash_seed`.
    pub hash_seed: u32,
    /// `mode`; `None` when not set (the sampler then picks `hash_seed`, as the Collector).
    pub mode: Option<Mode>,
    /// `fail_closed` (default true).
    pub fail_closed: bool,
    /// `sampling_precision` in hex digits, 1..=14 (default 4).
    pub sampling_precision: u32,
    /// `attribute_source` (logs): `traceID` (default), `record`, or empty.
    pub attribute_source: String,
    /// `from_attribute` (logs).
    pub from_attribute: String,
    /// `sampling_priority` (logs).
    pub sampling_priority: String,
}

/// `attribute_source: traceID`.
pub const TRACE_ID_SOURCE: &str = "traceID";
/// `attribute_source: record`.
pub const RECORD_SOURCE: &str = "record";

const FIELDS: &[&str] = &[
    "sampling_percentage",
    "hash_seed",
    "mode",
    "fail_closed",
    "sampling_precision",
    "attribute_source",
    "from_attribute",
    "sampling_priority",
];

/// Parses and validates `config_json`; returns the settings and warnings, or every problem.
pub fn parse(config_json: &str) -> Result<(Settings, Vec<ConfigProblem>), Vec<ConfigProblem>> {
    let root: Value = serde_json::from_str(config_json).map_err(|e| {
        vec![ConfigProblem::new(
            "",
            format!("the configuration is not valid JSON: {e}"),
        )]
    })?;
    let obj = match root {
        Value::Object(obj) => obj,
        Value::Null => Map::new(),
        other => {
            return Err(vec![ConfigProblem::new(
                "",
                format!("expected a map of settings, got {}", kind(&other)),
            )]);
        }
    };
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    for key in obj.keys() {
        if !FIELDS.contains(&key.as_str()) {
            problems.push(ConfigProblem::new(
                key.as_str(),
                format!(
                    "unknown field `{key}`, expected one of {}",
                    FIELDS.join(", ")
                ),
            ));
        }
    }

    let pct = match field(&obj, "sampling_percentage") {
        None => {
            warnings.push(ConfigProblem::new(
                "sampling_percentage",
                "not set: it defaults to 0, which drops every span and log record",
            ));
            0.0
        }
        Some(v) => match v.as_f64() {
            Some(p) => p as f32,
            None => {
                problems.push(type_problem("sampling_percentage", "a number", v));
                0.0
            }
        },
    };
    let pct64 = f64::from(pct);
    if pct64.is_nan() || pct64.is_infinite() {
        problems.push(ConfigProblem::new(
            "sampling_percentage",
            format!("sampling rate is invalid: {pct}%"),
        ));
    } else if pct64 < 0.0 {
        problems.push(ConfigProblem::new(
            "sampling_percentage",
            format!("sampling rate is negative: {pct}%"),
        ));
    } else if pct64 != 0.0 && pct64 / 100.0 < MIN_SAMPLING_PROBABILITY {
        problems.push(ConfigProblem::new(
            "sampling_percentage",
            format!("sampling rate is too small: {pct}%"),
        ));
    }

    let hash_seed = match field(&obj, "hash_seed") {
        None => 0,
        Some(v) => match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
            Some(n) => n,
            None => {
                problems.push(type_problem(
                    "hash_seed",
                    "an integer from 0 to 4294967295",
                    v,
                ));
                0
            }
        },
    };

    let mode = match field(&obj, "mode") {
        None => None,
        Some(Value::String(s)) => match s.as_str() {
            "" => None,
            "hash_seed" => Some(Mode::HashSeed),
            "proportional" => Some(Mode::Proportional),
            "equalizing" => Some(Mode::Equalizing),
            other => {
                problems.push(ConfigProblem::new(
                    "mode",
                    format!(
                        "unsupported sampler mode {other:?}: use hash_seed, proportional or equalizing"
                    ),
                ));
                None
            }
        },
        Some(v) => {
            problems.push(type_problem("mode", "a string", v));
            None
        }
    };

    let fail_closed = match field(&obj, "fail_closed") {
        None => true,
        Some(Value::Bool(b)) => *b,
        Some(v) => {
            problems.push(type_problem("fail_closed", "true or false", v));
            true
        }
    };

    let sampling_precision = match field(&obj, "sampling_precision") {
        None => 4,
        Some(v) => match v.as_i64() {
            Some(0) => {
                problems.push(ConfigProblem::new(
                    "sampling_precision",
                    "invalid sampling precision: 0 (use 1 to 14 hex digits)",
                ));
                4
            }
            Some(p) if p > 14 => {
                problems.push(ConfigProblem::new(
                    "sampling_precision",
                    format!("sampling precision is too great, should be <= 14: {p}"),
                ));
                4
            }
            Some(p) if p < 0 => {
                problems.push(ConfigProblem::new(
                    "sampling_precision",
                    format!("sampling precision is negative: {p} (use 1 to 14 hex digits)"),
                ));
                4
            }
            Some(p) => p as u32,
            None => {
                problems.push(type_problem("sampling_precision", "an integer", v));
                4
            }
        },
    };

    let attribute_source = match field(&obj, "attribute_source") {
        None => TRACE_ID_SOURCE.to_owned(),
        Some(Value::String(s)) => {
            if !s.is_empty() && s != TRACE_ID_SOURCE && s != RECORD_SOURCE {
                problems.push(ConfigProblem::new(
                    "attribute_source",
                    format!(
                        "invalid attribute source: {s}. Expected: {TRACE_ID_SOURCE} or {RECORD_SOURCE}"
                    ),
                ));
            }
            s.clone()
        }
        Some(v) => {
            problems.push(type_problem("attribute_source", "a string", v));
            TRACE_ID_SOURCE.to_owned()
        }
    };

    let from_attribute = string_field(&obj, "from_attribute", &mut problems);
    let sampling_priority = string_field(&obj, "sampling_priority", &mut problems);

    if !problems.is_empty() {
        return Err(problems);
    }
    Ok((
        Settings {
            sampling_percentage: pct,
            hash_seed,
            mode,
            fail_closed,
            sampling_precision,
            attribute_source,
            from_attribute,
            sampling_priority,
        },
        warnings,
    ))
}

/// A present, non-null field.
fn field<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

fn string_field(obj: &Map<String, Value>, key: &str, problems: &mut Vec<ConfigProblem>) -> String {
    match field(obj, key) {
        None => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => {
            problems.push(type_problem(key, "a string", v));
            String::new()
        }
    }
}

fn type_problem(path: &str, expected: &str, got: &Value) -> ConfigProblem {
    ConfigProblem::new(path, format!("expected {expected}, got {}", kind(got)))
}

fn kind(v: &Value) -> String {
    match v {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("boolean `{b}`"),
        Value::Number(n) => format!("number `{n}`"),
        Value::String(s) => format!("string {s:?}"),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "a map".to_owned(),
    }
}
