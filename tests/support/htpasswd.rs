//! htpasswd entries and `Authorization` headers for BasicAuth tests.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest, Sha1};

/// `user:$2b$04$…`: bcrypt at cost 4 (the minimum; fast enough for tests).
pub fn bcrypt(user: &str, password: &str) -> String {
    let hash = bcrypt::hash(password, 4).expect("bcrypt hashes any password");
    format!("{user}:{hash}")
}

/// `user:{SHA}base64(sha1(password))`, as `htpasswd -s` writes.
pub fn sha(user: &str, password: &str) -> String {
    let digest = Sha1::digest(password.as_bytes());
    format!("{user}:{{SHA}}{}", STANDARD.encode(digest))
}

/// `Basic base64(user:password)`.
pub fn authorization(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}
