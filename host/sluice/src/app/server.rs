//! A small plaintext HTTP server for Sluice's own endpoints (health check, metrics), with
//! graceful shutdown.

use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("{owner}: cannot resolve {endpoint:?}: {source}")]
    Resolve {
        owner: String,
        endpoint: String,
        source: std::io::Error,
    },
    #[error("{owner}: cannot listen on {endpoint}: {source}")]
    Bind {
        owner: String,
        endpoint: String,
        source: std::io::Error,
    },
}

pub struct HttpServer {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl HttpServer {
    /// Bind `endpoint` (`host:port`; `localhost` resolves to its first address) and serve.
    pub async fn bind(
        owner: &str,
        endpoint: &str,
        router: Router,
    ) -> Result<HttpServer, ServeError> {
        let listener = bind(owner, endpoint).await?;
        let addr = listener.local_addr().map_err(|source| ServeError::Bind {
            owner: owner.into(),
            endpoint: endpoint.into(),
            source,
        })?;
        let (stop, stopped) = oneshot::channel::<()>();
        let owner_name = owner.to_owned();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, router).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                tracing::error!(server = %owner_name, error = %e, "server stopped with an error");
            }
        });
        Ok(HttpServer { addr, stop, task })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// Resolve and bind a `host:port` listen address.
pub async fn bind(owner: &str, endpoint: &str) -> Result<TcpListener, ServeError> {
    let mut addrs =
        tokio::net::lookup_host(endpoint)
            .await
            .map_err(|source| ServeError::Resolve {
                owner: owner.into(),
                endpoint: endpoint.into(),
                source,
            })?;
    let addr = addrs.next().ok_or_else(|| ServeError::Resolve {
        owner: owner.into(),
        endpoint: endpoint.into(),
        source: std::io::Error::new(std::io::ErrorKind::NotFound, "no address"),
    })?;
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind {
            owner: owner.into(),
            endpoint: endpoint.into(),
            source,
        })
}
