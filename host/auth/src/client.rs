//! Client side, for exporters: the header to send for `basicauth` `client_auth` and for
//! `bearertokenauth`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderName, HeaderValue};
use parking_lot::{Mutex, RwLock};
use sluice_config::{BasicClientAuth, BearerTokenAuthSettings};

use crate::bearer::{checked_token, header_name, read_token_file, scheme};
use crate::error::LoadError;
use crate::watch::{self, Reloader};

/// `Basic base64(username:password)`, marked sensitive so that `http` and tracing layers do
/// not print it.
pub fn basic_authorization(c: &BasicClientAuth) -> HeaderValue {
    let encoded = STANDARD.encode(format!("{}:{}", c.username, c.password));
    // Base64 output is always a valid header value; the fallback cannot happen.
    let mut value = HeaderValue::try_from(format!("Basic {encoded}"))
        .unwrap_or_else(|_| HeaderValue::from_static("Basic"));
    value.set_sensitive(true);
    value
}

/// Sends `<scheme> <token>` in the configured header (default `Authorization: Bearer ...`).
/// The token comes from `token` or from `filename` (a single token; re-read when it changes
/// once [`BearerClient::start_reloading`] is called).
pub struct BearerClient {
    shared: Arc<Shared>,
    reloader: Reloader,
}

struct Shared {
    owner: String,
    header: HeaderName,
    scheme: String,
    file: Option<PathBuf>,
    value: RwLock<HeaderValue>,
    file_fingerprint: Mutex<Option<[u8; 32]>>,
}

impl fmt::Debug for BearerClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerClient")
            .field("owner", &self.shared.owner)
            .field("header", &self.shared.header)
            .field("file", &self.shared.file)
            .finish_non_exhaustive()
    }
}

impl BearerClient {
    pub fn load(settings: &BearerTokenAuthSettings, owner: &str) -> Result<Self, LoadError> {
        let header = header_name(settings, owner)?;
        let scheme = scheme(settings, owner)?;
        let (token, fp) = match (&settings.token, &settings.filename) {
            (Some(token), None) => (checked_token(token, owner, "`token`")?, None),
            (None, Some(path)) => {
                let (token, fp) = read_single_token(path, owner)?;
                (token, Some(fp))
            }
            (None, None) => {
                return Err(LoadError::settings(
                    owner,
                    "a bearer token client needs `token` or `filename` (`tokens` is for servers)",
                ));
            }
            (Some(_), Some(_)) => {
                return Err(LoadError::settings(
                    owner,
                    "`token` and `filename` exclude each other: set only one",
                ));
            }
        };
        let value = header_value(&scheme, &token, owner)?;
        Ok(BearerClient {
            shared: Arc::new(Shared {
                owner: owner.to_owned(),
                header,
                scheme,
                file: settings.filename.clone(),
                value: RwLock::new(value),
                file_fingerprint: Mutex::new(fp),
            }),
            reloader: Reloader::default(),
        })
    }

    pub fn header_name(&self) -> &HeaderName {
        &self.shared.header
    }

    /// The current header value (sensitive).
    pub fn header_value(&self) -> HeaderValue {
        self.shared.value.read().clone()
    }

    /// Sets the header on an outgoing request, replacing any earlier value.
    pub fn apply(&self, headers: &mut HeaderMap) {
        headers.insert(self.shared.header.clone(), self.header_value());
    }

    /// Starts re-reading `filename` when it changes. Call inside a tokio runtime; does
    /// nothing without a file or if already started; stops when the client is dropped.
    pub fn start_reloading(self: &Arc<Self>) {
        let Some(path) = self.shared.file.clone() else {
            return;
        };
        self.reloader.start(
            path,
            Arc::downgrade(&self.shared),
            Shared::reload_file,
            watch::Options::default(),
        );
    }
}

impl Shared {
    fn reload_file(&self) {
        let Some(path) = &self.file else { return };
        let mut current = self.file_fingerprint.lock();
        let loaded = read_single_token(path, &self.owner)
            .and_then(|(token, fp)| Ok((header_value(&self.scheme, &token, &self.owner)?, fp)));
        match loaded {
            Ok((_, fp)) if *current == Some(fp) => {}
            Ok((value, fp)) => {
                *self.value.write() = value;
                *current = Some(fp);
                tracing::info!(authenticator = %self.owner, path = %path.display(), "bearer token reloaded");
            }
            Err(e) => {
                tracing::warn!(authenticator = %self.owner, "bearer token reload failed, keeping the previous token: {e}");
            }
        }
    }
}

fn read_single_token(path: &Path, owner: &str) -> Result<(String, [u8; 32]), LoadError> {
    let (mut tokens, fp) = read_token_file(path, owner)?;
    match tokens.pop() {
        Some(token) if tokens.is_empty() => Ok((token, fp)),
        _ => Err(LoadError::settings(
            owner,
            format!(
                "token file {} holds {} tokens; a client sends exactly one",
                path.display(),
                tokens.len() + 1
            ),
        )),
    }
}

fn header_value(scheme: &str, token: &str, owner: &str) -> Result<HeaderValue, LoadError> {
    let text = if scheme.is_empty() {
        token.to_owned()
    } else {
        format!("{scheme} {token}")
    };
    let mut value = HeaderValue::try_from(text)
        .map_err(|_| LoadError::settings(owner, "the token is not a valid header value"))?;
    value.set_sensitive(true);
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BearerTokenAuth, ServerAuthenticator};
    use std::time::Duration;

    #[test]
    fn basic_header_round_trips_through_the_server_parser() {
        let c = BasicClientAuth {
            username: "alice".into(),
            password: "pa:ss wörd".into(),
        };
        let v = basic_authorization(&c);
        assert!(v.is_sensitive());
        let mut h = HeaderMap::new();
        h.insert(http::header::AUTHORIZATION, v);
        let creds = crate::header::basic(&h).unwrap();
        assert_eq!(creds.username, "alice");
        assert_eq!(creds.password, "pa:ss wörd".as_bytes());
    }

    #[tokio::test]
    async fn bearer_client_is_accepted_by_bearer_server() {
        let settings = BearerTokenAuthSettings {
            header: Some("X-Token".into()),
            scheme: Some("Token".into()),
            token: Some("abc123".into()),
            ..Default::default()
        };
        let client = BearerClient::load(&settings, "c").unwrap();
        assert_eq!(client.header_name().as_str(), "x-token");
        assert_eq!(client.header_value(), "Token abc123");
        assert!(client.header_value().is_sensitive());
        let server = BearerTokenAuth::load(&settings, "s").unwrap();
        let mut h = HeaderMap::new();
        client.apply(&mut h);
        assert!(server.authenticate(&h, None).await.is_ok());
    }

    #[test]
    fn bearer_client_settings_errors() {
        let err = |s: BearerTokenAuthSettings| BearerClient::load(&s, "c").unwrap_err().to_string();
        assert!(err(BearerTokenAuthSettings::default()).contains("needs `token` or `filename`"));
        let tokens_only = BearerTokenAuthSettings {
            tokens: Some(vec!["a".into()]),
            ..Default::default()
        };
        assert!(err(tokens_only).contains("`tokens` is for servers"));
        let bad = BearerTokenAuthSettings {
            token: Some("a\u{7}b".into()),
            ..Default::default()
        };
        assert!(err(bad).contains("visible ASCII"));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "one\ntwo\n").unwrap();
        let two = BearerTokenAuthSettings {
            filename: Some(path),
            ..Default::default()
        };
        assert!(err(two).contains("holds 2 tokens"));
    }

    #[tokio::test]
    async fn bearer_client_rereads_its_token_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "first\n").unwrap();
        let settings = BearerTokenAuthSettings {
            filename: Some(path.clone()),
            scheme: Some(String::new()),
            ..Default::default()
        };
        let client = Arc::new(BearerClient::load(&settings, "c").unwrap());
        assert_eq!(client.header_value(), "first");
        client.start_reloading();
        let tmp = dir.path().join("token.new");
        std::fs::write(&tmp, "second\n").unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        for _ in 0..200 {
            if client.header_value() == "second" {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("token file change not picked up");
    }
}
