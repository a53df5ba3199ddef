//! [`PromError`]: what can go wrong starting the exporters or building requests. Each message
//! names the exporter (`exporters.prometheus/x`) and says what to do.

use std::net::SocketAddr;

/// Starting a Prometheus exporter or encoding remote-write requests failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PromError {
    /// `endpoint` is not `host:port` or the host does not resolve.
    #[error("exporters.{exporter}.endpoint {endpoint:?} cannot be used: {reason}")]
    Resolve {
        exporter: String,
        endpoint: String,
        reason: String,
    },
    /// The scrape endpoint cannot listen (address in use, permission denied, ...).
    #[error("exporters.{exporter}: cannot listen on {addr}: {reason}")]
    Listen {
        exporter: String,
        addr: SocketAddr,
        reason: String,
        #[source]
        source: std::io::Error,
    },
    /// The `tls:` block cannot be loaded (the message names the YAML path and the file).
    #[error("{source}")]
    Tls {
        exporter: String,
        #[source]
        source: Box<sluice_tls::TlsError>,
    },
    /// A UTF-8 `translation_strategy`, which the classic formats cannot carry.
    #[error(
        "exporters.{exporter}.translation_strategy {strategy} is not supported: the Prometheus \
         text format 0.0.4 and remote write 1.0 need classic names; use \
         UnderscoreEscapingWithSuffixes or UnderscoreEscapingWithoutSuffixes"
    )]
    UnsupportedStrategy {
        exporter: String,
        strategy: &'static str,
    },
    /// The remote-write `endpoint` is not an http(s) URL.
    #[error(
        "exporters.{exporter}.endpoint {endpoint:?} is not a usable URL: {reason}; expected e.g. \
         https://prometheus:9090/api/v1/write"
    )]
    InvalidEndpoint {
        exporter: String,
        endpoint: String,
        reason: String,
    },
    /// A configured header cannot be sent.
    #[error("exporters.{exporter}.headers.{name}: {reason}")]
    InvalidHeader {
        exporter: String,
        name: String,
        reason: String,
    },
    /// A request could not be snappy-compressed (it exceeds snappy's size limit).
    #[error(
        "exporters.{exporter}: cannot snappy-compress a {bytes}-byte remote-write request: \
         {reason}; lower max_batch_size_bytes"
    )]
    Compress {
        exporter: String,
        bytes: usize,
        reason: String,
    },
    /// A body is not snappy block data ([`crate::remote_write::decode`]).
    #[error("remote-write body is not snappy block data: {0}")]
    Decompress(String),
    /// A decompressed body is not a `prometheus.WriteRequest`.
    #[error("remote-write body is not a prometheus.WriteRequest: {0}")]
    Decode(#[from] prost::DecodeError),
}
