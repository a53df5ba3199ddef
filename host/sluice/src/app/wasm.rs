//! WebAssembly processors in the running app: building them from config (`transform` runs the
//! built-in transform guest, `wasm` any component), and hot swapping them when their component
//! file changes or a reloaded config changes their settings. A new version is compiled,
//! initialised and smoke-tested off the hot path by `Runtime::load`; only then is it swapped in,
//! and in-flight batches finish on the old one. A version that fails is logged and the old one
//! keeps serving.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;
use sluice_config::{
    ComponentId, Connector, OnError, Processor, TenantProcessorsSettings, WasmLimits,
};
use sluice_pipeline::Consumer;
use sluice_pipeline::metrics::Metrics;
use sluice_wasm::{
    ComponentSource, EmitRoutes, Limits, Module, OutputCheck, ProcessorSpec, Runtime, WasmProcessor,
};

use super::guests;
use super::tenants;

/// How many guest instances serve a processor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Instances {
    /// One per worker thread (stateless guests: transform, samplers).
    Pool,
    /// Exactly one, so the guest's state is whole (span metrics, rate-limiting policies).
    Single,
}

/// Every WebAssembly processor instance, by processor id (a processor listed in two pipelines
/// has two instances, as in the Collector; both are swapped together), and every
/// `tenant_processors` stage.
pub struct WasmProcessors {
    runtime: Runtime,
    processors: Mutex<BTreeMap<ComponentId, Deployed>>,
    tenants: Mutex<BTreeMap<ComponentId, Vec<Arc<tenants::Router>>>>,
}

struct Deployed {
    spec: ProcessorSpec,
    instances: Vec<Arc<WasmProcessor>>,
}

impl WasmProcessors {
    /// The runtime of an app running in `environment` (shown to guests).
    pub fn new(environment: Option<String>) -> Result<Arc<Self>, String> {
        let runtime = Runtime::with_config(sluice_wasm::RuntimeConfig {
            environment,
            ..sluice_wasm::RuntimeConfig::default()
        })
        .map_err(|e| format!("cannot start the WebAssembly runtime: {e}"))?;
        Ok(Arc::new(WasmProcessors {
            runtime,
            processors: Mutex::new(BTreeMap::new()),
            tenants: Mutex::new(BTreeMap::new()),
        }))
    }

    /// The spec of a processor's settings, or `None` for processors that are not WebAssembly.
    pub fn spec(id: &ComponentId, settings: &Processor) -> Option<Result<ProcessorSpec, String>> {
        // Built-in guests' output is checked by this project's tests: the hot path only walks
        // its framing. Any other component's output is checked in full before it goes on.
        let (path, config_json, limits, on_error, output_check) = match settings {
            Processor::Transform(t) => match guests::builtin("transform") {
                Ok(path) => (
                    path,
                    t.guest_config_json(),
                    &t.limits,
                    t.on_error,
                    OutputCheck::Framing,
                ),
                Err(e) => return Some(Err(e)),
            },
            Processor::Wasm(w) => (
                w.component.clone(),
                w.guest_config_json(),
                &w.limits,
                w.on_error,
                OutputCheck::Decode,
            ),
            Processor::ProbabilisticSampler(g) => match guests::builtin("probabilistic_sampler") {
                Ok(path) => (
                    path,
                    g.guest_config_json(),
                    &g.limits,
                    g.on_error,
                    OutputCheck::Framing,
                ),
                Err(e) => return Some(Err(e)),
            },
            Processor::TailSampling(t) => match guests::builtin("tail_sampling") {
                Ok(path) => (
                    path,
                    t.guest_config_json(),
                    &t.limits,
                    t.on_error,
                    OutputCheck::Framing,
                ),
                Err(e) => return Some(Err(e)),
            },
            _ => return None,
        };
        Some(Ok(ProcessorSpec {
            name: id.to_string(),
            component: ComponentSource::Path(path),
            config_json,
            limits: limits_of(limits),
            on_error: on_error_of(on_error),
            tenant: None,
            output_check,
        }))
    }

    /// The spec of a connector run by a built-in guest (`spanmetrics`).
    pub fn connector_spec(
        id: &ComponentId,
        connector: &Connector,
    ) -> Result<ProcessorSpec, String> {
        let Connector::SpanMetrics(g) = connector;
        Ok(ProcessorSpec {
            name: id.to_string(),
            component: ComponentSource::Path(guests::builtin("spanmetrics")?),
            config_json: g.guest_config_json(),
            limits: limits_of(&g.limits),
            on_error: on_error_of(g.on_error),
            tenant: None,
            output_check: OutputCheck::Framing,
        })
    }

    /// Check every WebAssembly processor of `config` as start-up would (compile, `init` with
    /// its config, smoke batch) without running anything: `(problems, warnings)`, each naming
    /// its processor. Used by `sluice validate`.
    pub fn check(config: &sluice_config::Config) -> (Vec<String>, Vec<String>) {
        let (mut problems, mut warnings) = (Vec::new(), Vec::new());
        let specs: Vec<_> = config
            .processors
            .iter()
            .filter_map(|(id, p)| Self::spec(id, p).map(|spec| (id, spec)))
            .chain(
                config
                    .connectors
                    .iter()
                    .map(|(id, c)| (id, Self::connector_spec(id, c))),
            )
            .collect();
        if specs.is_empty() {
            return (problems, warnings);
        }
        let runtime = match Runtime::new() {
            Ok(runtime) => runtime,
            Err(e) => {
                return (
                    vec![format!("cannot start the WebAssembly runtime: {e}")],
                    warnings,
                );
            }
        };
        for (id, spec) in specs {
            match spec.and_then(|spec| runtime.load(&spec).map_err(|e| e.to_string())) {
                Ok((_, w)) => {
                    warnings.extend(w.into_iter().map(|w| format!("processors.{id}: {w}")))
                }
                Err(e) => problems.push(format!("processors.{id}: {e}")),
            }
        }
        (problems, warnings)
    }

    /// Load and start one instance of a processor in front of `next`.
    pub fn build(
        &self,
        id: &ComponentId,
        spec: ProcessorSpec,
        next: Arc<dyn Consumer>,
        metrics: &Metrics,
    ) -> Result<Arc<dyn Consumer>, String> {
        self.build_with(
            id,
            spec,
            next,
            EmitRoutes::default(),
            Instances::Pool,
            metrics,
        )
    }

    /// [`WasmProcessors::build`] with emit routes (connectors) and a choice of instances.
    pub fn build_with(
        &self,
        id: &ComponentId,
        spec: ProcessorSpec,
        next: Arc<dyn Consumer>,
        routes: EmitRoutes,
        instances: Instances,
        metrics: &Metrics,
    ) -> Result<Arc<dyn Consumer>, String> {
        let module = self.load(&spec)?;
        let processor = match instances {
            Instances::Pool => {
                WasmProcessor::with_routes(&self.runtime, module, next, routes, metrics)
            }
            Instances::Single => {
                WasmProcessor::single_instance(&self.runtime, module, next, routes, metrics)
            }
        };
        let mut processors = self.processors.lock();
        let deployed = processors.entry(id.clone()).or_insert_with(|| Deployed {
            spec,
            instances: Vec::new(),
        });
        deployed.instances.push(processor.clone());
        Ok(processor)
    }

    fn load(&self, spec: &ProcessorSpec) -> Result<Module, String> {
        let (module, warnings) = self.runtime.load(spec).map_err(|e| e.to_string())?;
        for warning in warnings {
            tracing::warn!(processor = %spec.name, "{warning}");
        }
        Ok(module)
    }

    /// Component files to watch, with the processors that use them (in pipelines or in
    /// tenant chains).
    pub fn watched_files(&self) -> Vec<(PathBuf, ComponentId)> {
        let mut files: Vec<_> = self
            .processors
            .lock()
            .iter()
            .filter_map(|(id, d)| match &d.spec.component {
                ComponentSource::Path(p) => Some((p.clone(), id.clone())),
                _ => None,
            })
            .collect();
        for router in self.tenants.lock().values().flatten() {
            files.extend(router.component_files());
        }
        files.sort();
        files.dedup();
        files
    }

    /// Whether processor `id` runs in a pipeline (not only in tenant chains).
    pub fn is_deployed(&self, id: &ComponentId) -> bool {
        self.processors.lock().contains_key(id)
    }

    /// Builds a `tenant_processors` stage in front of `next`; `processors` holds the settings
    /// of its chains' members.
    pub fn build_tenants(
        &self,
        id: &ComponentId,
        settings: &TenantProcessorsSettings,
        processors: &BTreeMap<ComponentId, Processor>,
        next: Arc<dyn Consumer>,
        metrics: &Metrics,
    ) -> Result<Arc<dyn Consumer>, String> {
        let router = tenants::Router::build(
            id,
            settings,
            processors,
            next,
            self.runtime.clone(),
            metrics,
        )?;
        self.tenants
            .lock()
            .entry(id.clone())
            .or_default()
            .push(router.clone());
        Ok(router)
    }

    /// Applies reloaded settings to every stage of `tenant_processors` processor `id`:
    /// only the tenants whose chain (or a member of it) changed are rebuilt and swapped.
    /// `None` when `id` runs in no pipeline.
    pub fn reload_tenants(
        &self,
        id: &ComponentId,
        settings: &TenantProcessorsSettings,
        processors: &BTreeMap<ComponentId, Processor>,
    ) -> Option<Vec<tenants::Outcome>> {
        let routers = self.tenants.lock().get(id).cloned()?;
        Some(
            routers
                .iter()
                .map(|r| r.reload(settings, processors))
                .collect(),
        )
    }

    /// The component file of processor `id` changed: swap it where it runs in pipelines and
    /// rebuild the tenant chains that use it. Errors name what kept its running version.
    pub fn component_changed(&self, id: &ComponentId) -> Result<(), String> {
        let mut errors = Vec::new();
        if self.is_deployed(id)
            && let Err(e) = self.redeploy(id, None)
        {
            errors.push(e);
        }
        let routers: Vec<_> = self.tenants.lock().values().flatten().cloned().collect();
        for router in routers {
            let outcome = router.component_changed(id);
            errors.extend(
                outcome
                    .rejected
                    .into_iter()
                    .map(|(tenant, e)| match tenant {
                        Some(tenant) => format!("tenant {tenant}: {e}"),
                        None => format!("default chain: {e}"),
                    }),
            );
        }
        match errors.is_empty() {
            true => Ok(()),
            false => Err(errors.join("; ")),
        }
    }

    /// Load the processor again (its component file changed, or `spec` is its new settings)
    /// and swap every instance to it. On failure nothing changes.
    pub fn redeploy(&self, id: &ComponentId, spec: Option<ProcessorSpec>) -> Result<(), String> {
        let spec = match spec {
            Some(spec) => spec,
            None => match self.processors.lock().get(id) {
                Some(d) => d.spec.clone(),
                None => return Err(format!("processor {id} is not running")),
            },
        };
        let module = self.load(&spec)?;
        let mut processors = self.processors.lock();
        let Some(deployed) = processors.get_mut(id) else {
            return Err(format!("processor {id} is not running"));
        };
        for instance in &deployed.instances {
            instance.swap(module.clone());
        }
        deployed.spec = spec;
        tracing::info!(processor = %id, "processor swapped to a new version");
        Ok(())
    }
}

pub(crate) fn on_error_of(on_error: OnError) -> sluice_wasm::OnError {
    match on_error {
        OnError::Pass => sluice_wasm::OnError::Pass,
        OnError::Drop => sluice_wasm::OnError::Drop,
    }
}

pub(crate) fn limits_of(limits: &WasmLimits) -> Limits {
    Limits {
        memory_mib: limits.memory_mib,
        timeout: limits.timeout,
    }
}
