//! The processor's configuration: the Collector's `tail_sampling` YAML (as JSON). Host fields
//! (`decision_wait`, `num_traces`, ...) are accepted and ignored; `policies` become
//! evaluators. Every problem is reported, at the policy's path
//! (`policies[2]: "slow": latency needs threshold_ms`).

use std::collections::HashSet;

use regex_lite::Regex;
use serde_json::{Map, Value};
use sluice_guest_sdk::ConfigProblem;

use crate::policies::Policy;
use crate::policies::attributes::{
    BooleanAttribute, DEFAULT_CACHE_SIZE, Matcher, NumericAttribute, StringAttribute,
};
use crate::policies::composite::{Composite, SubPolicy, allocations};
use crate::policies::latency::Latency;
use crate::policies::probabilistic::Probabilistic;
use crate::policies::rate_limiting::RateLimiting;
use crate::policies::span_count::SpanCount;
use crate::policies::status_code::StatusCodes;

/// A top-level policy.
#[derive(Debug)]
pub struct NamedPolicy {
    /// `name`.
    pub name: String,
    /// The evaluator.
    pub policy: Policy,
    /// Whether it is a `drop` policy (evaluated before the others, as the Collector does).
    pub is_drop: bool,
}

/// The validated configuration.
#[derive(Debug)]
pub struct Config {
    /// Top-level policies in evaluation order: `drop` policies first, then the others, each
    /// in configuration order.
    pub policies: Vec<NamedPolicy>,
    /// `sample_on_first_match`: stop evaluating at the first `Sampled` decision.
    pub sample_on_first_match: bool,
}

/// Fields the host uses (buffering, caches); accepted and ignored here.
const HOST_FIELDS: &[&str] = &[
    "decision_wait",
    "num_traces",
    "expected_new_traces_per_sec",
    "decision_cache",
];

/// Other Collector fields about buffering; accepted with a warning.
const IGNORED_FIELDS: &[&str] = &[
    "block_on_overflow",
    "drop_pending_traces_on_shutdown",
    "maximum_trace_size_bytes",
    "decision_wait_after_root_received",
    "sampling_strategy",
    "tail_storage",
];

/// Per-type sections of a policy map.
const TYPE_SECTIONS: &[&str] = &[
    "latency",
    "numeric_attribute",
    "probabilistic",
    "status_code",
    "string_attribute",
    "rate_limiting",
    "span_count",
    "boolean_attribute",
    "and",
    "drop",
    "composite",
    // Collector policy types this guest does not evaluate.
    "trace_state",
    "ottl_condition",
    "bytes_limiting",
    "not",
];

const UNSUPPORTED_TYPES: &[&str] = &[
    "trace_state",
    "ottl_condition",
    "bytes_limiting",
    "not",
    "trace_flags",
];

/// Where a policy sits, which limits the types it may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    /// `policies[]`.
    Top,
    /// `composite.composite_sub_policy[]`: shared types and `and`.
    CompositeSub,
    /// `and.and_sub_policy[]` and `drop.drop_sub_policy[]`: shared types only.
    AndSub,
}

#[derive(Default)]
struct Problems {
    errors: Vec<ConfigProblem>,
    warnings: Vec<ConfigProblem>,
}

impl Problems {
    fn error(&mut self, path: &str, message: impl Into<String>) {
        self.errors.push(ConfigProblem::new(path, message));
    }
    fn warn(&mut self, path: &str, message: impl Into<String>) {
        self.warnings.push(ConfigProblem::new(path, message));
    }
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

/// Parses and validates the configuration; returns it with warnings, or every problem.
pub fn parse(config_json: &str) -> Result<(Config, Vec<ConfigProblem>), Vec<ConfigProblem>> {
    let root: Value = serde_json::from_str(config_json).map_err(|e| {
        vec![ConfigProblem::new(
            "",
            format!("the configuration is not valid JSON: {e}"),
        )]
    })?;
    let empty = Map::new();
    let obj = match &root {
        Value::Object(obj) => obj,
        Value::Null => &empty,
        other => {
            return Err(vec![ConfigProblem::new(
                "",
                format!("expected a map of settings, got {}", kind(other)),
            )]);
        }
    };
    let mut p = Problems::default();
    for key in obj.keys() {
        let key = key.as_str();
        if IGNORED_FIELDS.contains(&key) {
            p.warn(
                key,
                "handled by the Collector's buffering, which the Sluice host does instead: ignored",
            );
        } else if !HOST_FIELDS.contains(&key) && key != "policies" && key != "sample_on_first_match"
        {
            p.error(
                key,
                format!(
                    "unknown field `{key}`, expected policies, sample_on_first_match or a host field ({})",
                    HOST_FIELDS.join(", ")
                ),
            );
        }
    }
    let sample_on_first_match = match obj.get("sample_on_first_match") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(v) => {
            p.error(
                "sample_on_first_match",
                format!("expected true or false, got {}", kind(v)),
            );
            false
        }
    };

    let mut policies = Vec::new();
    let mut drops = Vec::new();
    match obj.get("policies") {
        None | Some(Value::Null) => p.error(
            "policies",
            "at least one policy is required (without policies every trace is dropped)",
        ),
        Some(Value::Array(items)) if items.is_empty() => p.error(
            "policies",
            "at least one policy is required (without policies every trace is dropped)",
        ),
        Some(Value::Array(items)) => {
            let mut names = HashSet::new();
            for (i, item) in items.iter().enumerate() {
                let path = format!("policies[{i}]");
                if let Some(Value::String(name)) = item.get("name")
                    && !name.is_empty()
                    && !names.insert(name.as_str())
                {
                    p.error(&path, format!("duplicate policy name {name:?}"));
                }
                if let Some((name, policy)) = parse_policy(item, &path, Level::Top, &mut p) {
                    let is_drop = matches!(policy, Policy::Drop(_));
                    let named = NamedPolicy {
                        name,
                        policy,
                        is_drop,
                    };
                    if is_drop {
                        drops.push(named);
                    } else {
                        policies.push(named);
                    }
                }
            }
        }
        Some(v) => p.error(
            "policies",
            format!("expected a list of policies, got {}", kind(v)),
        ),
    }
    if !p.errors.is_empty() {
        return Err(p.errors);
    }
    drops.extend(policies);
    Ok((
        Config {
            policies: drops,
            sample_on_first_match,
        },
        p.warnings,
    ))
}

/// Reads the fields of one policy's type section, reporting problems against the policy.
struct Section<'a> {
    map: Option<&'a Map<String, Value>>,
    section: &'static str,
    path: &'a str,
    label: &'a str,
    ok: bool,
}

impl<'a> Section<'a> {
    fn open(
        policy: &'a Map<String, Value>,
        section: &'static str,
        path: &'a str,
        label: &'a str,
        allowed: &[&str],
        p: &mut Problems,
    ) -> Self {
        let mut s = Section {
            map: None,
            section,
            path,
            label,
            ok: true,
        };
        match policy.get(section) {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => {
                for key in m.keys() {
                    if !allowed.contains(&key.as_str()) {
                        s.fail(
                            p,
                            format!(
                                "{section} has no field `{key}` (expected {})",
                                allowed.join(", ")
                            ),
                        );
                    }
                }
                s.map = Some(m);
            }
            Some(v) => s.fail(p, format!("{section} must be a map, got {}", kind(v))),
        }
        s
    }

    fn fail(&mut self, p: &mut Problems, message: String) {
        self.ok = false;
        p.error(self.path, format!("{}{message}", self.label));
    }

    fn get(&self, field: &str) -> Option<&'a Value> {
        self.map.and_then(|m| m.get(field)).filter(|v| !v.is_null())
    }

    fn missing(&mut self, field: &str, p: &mut Problems) {
        let message = format!("{} needs {field}", self.section);
        self.fail(p, message);
    }

    fn wrong(&mut self, field: &str, expected: &str, got: &Value, p: &mut Problems) {
        let message = format!(
            "{}.{field} must be {expected}, got {}",
            self.section,
            kind(got)
        );
        self.fail(p, message);
    }

    fn int(&mut self, field: &str, required: bool, p: &mut Problems) -> Option<i64> {
        match self.get(field) {
            None => {
                if required {
                    self.missing(field, p);
                }
                None
            }
            Some(v) => match v.as_i64() {
                Some(n) => Some(n),
                None => {
                    self.wrong(field, "an integer", v, p);
                    None
                }
            },
        }
    }

    fn non_negative(&mut self, field: &str, required: bool, p: &mut Problems) -> Option<i64> {
        let n = self.int(field, required, p)?;
        if n < 0 {
            let message = format!("{}.{field} must not be negative, got {n}", self.section);
            self.fail(p, message);
            return None;
        }
        Some(n)
    }

    fn int32(&mut self, field: &str, required: bool, p: &mut Problems) -> Option<i32> {
        let n = self.int(field, required, p)?;
        match i32::try_from(n) {
            Ok(n) => Some(n),
            Err(_) => {
                let message = format!("{}.{field} is out of range: {n}", self.section);
                self.fail(p, message);
                None
            }
        }
    }

    fn number(&mut self, field: &str, required: bool, p: &mut Problems) -> Option<f64> {
        match self.get(field) {
            None => {
                if required {
                    self.missing(field, p);
                }
                None
            }
            Some(v) => match v.as_f64() {
                Some(n) => Some(n),
                None => {
                    self.wrong(field, "a number", v, p);
                    None
                }
            },
        }
    }

    fn boolean(&mut self, field: &str, required: bool, p: &mut Problems) -> Option<bool> {
        match self.get(field) {
            None => {
                if required {
                    self.missing(field, p);
                }
                None
            }
            Some(Value::Bool(b)) => Some(*b),
            Some(v) => {
                self.wrong(field, "true or false", v, p);
                None
            }
        }
    }

    fn string(&mut self, field: &str, required: bool, p: &mut Problems) -> Option<String> {
        match self.get(field) {
            None => {
                if required {
                    self.missing(field, p);
                }
                None
            }
            Some(Value::String(s)) if required && s.is_empty() => {
                self.missing(field, p);
                None
            }
            Some(Value::String(s)) => Some(s.clone()),
            Some(v) => {
                self.wrong(field, "a string", v, p);
                None
            }
        }
    }

    fn list(&mut self, field: &str, required: bool, p: &mut Problems) -> Option<&'a Vec<Value>> {
        match self.get(field) {
            None => {
                if required {
                    self.missing(field, p);
                }
                None
            }
            Some(Value::Array(items)) if required && items.is_empty() => {
                self.missing(field, p);
                None
            }
            Some(Value::Array(items)) => Some(items),
            Some(v) => {
                self.wrong(field, "a list", v, p);
                None
            }
        }
    }

    fn strings(&mut self, field: &str, required: bool, p: &mut Problems) -> Option<Vec<String>> {
        let items = self.list(field, required, p)?;
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            match item {
                Value::String(s) => out.push(s.clone()),
                v => {
                    let message = format!(
                        "{}.{field}[{i}] must be a string, got {}",
                        self.section,
                        kind(v)
                    );
                    self.fail(p, message);
                }
            }
        }
        self.ok.then_some(out)
    }
}

/// Parses one policy map; `None` after reporting its problems.
fn parse_policy(
    item: &Value,
    path: &str,
    level: Level,
    p: &mut Problems,
) -> Option<(String, Policy)> {
    let Value::Object(obj) = item else {
        p.error(path, format!("a policy must be a map, got {}", kind(item)));
        return None;
    };
    let name = match obj.get("name") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => {
            p.error(path, format!("name must be a string, got {}", kind(v)));
            return None;
        }
    };
    if level == Level::Top && name.is_empty() {
        p.error(path, "policy name cannot be empty");
    }
    let label = if name.is_empty() {
        String::new()
    } else {
        format!("{name:?}: ")
    };
    let ty = match obj.get("type") {
        Some(Value::String(t)) if !t.is_empty() => t.as_str(),
        None | Some(Value::Null) | Some(Value::String(_)) => {
            p.error(path, format!("{label}a policy needs a type"));
            return None;
        }
        Some(v) => {
            p.error(
                path,
                format!("{label}type must be a string, got {}", kind(v)),
            );
            return None;
        }
    };
    let mut ok = true;
    for key in obj.keys() {
        let key = key.as_str();
        if key == "name" || key == "type" || key == ty {
            continue;
        }
        if TYPE_SECTIONS.contains(&key) {
            p.warn(
                path,
                format!("{label}`{key}` is ignored: the policy's type is {ty}"),
            );
        } else {
            ok = false;
            p.error(
                path,
                format!("{label}unknown field `{key}` (expected name, type and {ty})"),
            );
        }
    }

    let policy = match (ty, level) {
        ("always_sample", _) => Some(Policy::AlwaysSample),
        ("latency", _) => {
            let mut s = Section::open(
                obj,
                "latency",
                path,
                &label,
                &["threshold_ms", "upper_threshold_ms"],
                p,
            );
            let threshold_ms = s.int("threshold_ms", true, p);
            let upper_threshold_ms = s.int("upper_threshold_ms", false, p).unwrap_or(0);
            threshold_ms.filter(|_| s.ok).map(|threshold_ms| {
                Policy::Latency(Latency {
                    threshold_ms,
                    upper_threshold_ms,
                })
            })
        }
        ("status_code", _) => {
            let mut s = Section::open(obj, "status_code", path, &label, &["status_codes"], p);
            let names = s.strings("status_codes", true, p);
            let mut codes = Vec::new();
            for name in names.iter().flatten() {
                match StatusCodes::parse_code(name) {
                    Some(c) => codes.push(c),
                    None => s.fail(
                        p,
                        format!("unknown status code {name:?}, supported: OK, ERROR, UNSET"),
                    ),
                }
            }
            (s.ok && names.is_some()).then_some(Policy::StatusCode(StatusCodes { codes }))
        }
        ("probabilistic", _) => {
            let mut s = Section::open(
                obj,
                "probabilistic",
                path,
                &label,
                &["hash_salt", "sampling_percentage"],
                p,
            );
            let salt = s.string("hash_salt", false, p).unwrap_or_default();
            let pct = s.number("sampling_percentage", true, p);
            if let Some(pct) = pct
                && pct < 0.0
            {
                s.fail(
                    p,
                    format!("probabilistic.sampling_percentage must not be negative, got {pct}"),
                );
            }
            pct.filter(|_| s.ok)
                .map(|pct| Policy::Probabilistic(Probabilistic::new(&salt, pct)))
        }
        ("string_attribute", _) => {
            let mut s = Section::open(
                obj,
                "string_attribute",
                path,
                &label,
                &[
                    "key",
                    "values",
                    "enabled_regex_matching",
                    "cache_max_size",
                    "invert_match",
                ],
                p,
            );
            let key = s.string("key", true, p);
            let values = s.strings("values", true, p);
            let regex = s
                .boolean("enabled_regex_matching", false, p)
                .unwrap_or(false);
            let cache_max_size = s.int("cache_max_size", false, p).unwrap_or(0);
            let invert_match = s.boolean("invert_match", false, p).unwrap_or(false);
            let matcher = values.map(|values| {
                if regex {
                    let mut patterns = Vec::new();
                    for (i, v) in values.iter().enumerate() {
                        match Regex::new(v) {
                            Ok(r) => patterns.push(r),
                            Err(e) => s.fail(
                                p,
                                format!(
                                    "string_attribute.values[{i}] is not a valid regular expression {v:?}: {e}"
                                ),
                            ),
                        }
                    }
                    Matcher::Regex {
                        patterns,
                        cache: Default::default(),
                        cache_max_size: usize::try_from(cache_max_size)
                            .ok()
                            .filter(|&n| n > 0)
                            .unwrap_or(DEFAULT_CACHE_SIZE),
                    }
                } else {
                    Matcher::Exact(values.into_iter().filter(|v| !v.is_empty()).collect())
                }
            });
            match (key, matcher) {
                (Some(key), Some(matcher)) if s.ok => {
                    Some(Policy::StringAttribute(StringAttribute {
                        key,
                        matcher,
                        invert_match,
                    }))
                }
                _ => None,
            }
        }
        ("numeric_attribute", _) => {
            let mut s = Section::open(
                obj,
                "numeric_attribute",
                path,
                &label,
                &["key", "min_value", "max_value", "invert_match"],
                p,
            );
            let key = s.string("key", true, p);
            // As the Collector, 0 means "not set".
            let min = s.int("min_value", false, p).filter(|&v| v != 0);
            let max = s.int("max_value", false, p).filter(|&v| v != 0);
            let invert_match = s.boolean("invert_match", false, p).unwrap_or(false);
            if s.ok && min.is_none() && max.is_none() {
                s.fail(
                    p,
                    "numeric_attribute needs min_value or max_value (0 counts as not set)"
                        .to_owned(),
                );
            }
            key.filter(|_| s.ok).map(|key| {
                Policy::NumericAttribute(NumericAttribute {
                    key,
                    min: min.unwrap_or(i64::MIN),
                    max: max.unwrap_or(i64::MAX),
                    invert_match,
                })
            })
        }
        ("boolean_attribute", _) => {
            let mut s = Section::open(
                obj,
                "boolean_attribute",
                path,
                &label,
                &["key", "value", "invert_match"],
                p,
            );
            let key = s.string("key", true, p);
            let value = s.boolean("value", true, p);
            let invert_match = s.boolean("invert_match", false, p).unwrap_or(false);
            match (key, value) {
                (Some(key), Some(value)) if s.ok => {
                    Some(Policy::BooleanAttribute(BooleanAttribute {
                        key,
                        value,
                        invert_match,
                    }))
                }
                _ => None,
            }
        }
        ("rate_limiting", _) => {
            let mut s = Section::open(
                obj,
                "rate_limiting",
                path,
                &label,
                &["spans_per_second", "burst_capacity"],
                p,
            );
            let sps = s.non_negative("spans_per_second", true, p);
            let burst = s.non_negative("burst_capacity", false, p).unwrap_or(0);
            sps.filter(|_| s.ok)
                .map(|sps| Policy::RateLimiting(RateLimiting::new(sps, burst)))
        }
        ("span_count", _) => {
            let mut s = Section::open(
                obj,
                "span_count",
                path,
                &label,
                &["min_spans", "max_spans"],
                p,
            );
            let min_spans = s.int32("min_spans", true, p);
            let max_spans = s.int32("max_spans", false, p).unwrap_or(0);
            if let Some(min) = min_spans
                && max_spans != 0
                && max_spans < min
            {
                p.warn(
                    path,
                    format!("{label}span_count.max_spans ({max_spans}) is below min_spans ({min}): the policy never samples"),
                );
            }
            min_spans.filter(|_| s.ok).map(|min_spans| {
                Policy::SpanCount(SpanCount {
                    min_spans,
                    max_spans,
                })
            })
        }
        ("and", Level::Top | Level::CompositeSub) => {
            let mut s = Section::open(obj, "and", path, &label, &["and_sub_policy"], p);
            let items = s.list("and_sub_policy", true, p);
            let subs = parse_subs(items, &format!("{path}.and.and_sub_policy"), p);
            subs.filter(|_| s.ok).map(Policy::And)
        }
        ("drop", Level::Top) => {
            let mut s = Section::open(obj, "drop", path, &label, &["drop_sub_policy"], p);
            let items = s.list("drop_sub_policy", true, p);
            let subs = parse_subs(items, &format!("{path}.drop.drop_sub_policy"), p);
            subs.filter(|_| s.ok).map(Policy::Drop)
        }
        ("composite", Level::Top) => parse_composite(obj, path, &label, p),
        ("and" | "drop" | "composite", _) => {
            let place = match level {
                Level::CompositeSub => "a composite sub-policy",
                _ => "an and/drop sub-policy",
            };
            p.error(path, format!("{label}type {ty} is not allowed in {place}"));
            None
        }
        (t, _) if UNSUPPORTED_TYPES.contains(&t) => {
            p.error(
                path,
                format!("{label}policy type {t} is not supported by this guest"),
            );
            None
        }
        (t, _) => {
            p.error(
                path,
                format!(
                    "{label}unknown sampling policy type {t:?} (supported: always_sample, latency, status_code, probabilistic, string_attribute, numeric_attribute, boolean_attribute, rate_limiting, span_count, and, composite, drop)"
                ),
            );
            None
        }
    };
    policy.filter(|_| ok).map(|policy| (name, policy))
}

/// Parses `and_sub_policy` / `drop_sub_policy` items.
fn parse_subs(items: Option<&Vec<Value>>, path: &str, p: &mut Problems) -> Option<Vec<Policy>> {
    let items = items?;
    let mut subs = Vec::with_capacity(items.len());
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        match parse_policy(item, &format!("{path}[{i}]"), Level::AndSub, p) {
            Some((_, policy)) => subs.push(policy),
            None => ok = false,
        }
    }
    ok.then_some(subs)
}

fn parse_composite(
    obj: &Map<String, Value>,
    path: &str,
    label: &str,
    p: &mut Problems,
) -> Option<Policy> {
    let mut s = Section::open(
        obj,
        "composite",
        path,
        label,
        &[
            "max_total_spans_per_second",
            "policy_order",
            "composite_sub_policy",
            "rate_allocation",
        ],
        p,
    );
    let max_total = s.non_negative("max_total_spans_per_second", true, p);
    // policy_order is accepted and, as in the Collector, not used: sub-policies are evaluated
    // in composite_sub_policy order.
    let _ = s.strings("policy_order", false, p);
    let items = s.list("composite_sub_policy", true, p);
    let mut allocation: Vec<(String, i64)> = Vec::new();
    for (i, entry) in s
        .list("rate_allocation", false, p)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let entry_path = format!("{path}.composite.rate_allocation[{i}]");
        let Value::Object(m) = entry else {
            s.fail(p, format!("composite.rate_allocation[{i}] must be a map"));
            continue;
        };
        let mut entry_ok = true;
        for key in m.keys() {
            if key != "policy" && key != "percent" {
                entry_ok = false;
                p.error(
                    &entry_path,
                    format!(
                        "{label}rate_allocation has no field `{key}` (expected policy, percent)"
                    ),
                );
            }
        }
        let policy = match m.get("policy") {
            Some(Value::String(s)) => Some(s.clone()),
            _ => {
                p.error(
                    &entry_path,
                    format!("{label}rate_allocation needs a policy name"),
                );
                None
            }
        };
        let percent = match m.get("percent") {
            None | Some(Value::Null) => Some(0),
            Some(v) => {
                let n = v.as_i64();
                if n.is_none() {
                    p.error(
                        &entry_path,
                        format!(
                            "{label}rate_allocation.percent must be an integer, got {}",
                            kind(v)
                        ),
                    );
                }
                n
            }
        };
        match (policy, percent) {
            (Some(policy), Some(percent)) if entry_ok => allocation.push((policy, percent)),
            _ => s.ok = false,
        }
    }
    let items = items?;
    let mut subs = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let sub_path = format!("{path}.composite.composite_sub_policy[{i}]");
        if let Some((name, policy)) = parse_policy(item, &sub_path, Level::CompositeSub, p) {
            let allocated = allocations(max_total.unwrap_or(0), items.len(), &allocation, &name);
            if allocated == 0 && max_total.is_some_and(|m| m > 0) {
                p.warn(
                    &sub_path,
                    format!("{label}sub-policy {name:?} has no rate_allocation: it gets 0 spans per second and never samples"),
                );
            }
            subs.push(SubPolicy {
                name,
                policy,
                allocated_sps: allocated,
                sampled_sps: 0,
            });
        } else {
            s.ok = false;
        }
    }
    for (policy, _) in &allocation {
        if !subs.iter().any(|sub| &sub.name == policy) {
            p.warn(
                path,
                format!(
                    "{label}rate_allocation names {policy:?}, which is not a composite sub-policy"
                ),
            );
        }
    }
    match max_total {
        Some(max_total) if s.ok => Some(Policy::Composite(Composite::new(max_total, subs))),
        _ => None,
    }
}
