//! Process signals: SIGTERM and SIGINT stop Sluice, SIGHUP reloads its config.

use tokio::signal::unix::{Signal, SignalKind, signal};

/// What a signal asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    Shutdown,
    Reload,
}

/// Listens for SIGTERM, SIGINT and SIGHUP.
pub struct Signals {
    term: Option<Signal>,
    int: Option<Signal>,
    hup: Option<Signal>,
}

impl Signals {
    pub fn new() -> Signals {
        let listen = |kind: SignalKind, name: &str| match signal(kind) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for {name}");
                None
            }
        };
        Signals {
            term: listen(SignalKind::terminate(), "SIGTERM"),
            int: listen(SignalKind::interrupt(), "SIGINT"),
            hup: listen(SignalKind::hangup(), "SIGHUP"),
        }
    }

    /// The next request.
    pub async fn next(&mut self) -> Request {
        async fn recv(s: &mut Option<Signal>) {
            match s {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending().await,
            }
        }
        tokio::select! {
            () = recv(&mut self.term) => {
                tracing::info!("SIGTERM received: shutting down");
                Request::Shutdown
            }
            () = recv(&mut self.int) => {
                tracing::info!("SIGINT received: shutting down");
                Request::Shutdown
            }
            () = recv(&mut self.hup) => {
                tracing::info!("SIGHUP received: reloading the config");
                Request::Reload
            }
        }
    }
}

impl Default for Signals {
    fn default() -> Self {
        Signals::new()
    }
}
