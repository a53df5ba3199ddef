//! A small plaintext HTTP server for Sluice's own endpoints (health check, metrics), with
//! graceful shutdown.

use std::net::SocketAddr;

use axum::Router;
use sluice_tls::listen::BindError;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The endpoint of `owner` (`extensions.health_check`) cannot be resolved or bound.
#[derive(Debug, thiserror::Error)]
#[error("{owner}: {source}")]
pub struct ServeError {
    owner: String,
    #[source]
    source: BindError,
}

pub struct HttpServer {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl HttpServer {
    /// Bind `endpoint` (see [`sluice_tls::listen::bind`]) and serve.
    pub async fn bind(
        owner: &str,
        endpoint: &str,
        router: Router,
    ) -> Result<HttpServer, ServeError> {
        let (listener, addr) = sluice_tls::listen::bind(endpoint, "localhost:13133")
            .await
            .map_err(|source| ServeError {
                owner: owner.into(),
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
