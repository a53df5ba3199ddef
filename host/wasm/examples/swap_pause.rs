//! Measures the hot-swap pause: `consume` latency of a `WasmProcessor` with and without a
//! `swap()` every 100 ms, 4 concurrent senders of 1000-span × 10-attribute trace batches.
//!
//! Needs the fixture guests built by the tests (`cargo test -p sluice-wasm`), then:
//! `cargo run --release -p sluice-wasm --example swap_pause`

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use sluice_pipeline::metrics::Metrics;
use sluice_pipeline::{Batch, ConsumeError, Consumer, Payload, RequestContext};
use sluice_wasm::{
    ComponentSource, Limits, Module, OnError, OutputCheck, ProcessorSpec, Runtime, WasmProcessor,
};

const SENDERS: usize = 4;
const SPANS: usize = 1000;
const PHASE: Duration = Duration::from_secs(10);
const SWAP_EVERY: Duration = Duration::from_millis(100);

/// Counts batches, spans, and batches tagged `fixture=ok2`.
#[derive(Default)]
struct Counter {
    batches: AtomicU64,
    spans: AtomicU64,
    ok2: AtomicU64,
}

#[async_trait::async_trait]
impl Consumer for Counter {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        let decoded = batch.payload.decoded();
        if let Ok(decoded) = &decoded
            && let Payload::Traces(r) = &**decoded
        {
            let spans = r.resource_spans.iter().flat_map(|rs| &rs.scope_spans);
            let spans: Vec<&Span> = spans.flat_map(|ss| &ss.spans).collect();
            let ok2 = spans.first().is_some_and(|s| {
                s.attributes.iter().any(|kv| {
                    kv.key == "fixture"
                        && matches!(kv.value.as_ref().and_then(|v| v.value.as_ref()),
                            Some(any_value::Value::StringValue(v)) if v == "ok2")
                })
            });
            self.spans.fetch_add(spans.len() as u64, Ordering::Relaxed);
            self.ok2.fetch_add(u64::from(ok2), Ordering::Relaxed);
        }
        self.batches.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

fn fixture(name: &str) -> PathBuf {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.join(format!(
        "../../target/wasm-fixtures/wasm32-wasip2/release/fixture_{name}.wasm"
    ))
}

fn spec(fixture_name: &str) -> ProcessorSpec {
    ProcessorSpec {
        name: "wasm/swap-pause".into(),
        component: ComponentSource::Path(fixture(fixture_name)),
        config_json: "{}".into(),
        limits: Limits::default(),
        on_error: OnError::Pass,
        tenant: None,
        output_check: OutputCheck::Decode,
    }
}

fn load(runtime: &Runtime, fixture_name: &str) -> Module {
    match runtime.load(&spec(fixture_name)) {
        Ok((module, _)) => module,
        Err(e) => panic!("load fixture {fixture_name}: {e}"),
    }
}

fn payload() -> Payload {
    let kv = |a: usize| KeyValue {
        key: format!("attr.{a}"),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue("value".into())),
        }),
        ..Default::default()
    };
    let spans = (0..SPANS)
        .map(|i| Span {
            trace_id: vec![1; 16],
            span_id: (i as u64 + 1).to_be_bytes().to_vec(),
            name: format!("span-{i}"),
            start_time_unix_nano: 1_700_000_000_000_000_000,
            end_time_unix_nano: 1_700_000_001_000_000_000,
            attributes: (0..10).map(kv).collect(),
            ..Default::default()
        })
        .collect();
    Payload::Traces(ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Default::default()),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    })
}

fn batch(payload: &Payload) -> Batch {
    let receiver = "otlp".into();
    Batch::new(
        payload.clone(),
        RequestContext {
            receiver,
            ..Default::default()
        },
    )
}

/// How a phase swaps versions.
#[derive(Clone, Copy, PartialEq)]
enum Swaps {
    None,
    /// `Runtime::load` (compile + check) of the next version in a blocking task, then swap.
    Fresh,
    /// Swap between two versions loaded before the phase (isolates the swap from compiling).
    Preloaded,
}

/// Runs one phase; returns sorted per-call latencies and the number of swaps.
async fn phase(runtime: &Runtime, swapping: Swaps) -> (Vec<Duration>, usize, Arc<Counter>) {
    let counter = Arc::new(Counter::default());
    let preloaded = [load(runtime, "ok"), load(runtime, "ok2")];
    let first = preloaded[0].clone();
    let p = WasmProcessor::new(runtime, first, counter.clone(), &Metrics::new());
    let stop = Arc::new(AtomicBool::new(false));
    let failed = Arc::new(AtomicUsize::new(0));
    let senders: Vec<_> = (0..SENDERS)
        .map(|_| {
            let (p, stop, failed) = (p.clone(), stop.clone(), failed.clone());
            tokio::spawn(async move {
                let payload = payload();
                let mut latencies = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let b = batch(&payload); // cloned outside the measured call
                    let start = Instant::now();
                    let result = p.consume(b).await;
                    latencies.push(start.elapsed());
                    if result.is_err() {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
                latencies
            })
        })
        .collect();
    let deadline = Instant::now() + PHASE;
    let mut swaps = 0;
    if swapping != Swaps::None {
        let mut next_is_ok2 = true;
        while Instant::now() + SWAP_EVERY <= deadline {
            let due = Instant::now() + SWAP_EVERY;
            let (rt, name) = (runtime.clone(), if next_is_ok2 { "ok2" } else { "ok" });
            let module = if swapping == Swaps::Fresh {
                // Compile and check the next version off the measured path, then swap.
                tokio::task::spawn_blocking(move || load(&rt, name))
                    .await
                    .expect("load task")
            } else {
                preloaded[usize::from(next_is_ok2)].clone()
            };
            tokio::time::sleep_until(due.into()).await;
            p.swap(module);
            swaps += 1;
            next_is_ok2 = !next_is_ok2;
        }
    }
    tokio::time::sleep_until(deadline.into()).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for s in senders {
        all.extend(s.await.expect("sender finished"));
    }
    assert_eq!(failed.load(Ordering::Relaxed), 0, "a consume call failed");
    assert_eq!(p.generation(), 1 + swaps as u64);
    all.sort_unstable();
    (all, swaps, counter)
}

fn report(label: &str, latencies: &[Duration], swaps: usize, counter: &Counter) {
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let received = counter.batches.load(Ordering::Relaxed);
    let sent = latencies.len() as u64;
    println!(
        "{label}: batches sent {sent}, received {received} (loss {}), spans received {}, \
         ok2-tagged batches {}, swaps {swaps}; consume latency p50 {:.2} ms, p99 {:.2} ms, \
         max {:.2} ms",
        sent as i64 - received as i64,
        counter.spans.load(Ordering::Relaxed),
        counter.ok2.load(Ordering::Relaxed),
        ms(at(0.50)),
        ms(at(0.99)),
        ms(latencies[latencies.len() - 1]),
    );
    assert_eq!(sent, received, "every batch arrived");
    assert_eq!(counter.spans.load(Ordering::Relaxed), sent * SPANS as u64);
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    if let Some(missing) = ["ok", "ok2"].map(fixture).into_iter().find(|p| !p.exists()) {
        let missing = missing.display();
        eprintln!("missing fixture guest {missing}: run `cargo test -p sluice-wasm` first");
        std::process::exit(1);
    }
    let runtime = Runtime::new().expect("start the wasm runtime");
    println!("{SENDERS} senders, {SPANS}-span × 10-attribute batches, {PHASE:?} per phase");
    for (label, swapping) in [
        ("no swaps          ", Swaps::None),
        ("swaps, fresh load ", Swaps::Fresh),
        ("swaps, preloaded  ", Swaps::Preloaded),
    ] {
        let (lat, swaps, counter) = phase(&runtime, swapping).await;
        report(label, &lat, swaps, &counter);
    }
}
