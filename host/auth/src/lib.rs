//! Authentication for Sluice, mirroring the OpenTelemetry Collector's `basicauth` and
//! `bearertokenauth` extensions.
//!
//! Server side, for receivers: [`BasicAuth`] (htpasswd: bcrypt, `$apr1$`, `$1$`, `{SHA}`, and
//! plain text only when allowed) and [`BearerTokenAuth`], both behind [`ServerAuthenticator`]
//! and built from config by [`server_authenticator`]. Credential files are re-read when they
//! change once `start_reloading` is called inside a tokio runtime.
//!
//! Client side, for exporters: [`basic_authorization`] and [`BearerClient`].
//!
//! Nothing here logs or returns a password or token: failures are logged at WARN with the
//! peer address and user name, and clients get [`AuthError::client_message`].

#![forbid(unsafe_code)]

mod apr1;
mod basic;
mod bearer;
mod cache;
mod client;
mod error;
mod hash;
mod header;
mod htpasswd;
mod watch;

use std::net::SocketAddr;
use std::sync::Arc;

use sluice_config::Extension;

pub use basic::BasicAuth;
pub use bearer::BearerTokenAuth;
pub use client::{BearerClient, basic_authorization};
pub use error::{AuthError, LoadError};

/// Who a request authenticated as. Never holds a password or token: a bearer token is named
/// by its key in `named_tokens`, or `token-<index>` (its position in `tokens` or the token
/// file).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Principal {
    pub username: Option<String>,
    pub token_name: Option<String>,
}

/// Authenticates requests to a receiver (HTTP headers or gRPC metadata as a `HeaderMap`).
#[async_trait::async_trait]
pub trait ServerAuthenticator: Send + Sync + 'static {
    /// Checks the request's credentials. Failures are already logged at WARN (with `peer`
    /// and the user name when known); the caller answers 401 / `Unauthenticated` with
    /// [`AuthError::client_message`] and [`ServerAuthenticator::challenge`].
    async fn authenticate(
        &self,
        headers: &http::HeaderMap,
        peer: Option<SocketAddr>,
    ) -> Result<Principal, AuthError>;

    /// `Basic realm="..."` or `Bearer`, for the WWW-Authenticate header of a 401.
    fn challenge(&self) -> &'static str;

    /// Starts re-reading credential files when they change. Call once inside a tokio
    /// runtime; later calls do nothing. The background work stops when the authenticator
    /// is dropped. The default does nothing (no files to watch).
    fn start_reloading(&self) {}

    /// The (lower-case) request header that carries the credential. Receivers never copy it
    /// into request metadata.
    fn credential_header(&self) -> &str {
        "authorization"
    }
}

/// Builds the server authenticator for an extension: `basicauth` with `htpasswd` gives a
/// [`BasicAuth`], `bearertokenauth` a [`BearerTokenAuth`]. `Ok(None)` for extensions that
/// are not server authenticators (`basicauth` with only `client_auth`, `health_check`).
/// Does not start reloading: the caller calls
/// [`ServerAuthenticator::start_reloading`] once inside its runtime.
pub fn server_authenticator(
    ext: &Extension,
    owner: &str,
) -> Result<Option<Arc<dyn ServerAuthenticator>>, LoadError> {
    Ok(match ext {
        Extension::BasicAuth(settings) => match &settings.htpasswd {
            Some(htpasswd) => Some(Arc::new(BasicAuth::load(htpasswd, owner)?)),
            None => None,
        },
        Extension::BearerTokenAuth(settings) => {
            Some(Arc::new(BearerTokenAuth::load(settings, owner)?))
        }
        Extension::HealthCheck(_)
        | Extension::FileStorage(_)
        | Extension::Tenancy(_)
        | Extension::HeadersSetter(_) => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_config::{
        BasicAuthSettings, BasicClientAuth, BearerTokenAuthSettings, HtpasswdSettings,
    };

    #[test]
    fn server_authenticator_by_extension_kind() {
        let basic = Extension::BasicAuth(BasicAuthSettings {
            htpasswd: Some(HtpasswdSettings {
                inline: Some("alice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=".into()),
                ..Default::default()
            }),
            client_auth: None,
        });
        let auth = server_authenticator(&basic, "extensions.basicauth")
            .unwrap()
            .unwrap();
        assert!(auth.challenge().starts_with("Basic realm="));

        let client_only = Extension::BasicAuth(BasicAuthSettings {
            htpasswd: None,
            client_auth: Some(BasicClientAuth {
                username: "u".into(),
                password: "p".into(),
            }),
        });
        assert!(server_authenticator(&client_only, "x").unwrap().is_none());

        let bearer = Extension::BearerTokenAuth(BearerTokenAuthSettings {
            token: Some("t".into()),
            ..Default::default()
        });
        let auth = server_authenticator(&bearer, "x").unwrap().unwrap();
        assert_eq!(auth.challenge(), "Bearer");

        let bad = Extension::BearerTokenAuth(BearerTokenAuthSettings::default());
        let err = server_authenticator(&bad, "extensions.bearertokenauth")
            .err()
            .unwrap();
        assert!(
            err.to_string().starts_with("extensions.bearertokenauth: "),
            "{err}"
        );
    }
}
