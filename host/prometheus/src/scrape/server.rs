//! The scrape endpoint's listener: binding with readable errors, an accept loop that serves
//! each connection (HTTP/1.1 and HTTP/2, optionally over TLS via [`ServerTls`]) in its own task,
//! and shutdown. As the receivers' listener (`host/receivers/src/listener.rs`), smaller: a
//! scrape is short, so shutdown closes open connections at once instead of draining them.

use std::net::SocketAddr;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use sluice_tls::ServerTls;
use sluice_tls::listen::BindError;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};

use crate::PromError;

/// How long a client may take to send the request headers on HTTP/1.1.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Back-off after an accept error that is not about one connection (out of file descriptors).
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(100);

/// Bind `endpoint` (see [`sluice_tls::listen::bind`]); errors name the exporter.
pub(crate) async fn bind(
    exporter: &str,
    endpoint: &str,
) -> Result<(TcpListener, SocketAddr), PromError> {
    sluice_tls::listen::bind(endpoint, "0.0.0.0:8889")
        .await
        .map_err(|e| match e {
            BindError::Resolve { endpoint, reason } => PromError::Resolve {
                exporter: exporter.to_owned(),
                endpoint,
                reason,
            },
            BindError::Listen {
                addr,
                reason,
                source,
            } => PromError::Listen {
                exporter: exporter.to_owned(),
                addr,
                reason,
                source,
            },
        })
}

/// A running scrape endpoint.
pub(crate) struct Server {
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Server {
    /// Serve `router` on `listener`; TLS files are re-read as they change.
    pub fn spawn(
        exporter: &str,
        listener: TcpListener,
        tls: Option<ServerTls>,
        router: axum::Router,
    ) -> Server {
        if let Some(tls) = &tls {
            tls.start_reloading();
        }
        let (stop, stopped) = oneshot::channel();
        let accept = AcceptLoop {
            exporter: exporter.to_owned(),
            listener,
            tls,
            router,
        };
        Server {
            stop: Some(stop),
            task: Some(tokio::spawn(accept.run(stopped))),
        }
    }

    /// Stop accepting and close every connection.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

struct AcceptLoop {
    exporter: String,
    listener: TcpListener,
    tls: Option<ServerTls>,
    router: axum::Router,
}

impl AcceptLoop {
    async fn run(self, mut stop: oneshot::Receiver<()>) {
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                _ = &mut stop => break,
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
                accepted = self.listener.accept() => match accepted {
                    Ok((tcp, peer)) => {
                        connections.spawn(serve(tcp, peer, self.tls.clone(), self.router.clone()));
                    }
                    Err(error) => {
                        tracing::warn!(
                            exporter = %self.exporter,
                            %error,
                            "cannot accept scrape connections; retrying"
                        );
                        tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                    }
                },
            }
        }
        drop(self.listener);
        connections.shutdown().await;
    }
}

async fn serve(tcp: TcpStream, peer: SocketAddr, tls: Option<ServerTls>, router: axum::Router) {
    let _ = tcp.set_nodelay(true);
    match tls {
        None => serve_http(TokioIo::new(tcp), peer, router).await,
        // `accept` logs its own failures (plaintext on a TLS port, bad client certificate).
        Some(tls) => {
            if let Ok(stream) = tls.accept(tcp, peer).await {
                serve_http(TokioIo::new(stream), peer, router).await;
            }
        }
    }
}

async fn serve_http<I>(io: TokioIo<I>, peer: SocketAddr, router: axum::Router)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let service = TowerToHyperService::new(router);
    if let Err(error) = builder.serve_connection(io, service).await {
        tracing::debug!(%peer, %error, "scrape connection closed with an error");
    }
}
