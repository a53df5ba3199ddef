//! The `auth:` block of a protocol: which server authenticator checks each request, shared by
//! gRPC and HTTP. The authenticator logs failures itself; here they become a client answer.

use std::net::SocketAddr;
use std::sync::Arc;

use http::HeaderMap;
use sluice_config::AuthReference;

use crate::Authenticators;
use crate::error::ReceiverError;
use sluice_auth::ServerAuthenticator;

/// Who the authenticator said the client is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Identity {
    pub username: Option<String>,
    pub token_name: Option<String>,
    /// The header that carried the credential (never copied into metadata).
    pub credential_header: Option<String>,
}

/// A request the authenticator turned down.
#[derive(Debug, Clone)]
pub(crate) struct Denied {
    /// `WWW-Authenticate` value for HTTP 401.
    pub challenge: &'static str,
    /// Safe to send to the client: no secrets, no user enumeration.
    pub message: &'static str,
}

/// Checks requests with the configured authenticator, or lets everything through.
#[derive(Clone, Default)]
pub(crate) struct Gate {
    authenticator: Option<Arc<dyn ServerAuthenticator>>,
}

impl Gate {
    /// Look up `auth.authenticator` of the protocol at `path` (`receivers.otlp.protocols.http`).
    pub fn resolve(
        reference: Option<&AuthReference>,
        authenticators: &Authenticators,
        path: &str,
    ) -> Result<Gate, ReceiverError> {
        let Some(reference) = reference else {
            return Ok(Gate::default());
        };
        match authenticators.get(&reference.authenticator) {
            Some(authenticator) => {
                // Idempotent: whoever calls first starts re-reading credential files.
                authenticator.start_reloading();
                Ok(Gate {
                    authenticator: Some(authenticator.clone()),
                })
            }
            None => Err(ReceiverError::UnknownAuthenticator {
                path: path.to_owned(),
                authenticator: reference.authenticator.to_string(),
            }),
        }
    }

    /// No authenticator configured: every request passes.
    pub fn is_open(&self) -> bool {
        self.authenticator.is_none()
    }

    /// `Ok(None)` when no authenticator is configured.
    pub async fn check(
        &self,
        headers: &HeaderMap,
        peer: Option<SocketAddr>,
    ) -> Result<Option<Identity>, Denied> {
        let Some(authenticator) = &self.authenticator else {
            return Ok(None);
        };
        match authenticator.authenticate(headers, peer).await {
            Ok(principal) => Ok(Some(Identity {
                username: principal.username,
                token_name: principal.token_name,
                credential_header: Some(authenticator.credential_header().to_owned()),
            })),
            Err(error) => Err(Denied {
                challenge: authenticator.challenge(),
                message: error.client_message(),
            }),
        }
    }
}
