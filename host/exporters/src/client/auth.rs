//! [`ClientAuth`]: the credentials a network exporter sends, from an `auth.authenticator`
//! extension.

use std::fmt;
use std::sync::Arc;

use http::{HeaderMap, HeaderName, HeaderValue};
use sluice_auth::{BearerClient, basic_authorization};
use sluice_config::{BasicClientAuth, BearerTokenAuthSettings, ComponentId, Extension};

use crate::ExporterError;

/// Credentials an exporter sends with every request (an HTTP header, or gRPC metadata), built
/// from the extension its `auth.authenticator` names. Cheap to clone; clones share the token.
///
/// - `basicauth/x` with `client_auth: {username, password}`: `Authorization: Basic ...`.
/// - `bearertokenauth/x` with `token` or `filename` (and optionally `scheme`, `header`):
///   `Authorization: Bearer <token>`. A `filename` is re-read when it changes, once the
///   exporter that owns this value has been created (it starts the reloading).
///
/// `Debug` never shows a password or token.
#[derive(Clone)]
pub enum ClientAuth {
    /// A fixed `Authorization: Basic base64(username:password)` value (marked sensitive).
    Basic(HeaderValue),
    /// A bearer token, possibly re-read from its file.
    Bearer(Arc<BearerClient>),
}

impl fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientAuth::Basic(_) => f.write_str("ClientAuth::Basic(<redacted>)"),
            ClientAuth::Bearer(client) => {
                f.debug_tuple("ClientAuth::Bearer").field(client).finish()
            }
        }
    }
}

impl ClientAuth {
    /// The client side of extension `id` (`basicauth/x` or `bearertokenauth/x`). Errors name
    /// the extension: a `basicauth` without `client_auth`, a bearer extension without `token`
    /// or `filename` (or with an unreadable file), or an extension that does not authenticate.
    pub fn from_extension(id: &ComponentId, extension: &Extension) -> Result<Self, ExporterError> {
        let owner = id.to_string();
        match extension {
            Extension::BasicAuth(settings) => match &settings.client_auth {
                Some(credentials) => Ok(ClientAuth::basic(credentials)),
                None => Err(ExporterError::AuthUnusable {
                    extension: owner,
                    reason: "has no client_auth, so an exporter cannot use it; add \
                             client_auth: {username: ..., password: ...}"
                        .into(),
                }),
            },
            Extension::BearerTokenAuth(settings) => {
                ClientAuth::bearer(settings, &format!("extensions.{owner}"))
            }
            Extension::HeadersSetter(_) => Err(ExporterError::AuthUnusable {
                extension: owner,
                reason: "headers_setter is not wired to exporters yet".into(),
            }),
            Extension::HealthCheck(_) | Extension::FileStorage(_) | Extension::Tenancy(_) => {
                Err(ExporterError::AuthUnusable {
                    extension: owner,
                    reason: "is not an authenticator; use a basicauth or bearertokenauth \
                             extension in auth.authenticator"
                        .into(),
                })
            }
        }
    }

    /// `Authorization: Basic base64(username:password)`.
    pub fn basic(credentials: &BasicClientAuth) -> Self {
        ClientAuth::Basic(basic_authorization(credentials))
    }

    /// A bearer token from `token` or `filename`; `owner` names the extension in errors
    /// (`extensions.bearertokenauth/x`).
    pub fn bearer(settings: &BearerTokenAuthSettings, owner: &str) -> Result<Self, ExporterError> {
        Ok(ClientAuth::Bearer(Arc::new(BearerClient::load(
            settings, owner,
        )?)))
    }

    /// The header to send now: its name and its (sensitive) value.
    pub fn header(&self) -> (HeaderName, HeaderValue) {
        match self {
            ClientAuth::Basic(value) => (http::header::AUTHORIZATION, value.clone()),
            ClientAuth::Bearer(client) => (client.header_name().clone(), client.header_value()),
        }
    }

    /// Sets the header on an outgoing request, replacing a configured header of the same name.
    pub(crate) fn apply(&self, headers: &mut HeaderMap) {
        let (name, value) = self.header();
        headers.insert(name, value);
    }

    /// Starts re-reading a bearer token file (inside a tokio runtime; idempotent).
    pub(crate) fn start(&self) {
        if let ClientAuth::Bearer(client) = self {
            client.start_reloading();
        }
    }
}

/// The exporter's `auth`: the resolved authenticator, or an error when the settings name one
/// and the caller passed none.
pub(crate) fn resolve(
    exporter: &str,
    configured: Option<&sluice_config::AuthReference>,
    given: Option<ClientAuth>,
) -> Result<Option<ClientAuth>, ExporterError> {
    match (configured, given) {
        (Some(reference), None) => Err(ExporterError::AuthMissing {
            exporter: exporter.to_owned(),
            authenticator: reference.authenticator.to_string(),
        }),
        (_, given) => Ok(given),
    }
}
