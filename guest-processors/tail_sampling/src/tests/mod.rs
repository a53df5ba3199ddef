//! Tests: one module per policy family, combinations, batch handling and configuration.

mod batches;
mod combinations;
mod config;
mod fast_path;
mod policies;
mod stateful;

use std::time::Duration;

use sluice_guest_sdk::otlp::trace::{ResourceSpans, ScopeSpans, Status};
use sluice_guest_sdk::prelude::*;

use crate::TailSampling;
use crate::clock::ManualClock;

/// Trace id `n` (16 bytes of `n`).
fn tid(n: u8) -> Vec<u8> {
    vec![n; 16]
}

/// A span of trace `n` from `start_ms` to `end_ms` (after a fixed epoch) with attributes.
fn span(n: u8, start_ms: u64, end_ms: u64, attrs: Vec<KeyValue>) -> Span {
    const BASE: u64 = 1_700_000_000_000_000_000;
    Span {
        trace_id: tid(n),
        span_id: vec![n, 1, 2, 3, 4, 5, 6, 7],
        name: format!("op-{n}"),
        start_time_unix_nano: BASE + start_ms * 1_000_000,
        end_time_unix_nano: BASE + end_ms * 1_000_000,
        attributes: attrs,
        ..Default::default()
    }
}

/// A span of trace `n` with a status code.
fn span_with_status(n: u8, code: StatusCode) -> Span {
    let mut s = span(n, 0, 1, vec![]);
    s.status = Some(Status {
        message: String::new(),
        code: code as i32,
    });
    s
}

/// A resource with `attrs` and one scope per entry of `scopes`.
fn resource(attrs: Vec<KeyValue>, scopes: Vec<Vec<Span>>) -> ResourceSpans {
    ResourceSpans {
        resource: Some(Resource {
            attributes: attrs,
            ..Default::default()
        }),
        scope_spans: scopes
            .into_iter()
            .enumerate()
            .map(|(i, spans)| ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: format!("scope-{i}"),
                    ..Default::default()
                }),
                spans,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

fn batch(resources: Vec<ResourceSpans>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: resources,
    }
}

/// A batch with one resource (no attributes) and one scope.
fn one_scope(spans: Vec<Span>) -> ExportTraceServiceRequest {
    batch(vec![resource(vec![], vec![spans])])
}

/// An evaluator for `config` on a manual clock at `t0`.
fn evaluator(config: &str) -> (TailSampling, ManualClock) {
    let clock = ManualClock::new(Duration::from_secs(1_700_000_000));
    let (ts, _) = TailSampling::with_clock(config, Box::new(clock.clone())).expect("valid config");
    (ts, clock)
}

/// The first bytes of the kept trace ids, in order of first appearance.
fn kept(ts: &mut TailSampling, b: &ExportTraceServiceRequest) -> Vec<u8> {
    let (views, kept) = ts.decide_batch(b);
    views
        .iter()
        .zip(kept)
        .filter(|(_, k)| *k)
        .map(|(v, _)| v.trace_id.first().copied().unwrap_or(0))
        .collect()
}

/// A config with the given policies (JSON list items).
fn policies(items: &str) -> String {
    format!(r#"{{"decision_wait": "10s", "num_traces": 100, "policies": [{items}]}}"#)
}

fn kv(k: &str, v: impl Into<AnyValue>) -> KeyValue {
    KeyValue::new(k, v)
}
