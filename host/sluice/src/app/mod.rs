//! Building and running a whole Sluice from a validated config, and stopping it.
//!
//! Start order: authenticators, exporters, pipelines, receivers, self-metrics; the health check
//! turns ready last. Stop order is the reverse of the data flow: the health check turns
//! unavailable, receivers stop accepting and finish their in-flight requests, pipelines flush
//! (batch processors), then exporters flush. Nothing acknowledged to a client is dropped.

mod graph;
pub mod server;
pub mod signals;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use sluice_config::{ComponentId, Config, Extension, Receiver};
use sluice_pipeline::Consumer;
use sluice_pipeline::metrics::Metrics;
use sluice_receivers::RunningReceiver;

use crate::extensions::health_check::{self, Health};
use server::HttpServer;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("component {0} is referenced but not configured")]
    Missing(String),
    #[error("{id}: {message}")]
    Component { id: String, message: String },
    #[error(transparent)]
    Serve(#[from] server::ServeError),
}

/// A running Sluice.
pub struct App {
    receivers: Vec<(ComponentId, RunningReceiver)>,
    pipelines: Vec<(sluice_config::PipelineId, Arc<dyn Consumer>)>,
    exporters: Vec<(ComponentId, Arc<dyn Consumer>)>,
    servers: Vec<HttpServer>,
    health: Health,
    metrics: Metrics,
}

impl App {
    pub async fn start(config: Config) -> Result<App, BuildError> {
        sluice_tls::install_crypto_provider();
        let metrics = Metrics::new();
        let health = Health::default();
        let mut servers = Vec::new();

        let mut authenticators = HashMap::new();
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

        let graph = graph::build(&config, &metrics)?;
        let mut receivers = Vec::new();
        for (id, consumers) in graph.inputs {
            let Some(Receiver::Otlp(settings)) = config.receivers.get(&id) else {
                return Err(BuildError::Missing(id.to_string()));
            };
            let running =
                sluice_receivers::start(&id, settings, consumers, &authenticators, &metrics)
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
