//! What is known about a connection before any request on it: the peer address and the
//! verified TLS client certificate. The accept loop inserts it into every request's extensions,
//! so both protocols build the request context the same way.

use std::net::SocketAddr;
use std::sync::Arc;

use sluice_tls::ClientCertInfo;

/// Per-connection facts, cloned into each request as an `http::Extensions` entry.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionInfo {
    pub peer: SocketAddr,
    /// Identity from the verified client certificate (mTLS), if one was presented.
    pub client_cert: Option<Arc<ClientCertInfo>>,
}

impl ConnectionInfo {
    pub fn plaintext(peer: SocketAddr) -> Self {
        ConnectionInfo {
            peer,
            client_cert: None,
        }
    }

    pub fn tls(peer: SocketAddr, session: &rustls::ServerConnection) -> Self {
        ConnectionInfo {
            peer,
            client_cert: sluice_tls::client_cert_info(session).map(Arc::new),
        }
    }
}
