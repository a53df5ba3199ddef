//! The `file` exporter: appends every request to a file, as the Collector's file exporter.
//!
//! With `format: json` (the default) each request is one line of OTLP/JSON; with `format: proto`
//! each is its protobuf encoding preceded by its length (4 bytes, big-endian).
//!
//! Concurrency and durability: records are written in full, one after the other, by a single
//! writer task on tokio's blocking pool, so concurrent `consume` calls never interleave.
//! `consume` returns `Ok` once its record was handed to the OS (`write_all` completed); the data
//! is then in the page cache. `flush_interval` (a duration, `1s`) additionally fsyncs that often;
//! `shutdown` fsyncs and closes the file. A failed write loses the batch: it is counted as
//! failed, logged at ERROR and answered with [`ConsumeError::Internal`]. Rotation and
//! compression are not supported.

mod json;
mod writer;

use std::fs::{self, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sluice_config::{ComponentId, FileFormat, FileSettings};
use sluice_pipeline::metrics::{ExporterMetrics, Metrics};
use sluice_pipeline::{Batch, ConsumeError, Consumer};

pub use json::to_otlp_json;

/// Why a file exporter could not be created.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("exporters.{exporter}.path: cannot create directory {}: {}", dir.display(), reason(error))]
    CreateDir {
        exporter: String,
        dir: PathBuf,
        error: io::Error,
    },
    #[error("exporters.{exporter}.path: cannot open {}: {}", path.display(), reason(error))]
    Open {
        exporter: String,
        path: PathBuf,
        error: io::Error,
    },
    #[error(
        "exporters.{exporter}.flush_interval: {value} is not a duration (write it like 1s or 500ms)"
    )]
    FlushInterval { exporter: String, value: String },
    #[error("exporters.{exporter}: the file exporter must be created inside a tokio runtime")]
    NoRuntime { exporter: String },
}

/// An I/O error's description without the `(os error 13)` suffix.
fn reason(error: &io::Error) -> String {
    let text = error.to_string();
    match text.rfind(" (os error ") {
        Some(end) => text[..end].to_owned(),
        None => text,
    }
}

/// `exporters.file[/name]`.
pub struct FileExporter {
    id: String,
    path: PathBuf,
    format: FileFormat,
    writer: writer::Writer,
    metrics: ExporterMetrics,
}

impl FileExporter {
    /// Create the parent directories and open `settings.path` for appending (blocking, once at
    /// start-up), then start the writer task. Must be called inside a tokio runtime.
    pub fn new(
        id: &ComponentId,
        settings: &FileSettings,
        metrics: &Metrics,
    ) -> Result<Self, ExportError> {
        let exporter = id.to_string();
        let sync_interval = flush_interval(&exporter, settings.flush_interval.as_ref())?;
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| ExportError::NoRuntime {
                exporter: exporter.clone(),
            })?;
        let path = settings.path.clone();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(|error| ExportError::CreateDir {
                exporter: exporter.clone(),
                dir: dir.to_owned(),
                error,
            })?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|error| ExportError::Open {
                exporter: exporter.clone(),
                path: path.clone(),
                error,
            })?;
        Ok(FileExporter {
            metrics: metrics.exporter(&exporter),
            id: exporter,
            path,
            format: settings.format,
            writer: writer::Writer::spawn(&runtime, file, sync_interval),
        })
    }

    /// The file this exporter appends to.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// `flush_interval` as the Collector reads it: a Go duration string (`1s`, `500ms`), or a bare
/// number of nanoseconds. Absent or zero: no periodic fsync.
fn flush_interval(
    exporter: &str,
    value: Option<&serde_yaml::Value>,
) -> Result<Option<Duration>, ExportError> {
    let invalid = |value: String| ExportError::FlushInterval {
        exporter: exporter.to_owned(),
        value,
    };
    let interval = match value {
        None | Some(serde_yaml::Value::Null) => return Ok(None),
        Some(serde_yaml::Value::Number(n)) => match n.as_u64() {
            Some(nanos) => Duration::from_nanos(nanos),
            None => return Err(invalid(n.to_string())),
        },
        Some(serde_yaml::Value::String(s)) if s.trim() == "0" => Duration::ZERO,
        Some(serde_yaml::Value::String(s)) => {
            humantime::parse_duration(s.trim()).map_err(|_| invalid(format!("{s:?}")))?
        }
        Some(other) => {
            let shown = serde_yaml::to_string(other).unwrap_or_default();
            return Err(invalid(shown.trim().to_owned()));
        }
    };
    Ok((!interval.is_zero()).then_some(interval))
}

#[async_trait::async_trait]
impl Consumer for FileExporter {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        let payload = &batch.payload;
        let (signal, items) = (payload.signal(), payload.item_count());
        let mut invalid = false;
        let result = match json::record(payload, self.format) {
            Ok(record) => self.writer.write(record).await.map_err(|e| reason(&e)),
            Err(e) => {
                invalid = matches!(e, json::EncodeError::Decode(_));
                Err(e.to_string())
            }
        };
        match result {
            Ok(()) => {
                self.metrics.sent(signal, items);
                Ok(())
            }
            Err(error) => {
                self.metrics.failed(signal, items);
                tracing::error!(
                    exporter = self.id.as_str(),
                    path = %self.path.display(),
                    %signal,
                    items,
                    %error,
                    "cannot write to the file; the data is lost"
                );
                let message = format!(
                    "exporter {}: cannot write to {}: {error}",
                    self.id,
                    self.path.display()
                );
                Err(if invalid {
                    ConsumeError::Invalid(message)
                } else {
                    ConsumeError::Internal(message)
                })
            }
        }
    }

    async fn shutdown(&self) {
        if let Err(error) = self.writer.shutdown().await {
            tracing::error!(
                exporter = self.id.as_str(),
                path = %self.path.display(),
                %error,
                "cannot flush the file on shutdown; recently written data may be lost"
            );
        }
    }
}

#[cfg(test)]
mod tests;
