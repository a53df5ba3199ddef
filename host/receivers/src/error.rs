//! Why a receiver could not start. Each error names the config field it is about.

/// Starting a receiver failed; nothing of it keeps running.
#[derive(Debug, thiserror::Error)]
pub enum ReceiverError {
    /// The endpoint is not `host:port` or its host does not resolve.
    #[error("{path}: cannot resolve {endpoint:?}: {reason}")]
    Resolve {
        path: String,
        endpoint: String,
        reason: String,
    },
    /// Binding the listener failed (port in use, no permission, address not on this host).
    #[error("{path}: cannot listen on {addr}: {reason}")]
    Listen {
        path: String,
        addr: std::net::SocketAddr,
        reason: String,
        #[source]
        source: std::io::Error,
    },
    /// `auth.authenticator` names an extension that is not a configured server authenticator.
    #[error(
        "{path}.auth.authenticator: {authenticator:?} is not a configured server authenticator; \
         add it under `extensions:` (with server-side settings) and to `service.extensions`"
    )]
    UnknownAuthenticator { path: String, authenticator: String },
    /// `tenancy` names an extension that is not a running `tenancy` extension.
    #[error(
        "{path}: {tenancy:?} is not a configured tenancy extension; add it under `extensions:` \
         and to `service.extensions`"
    )]
    UnknownTenancy { path: String, tenancy: String },
    /// The TLS certificate, key or client CA could not be loaded (the message names the field).
    #[error(transparent)]
    Tls(#[from] sluice_tls::TlsError),
    /// `transport` other than `tcp`.
    #[error("{path}: transport {transport:?} is not supported; use \"tcp\"")]
    UnsupportedTransport { path: String, transport: String },
    /// A URL path setting is not an absolute path.
    #[error("{path}: {value:?} is not a URL path; it must start with '/'")]
    InvalidUrlPath { path: String, value: String },
    /// Two signals share one URL path.
    #[error("{path}: {value:?} is already the path of {other}")]
    DuplicateUrlPath {
        path: String,
        value: String,
        other: String,
    },
    /// A `response_headers` entry is not a valid HTTP header.
    #[error("{path}: invalid response header {name:?}: {reason}")]
    InvalidResponseHeader {
        path: String,
        name: String,
        reason: String,
    },
}
