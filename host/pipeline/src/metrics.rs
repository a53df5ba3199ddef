//! Sluice's own metrics, named as the Collector names them (`otelcol_receiver_accepted_spans_total`
//! with `receiver` and `transport` labels, `otelcol_exporter_sent_spans_total` with `exporter`), so
//! existing dashboards and alerts keep working.

use std::sync::Arc;

use parking_lot::Mutex;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
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
struct ProcessorLabels {
    processor: String,
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
    processor_dropped: PerSignal<ProcessorLabels>,
    memory_limiter_refusing: Family<ProcessorLabels, Gauge>,
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
            processor_dropped: PerSignal::default(),
            memory_limiter_refusing: Family::default(),
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
        *m.registry.lock() = registry;
        m
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
        ExporterMetrics {
            sent: Signal::ALL.map(|s| self.exporter_sent.get(s, &labels)),
            failed: Signal::ALL.map(|s| self.exporter_failed.get(s, &labels)),
        }
    }

    /// Counters of one processor.
    pub fn processor(&self, processor: &str) -> ProcessorMetrics {
        let labels = ProcessorLabels {
            processor: processor.to_owned(),
        };
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
        let mut out = String::new();
        let registry = self.registry.lock();
        if prometheus_client::encoding::text::encode(&mut out, &registry).is_err() {
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
}

impl ExporterMetrics {
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
