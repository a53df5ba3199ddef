//! [`ExporterError`]: why a network exporter could not be created.

use sluice_auth::LoadError;
use sluice_tls::TlsError;

/// Why a network exporter (`otlp`, `otlphttp`, `loki`, `prometheusremotewrite`) or its [`crate::ClientAuth`] could not be
/// created. Each message names the exporter and the field as a YAML path
/// (`exporters.otlp/backend.endpoint: ...`) and says what to do. Nothing here is about the
/// backend being reachable: connections are made lazily, on the first export.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExporterError {
    /// An endpoint or URL that cannot be used.
    #[error(
        "exporters.{exporter}.{field}: {value:?} is not usable: {reason}; write it like {example}"
    )]
    Endpoint {
        exporter: String,
        field: String,
        value: String,
        reason: String,
        example: &'static str,
    },
    /// The TLS settings (files, versions, names) are unusable. The message names the field.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// A configured header cannot be sent.
    #[error("exporters.{exporter}.headers: {name:?}: {reason}")]
    Header {
        exporter: String,
        name: String,
        reason: String,
    },
    /// `auth.authenticator` is set but the caller passed no client authenticator.
    #[error(
        "exporters.{exporter}.auth: authenticator {authenticator} was not resolved; build it with \
         ClientAuth::from_extension from extensions.{authenticator} and pass it to the exporter"
    )]
    AuthMissing {
        exporter: String,
        authenticator: String,
    },
    /// The referenced extension cannot authenticate a client.
    #[error("extensions.{extension}: {reason}")]
    AuthUnusable { extension: String, reason: String },
    /// The bearer token extension could not be loaded (the message names the extension).
    #[error(transparent)]
    AuthLoad(#[from] LoadError),
    /// A Loki label setting is unusable.
    #[error("exporters.{exporter}.labels.{field}: {reason}")]
    Label {
        exporter: String,
        field: String,
        reason: String,
    },
    /// A remote-write setting the encoder refuses (a UTF-8 `translation_strategy`). The message
    /// names the field.
    #[error(transparent)]
    RemoteWrite(#[from] sluice_prometheus::PromError),
    /// The exporter needs a tokio runtime for its background work (TLS and token reloads).
    #[error("exporters.{exporter}: the exporter must be created inside a tokio runtime")]
    NoRuntime { exporter: String },
}
