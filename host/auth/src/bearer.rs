//! `bearertokenauth` server side: `<scheme> <token>` in a configurable header.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use http::HeaderName;
use parking_lot::{Mutex, RwLock};
use sha2::{Digest, Sha256};
use sluice_config::BearerTokenAuthSettings;
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

use crate::error::{AuthError, LoadError};
use crate::header::{self, Peer};
use crate::htpasswd::fingerprint;
use crate::watch::{self, Reloader};
use crate::{Principal, ServerAuthenticator};

pub(crate) const DEFAULT_SCHEME: &str = "Bearer";
pub(crate) const DEFAULT_HEADER: &str = "authorization";

/// Accepts requests carrying one of the configured tokens. Exactly one of `token`, `tokens`
/// or `filename` (one token per line, blank lines ignored; re-read when it changes once
/// [`BearerTokenAuth::start_reloading`] is called).
pub struct BearerTokenAuth {
    shared: Arc<Shared>,
    reloader: Reloader,
}

struct Shared {
    owner: String,
    header: HeaderName,
    scheme: String,
    file: Option<PathBuf>,
    /// SHA-256 of each accepted token, in config order: comparing digests takes the same
    /// time whatever the presented token's length.
    digests: RwLock<Arc<Vec<[u8; 32]>>>,
    file_fingerprint: Mutex<Option<[u8; 32]>>,
}

impl fmt::Debug for BearerTokenAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerTokenAuth")
            .field("owner", &self.shared.owner)
            .field("header", &self.shared.header)
            .field("scheme", &self.shared.scheme)
            .field("file", &self.shared.file)
            .field("tokens", &self.token_count())
            .finish()
    }
}

impl BearerTokenAuth {
    pub fn load(settings: &BearerTokenAuthSettings, owner: &str) -> Result<Self, LoadError> {
        let header = header_name(settings, owner)?;
        let scheme = scheme(settings, owner)?;
        let (tokens, fp) = match (&settings.token, &settings.tokens, &settings.filename) {
            (Some(token), None, None) => (vec![checked_token(token, owner, "`token`")?], None),
            (None, Some(list), None) => {
                if list.is_empty() {
                    return Err(LoadError::settings(owner, "`tokens` is empty"));
                }
                let tokens = list
                    .iter()
                    .enumerate()
                    .map(|(i, t)| checked_token(t, owner, &format!("`tokens[{i}]`")))
                    .collect::<Result<Vec<_>, _>>()?;
                (tokens, None)
            }
            (None, None, Some(path)) => {
                let (tokens, fp) = read_token_file(path, owner)?;
                (tokens, Some(fp))
            }
            (None, None, None) => {
                return Err(LoadError::settings(
                    owner,
                    "set one of `token`, `tokens` or `filename`",
                ));
            }
            _ => {
                return Err(LoadError::settings(
                    owner,
                    "`token`, `tokens` and `filename` exclude each other: set only one",
                ));
            }
        };
        Ok(BearerTokenAuth {
            shared: Arc::new(Shared {
                owner: owner.to_owned(),
                header,
                scheme,
                file: settings.filename.clone(),
                digests: RwLock::new(Arc::new(digests(&tokens))),
                file_fingerprint: Mutex::new(fp),
            }),
            reloader: Reloader::default(),
        })
    }

    /// Starts re-reading `filename` when it changes (see [`ServerAuthenticator::start_reloading`]).
    pub fn start_reloading(self: &Arc<Self>) {
        ServerAuthenticator::start_reloading(&**self);
    }

    /// How many tokens are accepted now.
    pub fn token_count(&self) -> usize {
        self.shared.digests.read().len()
    }

    #[cfg(test)]
    fn reload_now(&self) {
        self.shared.reload_file();
    }
}

#[async_trait::async_trait]
impl ServerAuthenticator for BearerTokenAuth {
    async fn authenticate(
        &self,
        headers: &http::HeaderMap,
        peer: Option<SocketAddr>,
    ) -> Result<Principal, AuthError> {
        let result = self.shared.check(headers);
        if let Err(e) = &result {
            tracing::warn!(authenticator = %self.shared.owner, peer = %Peer(peer), "bearer auth failed: {e}");
        }
        result
    }

    fn challenge(&self) -> &'static str {
        "Bearer"
    }

    fn credential_header(&self) -> &str {
        self.shared.header.as_str()
    }

    fn start_reloading(&self) {
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
    fn check(&self, headers: &http::HeaderMap) -> Result<Principal, AuthError> {
        let token = header::credentials(headers, &self.header, &self.scheme)?;
        let presented: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let digests = self.digests.read().clone();
        // Look at every token whatever matches, so timing says nothing about which one did.
        let mut found = Choice::from(0);
        let mut index = 0u64;
        for (i, digest) in digests.iter().enumerate() {
            let eq = digest.ct_eq(&presented);
            index.conditional_assign(&(i as u64), eq & !found);
            found |= eq;
        }
        if bool::from(found) {
            Ok(Principal {
                username: None,
                token_name: Some(format!("token-{index}")),
            })
        } else {
            Err(AuthError::InvalidToken)
        }
    }

    fn reload_file(&self) {
        let Some(path) = &self.file else { return };
        let mut current = self.file_fingerprint.lock();
        match read_token_file(path, &self.owner) {
            Ok((_, fp)) if *current == Some(fp) => {}
            Ok((tokens, fp)) => {
                *self.digests.write() = Arc::new(digests(&tokens));
                *current = Some(fp);
                tracing::info!(authenticator = %self.owner, path = %path.display(), tokens = tokens.len(), "bearer tokens reloaded");
            }
            Err(e) => {
                tracing::warn!(authenticator = %self.owner, "bearer token reload failed, keeping the previous tokens: {e}");
            }
        }
    }
}

fn digests(tokens: &[String]) -> Vec<[u8; 32]> {
    tokens
        .iter()
        .map(|t| Sha256::digest(t.as_bytes()).into())
        .collect()
}

pub(crate) fn header_name(
    settings: &BearerTokenAuthSettings,
    owner: &str,
) -> Result<HeaderName, LoadError> {
    let name = settings.header.as_deref().unwrap_or(DEFAULT_HEADER);
    HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()).map_err(|_| {
        LoadError::settings(
            owner,
            format!("`header` {name:?} is not a valid header name"),
        )
    })
}

pub(crate) fn scheme(settings: &BearerTokenAuthSettings, owner: &str) -> Result<String, LoadError> {
    let scheme = settings.scheme.as_deref().unwrap_or(DEFAULT_SCHEME);
    if scheme.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(scheme.to_owned())
    } else {
        Err(LoadError::settings(
            owner,
            format!("`scheme` {scheme:?} must be printable ASCII without spaces"),
        ))
    }
}

/// A token must survive a trip through an HTTP header: visible ASCII (inner spaces allowed),
/// not empty. Surrounding white space is dropped.
pub(crate) fn checked_token(token: &str, owner: &str, what: &str) -> Result<String, LoadError> {
    match token_problem(token) {
        Some(reason) => Err(LoadError::settings(owner, format!("{what} {reason}"))),
        None => Ok(token.trim().to_owned()),
    }
}

fn token_problem(token: &str) -> Option<&'static str> {
    let token = token.trim();
    if token.is_empty() {
        Some("is empty")
    } else if !token.bytes().all(|b| b == b' ' || b.is_ascii_graphic()) {
        Some("must be visible ASCII (it has to fit in an HTTP header)")
    } else {
        None
    }
}

/// Reads a token file: one token per line, blank lines ignored. Returns the tokens in file
/// order and the content fingerprint.
pub(crate) fn read_token_file(
    path: &Path,
    owner: &str,
) -> Result<(Vec<String>, [u8; 32]), LoadError> {
    let bytes = std::fs::read(path).map_err(|e| LoadError::read(owner, path, e))?;
    let mut tokens = Vec::new();
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = std::str::from_utf8(raw).ok();
        let problem = match line {
            Some(l) if l.trim().is_empty() => continue,
            Some(l) => token_problem(l),
            None => Some("must be visible ASCII (it has to fit in an HTTP header)"),
        };
        if let Some(reason) = problem {
            return Err(LoadError::Line {
                owner: owner.to_owned(),
                origin: format!("token file {}", path.display()),
                line: i + 1,
                reason: format!("token {reason}"),
            });
        }
        tokens.extend(line.map(|l| l.trim().to_owned()));
    }
    if tokens.is_empty() {
        return Err(LoadError::settings(
            owner,
            format!("token file {} holds no token", path.display()),
        ));
    }
    Ok((tokens, fingerprint(&bytes)))
}

#[cfg(test)]
#[path = "bearer_tests.rs"]
mod tests;
