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

/// Accepts requests carrying one of the configured tokens: at most one of `token`, `tokens`
/// or `filename` (one token per line, blank lines ignored; re-read when it changes once
/// [`BearerTokenAuth::start_reloading`] is called), plus any `named_tokens`.
///
/// The [`Principal`] of a request names the token that matched: its key in `named_tokens`, or
/// `token-<index>` for the others (their position in `tokens` or the file).
pub struct BearerTokenAuth {
    shared: Arc<Shared>,
    reloader: Reloader,
}

struct Shared {
    owner: String,
    header: HeaderName,
    scheme: String,
    file: Option<PathBuf>,
    /// The unnamed tokens (`token-<index>`) then the named ones. Swapped whole when the file
    /// changes.
    tokens: RwLock<Arc<Tokens>>,
    /// `named_tokens`, kept across reloads of the file.
    named: Vec<(String, String)>,
    file_fingerprint: Mutex<Option<[u8; 32]>>,
}

/// SHA-256 of each accepted token with its name: comparing digests takes the same time
/// whatever the presented token's length.
struct Tokens {
    digests: Vec<[u8; 32]>,
    names: Vec<Arc<str>>,
}

impl Tokens {
    /// `unnamed` get `token-<index>`; `named` keep their names. A named token equal to any
    /// other is refused (which name would the client get?); among unnamed ones the first wins.
    fn new(
        unnamed: &[String],
        named: &[(String, String)],
        owner: &str,
    ) -> Result<Tokens, LoadError> {
        let mut digests: Vec<[u8; 32]> = Vec::with_capacity(unnamed.len() + named.len());
        let mut names: Vec<Arc<str>> = Vec::with_capacity(digests.capacity());
        let entries = unnamed
            .iter()
            .enumerate()
            .map(|(i, t)| (Arc::from(format!("token-{i}")), t, false))
            .chain(named.iter().map(|(n, t)| (Arc::from(n.as_str()), t, true)));
        for (name, token, is_named) in entries {
            let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
            let duplicate = digests.iter().position(|d| *d == digest);
            if let (Some(i), true) = (duplicate, is_named) {
                return Err(LoadError::settings(
                    owner,
                    format!(
                        "tokens {} and {name} are the same token; give each client its own",
                        names[i]
                    ),
                ));
            }
            digests.push(digest);
            names.push(name);
        }
        Ok(Tokens { digests, names })
    }
}

impl fmt::Debug for BearerTokenAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerTokenAuth")
            .field("owner", &self.shared.owner)
            .field("header", &self.shared.header)
            .field("scheme", &self.shared.scheme)
            .field("file", &self.shared.file)
            .field("tokens", &self.token_count())
            .field(
                "named_tokens",
                &self.shared.named.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl BearerTokenAuth {
    pub fn load(settings: &BearerTokenAuthSettings, owner: &str) -> Result<Self, LoadError> {
        let header = header_name(settings, owner)?;
        let scheme = scheme(settings, owner)?;
        let named = named_tokens(settings, owner)?;
        let (tokens, fp) = match (&settings.token, &settings.tokens, &settings.filename) {
            (Some(token), None, None) => (vec![checked_token(token, owner, "`token`")?], None),
            (None, Some(list), None) => {
                if list.is_empty() && named.is_empty() {
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
            (None, None, None) if !named.is_empty() => (Vec::new(), None),
            (None, None, None) => {
                return Err(LoadError::settings(
                    owner,
                    "set one of `token`, `tokens`, `named_tokens` or `filename`",
                ));
            }
            _ => {
                return Err(LoadError::settings(
                    owner,
                    "`token`, `tokens` and `filename` exclude each other: set only one \
                     (`named_tokens` may go with any of them)",
                ));
            }
        };
        let tokens = Tokens::new(&tokens, &named, owner)?;
        Ok(BearerTokenAuth {
            shared: Arc::new(Shared {
                owner: owner.to_owned(),
                header,
                scheme,
                file: settings.filename.clone(),
                tokens: RwLock::new(Arc::new(tokens)),
                named,
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
        self.shared.tokens.read().digests.len()
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
        let tokens = self.tokens.read().clone();
        // Look at every token whatever matches, so timing says nothing about which one did.
        let mut found = Choice::from(0);
        let mut index = 0u64;
        for (i, digest) in tokens.digests.iter().enumerate() {
            let eq = digest.ct_eq(&presented);
            index.conditional_assign(&(i as u64), eq & !found);
            found |= eq;
        }
        let name = usize::try_from(index)
            .ok()
            .and_then(|i| tokens.names.get(i));
        match name {
            Some(name) if bool::from(found) => Ok(Principal {
                username: None,
                token_name: Some(name.to_string()),
            }),
            _ => Err(AuthError::InvalidToken),
        }
    }

    fn reload_file(&self) {
        let Some(path) = &self.file else { return };
        let mut current = self.file_fingerprint.lock();
        match read_token_file(path, &self.owner) {
            Ok((_, fp)) if *current == Some(fp) => {}
            Ok((tokens, fp)) => match Tokens::new(&tokens, &self.named, &self.owner) {
                Ok(loaded) => {
                    *self.tokens.write() = Arc::new(loaded);
                    *current = Some(fp);
                    tracing::info!(authenticator = %self.owner, path = %path.display(), tokens = tokens.len(), "bearer tokens reloaded");
                }
                Err(e) => {
                    tracing::warn!(authenticator = %self.owner, "bearer token reload failed, keeping the previous tokens: {e}");
                }
            },
            Err(e) => {
                tracing::warn!(authenticator = %self.owner, "bearer token reload failed, keeping the previous tokens: {e}");
            }
        }
    }
}

/// `named_tokens` as (name, token) pairs, each token checked like the others.
fn named_tokens(
    settings: &BearerTokenAuthSettings,
    owner: &str,
) -> Result<Vec<(String, String)>, LoadError> {
    let mut named = Vec::new();
    for (name, token) in settings.named_tokens.iter().flatten() {
        if name.trim().is_empty() {
            return Err(LoadError::settings(
                owner,
                "`named_tokens` has an empty name",
            ));
        }
        let token = checked_token(token, owner, &format!("`named_tokens.{name}`"))?;
        named.push((name.clone(), token));
    }
    Ok(named)
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
