//! Sluice's own metrics, named as the Collector names them (`otelcol_receiver_accepted_spans_total`
//! with `receiver` and `transport` labels, `otelcol_exporter_sent_spans_total` with `exporter`), so
//! existing dashboards and alerts keep working. Metrics the Collector has no equivalent for
//! (WebAssembly processors) are named `sluice_*`.

use std::sync::Arc;

use parking_lot::Mutex;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::Signal;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReceiverLabels {
    receiver: String,
    transport: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ExporterLabels {
    exporter: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabels {
    exporter: String,
    data_type: String,
}

/// A processor, and the tenant it runs for when it belongs to a `tenant_processors` chain
/// (the `tenant` label is left out for shared processors).
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
struct ProcessorLabels {
    processor: String,
    tenant: Option<String>,
}

impl ProcessorLabels {
    fn of(processor: &str) -> Self {
        ProcessorLabels {
            processor: processor.to_owned(),
            tenant: None,
        }
    }

    fn encode_into(
        &self,
        encoder: &mut prometheus_client::encoding::LabelSetEncoder,
    ) -> Result<(), std::fmt::Error> {
        use prometheus_client::encoding::EncodeLabel;
        ("processor", self.processor.as_str()).encode(encoder.encode_label())?;
        if let Some(tenant) = &self.tenant {
            ("tenant", tenant.as_str()).encode(encoder.encode_label())?;
        }
        Ok(())
    }
}

impl EncodeLabelSet for ProcessorLabels {
    fn encode(
        &self,
        encoder: &mut prometheus_client::encoding::LabelSetEncoder,
    ) -> Result<(), std::fmt::Error> {
        self.encode_into(encoder)
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
struct ProcessorErrorLabels {
    processor: ProcessorLabels,
    kind: String,
}

impl EncodeLabelSet for ProcessorErrorLabels {
    fn encode(
        &self,
        encoder: &mut prometheus_client::encoding::LabelSetEncoder,
    ) -> Result<(), std::fmt::Error> {
        use prometheus_client::encoding::EncodeLabel;
        self.processor.encode_into(encoder)?;
        ("kind", self.kind.as_str()).encode(encoder.encode_label())
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SampledLabels {
    processor: String,
    sampled: String,
}

fn call_duration_histogram() -> Histogram {
    // 50 µs … ~1.2 s
    Histogram::new(exponential_buckets(0.000_05, 2.5, 12))
}

/// The families of WebAssembly processor metrics (`sluice_processor_*`).
#[derive(Clone)]
struct WasmFamilies {
    calls: Family<ProcessorLabels, Counter>,
    errors: Family<ProcessorErrorLabels, Counter>,
    duration: Family<ProcessorLabels, Histogram, fn() -> Histogram>,
    restarts: Family<ProcessorLabels, Counter>,
}

impl WasmFamilies {
    fn new() -> Self {
        WasmFamilies {
            calls: Family::default(),
            errors: Family::default(),
            duration: Family::new_with_constructor(call_duration_histogram),
            restarts: Family::default(),
        }
    }

    fn register(&self, registry: &mut Registry) {
        registry.register(
            "processor_calls",
            "Calls into a WebAssembly processor (one per batch)",
            self.calls.clone(),
        );
        registry.register(
            "processor_errors",
            "Failed WebAssembly processor calls by kind (trap, timeout, memory, malformed_output, process_error, init, backoff, flush)",
            self.errors.clone(),
        );
        registry.register(
            "processor_call_duration_seconds",
            "Duration of one WebAssembly processor call",
            self.duration.clone(),
        );
        registry.register(
            "processor_instance_restarts",
            "WebAssembly processor instances discarded (after a trap or above the memory high-water mark) and created again",
            self.restarts.clone(),
        );
    }
}

/// The families of the `tail_sampling` processor: the Collector's names where it has the
/// metric (`otelcol_processor_tail_sampling_*`), `sluice_processor_tail_sampling_*` otherwise.
#[derive(Clone, Default)]
struct TailSamplingFamilies {
    traces_on_memory: Family<ProcessorLabels, Gauge>,
    traces_sampled: Family<SampledLabels, Counter>,
    decided_too_early: Family<ProcessorLabels, Counter>,
    late_spans: Family<SampledLabels, Counter>,
    new_traces: Family<ProcessorLabels, Counter>,
    spans_on_memory: Family<ProcessorLabels, Gauge>,
    decider_errors: Family<ProcessorLabels, Counter>,
}

impl TailSamplingFamilies {
    fn register(&self, otelcol: &mut Registry, sluice: &mut Registry) {
        otelcol.register(
            "processor_tail_sampling_sampling_traces_on_memory",
            "Traces buffered or being decided by the tail sampling processor",
            self.traces_on_memory.clone(),
        );
        otelcol.register(
            "processor_tail_sampling_global_count_traces_sampled",
            "Traces decided by the tail sampling processor, sampled or not",
            self.traces_sampled.clone(),
        );
        otelcol.register(
            "processor_tail_sampling_sampling_trace_dropped_too_early",
            "Traces decided before decision_wait because num_traces or the span bound was reached (Sluice decides them early instead of dropping them)",
            self.decided_too_early.clone(),
        );
        otelcol.register(
            "processor_tail_sampling_early_releases_from_cache_decision",
            "Spans that arrived after their trace was decided and followed that decision",
            self.late_spans.clone(),
        );
        otelcol.register(
            "processor_tail_sampling_new_trace_id_received",
            "Traces the tail sampling processor started buffering",
            self.new_traces.clone(),
        );
        sluice.register(
            "processor_tail_sampling_spans_on_memory",
            "Spans buffered by the tail sampling processor",
            self.spans_on_memory.clone(),
        );
        sluice.register(
            "processor_tail_sampling_decider_errors",
            "Failed calls to the tail sampling policy evaluator (their traces were sent on as sampled)",
            self.decider_errors.clone(),
        );
    }
}

/// One counter family per signal, named `<prefix>_<item>` (`spans`, `metric_points`, `log_records`).
#[derive(Clone)]
struct PerSignal<
    L: Clone + std::hash::Hash + Eq + EncodeLabelSet + std::fmt::Debug + Send + Sync + 'static,
> {
    traces: Family<L, Counter>,
    metrics: Family<L, Counter>,
    logs: Family<L, Counter>,
}

impl<L> Default for PerSignal<L>
where
    L: Clone + std::hash::Hash + Eq + EncodeLabelSet + std::fmt::Debug + Send + Sync + 'static,
{
    fn default() -> Self {
        PerSignal {
            traces: Family::default(),
            metrics: Family::default(),
            logs: Family::default(),
        }
    }
}

impl<L> PerSignal<L>
where
    L: Clone + std::hash::Hash + Eq + EncodeLabelSet + std::fmt::Debug + Send + Sync + 'static,
{
    fn register(&self, registry: &mut Registry, prefix: &str, help: &str) {
        registry.register(
            format!("{prefix}_spans"),
            format!("{help} spans"),
            self.traces.clone(),
        );
        registry.register(
            format!("{prefix}_metric_points"),
            format!("{help} metric points"),
            self.metrics.clone(),
        );
        registry.register(
            format!("{prefix}_log_records"),
            format!("{help} log records"),
            self.logs.clone(),
        );
    }

    fn get(&self, signal: Signal, labels: &L) -> Counter {
        let family = match signal {
            Signal::Traces => &self.traces,
            Signal::Metrics => &self.metrics,
            Signal::Logs => &self.logs,
        };
        family.get_or_create(labels).clone()
    }
}

/// The registry of Sluice's own metrics. Clone it freely; all clones share the counters.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Mutex<Registry>>,
    receiver_accepted: PerSignal<ReceiverLabels>,
    receiver_refused: PerSignal<ReceiverLabels>,
    exporter_sent: PerSignal<ExporterLabels>,
    exporter_failed: PerSignal<ExporterLabels>,
    exporter_enqueue_failed: PerSignal<ExporterLabels>,
    exporter_queue_size: Family<QueueLabels, Gauge>,
    exporter_queue_capacity: Family<QueueLabels, Gauge>,
    exporter_retried: PerSignal<ExporterLabels>,
    processor_dropped: PerSignal<ProcessorLabels>,
    memory_limiter_refusing: Family<ProcessorLabels, Gauge>,
    /// `sluice_*` metrics, encoded after the `otelcol_*` ones.
    sluice_registry: Arc<Mutex<Registry>>,
    wasm: WasmFamilies,
    tail_sampling: TailSamplingFamilies,
    receiver_tenants: ReceiverTenantFamilies,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("otelcol");
        let m = Metrics {
            registry: Arc::default(),
            receiver_accepted: PerSignal::default(),
            receiver_refused: PerSignal::default(),
            exporter_sent: PerSignal::default(),
            exporter_failed: PerSignal::default(),
            exporter_enqueue_failed: PerSignal::default(),
            exporter_queue_size: Family::default(),
            exporter_queue_capacity: Family::default(),
            exporter_retried: PerSignal::default(),
            processor_dropped: PerSignal::default(),
            memory_limiter_refusing: Family::default(),
            sluice_registry: Arc::default(),
            wasm: WasmFamilies::new(),
            tail_sampling: TailSamplingFamilies::default(),
            receiver_tenants: ReceiverTenantFamilies::default(),
        };
        m.receiver_accepted.register(
            &mut registry,
            "receiver_accepted",
            "Items successfully pushed into the pipeline:",
        );
        m.receiver_refused.register(
            &mut registry,
            "receiver_refused",
            "Items that could not be pushed into the pipeline:",
        );
        m.exporter_sent.register(
            &mut registry,
            "exporter_sent",
            "Items successfully sent to destination:",
        );
        m.exporter_failed.register(
            &mut registry,
            "exporter_send_failed",
            "Items that failed to be sent to destination:",
        );
        m.exporter_enqueue_failed.register(
            &mut registry,
            "exporter_enqueue_failed",
            "Items refused because the sending queue was full:",
        );
        registry.register(
            "exporter_queue_size",
            "Requests in the sending queue",
            m.exporter_queue_size.clone(),
        );
        registry.register(
            "exporter_queue_capacity",
            "Capacity of the sending queue, in requests",
            m.exporter_queue_capacity.clone(),
        );
        m.processor_dropped.register(
            &mut registry,
            "processor_dropped",
            "Items dropped by a processor:",
        );
        registry.register(
            "memory_limiter_refusing",
            "1 while the memory limiter refuses data",
            m.memory_limiter_refusing.clone(),
        );
        let mut sluice_registry = Registry::with_prefix("sluice");
        m.tail_sampling
            .register(&mut registry, &mut sluice_registry);
        *m.registry.lock() = registry;
        m.wasm.register(&mut sluice_registry);
        m.exporter_retried.register(
            &mut sluice_registry,
            "exporter_retried",
            "Items whose export failed with a retryable error and was tried again:",
        );
        m.receiver_tenants.register(&mut sluice_registry);
        *m.sluice_registry.lock() = sluice_registry;
        m
    }

    /// Metrics of one WebAssembly processor.
    pub fn wasm_processor(&self, processor: &str) -> WasmProcessorMetrics {
        self.wasm_processor_of(ProcessorLabels::of(processor))
    }

    /// Metrics of one WebAssembly processor of `tenant`'s own chain (`tenant_processors`):
    /// the same series as [`Metrics::wasm_processor`] with a `tenant` label.
    pub fn tenant_wasm_processor(&self, processor: &str, tenant: &str) -> WasmProcessorMetrics {
        self.wasm_processor_of(ProcessorLabels {
            processor: processor.to_owned(),
            tenant: Some(tenant.to_owned()),
        })
    }

    fn wasm_processor_of(&self, labels: ProcessorLabels) -> WasmProcessorMetrics {
        WasmProcessorMetrics {
            dropped: Signal::ALL.map(|s| self.processor_dropped.get(s, &labels)),
            calls: self.wasm.calls.get_or_create(&labels).clone(),
            duration: self.wasm.duration.get_or_create(&labels).clone(),
            restarts: self.wasm.restarts.get_or_create(&labels).clone(),
            errors: self.wasm.errors.clone(),
            labels,
        }
    }

    /// Metrics of one `tail_sampling` processor.
    pub fn tail_sampling(&self, processor: &str) -> TailSamplingMetrics {
        let labels = ProcessorLabels::of(processor);
        let f = &self.tail_sampling;
        let by_decision = |family: &Family<SampledLabels, Counter>| {
            [false, true].map(|sampled| {
                family
                    .get_or_create(&SampledLabels {
                        processor: processor.to_owned(),
                        sampled: sampled.to_string(),
                    })
                    .clone()
            })
        };
        TailSamplingMetrics {
            processor: processor.to_owned(),
            traces_on_memory: f.traces_on_memory.get_or_create(&labels).clone(),
            spans_on_memory: f.spans_on_memory.get_or_create(&labels).clone(),
            traces_sampled: by_decision(&f.traces_sampled),
            decided_too_early: f.decided_too_early.get_or_create(&labels).clone(),
            late_spans: by_decision(&f.late_spans),
            new_traces: f.new_traces.get_or_create(&labels).clone(),
            decider_errors: f.decider_errors.get_or_create(&labels).clone(),
            lost: self.processor_dropped.get(Signal::Traces, &labels),
        }
    }

    /// Counters of one receiver on one transport.
    pub fn receiver(&self, receiver: &str, transport: &str) -> ReceiverMetrics {
        let labels = ReceiverLabels {
            receiver: receiver.to_owned(),
            transport: transport.to_owned(),
        };
        let get = |f: &PerSignal<ReceiverLabels>| Signal::ALL.map(|s| f.get(s, &labels));
        ReceiverMetrics {
            accepted: get(&self.receiver_accepted),
            refused: get(&self.receiver_refused),
        }
    }

    /// Counters of one exporter.
    pub fn exporter(&self, exporter: &str) -> ExporterMetrics {
        let labels = ExporterLabels {
            exporter: exporter.to_owned(),
        };
        let queue = |family: &Family<QueueLabels, Gauge>| {
            Signal::ALL.map(|s| {
                family
                    .get_or_create(&QueueLabels {
                        exporter: exporter.to_owned(),
                        data_type: s.to_string(),
                    })
                    .clone()
            })
        };
        ExporterMetrics {
            sent: Signal::ALL.map(|s| self.exporter_sent.get(s, &labels)),
            failed: Signal::ALL.map(|s| self.exporter_failed.get(s, &labels)),
            enqueue_failed: Signal::ALL.map(|s| self.exporter_enqueue_failed.get(s, &labels)),
            retried: Signal::ALL.map(|s| self.exporter_retried.get(s, &labels)),
            queue_size: queue(&self.exporter_queue_size),
            queue_capacity: queue(&self.exporter_queue_capacity),
        }
    }

    /// Counters of one processor.
    pub fn processor(&self, processor: &str) -> ProcessorMetrics {
        let labels = ProcessorLabels::of(processor);
        ProcessorMetrics {
            dropped: Signal::ALL.map(|s| self.processor_dropped.get(s, &labels)),
            refusing: self.memory_limiter_refusing.get_or_create(&labels).clone(),
        }
    }

    /// Register an extra metric family (process metrics, later stages).
    pub fn register(
        &self,
        name: &str,
        help: &str,
        metric: impl prometheus_client::registry::Metric,
    ) {
        self.registry.lock().register(name, help, metric);
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        use prometheus_client::encoding::text::{encode_eof, encode_registry};
        let mut out = String::new();
        let encoded = encode_registry(&mut out, &self.registry.lock())
            .and_then(|()| encode_registry(&mut out, &self.sluice_registry.lock()))
            .and_then(|()| encode_eof(&mut out));
        if encoded.is_err() {
            out.clear();
        }
        out
    }
}

fn index(signal: Signal) -> usize {
    match signal {
        Signal::Traces => 0,
        Signal::Metrics => 1,
        Signal::Logs => 2,
    }
}

/// Accepted / refused counters of one receiver and transport.
#[derive(Clone, Debug)]
pub struct ReceiverMetrics {
    accepted: [Counter; 3],
    refused: [Counter; 3],
}

impl ReceiverMetrics {
    pub fn accepted(&self, signal: Signal, items: usize) {
        self.accepted[index(signal)].inc_by(items as u64);
    }

    pub fn refused(&self, signal: Signal, items: usize) {
        self.refused[index(signal)].inc_by(items as u64);
    }
}

/// Sent / failed counters of one exporter.
#[derive(Clone, Debug)]
pub struct ExporterMetrics {
    sent: [Counter; 3],
    failed: [Counter; 3],
    enqueue_failed: [Counter; 3],
    retried: [Counter; 3],
    queue_size: [Gauge; 3],
    queue_capacity: [Gauge; 3],
}

impl ExporterMetrics {
    /// Items refused because the sending queue was full (`otelcol_exporter_enqueue_failed_*`).
    pub fn enqueue_failed(&self, signal: Signal, items: usize) {
        self.enqueue_failed[index(signal)].inc_by(items as u64);
    }

    /// Items of a request that is tried again after a retryable failure (`sluice_exporter_retried_*`).
    pub fn retried(&self, signal: Signal, items: usize) {
        self.retried[index(signal)].inc_by(items as u64);
    }

    /// Current length and capacity (in requests) of the signal's sending queue.
    pub fn set_queue(&self, signal: Signal, size: usize, capacity: usize) {
        self.queue_size[index(signal)].set(size as i64);
        self.queue_capacity[index(signal)].set(capacity as i64);
    }

    pub fn sent(&self, signal: Signal, items: usize) {
        self.sent[index(signal)].inc_by(items as u64);
    }

    pub fn failed(&self, signal: Signal, items: usize) {
        self.failed[index(signal)].inc_by(items as u64);
    }
}

/// Counters of one processor.
#[derive(Clone, Debug)]
pub struct ProcessorMetrics {
    dropped: [Counter; 3],
    refusing: Gauge,
}

impl ProcessorMetrics {
    pub fn dropped(&self, signal: Signal, items: usize) {
        self.dropped[index(signal)].inc_by(items as u64);
    }

    pub fn set_refusing(&self, refusing: bool) {
        self.refusing.set(i64::from(refusing));
    }
}

/// Calls, errors by kind, call durations and instance restarts of one WebAssembly processor.
#[derive(Clone, Debug)]
pub struct WasmProcessorMetrics {
    labels: ProcessorLabels,
    dropped: [Counter; 3],
    calls: Counter,
    duration: Histogram,
    restarts: Counter,
    errors: Family<ProcessorErrorLabels, Counter>,
}

impl WasmProcessorMetrics {
    /// One call into the guest that took `seconds`.
    pub fn call(&self, seconds: f64) {
        self.calls.inc();
        self.duration.observe(seconds);
    }

    /// One failure of kind `kind` (`trap`, `timeout`, `memory`, `malformed_output`,
    /// `process_error`, `init`, `backoff`, `flush`).
    pub fn error(&self, kind: &str) {
        self.errors
            .get_or_create(&ProcessorErrorLabels {
                processor: self.labels.clone(),
                kind: kind.to_owned(),
            })
            .inc();
    }

    /// Items dropped on purpose (`dropped` outcome) or by `on_error: drop`
    /// (`otelcol_processor_dropped_*`).
    pub fn dropped(&self, signal: Signal, items: usize) {
        self.dropped[index(signal)].inc_by(items as u64);
    }

    /// One instance discarded and to be created again.
    pub fn restart(&self) {
        self.restarts.inc();
    }

    /// Calls so far (for tests and logs).
    pub fn calls(&self) -> u64 {
        self.calls.get()
    }

    /// Errors of one kind so far.
    pub fn errors(&self, kind: &str) -> u64 {
        self.errors
            .get(&ProcessorErrorLabels {
                processor: self.labels.clone(),
                kind: kind.to_owned(),
            })
            .map_or(0, |c| c.get())
    }

    /// Instance restarts so far.
    pub fn restarts(&self) -> u64 {
        self.restarts.get()
    }
}

/// Metrics of one `tail_sampling` processor. Counters indexed by decision are `[not sampled,
/// sampled]`.
#[derive(Clone, Debug)]
pub struct TailSamplingMetrics {
    processor: String,
    traces_on_memory: Gauge,
    spans_on_memory: Gauge,
    traces_sampled: [Counter; 2],
    decided_too_early: Counter,
    late_spans: [Counter; 2],
    new_traces: Counter,
    decider_errors: Counter,
    lost: Counter,
}

impl TailSamplingMetrics {
    /// The processor's component id (for logs).
    pub fn processor(&self) -> &str {
        &self.processor
    }

    /// Traces and spans held now.
    pub fn set_on_memory(&self, traces: usize, spans: usize) {
        self.traces_on_memory.set(traces as i64);
        self.spans_on_memory.set(spans as i64);
    }

    /// `traces` decided `sampled` or not.
    pub fn decided(&self, sampled: bool, traces: usize) {
        self.traces_sampled[usize::from(sampled)].inc_by(traces as u64);
    }

    /// `traces` decided before `decision_wait` because a bound was reached.
    pub fn decided_too_early(&self, traces: usize) {
        self.decided_too_early.inc_by(traces as u64);
    }

    /// `spans` that arrived after their trace's decision and followed it.
    pub fn late_spans(&self, sampled: bool, spans: usize) {
        self.late_spans[usize::from(sampled)].inc_by(spans as u64);
    }

    /// `traces` seen for the first time.
    pub fn new_traces(&self, traces: usize) {
        self.new_traces.inc_by(traces as u64);
    }

    /// One failed call to the policy evaluator.
    pub fn decider_error(&self) {
        self.decider_errors.inc();
    }

    /// `spans` of sampled traces that could not be delivered (`otelcol_processor_dropped_spans`).
    pub fn lost(&self, spans: usize) {
        self.lost.inc_by(spans as u64);
    }

    /// Traces held now (for tests and logs).
    pub fn traces_on_memory(&self) -> i64 {
        self.traces_on_memory.get()
    }

    /// Spans held now.
    pub fn spans_on_memory(&self) -> i64 {
        self.spans_on_memory.get()
    }

    /// Traces decided `sampled` or not so far.
    pub fn decided_count(&self, sampled: bool) -> u64 {
        self.traces_sampled[usize::from(sampled)].get()
    }

    /// Traces decided early so far.
    pub fn decided_too_early_count(&self) -> u64 {
        self.decided_too_early.get()
    }

    /// Late spans handled by their trace's decision so far.
    pub fn late_spans_count(&self, sampled: bool) -> u64 {
        self.late_spans[usize::from(sampled)].get()
    }

    /// Traces seen for the first time so far.
    pub fn new_traces_count(&self) -> u64 {
        self.new_traces.get()
    }

    /// Failed decider calls so far.
    pub fn decider_errors_count(&self) -> u64 {
        self.decider_errors.get()
    }

    /// Spans lost so far.
    pub fn lost_count(&self) -> u64 {
        self.lost.get()
    }
}

/// Most distinct `tenant` label values the per-tenant metrics carry (tenant ids come from
/// clients); later tenants are counted under [`OTHER_TENANTS`]. The receivers' quota state
/// uses the same bound.
pub const MAX_TENANTS: usize = 10_000;

/// The `tenant` label of tenants beyond [`MAX_TENANTS`] (not a valid tenant id, so it never
/// names a real tenant).
pub const OTHER_TENANTS: &str = "<other>";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TenantLabels {
    tenant: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TenantRefusedLabels {
    tenant: String,
    reason: String,
}

/// The receivers' per-tenant families (`sluice_tenant_accepted_*`, `sluice_tenant_refused_*`)
/// and the tenant label values seen so far, shared by every receiver.
#[derive(Clone, Default)]
struct ReceiverTenantFamilies {
    accepted: PerSignal<TenantLabels>,
    refused: PerSignal<TenantRefusedLabels>,
    seen: Arc<Mutex<std::collections::HashSet<String>>>,
}

impl ReceiverTenantFamilies {
    fn register(&self, registry: &mut Registry) {
        self.accepted.register(
            registry,
            "tenant_accepted",
            "Items of a tenant a receiver pushed into the pipeline:",
        );
        self.refused.register(
            registry,
            "tenant_refused",
            "Items of a tenant a receiver refused, by reason (rate_limit, byte_rate_limit, concurrency, unidentified, invalid_tenant, downstream, invalid_data, internal):",
        );
    }
}

impl Metrics {
    /// Per-tenant counters of the receivers.
    pub fn receiver_tenants(&self) -> ReceiverTenantMetrics {
        ReceiverTenantMetrics {
            families: self.receiver_tenants.clone(),
        }
    }
}

/// Accepted and refused items per tenant (`sluice_tenant_accepted_spans_total{tenant}`,
/// `sluice_tenant_refused_spans_total{tenant,reason}`, likewise `metric_points` and
/// `log_records`). At most [`MAX_TENANTS`] tenant label values.
#[derive(Clone)]
pub struct ReceiverTenantMetrics {
    families: ReceiverTenantFamilies,
}

impl std::fmt::Debug for ReceiverTenantMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceiverTenantMetrics")
            .field("tenants", &self.families.seen.lock().len())
            .finish()
    }
}

impl ReceiverTenantMetrics {
    /// `items` of `tenant` pushed into the pipeline.
    pub fn accepted(&self, tenant: &str, signal: Signal, items: usize) {
        let labels = TenantLabels {
            tenant: self.label(tenant),
        };
        self.families
            .accepted
            .get(signal, &labels)
            .inc_by(items as u64);
    }

    /// `items` of `tenant` refused for `reason`.
    pub fn refused(&self, tenant: &str, signal: Signal, items: usize, reason: &str) {
        let labels = TenantRefusedLabels {
            tenant: self.label(tenant),
            reason: reason.to_owned(),
        };
        self.families
            .refused
            .get(signal, &labels)
            .inc_by(items as u64);
    }

    /// Accepted items of `tenant` so far (for tests and logs).
    pub fn accepted_count(&self, tenant: &str, signal: Signal) -> u64 {
        let labels = TenantLabels {
            tenant: tenant.to_owned(),
        };
        self.families.accepted.get(signal, &labels).get()
    }

    /// Refused items of `tenant` for `reason` so far.
    pub fn refused_count(&self, tenant: &str, signal: Signal, reason: &str) -> u64 {
        let labels = TenantRefusedLabels {
            tenant: tenant.to_owned(),
            reason: reason.to_owned(),
        };
        self.families.refused.get(signal, &labels).get()
    }

    /// `tenant` itself while fewer than [`MAX_TENANTS`] label values exist, else
    /// [`OTHER_TENANTS`].
    fn label(&self, tenant: &str) -> String {
        let mut seen = self.families.seen.lock();
        if seen.contains(tenant) {
            return tenant.to_owned();
        }
        if seen.len() < MAX_TENANTS {
            seen.insert(tenant.to_owned());
            return tenant.to_owned();
        }
        OTHER_TENANTS.to_owned()
    }
}

#[cfg(test)]
mod receiver_tenant_tests {
    use super::*;

    #[test]
    fn tenant_counters_are_exposed_by_tenant_and_reason() {
        let metrics = Metrics::new();
        let tenants = metrics.receiver_tenants();
        tenants.accepted("acme", Signal::Traces, 3);
        tenants.refused("acme", Signal::Logs, 2, "rate_limit");
        let text = metrics.encode();
        assert!(
            text.contains("sluice_tenant_accepted_spans_total{tenant=\"acme\"} 3"),
            "{text}"
        );
        assert!(
            text.contains(
                "sluice_tenant_refused_log_records_total{tenant=\"acme\",reason=\"rate_limit\"} 2"
            ),
            "{text}"
        );
    }

    #[test]
    fn tenants_beyond_the_cap_share_one_label() {
        let metrics = Metrics::new();
        let tenants = metrics.receiver_tenants();
        for i in 0..MAX_TENANTS {
            tenants.accepted(&format!("t{i}"), Signal::Metrics, 1);
        }
        tenants.accepted("one-too-many", Signal::Metrics, 5);
        tenants.accepted("t0", Signal::Metrics, 1);
        assert_eq!(tenants.accepted_count("one-too-many", Signal::Metrics), 0);
        assert_eq!(tenants.accepted_count(OTHER_TENANTS, Signal::Metrics), 5);
        assert_eq!(tenants.accepted_count("t0", Signal::Metrics), 2);
    }
}
