//! The typed configuration: what each component accepts, with the Collector's field names and
//! defaults. Parsing and cross-checks live in [`crate::load`] and [`crate::validate`].

pub mod auth;
pub mod exporter_helper;
pub mod exporters;
pub mod extensions;
pub mod guest;
pub mod processors;
pub mod prometheus;
pub mod receivers;
pub mod sampling;
pub mod service;
pub mod tenancy;
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
pub use guest::*;
pub use processors::*;
pub use prometheus::*;
pub use receivers::*;
pub use sampling::*;
pub use service::*;
pub use tenancy::*;
pub use tls::*;
pub use wasm::*;

/// A whole, validated Sluice configuration.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    pub receivers: BTreeMap<ComponentId, Receiver>,
    pub processors: BTreeMap<ComponentId, Processor>,
    pub exporters: BTreeMap<ComponentId, Exporter>,
    pub connectors: BTreeMap<ComponentId, Connector>,
    pub extensions: BTreeMap<ComponentId, Extension>,
    pub service: ServiceSettings,
    /// The files this config was read from, in merge order.
    pub sources: Vec<PathBuf>,
    /// The deployment environment (`dev`, `staging`, `prod`), from `--env` / `SLUICE_ENV`;
    /// guests see it in every request context.
    pub environment: Option<String>,
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
    /// The Collector's probabilistic sampler, run by the built-in guest.
    ProbabilisticSampler(BuiltinGuestSettings),
    /// Tail sampling: traces buffered natively, policies evaluated by the built-in guest.
    TailSampling(TailSamplingSettings),
    /// Per-tenant chains of WebAssembly processors.
    TenantProcessors(TenantProcessorsSettings),
}

/// A configured connector: the exporter of one pipeline and the receiver of another.
#[derive(Debug, Clone, PartialEq)]
pub enum Connector {
    /// Span metrics (traces in, metrics out), run by the built-in guest.
    SpanMetrics(BuiltinGuestSettings),
}

impl Connector {
    /// Whether the connector can be the exporter of a `signal` pipeline.
    pub fn consumes(&self, signal: Signal) -> bool {
        match self {
            Connector::SpanMetrics(_) => signal == Signal::Traces,
        }
    }

    /// Whether the connector can be the receiver of a `signal` pipeline.
    pub fn produces(&self, signal: Signal) -> bool {
        match self {
            Connector::SpanMetrics(_) => signal == Signal::Metrics,
        }
    }
}

/// A configured exporter.
// Built once per config load; boxing the larger variants would buy nothing.
#[allow(clippy::large_enum_variant)]
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
    /// A Prometheus scrape endpoint.
    Prometheus(PrometheusExporterSettings),
    /// Prometheus remote write 1.0.
    PrometheusRemoteWrite(RemoteWriteExporterSettings),
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
    /// Who sent a request, and what each tenant may send.
    Tenancy(TenancySettings),
    /// Export headers from each batch's context (the tenant id, a forwarded header).
    HeadersSetter(HeadersSetterSettings),
}

impl Processor {
    /// Whether the processor runs as a WebAssembly guest (and so needs the runtime).
    pub fn runs_as_guest(&self) -> bool {
        match self {
            Processor::Transform(_)
            | Processor::Wasm(_)
            | Processor::ProbabilisticSampler(_)
            | Processor::TailSampling(_)
            | Processor::TenantProcessors(_) => true,
            Processor::Batch(_) | Processor::MemoryLimiter(_) => false,
        }
    }

    pub fn supports(&self, signal: Signal) -> bool {
        match self {
            Processor::TailSampling(_) => signal == Signal::Traces,
            Processor::ProbabilisticSampler(_) => signal != Signal::Metrics,
            _ => true,
        }
    }
}

impl Exporter {
    pub fn supports(&self, signal: Signal) -> bool {
        match self {
            Exporter::Loki(_) => signal == Signal::Logs,
            Exporter::Prometheus(_) | Exporter::PrometheusRemoteWrite(_) => {
                signal == Signal::Metrics
            }
            _ => true,
        }
    }

    /// The sending queue in front of a network exporter (`sending_queue`; for remote write
    /// `remote_write_queue`, with one consumer so that samples stay in order).
    pub fn sending_queue(&self) -> Option<QueueSettings> {
        match self {
            Exporter::OtlpGrpc(s) => Some(s.sending_queue.clone()),
            Exporter::OtlpHttp(s) => Some(s.sending_queue.clone()),
            Exporter::Loki(s) => Some(s.sending_queue.clone()),
            Exporter::PrometheusRemoteWrite(s) => Some(QueueSettings {
                enabled: s.remote_write_queue.enabled,
                num_consumers: 1,
                queue_size: s.remote_write_queue.queue_size,
                ..QueueSettings::default()
            }),
            _ => None,
        }
    }

    /// `retry_on_failure` of a network exporter.
    pub fn retry(&self) -> Option<&RetrySettings> {
        match self {
            Exporter::OtlpGrpc(s) => Some(&s.retry_on_failure),
            Exporter::OtlpHttp(s) => Some(&s.retry_on_failure),
            Exporter::Loki(s) => Some(&s.retry_on_failure),
            Exporter::PrometheusRemoteWrite(s) => Some(&s.retry_on_failure),
            _ => None,
        }
    }

    /// The `auth:` reference of a network exporter.
    pub fn auth(&self) -> Option<&AuthReference> {
        match self {
            Exporter::OtlpGrpc(s) => s.auth.as_ref(),
            Exporter::OtlpHttp(s) => s.auth.as_ref(),
            Exporter::Loki(s) => s.auth.as_ref(),
            Exporter::PrometheusRemoteWrite(s) => s.auth.as_ref(),
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
