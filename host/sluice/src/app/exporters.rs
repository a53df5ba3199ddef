//! Builds one exporter from its settings: the exporter itself, and for network exporters the
//! sending queue in front of it (in memory, or on disk with a `file_storage` extension).
//!
//! Order of stages, as the Collector's exporterhelper: sending queue → retry → export. The
//! queue acknowledges a request once it holds it; the exporter retries inside its `consume`.

use std::sync::Arc;

use sluice_config::{ComponentId, Config, Exporter, Extension};
use sluice_exporters::debug::DebugExporter;
use sluice_exporters::file::FileExporter;
use sluice_exporters::{
    ClientAuth, LokiExporter, OtlpGrpcExporter, OtlpHttpExporter, RemoteWriteExporter,
};
use sluice_pipeline::metrics::{ExporterMetrics, Metrics};
use sluice_pipeline::queue::{QueueOptions, SendingQueue};
use sluice_pipeline::{Batch, ConsumeError, Consumer, Form};
use sluice_prometheus::PrometheusExporter;

use super::BuildError;

pub async fn build(
    id: &ComponentId,
    settings: &Exporter,
    config: &Config,
    metrics: &Metrics,
) -> Result<Arc<dyn Consumer>, BuildError> {
    let failed = |message: String| BuildError::Component {
        id: format!("exporters.{id}"),
        message,
    };
    let exporter_metrics = metrics.exporter(&id.to_string());
    let auth = match settings.auth() {
        None => None,
        Some(reference) => {
            let extension = config
                .extensions
                .get(&reference.authenticator)
                .ok_or_else(|| {
                    failed(format!(
                        "authenticator \"{}\" is not defined in extensions",
                        reference.authenticator
                    ))
                })?;
            Some(
                ClientAuth::from_extension(&reference.authenticator, extension)
                    .map_err(|e| failed(e.to_string()))?,
            )
        }
    };
    let m = exporter_metrics.clone();
    let exporter: Arc<dyn Consumer> = match settings {
        Exporter::Debug(s) => Arc::new(DebugExporter::new(id, s, metrics)),
        Exporter::File(s) => {
            Arc::new(FileExporter::new(id, s, metrics).map_err(|e| failed(e.to_string()))?)
        }
        Exporter::Nop => Arc::new(Nop(m)),
        Exporter::OtlpGrpc(s) => {
            OtlpGrpcExporter::new(id, s, auth, m).map_err(|e| failed(e.to_string()))?
        }
        Exporter::OtlpHttp(s) => {
            OtlpHttpExporter::new(id, s, auth, m).map_err(|e| failed(e.to_string()))?
        }
        Exporter::Loki(s) => {
            LokiExporter::new(id, s, auth, m).map_err(|e| failed(e.to_string()))?
        }
        Exporter::Prometheus(s) => PrometheusExporter::start(&id.to_string(), s, m)
            .await
            .map_err(|e| failed(e.to_string()))?,
        Exporter::PrometheusRemoteWrite(s) => {
            RemoteWriteExporter::new(id, s, auth, m).map_err(|e| failed(e.to_string()))?
        }
    };
    let Some(queue) = settings.sending_queue().filter(|q| q.enabled) else {
        return Ok(exporter);
    };
    let storage = match &queue.storage {
        None => None,
        Some(storage) => match config.extensions.get(storage) {
            Some(Extension::FileStorage(f)) => Some(f),
            _ => {
                return Err(failed(format!(
                    "sending_queue.storage \"{storage}\" is not a file_storage extension"
                )));
            }
        },
    };
    // OTLP exporters send a request's bytes as they are: the queue holds only those. The
    // others translate requests: it holds their decoded form.
    let keep = match settings {
        Exporter::Loki(_) | Exporter::PrometheusRemoteWrite(_) => Form::Decoded,
        _ => Form::Wire,
    };
    let options = QueueOptions {
        keep,
        ..QueueOptions::default()
    };
    let queue = SendingQueue::with_options(
        &id.to_string(),
        &queue,
        storage,
        exporter,
        exporter_metrics,
        options,
    )
    .map_err(|e| failed(e.to_string()))?;
    Ok(queue)
}

/// The `nop` exporter: counts and discards (benchmarks, tests).
struct Nop(ExporterMetrics);

#[async_trait::async_trait]
impl Consumer for Nop {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        self.0
            .sent(batch.payload.signal(), batch.payload.item_count());
        Ok(())
    }

    /// Reads nothing inside a request.
    fn wants(&self) -> Form {
        Form::Wire
    }
}
