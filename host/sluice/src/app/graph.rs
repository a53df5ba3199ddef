//! The pipeline graph: exporters (one instance each, shared by the pipelines that list them),
//! processors (one chain per pipeline, as in the Collector; a `tenant_processors` stage holds
//! one more chain per tenant, see `app::tenants`) and, for every receiver and signal, the
//! fan-out over the pipelines that list that receiver.

use std::collections::BTreeMap;
use std::sync::Arc;

use sluice_config::{ComponentId, Config, Connector, Processor, Signal};
use sluice_pipeline::metrics::Metrics;
use sluice_pipeline::{
    Batch, BatchProcessor, ConsumeError, Consumer, Fanout, Form, MemoryLimiter, MemoryProbe,
    ProcessRss, TailSampler,
};
use sluice_receivers::SignalConsumers;
use sluice_wasm::EmitRoutes;

use super::BuildError;
use super::wasm::{Instances, WasmProcessors};

pub struct Graph {
    /// What each receiver feeds, per signal.
    pub inputs: BTreeMap<ComponentId, SignalConsumers>,
    /// The head of each pipeline and every connector, in the order they must be shut down:
    /// pipelines that feed a connector, then the connectors (their last output goes to the
    /// pipelines after them), then the other pipelines. Shutting a pipeline down flushes its
    /// processors.
    pub pipelines: Vec<(String, Arc<dyn Consumer>)>,
    /// Every exporter once, shut down after all pipelines flushed.
    pub exporters: Vec<(ComponentId, Arc<dyn Consumer>)>,
}

/// `wasm` must be given when a pipeline holds a WebAssembly processor (`transform`, `wasm`).
pub async fn build(
    config: &Config,
    metrics: &Metrics,
    wasm: Option<&WasmProcessors>,
) -> Result<Graph, BuildError> {
    let mut exporters: BTreeMap<ComponentId, Arc<dyn Consumer>> = BTreeMap::new();
    for pipeline in config.service.pipelines.values() {
        for id in &pipeline.exporters {
            if exporters.contains_key(id) || config.connectors.contains_key(id) {
                continue;
            }
            let settings = config
                .exporters
                .get(id)
                .ok_or_else(|| BuildError::Missing(id.to_string()))?;
            exporters.insert(
                id.clone(),
                super::exporters::build(id, settings, config, metrics).await?,
            );
        }
    }

    // Connectors: the exporter of some pipelines, the receiver of others. Their output is
    // bound once the pipelines they feed exist.
    let mut connectors: BTreeMap<ComponentId, (Arc<dyn Consumer>, Arc<LateBound>)> =
        BTreeMap::new();
    for (id, settings) in &config.connectors {
        let output = Arc::new(LateBound::default());
        let consumer = connector(id, settings, output.clone(), metrics, wasm)?;
        connectors.insert(id.clone(), (consumer, output));
    }

    let mut inputs: BTreeMap<ComponentId, BTreeMap<Signal, Vec<Arc<dyn Consumer>>>> =
        BTreeMap::new();
    let mut connector_inputs: BTreeMap<ComponentId, Vec<Arc<dyn Consumer>>> = BTreeMap::new();
    let (mut upstream, mut downstream) = (Vec::new(), Vec::new());
    for (pipeline_id, pipeline) in &config.service.pipelines {
        let outputs: Vec<Arc<dyn Consumer>> = pipeline
            .exporters
            .iter()
            .filter_map(|id| {
                exporters
                    .get(id)
                    .cloned()
                    .or_else(|| connectors.get(id).map(|(c, _)| c.clone()))
            })
            .collect();
        let mut head: Arc<dyn Consumer> = Arc::new(Detached(Fanout::of(outputs)));
        for id in pipeline.processors.iter().rev() {
            let settings = config
                .processors
                .get(id)
                .ok_or_else(|| BuildError::Missing(id.to_string()))?;
            head = processor(id, settings, &config.processors, head, metrics, wasm)?;
        }
        for receiver in &pipeline.receivers {
            if connectors.contains_key(receiver) {
                connector_inputs
                    .entry(receiver.clone())
                    .or_default()
                    .push(head.clone());
                continue;
            }
            inputs
                .entry(receiver.clone())
                .or_default()
                .entry(pipeline_id.signal)
                .or_default()
                .push(head.clone());
        }
        let feeds_connector = pipeline
            .exporters
            .iter()
            .any(|id| connectors.contains_key(id));
        let stage = (format!("pipeline {pipeline_id}"), head);
        match feeds_connector {
            true => upstream.push(stage),
            false => downstream.push(stage),
        }
    }
    let mut pipelines = upstream;
    for (id, (consumer, output)) in connectors {
        output.bind(Fanout::of(connector_inputs.remove(&id).unwrap_or_default()));
        pipelines.push((format!("connector {id}"), consumer));
    }
    pipelines.extend(downstream);

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

/// A connector: the span metrics guest takes traces (which end there: the pipeline's other
/// exporters carry them on) and emits metrics to `output`.
fn connector(
    id: &ComponentId,
    settings: &Connector,
    output: Arc<LateBound>,
    metrics: &Metrics,
    wasm: Option<&WasmProcessors>,
) -> Result<Arc<dyn Consumer>, BuildError> {
    let component_error = |message: String| BuildError::Component {
        id: format!("connectors.{id}"),
        message,
    };
    let wasm =
        wasm.ok_or_else(|| component_error("the WebAssembly runtime is not running".into()))?;
    let spec = WasmProcessors::connector_spec(id, settings).map_err(component_error)?;
    let routes = EmitRoutes {
        metrics: Some(output),
        ..EmitRoutes::default()
    };
    // One instance: the accumulated series must be whole, or two instances would report two
    // different cumulative counts for one series.
    wasm.build_with(
        id,
        spec,
        Arc::new(Discard),
        routes,
        Instances::Single,
        metrics,
    )
    .map_err(component_error)
}

/// What `memory_limiter` measures: the resident set, after the allocator has given back the
/// freed memory it holds for its purge delay (`sluice-alloc`) whenever that is over the limit.
struct ResidentMemory;

impl MemoryProbe for ResidentMemory {
    fn used_bytes(&self) -> Option<u64> {
        ProcessRss.used_bytes()
    }

    fn reclaim(&self) {
        sluice_alloc::give_back();
    }
}

/// `processors`: every configured processor (the members of tenant chains).
fn processor(
    id: &ComponentId,
    settings: &Processor,
    processors: &BTreeMap<ComponentId, Processor>,
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
            Box::new(ResidentMemory),
            metrics.processor(&id.to_string()),
        ),
        Processor::TailSampling(s) => {
            let wasm = wasm
                .ok_or_else(|| component_error("the WebAssembly runtime is not running".into()))?;
            let spec = WasmProcessors::spec(id, settings)
                .unwrap_or_else(|| Err("not a WebAssembly processor".into()))
                .map_err(component_error)?;
            // The policy guest sits between the trace buffer and `next`: what it lets through
            // is what was sampled. One instance, so rate-limiting budgets are whole.
            TailSampler::new(
                s,
                next,
                metrics.tail_sampling(&id.to_string()),
                |recorder| {
                    wasm.build_with(
                        id,
                        spec,
                        recorder,
                        EmitRoutes::default(),
                        Instances::Single,
                        metrics,
                    )
                },
            )
            .map_err(component_error)?
        }
        Processor::Transform(_) | Processor::Wasm(_) | Processor::ProbabilisticSampler(_) => {
            let wasm = wasm
                .ok_or_else(|| component_error("the WebAssembly runtime is not running".into()))?;
            let spec = WasmProcessors::spec(id, settings)
                .unwrap_or_else(|| Err("not a WebAssembly processor".into()))
                .map_err(component_error)?;
            wasm.build(id, spec, next, metrics)
                .map_err(component_error)?
        }
        Processor::TenantProcessors(s) => {
            let wasm = wasm
                .ok_or_else(|| component_error("the WebAssembly runtime is not running".into()))?;
            wasm.build_tenants(id, s, processors, next, metrics)
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

    fn wants(&self) -> Form {
        self.0.wants()
    }
}

/// Where a connector's traces end: the pipeline's other exporters carry them on.
struct Discard;

#[async_trait::async_trait]
impl Consumer for Discard {
    async fn consume(&self, _batch: Batch) -> Result<(), ConsumeError> {
        Ok(())
    }

    fn wants(&self) -> Form {
        Form::Wire
    }
}

/// A consumer bound after it is handed out: a connector's output, which is the head of
/// pipelines built after the connector.
#[derive(Default)]
struct LateBound(std::sync::OnceLock<Arc<dyn Consumer>>);

impl LateBound {
    fn bind(&self, consumer: Arc<dyn Consumer>) {
        let _ = self.0.set(consumer);
    }
}

#[async_trait::async_trait]
impl Consumer for LateBound {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        match self.0.get() {
            Some(consumer) => consumer.consume(batch).await,
            None => Err(ConsumeError::refused(
                "the connector's pipelines are not running yet",
            )),
        }
    }

    fn wants(&self) -> Form {
        self.0.get().map_or(Form::Decoded, |c| c.wants())
    }
}
