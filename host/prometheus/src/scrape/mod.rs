//! The `prometheus` exporter: a scrape endpoint for the metrics that reach it.
//!
//! [`PrometheusExporter::start`] binds `endpoint` and serves `GET /metrics` (Prometheus text
//! format 0.0.4, [`text`]) over HTTP or, with `tls:`, HTTPS through [`sluice_tls::ServerTls`]
//! (reloaded when the files change; `client_ca_file` requires client certificates). Every metrics
//! batch updates the latest value of its series ([`store`]: delta sums and histograms are
//! accumulated into cumulative ones as the Collector does); a series not updated within
//! `metric_expiration` disappears from the next scrape. A `target_info` gauge per distinct
//! `job`+`instance` (both needed, as the Collector) carries the other resource attributes.
//!
//! Traces and logs are refused with [`ConsumeError::Invalid`]: the exporter takes metrics only.
//! Points it cannot translate ([`crate::DropReason`]) are counted as failed and logged once per
//! metric; everything else counts as sent when it is stored.
//!
//! Rendering happens under the store's lock, so a scrape of a very large store briefly delays
//! exports that arrive at the same time.

mod server;
pub(crate) mod store;
pub(crate) mod text;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use parking_lot::Mutex;
use sluice_config::PrometheusExporterSettings;
use sluice_pipeline::metrics::ExporterMetrics;
use sluice_pipeline::{Batch, ConsumeError, Consumer, Payload, Signal};
use sluice_tls::ServerTls;

use crate::PromError;
use crate::translate::{Labels, Translator};
use server::Server;
use store::{Kind, Store};

pub use text::CONTENT_TYPE as TEXT_CONTENT_TYPE;

/// `exporters.prometheus[/name]`.
pub struct PrometheusExporter {
    id: String,
    shared: Arc<Shared>,
    metrics: ExporterMetrics,
    addr: SocketAddr,
    server: Mutex<Option<Server>>,
}

/// What the scrape handler and the consumer share.
struct Shared {
    store: Mutex<Store>,
    send_timestamps: bool,
}

impl PrometheusExporter {
    /// Bind `settings.endpoint` and start serving; returns once the socket listens.
    ///
    /// Errors: an unusable `tls:` block, a UTF-8 `translation_strategy`, an endpoint that does
    /// not resolve, or a port that cannot be bound (the message says which: address in use,
    /// permission denied, ...).
    pub async fn start(
        id: &str,
        settings: &PrometheusExporterSettings,
        metrics: ExporterMetrics,
    ) -> Result<Arc<PrometheusExporter>, PromError> {
        let add_suffixes = match settings.translation_strategy {
            None => settings.add_metric_suffixes,
            Some(strategy) => {
                strategy
                    .add_suffixes()
                    .ok_or_else(|| PromError::UnsupportedStrategy {
                        exporter: id.to_owned(),
                        strategy: strategy.as_str(),
                    })?
            }
        };
        let tls = settings
            .tls
            .as_ref()
            .map(|tls| ServerTls::load(tls, &format!("exporters.{id}.tls")))
            .transpose()
            .map_err(|source| PromError::Tls {
                exporter: id.to_owned(),
                source: Box::new(source),
            })?;
        if settings.enable_open_metrics {
            tracing::info!(
                exporter = id,
                "enable_open_metrics is set; Sluice serves the Prometheus text format 0.0.4, \
                 which every Prometheus version scrapes"
            );
        }
        let translator = Translator::new(
            &settings.namespace,
            add_suffixes,
            settings.resource_to_telemetry_conversion.enabled,
            &settings.const_labels,
        );
        let shared = Arc::new(Shared {
            store: Mutex::new(Store::new(id, translator, settings.metric_expiration)),
            send_timestamps: settings.send_timestamps,
        });
        let (listener, addr) = server::bind(id, &settings.endpoint).await?;
        let router = axum::Router::new()
            .route("/metrics", get(scrape))
            .with_state(shared.clone());
        let server = Server::spawn(id, listener, tls.clone(), router);
        tracing::info!(
            exporter = id,
            %addr,
            tls = tls.is_some(),
            "prometheus exporter serving /metrics"
        );
        Ok(Arc::new(PrometheusExporter {
            id: id.to_owned(),
            shared,
            metrics,
            addr,
            server: Mutex::new(Some(server)),
        }))
    }

    /// The address the endpoint listens on (the real port when `endpoint` asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The exposition a scrape would get now.
    pub fn render(&self) -> String {
        self.shared.render(Instant::now())
    }
}

impl Shared {
    fn render(&self, now: Instant) -> String {
        let mut store = self.store.lock();
        store.expire(now);
        render(&store, self.send_timestamps)
    }
}

/// The text exposition of everything in `store` plus `target_info`.
pub(crate) fn render(store: &Store, send_timestamps: bool) -> String {
    let mut out = String::new();
    let info_name = store.translator().target_info_name();
    // target_info: one per job+instance, from the most recently updated series.
    let mut targets: BTreeMap<(&str, &str), (Instant, &Labels)> = BTreeMap::new();
    for family in store.families.values() {
        for series in family.series.values() {
            let resource = &series.resource;
            let (Some(job), Some(instance)) = (&resource.job, &resource.instance) else {
                continue;
            };
            if job.is_empty() || instance.is_empty() {
                continue;
            }
            let entry = targets
                .entry((job.as_str(), instance.as_str()))
                .or_insert((series.updated, &resource.info));
            if series.updated > entry.0 {
                *entry = (series.updated, &resource.info);
            }
        }
    }
    let mut info_written = targets.is_empty() || store.families.contains_key(&info_name);
    for (name, family) in &store.families {
        if !info_written && info_name.as_str() < name.as_str() {
            write_target_info(&mut out, &info_name, &targets);
            info_written = true;
        }
        text::header(&mut out, name, family.kind, &family.help);
        for (labels, series) in &family.series {
            text::series(&mut out, name, labels, &series.point, send_timestamps);
        }
    }
    if !info_written {
        write_target_info(&mut out, &info_name, &targets);
    }
    out
}

fn write_target_info(
    out: &mut String,
    name: &str,
    targets: &BTreeMap<(&str, &str), (Instant, &Labels)>,
) {
    text::header(out, name, Kind::Gauge, "Target metadata");
    let mut lines: Vec<&Labels> = targets.values().map(|(_, labels)| *labels).collect();
    lines.sort();
    for labels in lines {
        text::sample(out, name, labels, None, 1.0, None);
    }
}

async fn scrape(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    let body = shared.render(Instant::now());
    ([(CONTENT_TYPE, text::CONTENT_TYPE)], body)
}

#[async_trait::async_trait]
impl Consumer for PrometheusExporter {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        let decoded = match batch.payload.decoded() {
            Ok(decoded) => decoded,
            Err(error) => {
                self.metrics
                    .failed(batch.payload.signal(), batch.payload.item_count());
                tracing::warn!(exporter = %self.id, %error, "metrics dropped: they do not decode");
                return Err(error.into());
            }
        };
        let request = match &*decoded {
            Payload::Metrics(request) => request,
            other => {
                let signal = other.signal();
                self.metrics.failed(signal, other.item_count());
                return Err(ConsumeError::Invalid(format!(
                    "exporters.{}: the prometheus exporter takes metrics only; remove it from \
                     the {signal} pipelines",
                    self.id
                )));
            }
        };
        let outcome = self.shared.store.lock().accept(request, Instant::now());
        self.metrics.sent(Signal::Metrics, outcome.accepted);
        if outcome.dropped > 0 {
            self.metrics.failed(Signal::Metrics, outcome.dropped);
        }
        Ok(())
    }

    /// Stop serving `/metrics`; the port is free when this returns.
    async fn shutdown(&self) {
        let server = self.server.lock().take();
        if let Some(server) = server {
            server.shutdown().await;
            tracing::info!(exporter = %self.id, "prometheus exporter stopped");
        }
    }
}

#[cfg(test)]
mod tests;
