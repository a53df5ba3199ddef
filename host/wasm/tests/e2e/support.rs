//! Building the fixture guests, OTLP builders, a recording consumer, captured logs.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use sluice_pipeline::metrics::Metrics;
use sluice_pipeline::{Batch, ConsumeError, Consumer, Payload, RequestContext};
use sluice_wasm::{
    ComponentSource, Limits, Module, OnError, OutputCheck, ProcessorSpec, Runtime, WasmProcessor,
};

/// The component file of a fixture (`ok`, `panic`, `reject-config`...), built on first use.
pub fn fixture(name: &str) -> PathBuf {
    sluice_fixture_guests::path(name).unwrap_or_else(|e| panic!("{e}"))
}

pub fn runtime() -> Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME
        .get_or_init(|| Runtime::new().expect("start the wasm runtime"))
        .clone()
}

pub fn spec(name: &str, fixture_name: &str) -> ProcessorSpec {
    ProcessorSpec {
        name: name.into(),
        component: ComponentSource::Path(fixture(fixture_name)),
        config_json: "{}".into(),
        limits: Limits::default(),
        on_error: OnError::Pass,
        tenant: None,
        output_check: OutputCheck::Decode,
    }
}

pub fn load(spec: &ProcessorSpec) -> Module {
    match runtime().load(spec) {
        Ok((module, _warnings)) => module,
        Err(e) => panic!("load {}: {e}", spec.name),
    }
}

/// A processor over `spec` whose output goes to a recorder; its metrics.
pub fn processor(spec: &ProcessorSpec) -> (Arc<WasmProcessor>, Arc<Recorder>, Metrics) {
    let recorder = Arc::new(Recorder::default());
    let metrics = Metrics::new();
    let p = WasmProcessor::new(&runtime(), load(spec), recorder.clone(), &metrics);
    (p, recorder, metrics)
}

/// A traces request: one resource, one scope, one span per name, each with 10 attributes.
pub fn spans(names: &[&str]) -> Payload {
    let spans = names
        .iter()
        .enumerate()
        .map(|(i, name)| Span {
            trace_id: vec![1; 16],
            span_id: (i as u64 + 1).to_be_bytes().to_vec(),
            name: (*name).to_owned(),
            start_time_unix_nano: 1_700_000_000_000_000_000,
            end_time_unix_nano: 1_700_000_001_000_000_000,
            attributes: (0..10)
                .map(|a| string_kv(&format!("attr.{a}"), "value"))
                .collect(),
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

/// A traces request of `n` spans named `span-<i>`.
pub fn many_spans(n: usize) -> Payload {
    let names: Vec<String> = (0..n).map(|i| format!("span-{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    spans(&refs)
}

fn string_kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..Default::default()
    }
}

pub fn batch(payload: Payload) -> Batch {
    Batch::new(
        payload,
        RequestContext {
            receiver: "otlp".into(),
            ..Default::default()
        },
    )
}

/// Every span of a traces payload.
pub fn all_spans(payload: &Payload) -> Vec<&Span> {
    match payload {
        Payload::Traces(r) => r
            .resource_spans
            .iter()
            .flat_map(|rs| &rs.scope_spans)
            .flat_map(|ss| &ss.spans)
            .collect(),
        _ => Vec::new(),
    }
}

/// Values of attribute `key` on a span (a well-formed span has at most one).
pub fn attr_values(span: &Span, key: &str) -> Vec<String> {
    span.attributes
        .iter()
        .filter(|kv| kv.key == key)
        .map(
            |kv| match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(any_value::Value::StringValue(s)) => s.clone(),
                Some(any_value::Value::IntValue(i)) => i.to_string(),
                other => format!("{other:?}"),
            },
        )
        .collect()
}

/// The single value of `key` on every span of the payload (panics when spans disagree).
pub fn tag(payload: &Payload, key: &str) -> Option<String> {
    let mut values: Vec<String> = all_spans(payload)
        .iter()
        .map(|s| attr_values(s, key).join(","))
        .collect();
    values.dedup();
    assert!(
        values.len() <= 1,
        "spans of one batch disagree on {key}: {values:?}"
    );
    values.pop().filter(|v| !v.is_empty())
}

/// A consumer that keeps what it gets.
#[derive(Default)]
pub struct Recorder {
    batches: Mutex<Vec<Batch>>,
    shut_down: std::sync::atomic::AtomicBool,
}

impl Recorder {
    /// What arrived, decoded (a guest's replaced bytes arrive undecoded).
    pub fn payloads(&self) -> Vec<Payload> {
        self.raw_payloads()
            .into_iter()
            .map(|p| p.into_decoded().expect("what arrived decodes"))
            .collect()
    }

    /// What arrived, in the form it arrived in.
    pub fn raw_payloads(&self) -> Vec<Payload> {
        self.batches
            .lock()
            .map(|b| b.iter().map(|b| b.payload.clone()).collect())
            .unwrap_or_default()
    }

    pub fn len(&self) -> usize {
        self.batches.lock().map(|b| b.len()).unwrap_or(0)
    }

    /// The last batch received.
    pub fn last(&self) -> Payload {
        self.payloads().pop().expect("a batch arrived")
    }

    pub fn was_shut_down(&self) -> bool {
        self.shut_down.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl Consumer for Recorder {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        if let Ok(mut b) = self.batches.lock() {
            b.push(batch);
        }
        Ok(())
    }

    async fn shutdown(&self) {
        self.shut_down
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Log lines of the whole test binary (guest output arrives on blocking threads, so the
/// subscriber is global).
pub fn captured_logs() -> String {
    logs().lock().map(|l| l.clone()).unwrap_or_default()
}

fn logs() -> &'static Arc<Mutex<String>> {
    static LOGS: OnceLock<Arc<Mutex<String>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(String::new()));
        let writer = CaptureWriter(buffer.clone());
        let _ = tracing_subscriber::fmt()
            .with_env_filter("info")
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .try_init();
        buffer
    })
}

/// Starts capturing logs (call before the code under test runs).
pub fn capture_logs() {
    let _ = logs();
}

#[derive(Clone)]
struct CaptureWriter(Arc<Mutex<String>>);

impl std::io::Write for CaptureWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut s) = self.0.lock() {
            s.push_str(&String::from_utf8_lossy(buf));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The value of one sample line in a Prometheus exposition (`name{labels}`), 0 when absent.
pub fn sample(exposition: &str, series: &str) -> f64 {
    exposition
        .lines()
        .find_map(|l| {
            l.strip_prefix(series)
                .and_then(|rest| rest.trim().parse().ok())
        })
        .unwrap_or(0.0)
}
