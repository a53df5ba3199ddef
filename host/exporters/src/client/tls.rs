//! Client TLS of a network exporter: the rustls config built by [`sluice_tls::client_config`]
//! with this exporter's ALPN, held in an [`ArcSwap`] and rebuilt every `tls.reload_interval`
//! when the CA, certificate or key files changed. Each new connection reads the current config;
//! open connections keep the one they were made with.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use arc_swap::ArcSwap;
use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use sluice_config::TlsClientSettings;
use sluice_tls::TlsError;
use tokio_util::sync::CancellationToken;

/// ALPN for gRPC: HTTP/2 only.
pub(crate) const ALPN_H2: &[&[u8]] = &[b"h2"];
/// ALPN for the HTTP exporters: HTTP/2 when the server offers it, else HTTP/1.1.
pub(crate) const ALPN_HTTP: &[&[u8]] = &[b"h2", b"http/1.1"];

/// The current client config of one exporter.
pub(crate) struct TlsClient {
    owner: String,
    settings: TlsClientSettings,
    alpn: Vec<Vec<u8>>,
    current: ArcSwap<ClientConfig>,
    /// Contents of the CA, certificate and key files the current config (or the last refused
    /// attempt) was built from: a reload rebuilds only when they differ.
    seen: Mutex<Vec<Option<Vec<u8>>>>,
}

impl TlsClient {
    /// Builds the config (reading the files once). `owner` is the YAML path used in messages,
    /// e.g. `exporters.otlp/backend.tls`.
    pub(crate) fn load(
        settings: &TlsClientSettings,
        owner: &str,
        alpn: &[&[u8]],
    ) -> Result<Arc<TlsClient>, TlsError> {
        let alpn: Vec<Vec<u8>> = alpn.iter().map(|p| p.to_vec()).collect();
        let seen = read_files(settings);
        let config = build(settings, owner, &alpn)?;
        Ok(Arc::new(TlsClient {
            owner: owner.to_owned(),
            settings: settings.clone(),
            alpn,
            current: ArcSwap::new(config),
            seen: Mutex::new(seen),
        }))
    }

    /// The config a new connection uses now.
    pub(crate) fn config(&self) -> Arc<ClientConfig> {
        self.current.load_full()
    }

    /// The name to verify the server certificate against: `server_name_override`, else `host`.
    pub(crate) fn server_name(&self, host: &str) -> Result<ServerName<'static>, TlsError> {
        sluice_tls::server_name(&self.settings, host)
    }

    /// Rebuilds the config when a file changed. A broken file is logged at WARN (once per
    /// change) and the previous config stays.
    fn reload(&self) {
        let files = read_files(&self.settings);
        {
            let Ok(mut seen) = self.seen.lock() else {
                return;
            };
            if *seen == files {
                return;
            }
            *seen = files;
        }
        match build(&self.settings, &self.owner, &self.alpn) {
            Ok(config) => {
                self.current.store(config);
                tracing::info!(
                    owner = self.owner.as_str(),
                    "TLS files changed: new connections use the reloaded certificates"
                );
            }
            Err(error) => tracing::warn!(
                owner = self.owner.as_str(),
                %error,
                "TLS files changed but cannot be used; keeping the previous configuration"
            ),
        }
    }

    /// Re-reads the files every `reload_interval` (when set) until `stop` is cancelled or the
    /// client is dropped. Must be called inside a tokio runtime.
    pub(crate) fn start_reloading(self: &Arc<Self>, stop: CancellationToken) {
        let Some(interval) = self.settings.reload_interval.filter(|i| !i.is_zero()) else {
            return;
        };
        if !has_files(&self.settings) {
            return;
        }
        let weak = Arc::downgrade(self);
        tokio::spawn(reload_loop(weak, interval, stop));
    }
}

async fn reload_loop(client: Weak<TlsClient>, interval: Duration, stop: CancellationToken) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let Some(client) = client.upgrade() else {
            return;
        };
        // Reading files blocks: do it on the blocking pool.
        if tokio::task::spawn_blocking(move || client.reload())
            .await
            .is_err()
        {
            return;
        }
    }
}

/// Logs a WARN when TLS settings are given for an exporter that connects in plaintext, so a
/// forgotten `https://` does not go unnoticed.
pub(crate) fn warn_if_unused(exporter: &str, settings: &TlsClientSettings) {
    let configured = has_files(settings)
        || settings.ca_pem.is_some()
        || settings.cert_pem.is_some()
        || settings.key_pem.is_some()
        || settings.server_name_override.is_some();
    if configured {
        tracing::warn!(
            exporter,
            "tls settings are ignored: the endpoint is plaintext (use https:// for TLS)"
        );
    }
}

fn build(
    settings: &TlsClientSettings,
    owner: &str,
    alpn: &[Vec<u8>],
) -> Result<Arc<ClientConfig>, TlsError> {
    let config = sluice_tls::client_config(settings, owner)?;
    let mut config = Arc::unwrap_or_clone(config);
    config.alpn_protocols = alpn.to_vec();
    Ok(Arc::new(config))
}

fn files(settings: &TlsClientSettings) -> [Option<&PathBuf>; 3] {
    [
        settings.ca_file.as_ref(),
        settings.cert_file.as_ref(),
        settings.key_file.as_ref(),
    ]
}

fn has_files(settings: &TlsClientSettings) -> bool {
    files(settings).iter().any(Option::is_some)
}

/// The bytes of each configured file (`None` when unset or unreadable).
fn read_files(settings: &TlsClientSettings) -> Vec<Option<Vec<u8>>> {
    files(settings)
        .iter()
        .map(|path| path.and_then(|p| std::fs::read(p).ok()))
        .collect()
}
