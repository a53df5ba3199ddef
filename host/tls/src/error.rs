//! Error types. Each message says what happened and what to do, naming the YAML path (`owner`)
//! and the file.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use sluice_config::TlsVersion;

use crate::accept::HandshakeFailure;

/// Building a server or client TLS configuration failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A configured file cannot be read.
    #[error("{owner}.{field}: cannot read {}: {reason}", path.display())]
    Read {
        owner: String,
        field: &'static str,
        path: PathBuf,
        reason: String,
        #[source]
        source: std::io::Error,
    },
    /// The PEM text is malformed. `what` is e.g. `cert_file /x/server.crt` or `cert_pem`.
    #[error("{owner}.{what}: invalid PEM: {detail}")]
    Pem {
        owner: String,
        what: String,
        detail: String,
    },
    #[error("{owner}.{what}: no certificate found in PEM (expected a BEGIN CERTIFICATE block)")]
    NoCertificate { owner: String, what: String },
    #[error(
        "{owner}.{what}: no private key found in PEM (expected a BEGIN PRIVATE KEY, \
         BEGIN RSA PRIVATE KEY or BEGIN EC PRIVATE KEY block)"
    )]
    NoKey { owner: String, what: String },
    #[error("{owner}.{what}: unusable private key: {source}")]
    BadKey {
        owner: String,
        what: String,
        #[source]
        source: rustls::Error,
    },
    #[error(
        "{owner}: key does not match certificate ({key} does not belong to {cert}); \
         use the key the certificate was issued for"
    )]
    KeyMismatch {
        owner: String,
        key: String,
        cert: String,
    },
    #[error("{owner}.{what}: unusable certificate: {detail}")]
    BadCertificate {
        owner: String,
        what: String,
        detail: String,
    },
    #[error("{owner}.{what}: unusable CA certificate: {detail}")]
    BadCa {
        owner: String,
        what: String,
        detail: String,
    },
    #[error("{owner}: {field} (or {alternative}) is required for a TLS server")]
    Missing {
        owner: String,
        field: &'static str,
        alternative: &'static str,
    },
    #[error("{owner}: set {first} or {second}, not both")]
    Conflict {
        owner: String,
        first: &'static str,
        second: &'static str,
    },
    #[error(
        "{owner}: a client certificate needs both cert_file (or cert_pem) and key_file \
         (or key_pem); {missing} is missing"
    )]
    Unpaired {
        owner: String,
        missing: &'static str,
    },
    #[error(
        "{owner}.{field}: TLS {version} is not supported (rustls implements TLS 1.2 and 1.3); \
         use \"1.2\" or \"1.3\""
    )]
    UnsupportedVersion {
        owner: String,
        field: &'static str,
        version: TlsVersion,
    },
    #[error("{owner}: min_version {min} is above max_version {max}")]
    VersionRange {
        owner: String,
        min: TlsVersion,
        max: TlsVersion,
    },
    #[error("invalid TLS server name {name:?} (from {from}): use a DNS name or an IP address")]
    InvalidServerName { name: String, from: &'static str },
    #[error("{owner}: cannot build the TLS configuration: {source}")]
    Rustls {
        owner: String,
        #[source]
        source: rustls::Error,
    },
}

/// Accepting one TLS connection failed. [`crate::ServerTls::accept`] has already logged it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AcceptError {
    #[error("{peer}: plaintext HTTP received on a TLS port; use https:// in the client endpoint")]
    PlaintextHttp { peer: SocketAddr },
    #[error("{peer}: TLS handshake failed: {cause}")]
    Handshake {
        peer: SocketAddr,
        cause: HandshakeFailure,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{peer}: no TLS handshake within {after:?}; the client is too slow or not speaking TLS"
    )]
    Timeout { peer: SocketAddr, after: Duration },
    #[error("{peer}: connection closed before the TLS handshake started")]
    Closed { peer: SocketAddr },
    #[error("{peer}: cannot read from the connection: {source}")]
    Io {
        peer: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

impl AcceptError {
    /// The peer address the failure is about.
    pub fn peer(&self) -> SocketAddr {
        match self {
            AcceptError::PlaintextHttp { peer }
            | AcceptError::Handshake { peer, .. }
            | AcceptError::Timeout { peer, .. }
            | AcceptError::Closed { peer }
            | AcceptError::Io { peer, .. } => *peer,
        }
    }
}

/// Generating or writing certificates failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CertError {
    #[error(
        "no host given: a server certificate needs at least one DNS name or IP address (--hosts)"
    )]
    NoHosts,
    #[error("invalid host {host:?}: {reason}; use a DNS name or an IP address")]
    InvalidHost { host: String, reason: String },
    #[error("certificate validity out of range: {detail}")]
    Validity { detail: String },
    #[error("cannot generate the {what}: {source}")]
    Generate {
        what: &'static str,
        #[source]
        source: rcgen::Error,
    },
    #[error("cannot create directory {}: {reason}", path.display())]
    CreateDir {
        path: PathBuf,
        reason: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {}: {reason}", path.display())]
    Write {
        path: PathBuf,
        reason: String,
        #[source]
        source: std::io::Error,
    },
}

/// An I/O error's text without the `(os error N)` suffix: `No such file or directory`.
pub(crate) fn io_reason(err: &std::io::Error) -> String {
    let text = err.to_string();
    match text.rfind(" (os error ") {
        Some(at) if text.ends_with(')') => text[..at].to_string(),
        _ => text,
    }
}
