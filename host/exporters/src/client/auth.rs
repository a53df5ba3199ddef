//! [`ClientAuth`]: the credentials a network exporter sends, from an `auth.authenticator`
//! extension.

use std::fmt;
use std::sync::Arc;

use http::{HeaderMap, HeaderName, HeaderValue};
use sluice_auth::{BearerClient, basic_authorization};
use sluice_config::{BasicClientAuth, BearerTokenAuthSettings, ComponentId, Extension};
use sluice_pipeline::RequestContext;

use super::headers_setter::HeadersSetter;
use crate::ExporterError;

/// Credentials an exporter sends with every request (an HTTP header, or gRPC metadata), built
/// from the extension its `auth.authenticator` names. Cheap to clone; clones share the token.
///
/// - `basicauth/x` with `client_auth: {username, password}`: `Authorization: Basic ...`.
/// - `bearertokenauth/x` with `token` or `filename` (and optionally `scheme`, `header`):
///   `Authorization: Bearer <token>`. A `filename` is re-read when it changes, once the
///   exporter that owns this value has been created (it starts the reloading).
/// - `headers_setter/x`: headers from each batch's context (the tenant, a forwarded header).
///
/// `Debug` never shows a password or token.
#[derive(Clone)]
pub enum ClientAuth {
    /// A fixed `Authorization: Basic base64(username:password)` value (marked sensitive).
    Basic(HeaderValue),
    /// A bearer token, possibly re-read from its file.
    Bearer(Arc<BearerClient>),
    /// Headers from each batch's context.
    Headers(Arc<HeadersSetter>),
}

impl fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientAuth::Basic(_) => f.write_str("ClientAuth::Basic(<redacted>)"),
            ClientAuth::Bearer(client) => {
                f.debug_tuple("ClientAuth::Bearer").field(client).finish()
            }
            ClientAuth::Headers(setter) => {
                f.debug_tuple("ClientAuth::Headers").field(setter).finish()
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
            Extension::HeadersSetter(settings) => Ok(ClientAuth::Headers(Arc::new(
                HeadersSetter::new(&owner, settings)?,
            ))),
            Extension::HealthCheck(_) | Extension::FileStorage(_) | Extension::Tenancy(_) => {
                Err(ExporterError::AuthUnusable {
                    extension: owner,
                    reason: "is not an authenticator; use a basicauth, bearertokenauth or \
                             headers_setter extension in auth.authenticator"
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

    /// The credential header to send now: its name and its (sensitive) value; `None` for
    /// `headers_setter`, whose headers depend on each batch.
    pub fn header(&self) -> Option<(HeaderName, HeaderValue)> {
        match self {
            ClientAuth::Basic(value) => Some((http::header::AUTHORIZATION, value.clone())),
            ClientAuth::Bearer(client) => {
                Some((client.header_name().clone(), client.header_value()))
            }
            ClientAuth::Headers(_) => None,
        }
    }

    /// Sets the header(s) on an outgoing request for a batch with `context`, replacing a
    /// configured header of the same name.
    pub(crate) fn apply(&self, headers: &mut HeaderMap, context: &RequestContext) {
        match self {
            ClientAuth::Headers(setter) => setter.apply(headers, context),
            _ => {
                if let Some((name, value)) = self.header() {
                    headers.insert(name, value);
                }
            }
        }
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
