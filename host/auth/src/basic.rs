//! `basicauth` server side: `Authorization: Basic` checked against htpasswd entries.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use parking_lot::{Mutex, RwLock};
use sluice_config::HtpasswdSettings;
use tokio::sync::Semaphore;

use crate::cache::{self, VerifiedCache};
use crate::error::{AuthError, LoadError};
use crate::hash::Hash;
use crate::header::{self, BasicCredentials, Peer};
use crate::htpasswd::{self, Origin, Users};
use crate::watch::{self, Reloader};
use crate::{Principal, ServerAuthenticator};

/// Checks `Authorization: Basic` against htpasswd entries from a file (re-read when it
/// changes, once [`BasicAuth::start_reloading`] is called) and/or inline config.
///
/// Successful bcrypt checks are cached (see the `cache` module), and bcrypt runs on the
/// blocking pool with at most one check per CPU at a time, process-wide.
pub struct BasicAuth {
    shared: Arc<Shared>,
    reloader: Reloader,
}

struct Shared {
    owner: String,
    file: Option<PathBuf>,
    allow_plaintext: bool,
    inline: Users,
    users: RwLock<Arc<Users>>,
    /// SHA-256 of the file content behind `users`, to skip reloads of unchanged content.
    file_fingerprint: Mutex<Option<[u8; 32]>>,
    cache: VerifiedCache,
    bcrypt_checks: AtomicU64,
}

impl fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicAuth")
            .field("owner", &self.shared.owner)
            .field("file", &self.shared.file)
            .field("users", &self.user_count())
            .field("reloader", &self.reloader)
            .finish()
    }
}

impl BasicAuth {
    /// Reads the htpasswd file and inline entries. `owner` names the extension in errors and
    /// logs (e.g. `extensions.basicauth/server`).
    pub fn load(settings: &HtpasswdSettings, owner: &str) -> Result<BasicAuth, LoadError> {
        if settings.file.is_none() && settings.inline.is_none() {
            return Err(LoadError::settings(
                owner,
                "htpasswd needs `file` or `inline` (or both)",
            ));
        }
        let allow_plaintext = settings.allow_plaintext;
        let inline = match &settings.inline {
            Some(text) => htpasswd::parse(text.as_bytes(), Origin::Inline, allow_plaintext, owner)?,
            None => Users::new(),
        };
        let (file_users, fingerprint) = match &settings.file {
            Some(path) => {
                let (users, fp) = read_file(path, allow_plaintext, owner)?;
                (users, Some(fp))
            }
            None => (Users::new(), None),
        };
        let users = htpasswd::merge(&file_users, &inline);
        if users.is_empty() {
            tracing::warn!(
                authenticator = owner,
                "htpasswd has no users: every request will be refused"
            );
        }
        Ok(BasicAuth {
            shared: Arc::new(Shared {
                owner: owner.to_owned(),
                file: settings.file.clone(),
                allow_plaintext,
                inline,
                users: RwLock::new(Arc::new(users)),
                file_fingerprint: Mutex::new(fingerprint),
                cache: VerifiedCache::new(cache::DEFAULT_CAPACITY, cache::DEFAULT_TTL),
                bcrypt_checks: AtomicU64::new(0),
            }),
            reloader: Reloader::default(),
        })
    }

    /// Starts re-reading the htpasswd file when it changes. Call inside a tokio runtime; does
    /// nothing without a `file`, or if already started. The background task ends when this
    /// authenticator is dropped.
    pub fn start_reloading(self: &Arc<Self>) {
        ServerAuthenticator::start_reloading(&**self);
    }

    /// How many users are configured now.
    pub fn user_count(&self) -> usize {
        self.shared.users.read().len()
    }

    /// How many bcrypt checks actually ran (cache misses); for diagnostics and tests.
    pub fn bcrypt_checks(&self) -> u64 {
        self.shared.bcrypt_checks.load(Ordering::Relaxed)
    }

    #[cfg(test)]
    fn reload_now(&self) {
        self.shared.reload_file();
    }
}

#[async_trait::async_trait]
impl ServerAuthenticator for BasicAuth {
    async fn authenticate(
        &self,
        headers: &http::HeaderMap,
        peer: Option<SocketAddr>,
    ) -> Result<Principal, AuthError> {
        let result = self.shared.check(headers).await;
        if let Err(e) = &result {
            let owner = self.shared.owner.as_str();
            match e.username() {
                Some(user) => tracing::warn!(
                    authenticator = owner,
                    peer = %Peer(peer),
                    user = %user.escape_debug(),
                    "basic auth failed: {e}"
                ),
                None => {
                    tracing::warn!(authenticator = owner, peer = %Peer(peer), "basic auth failed: {e}")
                }
            }
        }
        result
    }

    fn challenge(&self) -> &'static str {
        r#"Basic realm="sluice", charset="UTF-8""#
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
    async fn check(&self, headers: &http::HeaderMap) -> Result<Principal, AuthError> {
        let creds = header::basic(headers)?;
        // Generation before the user list: a reload in between makes the insert a no-op.
        let generation = self.cache.generation();
        let users = self.users.read().clone();
        let Some(hash) = users.get(&creds.username) else {
            return Err(AuthError::UnknownUser {
                username: creds.username,
            });
        };
        let ok = if hash.is_slow() {
            self.verify_slow(hash.clone(), &creds, generation).await?
        } else {
            hash.verify(&creds.password)
        };
        if ok {
            Ok(Principal {
                username: Some(creds.username),
                token_name: None,
            })
        } else {
            Err(AuthError::WrongPassword {
                username: creds.username,
            })
        }
    }

    async fn verify_slow(
        &self,
        hash: Hash,
        creds: &BasicCredentials,
        generation: u64,
    ) -> Result<bool, AuthError> {
        let key = self.cache.key(&creds.username, &creds.password);
        if self.cache.contains(&key, Instant::now()) {
            return Ok(true);
        }
        let permit = bcrypt_permits()
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| AuthError::Unavailable("bcrypt limiter closed".into()))?;
        // Another request may have verified the same credentials while this one waited.
        if self.cache.contains(&key, Instant::now()) {
            return Ok(true);
        }
        self.bcrypt_checks.fetch_add(1, Ordering::Relaxed);
        let password = creds.password.clone();
        // The permit travels with the blocking task (a cancelled request keeps it until its
        // bcrypt is done) and comes back so that it is released only after the insert: a
        // waiter then finds the result in the cache instead of running bcrypt again.
        let (ok, permit) = tokio::task::spawn_blocking(move || (hash.verify(&password), permit))
            .await
            .map_err(|e| AuthError::Unavailable(format!("bcrypt check failed: {e}")))?;
        if ok {
            self.cache.insert(key, generation, Instant::now());
        }
        drop(permit);
        Ok(ok)
    }

    /// Re-reads the file; on a real content change swaps the users and clears the cache. A
    /// broken file is logged and the previous users stay.
    fn reload_file(&self) {
        let Some(path) = &self.file else { return };
        let mut current = self.file_fingerprint.lock();
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                let e = LoadError::read(&self.owner, path, e);
                tracing::warn!(authenticator = %self.owner, "htpasswd reload failed, keeping the previous users: {e}");
                return;
            }
        };
        let fingerprint = htpasswd::fingerprint(&bytes);
        if *current == Some(fingerprint) {
            return;
        }
        match htpasswd::parse(
            &bytes,
            Origin::File(path),
            self.allow_plaintext,
            &self.owner,
        ) {
            Ok(file_users) => {
                let users = htpasswd::merge(&file_users, &self.inline);
                let count = users.len();
                *self.users.write() = Arc::new(users);
                self.cache.clear();
                *current = Some(fingerprint);
                tracing::info!(authenticator = %self.owner, path = %path.display(), users = count, "htpasswd reloaded");
            }
            Err(e) => {
                tracing::warn!(authenticator = %self.owner, "htpasswd reload failed, keeping the previous users: {e}");
            }
        }
    }
}

fn read_file(
    path: &Path,
    allow_plaintext: bool,
    owner: &str,
) -> Result<(Users, [u8; 32]), LoadError> {
    let bytes = std::fs::read(path).map_err(|e| LoadError::read(owner, path, e))?;
    let users = htpasswd::parse(&bytes, Origin::File(path), allow_plaintext, owner)?;
    Ok((users, htpasswd::fingerprint(&bytes)))
}

/// One bcrypt check per CPU at a time across the process, so a flood of guesses queues
/// instead of starving the blocking pool and the runtime.
fn bcrypt_permits() -> &'static Arc<Semaphore> {
    static PERMITS: OnceLock<Arc<Semaphore>> = OnceLock::new();
    PERMITS.get_or_init(|| {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        Arc::new(Semaphore::new(cpus))
    })
}

#[cfg(test)]
#[path = "basic_tests.rs"]
mod tests;
