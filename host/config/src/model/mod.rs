//! The typed configuration: what each component accepts, with the Collector's field names and
//! defaults. Parsing and cross-checks live in [`crate::load`] and [`crate::validate`].

pub mod auth;
pub mod exporter_helper;
pub mod exporters;
pub mod extensions;
pub mod processors;
pub mod receivers;
pub mod service;
pub mod tls;
pub mod wasm;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Deserializer};

use crate::id::{ComponentId, Signal};

pub use auth::*;
pub use exporter_helper::*;
pub use exporters::*;
pub use extensions::*;
pub use processors::*;
pub use receivers::*;
pub use service::*;
pub use tls::*;
pub use wasm::*;

/// A whole, validated Sluice configuration.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    pub receivers: BTreeMap<ComponentId, Receiver>,
    pub processors: BTreeMap<ComponentId, Processor>,
    pub exporters: BTreeMap<ComponentId, Exporter>,
    pub extensions: BTreeMap<ComponentId, Extension>,
    pub service: ServiceSettings,
    /// The files this config was read from, in merge order.
    pub sources: Vec<PathBuf>,
    /// Things that work but deserve the operator's attention (logged at start-up).
    pub warnings: Vec<String>,
}

/// A configured receiver.
#[derive(Debug, Clone, PartialEq)]
pub enum Receiver {
    Otlp(OtlpReceiverSettings),
}

/// A configured processor.
#[derive(Debug, Clone, PartialEq)]
pub enum Processor {
    Batch(BatchSettings),
    MemoryLimiter(MemoryLimiterSettings),
    /// The Collector's transform processor (OTTL), run by the built-in transform guest.
    Transform(TransformSettings),
    /// Any WebAssembly component built against `wit/processor.wit`.
    Wasm(WasmSettings),
}

/// A configured exporter.
#[derive(Debug, Clone, PartialEq)]
pub enum Exporter {
    Debug(DebugSettings),
    File(FileSettings),
    /// `otlp` / `otlp_grpc`.
    OtlpGrpc(OtlpGrpcExporterSettings),
    /// `otlphttp` / `otlp_http`.
    OtlpHttp(OtlpHttpExporterSettings),
    /// Loki's push API.
    Loki(LokiExporterSettings),
    /// Discards everything (benchmarks, tests).
    Nop,
}

/// A configured extension.
#[derive(Debug, Clone, PartialEq)]
pub enum Extension {
    HealthCheck(HealthCheckSettings),
    BasicAuth(BasicAuthSettings),
    BearerTokenAuth(BearerTokenAuthSettings),
    FileStorage(FileStorageSettings),
}

impl Processor {
    pub fn supports(&self, _signal: Signal) -> bool {
        true
    }
}

impl Exporter {
    pub fn supports(&self, signal: Signal) -> bool {
        match self {
            Exporter::Loki(_) => signal == Signal::Logs,
            _ => true,
        }
    }

    /// The `sending_queue` and `retry_on_failure` of a network exporter.
    pub fn delivery(&self) -> Option<(&QueueSettings, &RetrySettings)> {
        match self {
            Exporter::OtlpGrpc(s) => Some((&s.sending_queue, &s.retry_on_failure)),
            Exporter::OtlpHttp(s) => Some((&s.sending_queue, &s.retry_on_failure)),
            Exporter::Loki(s) => Some((&s.sending_queue, &s.retry_on_failure)),
            _ => None,
        }
    }

    /// The `auth:` reference of a network exporter.
    pub fn auth(&self) -> Option<&AuthReference> {
        match self {
            Exporter::OtlpGrpc(s) => s.auth.as_ref(),
            Exporter::OtlpHttp(s) => s.auth.as_ref(),
            Exporter::Loki(s) => s.auth.as_ref(),
            _ => None,
        }
    }
}

impl Receiver {
    pub fn supports(&self, _signal: Signal) -> bool {
        true
    }
}

/// `key:` with no value means "enabled with defaults", as in the Collector (`grpc:` alone turns
/// the gRPC server on).
pub(crate) fn present_or_null<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Some(Option::<T>::deserialize(d)?.unwrap_or_default()))
}

/// An empty string means "not set", so `client_ca_file: ${env:CLIENT_CA:-}` makes mTLS optional.
pub(crate) fn empty_as_none<'de, D>(d: D) -> Result<Option<PathBuf>, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(Option::<PathBuf>::deserialize(d)?.filter(|p| !p.as_os_str().is_empty()))
}
