//! Authentication extensions: `basicauth` and `bearertokenauth`, server and client side.

use std::path::PathBuf;

use serde::Deserialize;

/// `basicauth[/name]`: `htpasswd` makes it a server authenticator, `client_auth` a client one.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuthSettings {
    pub htpasswd: Option<HtpasswdSettings>,
    pub client_auth: Option<BasicClientAuth>,
}

/// Where the htpasswd entries come from; both may be given (inline entries win on duplicates).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HtpasswdSettings {
    /// An htpasswd file, re-read when it changes.
    pub file: Option<PathBuf>,
    /// htpasswd lines inline in the config.
    pub inline: Option<String>,
    /// Accept plain-text password entries (`user:password`). Off by default.
    #[serde(default)]
    pub allow_plaintext: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicClientAuth {
    pub username: String,
    pub password: String,
}

/// `bearertokenauth[/name]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BearerTokenAuthSettings {
    /// Header carrying the token (default `Authorization`).
    pub header: Option<String>,
    /// Scheme before the token (default `Bearer`).
    pub scheme: Option<String>,
    /// One accepted (server) or sent (client) token.
    pub token: Option<String>,
    /// Several accepted tokens (server).
    pub tokens: Option<Vec<String>>,
    /// Accepted tokens by name (server; Sluice's addition): the name identifies the client
    /// (`tenancy` source `bearer_token`) without the token ever being logged.
    pub named_tokens: Option<std::collections::BTreeMap<String, String>>,
    /// File holding the token(s), one per line; re-read when it changes.
    pub filename: Option<PathBuf>,
}

/// `auth:` block of a receiver protocol or exporter: which extension authenticates.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthReference {
    pub authenticator: crate::ComponentId,
}
