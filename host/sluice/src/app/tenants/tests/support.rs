//! What the tenant chain tests share: real guests (the built-in transform guest, built by
//! `bash .ci/build-guests` into target/wasm32-wasip2/release, and sluice-wasm's misbehaving
//! fixtures, built on first use into target/wasm-fixtures), configs, batches and a recorder.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use sluice_config::{ComponentId, Processor, TenantProcessorsSettings};
use sluice_pipeline::metrics::Metrics;
use sluice_pipeline::{Batch, ConsumeError, Consumer, Payload, RequestContext};
use sluice_wasm::Runtime;

use super::super::Router;

/// The component file of one of sluice-wasm's fixture guests, built on first use.
pub(super) fn fixture(name: &str) -> String {
    sluice_fixture_guests::path(name)
        .unwrap_or_else(|e| panic!("{e}"))
        .display()
        .to_string()
}

/// A transform processor that sets `edited_by` on every span.
pub(super) fn transform(value: &str) -> String {
    format!("{{trace_statements: ['set(span.attributes[\"edited_by\"], \"{value}\")']}}")
}

/// A config whose traces pipeline runs `tenant_processors` with `processors` and `tenants`
/// (YAML fragments, indented for their place).
pub(super) fn config(
    processors: &str,
    tenants: &str,
) -> (TenantProcessorsSettings, BTreeMap<ComponentId, Processor>) {
    let yaml = format!(
        "receivers: {{otlp: {{protocols: {{http: {{endpoint: '127.0.0.1:0'}}}}}}}}\n\
         processors:\n{processors}\n  tenant_processors:\n{tenants}\n\
         exporters: {{nop: {{}}}}\n\
         service:\n  telemetry: {{metrics: {{level: none}}}}\n  pipelines:\n    \
         traces: {{receivers: [otlp], processors: [tenant_processors], exporters: [nop]}}\n"
    );
    let config = match sluice_config::load_str(&yaml) {
        Ok(config) => config,
        Err(e) => panic!("invalid test config: {e}\n{yaml}"),
    };
    let id = ComponentId::new("tenant_processors", None);
    match config.processors.get(&id) {
        Some(Processor::TenantProcessors(t)) => (t.clone(), config.processors.clone()),
        other => panic!("no tenant_processors: {other:?}"),
    }
}

/// Three tenants with their own transform, and a default chain.
pub(super) fn three_tenants(
    acme: &str,
    globex: &str,
) -> (TenantProcessorsSettings, BTreeMap<ComponentId, Processor>) {
    config(
        &format!(
            "  transform/acme: {}\n  transform/globex: {}\n  transform/initech: {}\n  transform/default: {}",
            transform(acme),
            transform(globex),
            transform("initech"),
            transform("default"),
        ),
        "    tenants:\n      acme: {processors: [transform/acme]}\n      globex: {processors: [transform/globex]}\n      \
         initech: {processors: [transform/initech]}\n    default: {processors: [transform/default]}",
    )
}

pub(super) fn build(
    (settings, processors): &(TenantProcessorsSettings, BTreeMap<ComponentId, Processor>),
    runtime: Runtime,
) -> (Arc<Router>, Arc<Recorder>, Metrics) {
    let recorder = Arc::new(Recorder::default());
    let metrics = Metrics::new();
    let router = Router::build(
        &ComponentId::new("tenant_processors", None),
        settings,
        processors,
        recorder.clone(),
        runtime,
        &metrics,
    )
    .unwrap_or_else(|e| panic!("build the router: {e}"));
    (router, recorder, metrics)
}

pub(super) fn runtime() -> Runtime {
    Runtime::new().expect("start the wasm runtime")
}

/// A traces batch of `tenant` with one span per name.
pub(super) fn batch(tenant: Option<&str>, names: &[&str]) -> Batch {
    let spans = names
        .iter()
        .enumerate()
        .map(|(i, name)| Span {
            trace_id: vec![1; 16],
            span_id: (i as u64 + 1).to_be_bytes().to_vec(),
            name: (*name).to_owned(),
            start_time_unix_nano: 1,
            end_time_unix_nano: 2,
            ..Default::default()
        })
        .collect();
    let payload = Payload::Traces(ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Default::default()),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    });
    Batch::new(
        payload,
        RequestContext {
            receiver: "otlp".into(),
            tenant: tenant.map(Into::into),
            ..Default::default()
        },
    )
}

/// The spans of a decoded payload (the recorder decodes what it gets).
pub(super) fn spans(payload: &Payload) -> Vec<&Span> {
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

/// The value of attribute `key` on every span of a payload, one entry per span.
pub(super) fn attr(payload: &Payload, key: &str) -> Vec<Option<String>> {
    spans(payload)
        .iter()
        .map(|s| {
            s.attributes
                .iter()
                .find(|kv| kv.key == key)
                .and_then(|kv| kv.value.as_ref()?.value.as_ref())
                .map(|v| match v {
                    any_value::Value::StringValue(s) => s.clone(),
                    any_value::Value::IntValue(i) => i.to_string(),
                    other => format!("{other:?}"),
                })
        })
        .collect()
}

/// What reached the end of the chains.
#[derive(Default)]
pub(super) struct Recorder {
    batches: Mutex<Vec<Batch>>,
    pub(super) shutdowns: AtomicUsize,
}

impl Recorder {
    /// `(tenant, edited_by of each span)` of every batch, in arrival order.
    pub(super) fn edits(&self, key: &str) -> Vec<(Option<String>, Vec<Option<String>>)> {
        self.batches
            .lock()
            .map(|b| {
                b.iter()
                    .map(|b| {
                        (
                            b.context.tenant.as_deref().map(str::to_owned),
                            attr(&b.payload, key),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    pub(super) fn items(&self) -> usize {
        self.batches
            .lock()
            .map(|b| b.iter().map(|b| b.payload.item_count()).sum())
            .unwrap_or(0)
    }

    pub(super) fn clear(&self) {
        if let Ok(mut b) = self.batches.lock() {
            b.clear();
        }
    }
}

#[async_trait::async_trait]
impl Consumer for Recorder {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        // A guest's replaced bytes arrive undecoded: decoded here, as an exporter would.
        let batch = Batch::new(batch.payload.into_decoded()?, batch.context);
        if let Ok(mut b) = self.batches.lock() {
            b.push(batch);
        }
        Ok(())
    }

    async fn shutdown(&self) {
        self.shutdowns.fetch_add(1, Ordering::SeqCst);
    }
}

pub(super) fn some(s: &str) -> Option<String> {
    Some(s.to_owned())
}

/// Sends one single-span batch for `tenant` and returns its `edited_by`.
pub(super) async fn edit_of(
    router: &Router,
    recorder: &Recorder,
    tenant: Option<&str>,
) -> Option<String> {
    recorder.clear();
    router
        .consume(batch(tenant, &["s"]))
        .await
        .expect("the router takes the batch");
    let edits = recorder.edits("edited_by");
    assert_eq!(edits.len(), 1, "one batch out for {tenant:?}: {edits:?}");
    edits[0].1[0].clone()
}
