//! Binding, the accept loop, TLS and graceful shutdown of one listener.
//!
//! One task accepts connections; each connection gets its own task that does the TLS handshake
//! (so a slow handshake never delays other clients), records the [`ConnectionInfo`] and serves
//! HTTP/1.1 and HTTP/2 (prior knowledge or ALPN) with hyper-util's auto builder. Shutdown drops
//! the listener, asks every connection to finish its in-flight requests (HTTP/2 GOAWAY,
//! HTTP/1.1 close after the current response), waits up to the grace period and then closes
//! whatever is left.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use sluice_config::TlsServerSettings;
use sluice_pipeline::Transport;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};
use tower::ServiceExt;

use crate::connection::ConnectionInfo;
use crate::error::ReceiverError;
use sluice_tls::ServerTls;
use sluice_tls::listen::BindError;

/// How long a client may take to send the request headers on HTTP/1.1.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Back-off after an accept error that is not about one connection (out of file descriptors).
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(100);

/// Load the `tls:` block of the protocol at `path`, if any. Reloading starts with the listener.
pub(crate) fn load_tls(
    settings: Option<&TlsServerSettings>,
    path: &str,
) -> Result<Option<ServerTls>, ReceiverError> {
    let Some(settings) = settings else {
        return Ok(None);
    };
    Ok(Some(ServerTls::load(settings, &format!("{path}.tls"))?))
}

/// Bind `endpoint` (see [`sluice_tls::listen::bind`]); errors name the config `path`.
pub(crate) async fn bind(
    endpoint: &str,
    path: &str,
) -> Result<(TcpListener, SocketAddr), ReceiverError> {
    sluice_tls::listen::bind(endpoint, "0.0.0.0:4317")
        .await
        .map_err(|e| match e {
            BindError::Resolve { endpoint, reason } => ReceiverError::Resolve {
                path: path.to_owned(),
                endpoint,
                reason,
            },
            BindError::Listen {
                addr,
                reason,
                source,
            } => ReceiverError::Listen {
                path: path.to_owned(),
                addr,
                reason,
                source,
            },
        })
}

/// What the accept loop needs besides the socket, the TLS config and the router.
pub(crate) struct Options {
    pub receiver: Arc<str>,
    pub transport: Transport,
    pub max_concurrent_streams: Option<u32>,
}

/// A running listener.
pub(crate) struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<Duration>>,
    task: Option<JoinHandle<()>>,
}

/// A bound listener with everything needed to serve it.
pub(crate) struct Prepared {
    pub tcp: TcpListener,
    pub addr: SocketAddr,
    pub tls: Option<ServerTls>,
    pub router: axum::Router,
    pub options: Options,
}

impl Prepared {
    /// Start serving. Starts reloading the TLS files.
    pub fn spawn(self) -> Server {
        let Prepared {
            tcp: listener,
            addr,
            tls,
            router,
            options,
        } = self;
        if let Some(tls) = &tls {
            tls.start_reloading();
        }
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT);
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_concurrent_streams(options.max_concurrent_streams);
        tracing::info!(
            receiver = %options.receiver,
            transport = options.transport.as_str(),
            %addr,
            tls = tls.is_some(),
            "receiver listening"
        );
        let (stop_tx, stop_rx) = oneshot::channel();
        let accept = AcceptLoop {
            listener,
            tls,
            router,
            builder: Arc::new(builder),
            options,
        };
        Server {
            addr,
            stop: Some(stop_tx),
            task: Some(tokio::spawn(accept.run(stop_rx))),
        }
    }
}

impl Server {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stop accepting, let in-flight requests finish within `grace`, close the rest.
    pub async fn shutdown(mut self, grace: Duration) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(grace);
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Dropped without `shutdown`: stop at once. Dropping the accept loop drops its
        // `JoinSet`, which aborts every connection task.
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

struct AcceptLoop {
    listener: TcpListener,
    tls: Option<ServerTls>,
    router: axum::Router,
    builder: Arc<auto::Builder<TokioExecutor>>,
    options: Options,
}

impl AcceptLoop {
    async fn run(self, mut stop: oneshot::Receiver<Duration>) {
        let AcceptLoop {
            listener,
            tls,
            router,
            builder,
            options,
        } = self;
        let graceful = GracefulShutdown::new();
        let mut connections = JoinSet::new();
        let grace = loop {
            tokio::select! {
                grace = &mut stop => break grace.unwrap_or(Duration::ZERO),
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
                accepted = listener.accept() => match accepted {
                    Ok((tcp, peer)) => {
                        let connection = Connection {
                            tls: tls.clone(),
                            router: router.clone(),
                            builder: builder.clone(),
                            watcher: graceful.watcher(),
                        };
                        connections.spawn(connection.serve(tcp, peer));
                    }
                    Err(error) if is_per_connection(&error) => {
                        tracing::debug!(%error, "accept failed for one connection");
                    }
                    Err(error) => {
                        tracing::warn!(
                            receiver = %options.receiver,
                            transport = options.transport.as_str(),
                            %error,
                            "cannot accept connections; retrying"
                        );
                        tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                    }
                },
            }
        };
        drop(listener);
        drop(tls);
        let open = graceful.count();
        if tokio::time::timeout(grace, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!(
                receiver = %options.receiver,
                transport = options.transport.as_str(),
                connections = connections.len(),
                ?grace,
                "grace period over; closing connections with requests still in flight"
            );
        } else {
            tracing::debug!(
                receiver = %options.receiver,
                transport = options.transport.as_str(),
                connections = open,
                "listener drained"
            );
        }
        connections.shutdown().await;
    }
}

/// Errors that concern one connection only; the listener itself is fine.
fn is_per_connection(error: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    matches!(
        error.kind(),
        ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::ConnectionRefused
    )
}

/// One accepted connection, served in its own task.
struct Connection {
    tls: Option<ServerTls>,
    router: axum::Router,
    builder: Arc<auto::Builder<TokioExecutor>>,
    watcher: Watcher,
}

impl Connection {
    async fn serve(self, tcp: TcpStream, peer: SocketAddr) {
        let _ = tcp.set_nodelay(true);
        let Connection {
            tls,
            router,
            builder,
            watcher,
        } = self;
        let Some(tls) = tls else {
            let info = ConnectionInfo::plaintext(peer);
            return serve_http(TokioIo::new(tcp), info, router, &builder, watcher).await;
        };
        // `accept` logs its own failures (plaintext on a TLS port, bad client cert, timeout).
        if let Ok(stream) = tls.accept(tcp, peer).await {
            let info = ConnectionInfo::tls(peer, stream.get_ref().1);
            serve_http(TokioIo::new(stream), info, router, &builder, watcher).await;
        }
    }
}

async fn serve_http<I>(
    io: TokioIo<I>,
    info: ConnectionInfo,
    router: axum::Router,
    builder: &auto::Builder<TokioExecutor>,
    watcher: Watcher,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let peer = info.peer;
    let service = router.map_request(move |mut request: http::Request<Incoming>| {
        request.extensions_mut().insert(info.clone());
        request
    });
    let connection = builder.serve_connection(io, TowerToHyperService::new(service));
    if let Err(error) = watcher.watch(connection).await {
        tracing::debug!(%peer, %error, "connection closed with an error");
    }
}
