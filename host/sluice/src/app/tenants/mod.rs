//! `processors.tenant_processors`: a pipeline stage that sends each batch through the chain of
//! WebAssembly processors of its tenant (`RequestContext.tenant`), whose end is the pipeline's
//! next consumer. Tenants without an entry, and batches without a tenant, take the shared
//! `default` chain, or go straight on when there is none.
//!
//! Isolation: every listed tenant has its own `WasmProcessor` per member (own instances, own
//! crash-loop back-off, own log rate limit, own metric series with a `tenant` label), even when
//! two tenants list the same processor. Only immutable things are shared: the engine and the
//! compiled component (`sluice_wasm`'s compile cache), so a trap in one tenant's guest cannot
//! change another tenant's output.
//!
//! Live changes: [`Router::reload`] rebuilds only the chains whose settings (or members'
//! settings) changed, each validated (`Runtime::load`: compile, `init`, smoke batch) before one
//! atomic swap of the tenant map; a chain that fails keeps the old one and is logged naming the
//! tenant. In-flight batches finish on the chain they started on; a replaced chain is flushed
//! once its last batch is done.

mod chain;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use parking_lot::Mutex;
use sluice_config::{ComponentId, Processor, TenantChain, TenantProcessorsSettings};
use sluice_pipeline::metrics::Metrics;
use sluice_pipeline::{Batch, ConsumeError, Consumer};
use sluice_wasm::Runtime;

use chain::{Chain, ChainSettings};

/// The running chains, swapped as a whole.
#[derive(Default)]
struct Chains {
    by_tenant: HashMap<Arc<str>, Arc<Chain>>,
    default: Option<Arc<Chain>>,
}

impl Chains {
    fn route(&self, tenant: Option<&str>) -> Option<Arc<Chain>> {
        tenant
            .and_then(|t| self.by_tenant.get(t))
            .or(self.default.as_ref())
            .cloned()
    }
}

/// What a reload did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Tenants whose new chain serves now (`None`: the default chain), including added ones.
    pub swapped: Vec<Option<String>>,
    /// Tenants that were removed: their data takes the default chain now.
    pub removed: Vec<String>,
    /// Tenants whose new chain failed to load, with why; they keep their old chain.
    pub rejected: Vec<(Option<String>, String)>,
}

impl Outcome {
    pub fn changed(&self) -> bool {
        !self.swapped.is_empty() || !self.removed.is_empty()
    }
}

/// One `tenant_processors` stage of one pipeline.
pub struct Router {
    id: ComponentId,
    runtime: Runtime,
    metrics: Metrics,
    next: Arc<dyn Consumer>,
    chains: ArcSwap<Chains>,
    /// Replaced chains not yet flushed (their last batches may still run).
    retiring: Arc<Mutex<Vec<Arc<Chain>>>>,
    /// One reload at a time (SIGHUP and the component watcher may overlap).
    reloading: Mutex<()>,
}

impl Router {
    /// Builds every chain; any chain that fails to load fails the whole stage (start-up).
    pub fn build(
        id: &ComponentId,
        settings: &TenantProcessorsSettings,
        processors: &BTreeMap<ComponentId, Processor>,
        next: Arc<dyn Consumer>,
        runtime: Runtime,
        metrics: &Metrics,
    ) -> Result<Arc<Router>, String> {
        let router = Router {
            id: id.clone(),
            runtime,
            metrics: metrics.clone(),
            next,
            chains: ArcSwap::from_pointee(Chains::default()),
            retiring: Arc::default(),
            reloading: Mutex::new(()),
        };
        let mut chains = Chains::default();
        for (tenant, chain) in &settings.tenants {
            let built = router.build_chain(Some(tenant), chain, processors)?;
            chains.by_tenant.insert(tenant.as_str().into(), built);
        }
        if let Some(chain) = &settings.default {
            chains.default = Some(router.build_chain(None, chain, processors)?);
        }
        tracing::info!(
            processor = %id,
            tenants = chains.by_tenant.len(),
            default_chain = chains.default.is_some(),
            "tenant processor chains ready"
        );
        router.chains.store(Arc::new(chains));
        Ok(Arc::new(router))
    }

    fn build_chain(
        &self,
        tenant: Option<&str>,
        chain: &TenantChain,
        processors: &BTreeMap<ComponentId, Processor>,
    ) -> Result<Arc<Chain>, String> {
        let settings = ChainSettings::resolve(chain, processors)
            .and_then(|s| self.load(tenant, s))
            .map_err(|e| match tenant {
                Some(tenant) => format!("tenant {tenant}: {e}"),
                None => format!("default chain: {e}"),
            })?;
        Ok(settings)
    }

    fn load(&self, tenant: Option<&str>, settings: ChainSettings) -> Result<Arc<Chain>, String> {
        Chain::build(
            tenant,
            settings,
            self.next.clone(),
            &self.runtime,
            &self.metrics,
        )
        .map(Arc::new)
    }

    /// Applies new settings (and new member settings from `processors`): rebuilds the chains
    /// that changed, keeps the others exactly as they are, swaps once. CPU-heavy: call it off
    /// the async executor (`block_in_place`, `spawn_blocking`).
    pub fn reload(
        &self,
        settings: &TenantProcessorsSettings,
        processors: &BTreeMap<ComponentId, Processor>,
    ) -> Outcome {
        let wanted = |chain: &TenantChain| ChainSettings::resolve(chain, processors);
        self.rebuild(
            settings
                .tenants
                .iter()
                .map(|(t, c)| (t.clone(), wanted(c)))
                .collect(),
            settings.default.as_ref().map(wanted),
            |_| false,
        )
    }

    /// A member's component file changed: rebuilds every chain that uses `member` with the
    /// new file (same settings).
    pub fn component_changed(&self, member: &ComponentId) -> Outcome {
        let current = self.chains.load_full();
        let same = |chain: &Arc<Chain>| Ok(chain.settings.clone());
        self.rebuild(
            current
                .by_tenant
                .iter()
                .map(|(t, c)| (t.to_string(), same(c)))
                .collect(),
            current.default.as_ref().map(same),
            |settings| settings.uses(member),
        )
    }

    /// Every chain of `tenants` (and the default): kept when its settings are the running
    /// ones and `force` does not ask for it, built again otherwise.
    fn rebuild(
        &self,
        tenants: BTreeMap<String, Result<ChainSettings, String>>,
        default: Option<Result<ChainSettings, String>>,
        force: impl Fn(&ChainSettings) -> bool,
    ) -> Outcome {
        let _one_at_a_time = self.reloading.lock();
        let current = self.chains.load_full();
        let mut outcome = Outcome::default();
        let mut replaced = Vec::new();
        let mut next = Chains::default();
        let mut place = |tenant: Option<&str>,
                         old: Option<&Arc<Chain>>,
                         wanted: Result<ChainSettings, String>|
         -> Option<Arc<Chain>> {
            if let (Some(old), Ok(wanted)) = (old, &wanted)
                && old.settings == *wanted
                && !force(wanted)
            {
                return Some(old.clone());
            }
            match wanted.and_then(|w| self.load(tenant, w)) {
                Ok(new) => {
                    outcome.swapped.push(tenant.map(str::to_owned));
                    replaced.extend(old.cloned());
                    Some(new)
                }
                Err(e) => {
                    tracing::error!(
                        processor = %self.id,
                        tenant,
                        "new tenant processor chain rejected, the running one keeps serving: {e}"
                    );
                    outcome.rejected.push((tenant.map(str::to_owned), e));
                    old.cloned()
                }
            }
        };
        for (tenant, wanted) in tenants {
            let old = current.by_tenant.get(tenant.as_str());
            if let Some(chain) = place(Some(&tenant), old, wanted) {
                next.by_tenant.insert(tenant.as_str().into(), chain);
            }
        }
        next.default = match default {
            Some(wanted) => place(None, current.default.as_ref(), wanted),
            None => {
                replaced.extend(current.default.clone());
                None
            }
        };
        for (tenant, old) in &current.by_tenant {
            if !next.by_tenant.contains_key(tenant) {
                outcome.removed.push(tenant.to_string());
                replaced.push(old.clone());
            }
        }
        self.chains.store(Arc::new(next));
        drop(current);
        for chain in replaced {
            self.retire(chain);
        }
        for tenant in &outcome.swapped {
            tracing::info!(processor = %self.id, tenant = tenant.as_deref(), "tenant processor chain swapped");
        }
        for tenant in &outcome.removed {
            tracing::info!(processor = %self.id, tenant, "tenant removed: its data takes the default chain");
        }
        outcome
    }

    /// Flushes a replaced chain once the batches still running on it are done.
    fn retire(&self, chain: Arc<Chain>) {
        self.retiring.lock().push(chain.clone());
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let retiring = self.retiring.clone();
        handle.spawn(async move {
            // Held by the running map (gone), in-flight batches, `retiring` and this task.
            while Arc::strong_count(&chain) > 2 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let taken = {
                let mut retiring = retiring.lock();
                let before = retiring.len();
                retiring.retain(|c| !Arc::ptr_eq(c, &chain));
                retiring.len() < before
            };
            if taken {
                tracing::debug!(owner = chain.owner(), "replaced chain flushed");
                chain.flush().await;
            }
        });
    }

    /// Component files the chains use, with the member that uses each.
    pub fn component_files(&self) -> Vec<(PathBuf, ComponentId)> {
        let chains = self.chains.load();
        chains
            .by_tenant
            .values()
            .chain(chains.default.iter())
            .flat_map(|c| c.files.iter().cloned())
            .collect()
    }

    /// The member processors of `tenant`'s chain (`None`: the default chain), for tests and
    /// diagnostics: the same `Arc`s before and after a reload mean the same instances.
    pub fn chain_of(&self, tenant: Option<&str>) -> Option<Vec<Arc<sluice_wasm::WasmProcessor>>> {
        let chains = self.chains.load();
        match tenant {
            Some(t) => chains.by_tenant.get(t),
            None => chains.default.as_ref(),
        }
        .map(|c| c.processors.clone())
    }
}

#[async_trait::async_trait]
impl Consumer for Router {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        let chain = self.chains.load().route(batch.context.tenant.as_deref());
        match chain {
            Some(chain) => chain.consume(batch).await,
            None => self.next.consume(batch).await,
        }
    }

    /// Flushes every chain (running and retiring), then shuts the pipeline's next stage
    /// down once.
    async fn shutdown(&self) {
        let chains = self.chains.load_full();
        let retiring = std::mem::take(&mut *self.retiring.lock());
        for chain in chains
            .by_tenant
            .values()
            .chain(chains.default.iter())
            .chain(retiring.iter())
        {
            chain.flush().await;
        }
        self.next.shutdown().await;
    }
}
