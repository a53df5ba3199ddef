//! [`ServerTls`]: loading the server certificate, key and client CA into a swappable
//! `rustls::ServerConfig`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use rustls::ServerConfig;
use rustls::server::WebPkiClientVerifier;
use sluice_config::TlsServerSettings;

use crate::error::TlsError;
use crate::pem::{self, Field, Loaded};
use crate::versions::protocol_versions;

/// Default for [`ServerTls::with_handshake_timeout`].
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// ALPN protocols a Sluice server advertises, in preference order.
pub(crate) const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// A TLS server endpoint: the current `rustls::ServerConfig` (swapped on reload) and how to accept
/// connections with it. Cheap to clone; clones share the config and the reload state.
#[derive(Clone)]
pub struct ServerTls {
    pub(crate) inner: Arc<Inner>,
    pub(crate) handshake_timeout: Duration,
}

pub(crate) struct Inner {
    pub owner: String,
    pub settings: TlsServerSettings,
    pub current: ArcSwap<ServerConfig>,
    /// What `current` was built from; the reloader compares new reads against it.
    pub loaded: Material,
    pub reloads: AtomicU64,
    pub reload_failures: AtomicU64,
    pub reloading: AtomicBool,
    /// Never sent on: dropping it (with the last clone) tells the reload task to stop.
    pub stop: tokio::sync::watch::Sender<()>,
}

/// The bytes a server config is built from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Material {
    pub cert: Loaded,
    pub key: Loaded,
    pub client_ca: Option<Loaded>,
}

impl Material {
    pub fn read(settings: &TlsServerSettings, owner: &str) -> Result<Material, TlsError> {
        let missing = |field, alternative| TlsError::Missing {
            owner: owner.to_string(),
            field,
            alternative,
        };
        let cert = Field {
            file_field: "cert_file",
            file: settings.cert_file.as_deref(),
            pem_field: "cert_pem",
            pem: settings.cert_pem.as_deref(),
        }
        .read(owner)?
        .ok_or_else(|| missing("cert_file", "cert_pem"))?;
        let key = Field {
            file_field: "key_file",
            file: settings.key_file.as_deref(),
            pem_field: "key_pem",
            pem: settings.key_pem.as_deref(),
        }
        .read(owner)?
        .ok_or_else(|| missing("key_file", "key_pem"))?;
        let client_ca = Field {
            file_field: "client_ca_file",
            file: settings.client_ca_file.as_deref(),
            pem_field: "client_ca_pem",
            pem: None,
        }
        .read(owner)?;
        Ok(Material {
            cert,
            key,
            client_ca,
        })
    }

    /// Build the rustls config: versions, client verification, certificate, ALPN.
    pub fn build(
        &self,
        settings: &TlsServerSettings,
        owner: &str,
    ) -> Result<Arc<ServerConfig>, TlsError> {
        let provider = crate::provider();
        let versions = protocol_versions(owner, settings.min_version, settings.max_version)?;
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&versions)
            .map_err(|source| TlsError::Rustls {
                owner: owner.to_string(),
                source,
            })?;
        let builder = match &self.client_ca {
            Some(ca) => {
                let roots = pem::roots(owner, ca)?;
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                        .build()
                        .map_err(|e| TlsError::BadCa {
                            owner: owner.to_string(),
                            what: ca.what.clone(),
                            detail: e.to_string(),
                        })?;
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let chain = pem::certs(owner, &self.cert)?;
        if let Some(problem) = chain.first().and_then(pem::leaf_problem) {
            tracing::warn!(owner, file = %self.cert.what, "{problem}");
        }
        let key = pem::key(owner, &self.key)?;
        let mut config = builder
            .with_single_cert(chain, key)
            .map_err(|e| pem::cert_key_error(owner, &self.cert, &self.key, e))?;
        config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
        Ok(Arc::new(config))
    }
}

impl ServerTls {
    /// Load cert/key (file or inline PEM) and optional client CA; `owner` is the YAML path used
    /// in messages, e.g. "receivers.otlp.protocols.grpc.tls". ALPN: advertise h2 and http/1.1.
    pub fn load(settings: &TlsServerSettings, owner: &str) -> Result<ServerTls, TlsError> {
        let material = Material::read(settings, owner)?;
        let config = material.build(settings, owner)?;
        if (settings.ca_file.is_some() || settings.ca_pem.is_some())
            && settings.client_ca_file.is_none()
        {
            tracing::warn!(
                owner,
                "ca_file is set but does not enable client certificate verification on a \
                 server; set client_ca_file to require and verify client certificates (mTLS)"
            );
        }
        let (stop, _) = tokio::sync::watch::channel(());
        Ok(ServerTls {
            inner: Arc::new(Inner {
                owner: owner.to_string(),
                settings: settings.clone(),
                current: ArcSwap::new(config),
                loaded: material,
                reloads: AtomicU64::new(0),
                reload_failures: AtomicU64::new(0),
                reloading: AtomicBool::new(false),
                stop,
            }),
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
        })
    }

    /// How long [`ServerTls::accept`] waits for the first bytes and the handshake (default 10 s).
    pub fn with_handshake_timeout(mut self, timeout: Duration) -> ServerTls {
        self.handshake_timeout = timeout;
        self
    }

    /// True when `client_ca_file` is set: clients must present a certificate signed by it.
    pub fn requires_client_cert(&self) -> bool {
        self.inner.settings.client_ca_file.is_some()
    }

    /// Number of successful reloads so far (for tests and metrics).
    pub fn reloads(&self) -> u64 {
        self.inner.reloads.load(Ordering::Relaxed)
    }

    /// Number of reload attempts that failed and kept the previous config (for tests and metrics).
    pub fn reload_failures(&self) -> u64 {
        self.inner.reload_failures.load(Ordering::Relaxed)
    }

    /// The YAML path this endpoint was loaded for.
    pub fn owner(&self) -> &str {
        &self.inner.owner
    }

    /// The config new handshakes use now, for callers that drive rustls themselves.
    pub fn current_config(&self) -> Arc<ServerConfig> {
        self.inner.current.load_full()
    }
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls")
            .field("owner", &self.inner.owner)
            .field("requires_client_cert", &self.requires_client_cert())
            .field("reloads", &self.reloads())
            .finish_non_exhaustive()
    }
}
