//! What travels with a batch: where it came from and who sent it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

/// The protocol a batch arrived over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Grpc,
    Http,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Grpc => "grpc",
            Transport::Http => "http",
        }
    }
}

/// The authenticated identity of the sender, as far as it is known.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct AuthInfo {
    /// BasicAuth username.
    pub username: Option<String>,
    /// Name of the bearer token that matched (the token itself is never kept).
    pub token_name: Option<String>,
    /// Subject of the verified TLS client certificate (`CN=app,O=Org`).
    pub client_subject: Option<String>,
    /// Common name of the verified TLS client certificate.
    pub client_cn: Option<String>,
    /// DNS / URI subject alternative names of the verified TLS client certificate.
    pub client_sans: Vec<String>,
}

/// Request context of a batch. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    /// Component id of the receiver (`otlp`, `otlp/internal`).
    pub receiver: Arc<str>,
    pub transport: Option<Transport>,
    pub peer: Option<SocketAddr>,
    pub auth: Arc<AuthInfo>,
    /// The tenant the receiver's `tenancy` attributed the batch to; `None` without tenancy.
    pub tenant: Option<Arc<str>>,
    /// Request headers / gRPC metadata, lower-cased names; filled only with `include_metadata`.
    pub metadata: Arc<BTreeMap<String, Vec<String>>>,
}

impl RequestContext {
    /// First value of a metadata key (lower-case name).
    pub fn metadata_value(&self, key: &str) -> Option<&str> {
        self.metadata
            .get(key)
            .and_then(|v| v.first())
            .map(String::as_str)
    }
}
