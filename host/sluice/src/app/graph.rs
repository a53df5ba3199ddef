//! The pipeline graph: exporters (one instance each, shared by the pipelines that list them),
//! processors (one chain per pipeline, as in the Collector) and, for every receiver and signal,
//! the fan-out over the pipelines that list that receiver.

use std::collections::BTreeMap;
use std::sync::Arc;

use sluice_config::{ComponentId, Config, Exporter, PipelineId, Processor, Signal};
use sluice_exporters::debug::DebugExporter;
use sluice_exporters::file::FileExporter;
use sluice_pipeline::metrics::Metrics;
use sluice_pipeline::{
    Batch, BatchProcessor, ConsumeError, Consumer, Fanout, MemoryLimiter, ProcessRss,
};
use sluice_receivers::SignalConsumers;

use super::BuildError;
use super::wasm::WasmProcessors;

pub struct Graph {
    /// What each receiver feeds, per signal.
    pub inputs: BTreeMap<ComponentId, SignalConsumers>,
    /// The head of each pipeline; shutting it down flushes its processors.
    pub pipelines: Vec<(PipelineId, Arc<dyn Consumer>)>,
    /// Every exporter once, shut down after all pipelines flushed.
    pub exporters: Vec<(ComponentId, Arc<dyn Consumer>)>,
}

/// `wasm` must be given when a pipeline holds a WebAssembly processor (`transform`, `wasm`).
pub fn build(
    config: &Config,
    metrics: &Metrics,
    wasm: Option<&WasmProcessors>,
) -> Result<Graph, BuildError> {
    let mut exporters: BTreeMap<ComponentId, Arc<dyn Consumer>> = BTreeMap::new();
    for pipeline in config.service.pipelines.values() {
        for id in &pipeline.exporters {
            if exporters.contains_key(id) {
                continue;
            }
            let settings = config
                .exporters
                .get(id)
                .ok_or_else(|| BuildError::Missing(id.to_string()))?;
            exporters.insert(id.clone(), exporter(id, settings, metrics)?);
        }
    }

    let mut inputs: BTreeMap<ComponentId, BTreeMap<Signal, Vec<Arc<dyn Consumer>>>> =
        BTreeMap::new();
    let mut pipelines = Vec::new();
    for (pipeline_id, pipeline) in &config.service.pipelines {
        let outputs: Vec<Arc<dyn Consumer>> = pipeline
            .exporters
            .iter()
            .filter_map(|id| exporters.get(id).cloned())
            .collect();
        let mut head: Arc<dyn Consumer> = Arc::new(Detached(Fanout::of(outputs)));
        for id in pipeline.processors.iter().rev() {
            let settings = config
                .processors
                .get(id)
                .ok_or_else(|| BuildError::Missing(id.to_string()))?;
            head = processor(id, settings, head, metrics, wasm)?;
        }
        for receiver in &pipeline.receivers {
            inputs
                .entry(receiver.clone())
                .or_default()
                .entry(pipeline_id.signal)
                .or_default()
                .push(head.clone());
        }
        pipelines.push((pipeline_id.clone(), head));
    }

    let inputs = inputs
        .into_iter()
        .map(|(id, mut by_signal)| {
            let mut take = |s: Signal| by_signal.remove(&s).map(Fanout::of);
            let consumers = SignalConsumers {
                traces: take(Signal::Traces),
                metrics: take(Signal::Metrics),
                logs: take(Signal::Logs),
            };
            (id, consumers)
        })
        .collect();
    Ok(Graph {
        inputs,
        pipelines,
        exporters: exporters.into_iter().collect(),
    })
}

fn exporter(
    id: &ComponentId,
    settings: &Exporter,
    metrics: &Metrics,
) -> Result<Arc<dyn Consumer>, BuildError> {
    Ok(match settings {
        Exporter::Debug(s) => Arc::new(DebugExporter::new(id, s, metrics)),
        Exporter::File(s) => {
            Arc::new(
                FileExporter::new(id, s, metrics).map_err(|e| BuildError::Component {
                    id: format!("exporters.{id}"),
                    message: e.to_string(),
                })?,
            )
        }
        Exporter::Nop => Arc::new(Nop(metrics.exporter(&id.to_string()))),
        Exporter::OtlpGrpc(_) | Exporter::OtlpHttp(_) | Exporter::Loki(_) => {
            return Err(BuildError::Component {
                id: format!("exporters.{id}"),
                message: "this exporter is being built (issue 4)".into(),
            });
        }
    })
}

fn processor(
    id: &ComponentId,
    settings: &Processor,
    next: Arc<dyn Consumer>,
    metrics: &Metrics,
    wasm: Option<&WasmProcessors>,
) -> Result<Arc<dyn Consumer>, BuildError> {
    let component_error = |message: String| BuildError::Component {
        id: format!("processors.{id}"),
        message,
    };
    Ok(match settings {
        Processor::Batch(s) => BatchProcessor::new(s, next),
        Processor::MemoryLimiter(s) => MemoryLimiter::new(
            s,
            next,
            Box::new(ProcessRss),
            metrics.processor(&id.to_string()),
        ),
        Processor::Transform(_) | Processor::Wasm(_) => {
            let wasm = wasm
                .ok_or_else(|| component_error("the WebAssembly runtime is not running".into()))?;
            let spec = WasmProcessors::spec(id, settings)
                .unwrap_or_else(|| Err("not a WebAssembly processor".into()))
                .map_err(component_error)?;
            wasm.build(id, spec, next, metrics)
                .map_err(component_error)?
        }
    })
}

/// The exporters of a pipeline, whose shutdown is left to the app: exporters are shared, so a
/// pipeline flushing must not shut them down under another pipeline.
struct Detached(Arc<dyn Consumer>);

#[async_trait::async_trait]
impl Consumer for Detached {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        self.0.consume(batch).await
    }
}

/// The `nop` exporter: counts and discards (benchmarks, tests).
struct Nop(sluice_pipeline::metrics::ExporterMetrics);

#[async_trait::async_trait]
impl Consumer for Nop {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        self.0
            .sent(batch.payload.signal(), batch.payload.item_count());
        Ok(())
    }
}
