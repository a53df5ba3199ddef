//! `string_attribute`, `numeric_attribute` and `boolean_attribute` (the Collector's
//! `string_tag_filter.go`, `numeric_tag_filter.go`, `boolean_tag_filter.go`): resource and
//! span attributes of the trace, with `invert_match`.
//!
//! As pcommon's typed getters, a value of another type reads as `""`, `0` or `false`.

use std::collections::HashMap;

use regex_lite::Regex;
use sluice_guest_sdk::otlp::any_value::Value;
use sluice_guest_sdk::prelude::*;

use crate::decision::Decision;
use crate::trace_view::{TraceRef, get};

fn as_str(v: &AnyValue) -> &str {
    match &v.value {
        Some(Value::StringValue(s)) => s,
        _ => "",
    }
}

fn as_int(v: &AnyValue) -> i64 {
    match v.value {
        Some(Value::IntValue(i)) => i,
        _ => 0,
    }
}

fn as_bool(v: &AnyValue) -> bool {
    matches!(v.value, Some(Value::BoolValue(true)))
}

/// The Collector's default `cache_max_size`.
pub const DEFAULT_CACHE_SIZE: usize = 128;

/// How `string_attribute` compares values.
#[derive(Debug)]
pub enum Matcher {
    /// Exact match against the non-empty configured values.
    Exact(Vec<String>),
    /// Any of the regular expressions matches somewhere in the value (unanchored), with the
    /// verdicts of recent values cached.
    Regex {
        /// The compiled `values`.
        patterns: Vec<Regex>,
        /// Cached verdicts.
        cache: HashMap<String, bool>,
        /// `cache_max_size` (the cache is emptied when full).
        cache_max_size: usize,
    },
}

impl Matcher {
    fn matches(&mut self, value: &str) -> bool {
        match self {
            Matcher::Exact(values) => values.iter().any(|v| v == value),
            Matcher::Regex {
                patterns,
                cache,
                cache_max_size,
            } => {
                if let Some(&m) = cache.get(value) {
                    return m;
                }
                let m = patterns.iter().any(|r| r.is_match(value));
                if cache.len() >= *cache_max_size {
                    cache.clear();
                }
                cache.insert(value.to_owned(), m);
                m
            }
        }
    }
}

/// `string_attribute` policy.
#[derive(Debug)]
pub struct StringAttribute {
    /// `key`.
    pub key: String,
    /// `values`, exact or regular expressions.
    pub matcher: Matcher,
    /// `invert_match`.
    pub invert_match: bool,
}

impl StringAttribute {
    /// Resource values are matched as they are; span values only when non-empty.
    pub fn evaluate(&mut self, trace: &TraceRef<'_>) -> Decision {
        let key = self.key.as_str();
        let matcher = std::cell::RefCell::new(&mut self.matcher);
        let resource = |attrs: &[KeyValue]| match get(attrs, key) {
            Some(v) => matcher.borrow_mut().matches(as_str(v)),
            None => false,
        };
        let span = |span: &Span| match get(&span.attributes, key) {
            Some(v) => {
                let s = as_str(v);
                !s.is_empty() && matcher.borrow_mut().matches(s)
            }
            None => false,
        };
        if self.invert_match {
            trace.invert_has_resource_or_span(|a| !resource(a), |s| !span(s))
        } else {
            trace.has_resource_or_span(resource, span)
        }
    }
}

/// `numeric_attribute` policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumericAttribute {
    /// `key`.
    pub key: String,
    /// `min_value` (`i64::MIN` when unset or 0, as the Collector).
    pub min: i64,
    /// `max_value` (`i64::MAX` when unset or 0, as the Collector).
    pub max: i64,
    /// `invert_match`.
    pub invert_match: bool,
}

impl NumericAttribute {
    /// Sampled when a resource or span has `key` with an integer in `[min, max]`.
    pub fn evaluate(&self, trace: &TraceRef<'_>) -> Decision {
        let in_range = |attrs: &[KeyValue]| {
            get(attrs, &self.key).is_some_and(|v| (self.min..=self.max).contains(&as_int(v)))
        };
        if self.invert_match {
            trace.invert_has_resource_or_span(|a| !in_range(a), |s| !in_range(&s.attributes))
        } else {
            trace.has_resource_or_span(in_range, |s| in_range(&s.attributes))
        }
    }
}

/// `boolean_attribute` policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BooleanAttribute {
    /// `key`.
    pub key: String,
    /// `value`.
    pub value: bool,
    /// `invert_match`.
    pub invert_match: bool,
}

impl BooleanAttribute {
    /// Sampled when a resource or span has `key` equal to `value`.
    pub fn evaluate(&self, trace: &TraceRef<'_>) -> Decision {
        let matches =
            |attrs: &[KeyValue]| get(attrs, &self.key).is_some_and(|v| as_bool(v) == self.value);
        if self.invert_match {
            trace.invert_has_resource_or_span(|a| !matches(a), |s| !matches(&s.attributes))
        } else {
            trace.has_resource_or_span(matches, |s| matches(&s.attributes))
        }
    }
}
