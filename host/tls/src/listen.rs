//! Binding a server's listen address as Collector configs write it, for every listener Sluice
//! has (receivers, the prometheus scrape endpoint, health check, own metrics), with errors that
//! say what to do.

use std::net::SocketAddr;

use tokio::net::TcpListener;

/// Why [`bind`] failed. Callers wrap it with the config path it is about.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    /// The endpoint is not `host:port` or its host does not resolve.
    #[error("cannot resolve {endpoint:?}: {reason}")]
    Resolve { endpoint: String, reason: String },
    /// Binding failed (port in use, no permission, address not on this host).
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        addr: SocketAddr,
        reason: String,
        #[source]
        source: std::io::Error,
    },
}

/// Bind `endpoint` (`localhost:4317`, `0.0.0.0:4317`, `[::]:4317`, or Go's `:4317` for every
/// interface). A name that resolves to several addresses binds the first IPv4 one, as Go does
/// for `localhost`. Returns the real address (the port, when the endpoint asked for port 0).
/// `example` completes the message for an endpoint that does not parse (`0.0.0.0:4317`).
pub async fn bind(endpoint: &str, example: &str) -> Result<(TcpListener, SocketAddr), BindError> {
    let resolve_error = |reason: String| BindError::Resolve {
        endpoint: endpoint.to_owned(),
        reason,
    };
    let target = match endpoint.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}"),
        None => endpoint.to_owned(),
    };
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host(target.as_str())
        .await
        .map_err(|e| resolve_error(format!("{e}; expected host:port such as {example}")))?
        .collect();
    let addr = addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addrs.first())
        .copied()
        .ok_or_else(|| resolve_error("the name has no addresses".to_owned()))?;
    let listen_error = |source: std::io::Error| BindError::Listen {
        addr,
        reason: listen_reason(&source),
        source,
    };
    let listener = TcpListener::bind(addr).await.map_err(listen_error)?;
    let bound = listener.local_addr().map_err(listen_error)?;
    Ok((listener, bound))
}

fn listen_reason(error: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match error.kind() {
        ErrorKind::AddrInUse => {
            "address in use; stop the other process or pick another port".into()
        }
        ErrorKind::PermissionDenied => {
            "permission denied; ports below 1024 need privileges (CAP_NET_BIND_SERVICE)".into()
        }
        ErrorKind::AddrNotAvailable => "no such address on this host".into(),
        _ => error.to_string(),
    }
}
