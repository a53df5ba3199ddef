//! Building and running a whole Sluice from a validated config, and stopping it.
//!
//! Start order: authenticators and tenancies, exporters, pipelines, receivers, self-metrics; the health check
//! turns ready last. Stop order is the reverse of the data flow: the health check turns
//! unavailable, receivers stop accepting and finish their in-flight requests, pipelines flush
//! (batch processors), then exporters flush. Nothing acknowledged to a client is dropped.

mod exporters;
mod graph;
pub mod guests;
pub mod server;
pub mod signals;
pub mod tenants;
pub mod wasm;
mod watch;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use sluice_config::{ComponentId, Config, Extension, Processor, Receiver};
use sluice_pipeline::Consumer;
use sluice_pipeline::metrics::Metrics;
use sluice_receivers::RunningReceiver;

use crate::extensions::health_check::{self, Health};
use server::HttpServer;
use wasm::WasmProcessors;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("component {0} is referenced but not configured")]
    Missing(String),
    /// A component failed to start. `message` usually names its own YAML path already (the
    /// crates' errors do); `id` is printed only when it does not.
    #[error("{}", prefixed(id, message))]
    Component { id: String, message: String },
    #[error(transparent)]
    Serve(#[from] server::ServeError),
}

fn prefixed(id: &str, message: &str) -> String {
    if message.starts_with(id) {
        message.to_owned()
    } else {
        format!("{id}: {message}")
    }
}

/// A running Sluice.
pub struct App {
    receivers: Vec<(ComponentId, RunningReceiver)>,
    pipelines: Vec<(String, Arc<dyn Consumer>)>,
    exporters: Vec<(ComponentId, Arc<dyn Consumer>)>,
    servers: Vec<HttpServer>,
    health: Health,
    metrics: Metrics,
    wasm: Option<Arc<WasmProcessors>>,
    /// The running `tenancy` extensions, updated in place by a reload.
    tenancies: sluice_receivers::Tenancies,
    /// Watches WebAssembly component files while the app runs.
    _watcher: Option<notify::RecommendedWatcher>,
    /// The config the app runs, to compare a reloaded one against.
    config: Config,
}

impl App {
    pub async fn start(config: Config) -> Result<App, BuildError> {
        sluice_tls::install_crypto_provider();
        let metrics = Metrics::new();
        let health = Health::default();
        let mut servers = Vec::new();

        let mut authenticators = HashMap::new();
        // One per tenancy extension, shared by every receiver naming it (one quota state).
        let mut tenancies = sluice_receivers::Tenancies::new();
        for id in &config.service.extensions {
            let Some(extension) = config.extensions.get(id) else {
                return Err(BuildError::Missing(id.to_string()));
            };
            let owner = format!("extensions.{id}");
            match extension {
                Extension::HealthCheck(settings) => {
                    let server = health_check::start(&owner, settings, health.clone()).await?;
                    tracing::info!(extension = %id, address = %server.local_addr(), "health check serving");
                    servers.push(server);
                }
                Extension::Tenancy(settings) => {
                    let tenancy = sluice_receivers::Tenancy::new(id, settings, &metrics);
                    tenancies.insert(id.clone(), Arc::new(tenancy));
                }
                other => {
                    let authenticator =
                        sluice_auth::server_authenticator(other, &owner).map_err(|e| {
                            BuildError::Component {
                                id: owner.clone(),
                                message: e.to_string(),
                            }
                        })?;
                    if let Some(authenticator) = authenticator {
                        authenticator.start_reloading();
                        authenticators.insert(id.clone(), authenticator);
                    }
                }
            }
        }

        // Every connector runs as a guest (spanmetrics).
        let wasm = if !config.connectors.is_empty()
            || config.processors.values().any(Processor::runs_as_guest)
        {
            Some(
                WasmProcessors::new(config.environment.clone()).map_err(|message| {
                    BuildError::Component {
                        id: "processors".into(),
                        message,
                    }
                })?,
            )
        } else {
            None
        };
        let graph = graph::build(&config, &metrics, wasm.as_deref()).await?;
        let watcher = wasm.clone().and_then(watch::start);
        let mut receivers = Vec::new();
        for (id, consumers) in graph.inputs {
            let Some(Receiver::Otlp(settings)) = config.receivers.get(&id) else {
                return Err(BuildError::Missing(id.to_string()));
            };
            let running = sluice_receivers::start(
                &id,
                settings,
                consumers,
                &authenticators,
                &tenancies,
                &metrics,
            )
            .await
            .map_err(|e| BuildError::Component {
                id: format!("receivers.{id}"),
                message: e.to_string(),
            })?;
            receivers.push((id, running));
        }
        for id in config.receivers.keys() {
            if !receivers.iter().any(|(r, _)| r == id) {
                tracing::warn!(receiver = %id, "receiver is not used by any pipeline: not started");
            }
        }

        if let Some(endpoint) = config.service.telemetry.metrics.endpoint() {
            let server =
                crate::telemetry::metrics_server::start(&endpoint, metrics.clone()).await?;
            tracing::info!(address = %crate::telemetry::metrics_server::describe(server.local_addr()), "own metrics serving");
            servers.push(server);
        }

        health.set_ready();
        tracing::info!(pipelines = graph.pipelines.len(), "Sluice is ready");
        Ok(App {
            receivers,
            pipelines: graph.pipelines,
            exporters: graph.exporters,
            servers,
            health,
            metrics,
            wasm,
            tenancies,
            _watcher: watcher,
            config,
        })
    }

    /// Bound addresses of a receiver (`grpc`, `http`), for tests that listen on port 0.
    pub fn receiver_addrs(&self, id: &str) -> (Option<SocketAddr>, Option<SocketAddr>) {
        self.receivers
            .iter()
            .find(|(r, _)| r.to_string() == id)
            .map_or((None, None), |(_, r)| (r.grpc_addr(), r.http_addr()))
    }

    /// Addresses of the health check and metrics servers, in start order.
    pub fn server_addrs(&self) -> Vec<SocketAddr> {
        self.servers.iter().map(HttpServer::local_addr).collect()
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Apply a reloaded, validated config: WebAssembly processors whose settings changed are
    /// loaded and swapped (each only after its new version passed init and a smoke batch);
    /// `tenancy` extensions take their new sources and limits;
    /// `tenant_processors` swap only the tenants whose chain or chain members changed (see
    /// [`tenants::Router::reload`]); every other change is reported as needing a restart.
    /// Returns the swapped processors (a `tenant_processors` when any of its tenants changed).
    pub fn reload(&mut self, new: Config) -> Vec<ComponentId> {
        let mut swapped = Vec::new();
        for (id, settings) in &new.processors {
            let Some(running) = self.config.processors.get(id) else {
                continue;
            };
            if running == settings {
                continue;
            }
            let (Some(wasm), Some(spec)) = (&self.wasm, WasmProcessors::spec(id, settings)) else {
                continue;
            };
            if !wasm.is_deployed(id) {
                // Not in a pipeline: a member of tenant chains (applied with them below) or unused.
                self.config.processors.insert(id.clone(), settings.clone());
                continue;
            }
            match spec.and_then(|spec| wasm.redeploy(id, Some(spec))) {
                Ok(()) => {
                    let applied = match (running, settings) {
                        (Processor::TailSampling(old), Processor::TailSampling(new)) => {
                            tail_sampling_applied(id, old, new)
                        }
                        _ => settings.clone(),
                    };
                    self.config.processors.insert(id.clone(), applied);
                    swapped.push(id.clone());
                }
                Err(e) => tracing::error!(
                    processor = %id,
                    "reloaded settings rejected, the running version keeps serving: {e}"
                ),
            }
        }
        swapped.extend(self.reload_tenants(&new));
        self.reload_tenancies(&new);
        if new.receivers != self.config.receivers
            || new.exporters != self.config.exporters
            || new.extensions != self.config.extensions
            || new.service != self.config.service
            || new.processors != self.config.processors
        {
            tracing::warn!(
                "the reloaded config changes more than WebAssembly processor settings: restart Sluice to apply the rest"
            );
        }
        swapped
    }

    /// Running `tenancy` extensions take their new sources, default tenant and limits (the
    /// quota state of tenants whose limits did not change is kept).
    fn reload_tenancies(&mut self, new: &Config) {
        for (id, settings) in &new.extensions {
            let Extension::Tenancy(settings) = settings else {
                continue;
            };
            let (Some(tenancy), Some(running)) =
                (self.tenancies.get(id), self.config.extensions.get_mut(id))
            else {
                continue;
            };
            if *running == Extension::Tenancy(settings.clone()) {
                continue;
            }
            tenancy.update(settings);
            *running = Extension::Tenancy(settings.clone());
            tracing::info!(extension = %id, "tenancy settings (sources, limits) applied");
        }
    }

    /// Every running `tenant_processors` takes its new tenant map and its members' new
    /// settings. A tenant whose new chain fails keeps its old one (logged by the stage, naming
    /// the tenant); the stage remembers what each tenant runs, so the next reload compares
    /// against that. Processors outside every pipeline (tenant chain members) may come and go.
    fn reload_tenants(&mut self, new: &Config) -> Vec<ComponentId> {
        let Some(wasm) = &self.wasm else {
            return Vec::new();
        };
        let mut swapped = Vec::new();
        for (id, settings) in &new.processors {
            let Processor::TenantProcessors(chains) = settings else {
                continue;
            };
            // `None`: in no pipeline, nothing runs it.
            let outcomes = wasm.reload_tenants(id, chains, &new.processors);
            if outcomes.is_some_and(|o| o.iter().any(tenants::Outcome::changed)) {
                swapped.push(id.clone());
            }
            self.config.processors.insert(id.clone(), settings.clone());
        }
        let running = &self.config;
        let outside_pipelines = |id: &ComponentId| {
            !running
                .service
                .pipelines
                .values()
                .any(|p| p.processors.contains(id))
        };
        let added: Vec<_> = new
            .processors
            .iter()
            .filter(|(id, _)| !running.processors.contains_key(*id) && outside_pipelines(id))
            .map(|(id, s)| (id.clone(), s.clone()))
            .collect();
        let removed: Vec<_> = running
            .processors
            .keys()
            .filter(|id| !new.processors.contains_key(*id) && outside_pipelines(id))
            .cloned()
            .collect();
        self.config.processors.extend(added);
        for id in removed {
            self.config.processors.remove(&id);
        }
        swapped
    }

    /// The files the running config was read from.
    pub fn config_sources(&self) -> &[std::path::PathBuf] {
        &self.config.sources
    }

    /// Stop accepting, finish in-flight requests, flush pipelines and exporters.
    pub async fn shutdown(self, grace: Duration) {
        self.health.set_draining();
        for (id, receiver) in self.receivers {
            tracing::info!(receiver = %id, "stopping receiver");
            receiver.shutdown(grace).await;
        }
        let flush = async {
            for (id, pipeline) in &self.pipelines {
                tracing::debug!(pipeline = %id, "flushing pipeline");
                pipeline.shutdown().await;
            }
            for (id, exporter) in &self.exporters {
                tracing::debug!(exporter = %id, "flushing exporter");
                exporter.shutdown().await;
            }
        };
        if tokio::time::timeout(grace, flush).await.is_err() {
            tracing::error!(
                grace = ?grace,
                "pipelines and exporters did not flush within the grace period: buffered data may be lost"
            );
        }
        for server in self.servers {
            server.shutdown().await;
        }
        tracing::info!("Sluice stopped");
    }
}

/// A reload swaps a tail_sampling processor's policies (the guest) and keeps its trace buffer,
/// whose own settings need a restart: warn when they changed, and record what really runs.
fn tail_sampling_applied(
    id: &ComponentId,
    old: &sluice_config::TailSamplingSettings,
    new: &sluice_config::TailSamplingSettings,
) -> Processor {
    if old.decision_wait != new.decision_wait
        || old.num_traces != new.num_traces
        || old.decision_cache != new.decision_cache
        || old.expected_new_traces_per_sec != new.expected_new_traces_per_sec
    {
        tracing::warn!(
            processor = %id,
            "the policies were swapped; decision_wait, num_traces, expected_new_traces_per_sec and \
             decision_cache belong to the running trace buffer: restart Sluice to apply them"
        );
    }
    Processor::TailSampling(sluice_config::TailSamplingSettings {
        decision_wait: old.decision_wait,
        num_traces: old.num_traces,
        expected_new_traces_per_sec: old.expected_new_traces_per_sec,
        decision_cache: old.decision_cache.clone(),
        ..new.clone()
    })
}
