//! One tenant's chain of WebAssembly processors: its own `WasmProcessor` per member (own
//! instances, own crash-loop back-off, own log rate limit, own metrics series), ending in the
//! pipeline's next consumer.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use sluice_config::{ComponentId, Processor, TenantChain};
use sluice_pipeline::metrics::Metrics;
use sluice_pipeline::{Batch, ConsumeError, Consumer};
use sluice_wasm::{ComponentSource, Module, Runtime, WasmProcessor};

use crate::app::wasm::{WasmProcessors, limits_of, on_error_of};

/// What a chain is made of, as configured: the chain's own settings and those of each member.
/// A reload rebuilds a tenant's chain exactly when this changed.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ChainSettings {
    pub(super) chain: TenantChain,
    pub(super) members: Vec<(ComponentId, Processor)>,
}

impl ChainSettings {
    /// `chain` with its members' settings from `processors`.
    pub(super) fn resolve(
        chain: &TenantChain,
        processors: &BTreeMap<ComponentId, Processor>,
    ) -> Result<ChainSettings, String> {
        let members = chain
            .processors
            .iter()
            .map(|id| match processors.get(id) {
                Some(settings) => Ok((id.clone(), settings.clone())),
                None => Err(format!("processor {id} is not defined under processors")),
            })
            .collect::<Result<_, _>>()?;
        Ok(ChainSettings {
            chain: chain.clone(),
            members,
        })
    }

    pub(super) fn uses(&self, member: &ComponentId) -> bool {
        self.members.iter().any(|(id, _)| id == member)
    }
}

/// A running chain. Dropping it drops its instances; [`Chain::flush`] first.
pub(super) struct Chain {
    /// `None` for the shared default chain.
    pub(super) tenant: Option<Arc<str>>,
    pub(super) settings: ChainSettings,
    head: Arc<dyn Consumer>,
    /// The members, in chain order.
    pub(super) processors: Vec<Arc<WasmProcessor>>,
    /// Component files of the members, with the member that uses each.
    pub(super) files: Vec<(PathBuf, ComponentId)>,
}

impl Chain {
    /// Loads every member (compile or reuse the compiled component, `init` with the member's
    /// config, smoke batch: see `Runtime::load`), then wires the chain in front of `next`.
    /// Nothing runs unless every member loads. CPU-heavy: call it off the async executor.
    pub(super) fn build(
        tenant: Option<&str>,
        settings: ChainSettings,
        next: Arc<dyn Consumer>,
        runtime: &Runtime,
        metrics: &Metrics,
    ) -> Result<Chain, String> {
        let mut modules: Vec<Module> = Vec::with_capacity(settings.members.len());
        let mut files = Vec::new();
        for (id, member) in &settings.members {
            let mut spec = match WasmProcessors::spec(id, member) {
                Some(spec) => spec?,
                None => return Err(format!("processor {id} is not a WebAssembly processor")),
            };
            if let Some(limits) = &settings.chain.limits {
                spec.limits = limits_of(limits);
            }
            if let Some(on_error) = settings.chain.on_error {
                spec.on_error = on_error_of(on_error);
            }
            spec.tenant = tenant.map(str::to_owned);
            let (module, warnings) = runtime.load(&spec).map_err(|e| e.to_string())?;
            for warning in warnings {
                tracing::warn!(processor = %id, tenant, "{warning}");
            }
            if let ComponentSource::Path(path) = &spec.component {
                files.push((path.clone(), id.clone()));
            }
            modules.push(module);
        }
        let mut head: Arc<dyn Consumer> = Arc::new(End(next));
        let mut processors = Vec::with_capacity(modules.len());
        for module in modules.into_iter().rev() {
            let processor = WasmProcessor::new(runtime, module, head, metrics);
            processors.push(processor.clone());
            head = processor;
        }
        processors.reverse();
        Ok(Chain {
            tenant: tenant.map(Into::into),
            settings,
            head,
            processors,
            files,
        })
    }

    pub(super) async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        self.head.consume(batch).await
    }

    /// Flushes every member's idle instances (guests' `flush`) and retires them. The
    /// pipeline's next consumer is not shut down: the router does that once.
    pub(super) async fn flush(&self) {
        self.head.shutdown().await;
    }

    /// Who the chain serves, for logs: `tenant acme` or `the default chain`.
    pub(super) fn owner(&self) -> String {
        match &self.tenant {
            Some(tenant) => format!("tenant {tenant}"),
            None => "the default chain".to_owned(),
        }
    }
}

/// The end of a chain: the pipeline's next consumer, whose shutdown belongs to the router
/// (every chain ends in it).
struct End(Arc<dyn Consumer>);

#[async_trait::async_trait]
impl Consumer for End {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        self.0.consume(batch).await
    }
}
