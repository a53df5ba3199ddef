#![forbid(unsafe_code)]
//! TLS for Sluice: rustls server configuration with hot reload and readable handshake errors,
//! client configuration for exporters, client-certificate identities, and dev certificates.
//!
//! # Decisions
//!
//! - **One crypto provider.** [`install_crypto_provider`] installs `ring` process-wide; call it at
//!   start-up (and in tests). Every config built here uses the installed provider, falling back to
//!   `ring` when none is installed, so nothing panics if a caller forgets.
//! - **Versions.** `min_version` defaults to 1.2 and `max_version` to 1.3. rustls implements only
//!   TLS 1.2 and 1.3, so "1.0" and "1.1" are refused with an error (the config crate refuses them
//!   too), and a TLS 1.1 client fails its handshake with "protocol version too old".
//! - **X.509 v1 client certificates are refused.** `openssl x509 -req` without `-extfile` makes
//!   v1 certificates; webpki rejects them (`UnsupportedCertVersion`) and we do not work around it.
//!   The handshake-failure log says so and how to re-issue: `sluice certs`, or openssl with an
//!   `-extfile` containing `basicConstraints=CA:FALSE`.
//! - **`ca_file` on a server does not enable client verification** (only `client_ca_file`
//!   does); [`ServerTls::load`] logs a WARN pointing at `client_ca_file` when `ca_file`/`ca_pem`
//!   is set without it.
//! - **ALPN.** Servers advertise `h2` and `http/1.1`. Client configs leave ALPN to the caller.
//! - **Reload.** The whole `Arc<rustls::ServerConfig>` lives in an [`arc_swap::ArcSwap`]; every
//!   accepted connection builds a fresh `TlsAcceptor` from the current config, so new handshakes
//!   use new files and open connections are untouched. Files are watched through their parent
//!   directories (tools replace files by rename; Kubernetes swaps a `..data` symlink) and also
//!   re-read every `reload_interval` when set. A broken new file is logged at WARN, naming it, and
//!   the previous config stays.
//! - **Plaintext on a TLS port.** [`ServerTls::accept`] peeks at the first bytes; plain HTTP gets
//!   Go's answer (`HTTP/1.0 400 Bad Request … Client sent an HTTP request to an HTTPS server.`).
//! - **Handshake timeout.** [`ServerTls::accept`] gives up after 10 s by default
//!   ([`ServerTls::with_handshake_timeout`]), so an idle or slow peer cannot hold a task forever.
//! - **`insecure_skip_verify`** uses a verifier that accepts any server certificate (handshake
//!   signatures are still checked). It is dangerous: anyone on the path can impersonate the server.
//! - **Client roots.** `ca_file`/`ca_pem` when given (plus the system store if
//!   `include_system_ca_certs_pool: true`); otherwise the system store, and Mozilla's bundle
//!   (`webpki-roots`) when the system store is empty (e.g. a `FROM scratch` image).

mod accept;
pub mod certgen;
mod client;
mod error;
mod identity;
pub mod listen;
mod pem;
mod reload;
mod server;
#[cfg(test)]
mod tests;
mod versions;

use std::sync::Arc;

use rustls::crypto::CryptoProvider;

pub use accept::HandshakeFailure;
pub use client::{client_config, server_name};
pub use error::{AcceptError, CertError, TlsError};
pub use identity::{ClientCertInfo, cert_info, client_cert_info};
pub use server::{DEFAULT_HANDSHAKE_TIMEOUT, ServerTls};

/// Install ring as the process-wide rustls CryptoProvider; idempotent, call at start-up and in
/// tests. If another provider was installed first, that one stays.
pub fn install_crypto_provider() {
    // Err means a provider is already installed: exactly what "idempotent" asks for.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The installed provider, or ring when none is installed (so config building never panics).
pub(crate) fn provider() -> Arc<CryptoProvider> {
    CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()))
}
