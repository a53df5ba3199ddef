//! Password hash formats found in htpasswd files, and how to check a password against each.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::apr1;

/// One stored password hash. `Debug` names only the format.
#[derive(Clone)]
pub(crate) enum Hash {
    /// `$2a$`, `$2b$` or `$2y$`: slow on purpose; checked off the runtime and cached.
    Bcrypt(Arc<str>),
    /// `{SHA}` base64(sha1(password)).
    Sha1([u8; 20]),
    /// `$apr1$salt$digest` or `$1$salt$digest`.
    Md5Crypt {
        magic: &'static str,
        salt: String,
        digest: String,
    },
    /// A plain-text password (only with `allow_plaintext`), kept as its SHA-256 so that the
    /// comparison takes the same time whatever the lengths.
    Plain([u8; 32]),
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind())
    }
}

impl Hash {
    /// Reads the hash part of an htpasswd line. The error is the reason, for a load error.
    pub(crate) fn parse(s: &str, allow_plaintext: bool) -> Result<Hash, String> {
        if ["$2a$", "$2b$", "$2y$"].iter().any(|p| s.starts_with(p)) {
            return match bcrypt::HashParts::from_str(s) {
                Ok(parts) if (4..=31).contains(&parts.get_cost()) => Ok(Hash::Bcrypt(s.into())),
                Ok(parts) => Err(format!(
                    "bcrypt cost {} is outside 4..=31",
                    parts.get_cost()
                )),
                Err(e) => Err(format!("malformed bcrypt hash: {e}")),
            };
        }
        if let Some(b64) = s.strip_prefix("{SHA}") {
            let bytes = STANDARD
                .decode(b64)
                .map_err(|_| "malformed {SHA} hash: not base64".to_owned())?;
            let digest: [u8; 20] = bytes
                .try_into()
                .map_err(|_| "malformed {SHA} hash: not 20 bytes".to_owned())?;
            return Ok(Hash::Sha1(digest));
        }
        for magic in ["$apr1$", "$1$"] {
            if let Some(rest) = s.strip_prefix(magic) {
                return parse_md5_crypt(magic, rest);
            }
        }
        if let Some(scheme) = scheme_prefix(s) {
            return Err(format!(
                "unsupported hash format {scheme:?}; use bcrypt (htpasswd -B)"
            ));
        }
        if s.len() == 13 && apr1::is_crypt64(s) {
            return Err(
                "unsupported hash format: crypt(3) DES; re-hash with bcrypt (htpasswd -B)".into(),
            );
        }
        if allow_plaintext {
            return Ok(Hash::Plain(Sha256::digest(s.as_bytes()).into()));
        }
        Err(
            "plain-text password refused: hash it (htpasswd -B) or set allow_plaintext: true"
                .into(),
        )
    }

    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Hash::Bcrypt(_) => "bcrypt",
            Hash::Sha1(_) => "{SHA}",
            Hash::Md5Crypt { magic, .. } => magic,
            Hash::Plain(_) => "plain",
        }
    }

    /// Too slow to check on the async runtime: run it on the blocking pool and cache successes.
    pub(crate) fn is_slow(&self) -> bool {
        matches!(self, Hash::Bcrypt(_))
    }

    /// Checks `password`; the final comparison is constant-time. Blocks for tens of
    /// milliseconds on a bcrypt hash (see [`Hash::is_slow`]).
    pub(crate) fn verify(&self, password: &[u8]) -> bool {
        match self {
            // bcrypt compares with subtle internally; an error means "no match".
            Hash::Bcrypt(hash) => bcrypt::verify(password, hash).unwrap_or(false),
            Hash::Sha1(want) => {
                let got: [u8; 20] = Sha1::digest(password).into();
                got.ct_eq(want).into()
            }
            Hash::Md5Crypt {
                magic,
                salt,
                digest,
            } => {
                let got = apr1::digest(magic, password, salt.as_bytes());
                got.as_bytes().ct_eq(digest.as_bytes()).into()
            }
            Hash::Plain(want) => {
                let got: [u8; 32] = Sha256::digest(password).into();
                got.ct_eq(want).into()
            }
        }
    }
}

fn parse_md5_crypt(magic: &'static str, rest: &str) -> Result<Hash, String> {
    let Some((salt, digest)) = rest.split_once('$') else {
        return Err(format!(
            "malformed {magic} hash: expected {magic}salt$digest"
        ));
    };
    if salt.is_empty() || salt.len() > apr1::MAX_SALT || !apr1::is_crypt64(salt) {
        return Err(format!(
            "malformed {magic} hash: salt must be 1 to 8 characters of [./0-9A-Za-z]"
        ));
    }
    if digest.len() != apr1::DIGEST_LEN || !apr1::is_crypt64(digest) {
        return Err(format!(
            "malformed {magic} hash: digest must be 22 characters of [./0-9A-Za-z]"
        ));
    }
    Ok(Hash::Md5Crypt {
        magic,
        salt: salt.to_owned(),
        digest: digest.to_owned(),
    })
}

/// `$id$` (crypt(3) schemes such as `$5$`, `$6$`, `$2x$`) or `{NAME}` (LDAP-style such as
/// `{SSHA}`): the start of a hash format this module does not know.
fn scheme_prefix(s: &str) -> Option<&str> {
    let (open, close) = match s.as_bytes().first() {
        Some(b'$') => ('$', '$'),
        Some(b'{') => ('{', '}'),
        _ => return None,
    };
    let body = &s[open.len_utf8()..];
    let end = body.find(close)?;
    let id = &body[..end];
    let valid = !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric());
    valid.then(|| &s[..end + 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Hash {
        match Hash::parse(s, false) {
            Ok(h) => h,
            Err(e) => panic!("{s}: {e}"),
        }
    }

    #[test]
    fn bcrypt_generated_at_low_cost_for_each_prefix() {
        let hash = bcrypt::hash_with_result("s3cret", 4).unwrap();
        for version in [
            bcrypt::Version::TwoA,
            bcrypt::Version::TwoB,
            bcrypt::Version::TwoY,
        ] {
            let text = hash.format_for_version(version);
            let h = parse(&text);
            assert!(h.is_slow());
            assert!(h.verify(b"s3cret"), "{text}");
            assert!(!h.verify(b"s3cret!"), "{text}");
        }
    }

    /// The example from PHP's `password_verify` documentation (PHP writes `$2y$`).
    #[test]
    fn bcrypt_fixed_2y_vector() {
        let h = parse("$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a");
        assert!(h.verify(b"rasmuslerdorf"));
        assert!(!h.verify(b"rasmuslerdorF"));
    }

    /// `printf password | openssl sha1 -binary | base64`.
    #[test]
    fn sha_vector() {
        let h = parse("{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=");
        assert!(!h.is_slow());
        assert!(h.verify(b"password"));
        assert!(!h.verify(b"Password"));
        assert!(!h.verify(b""));
    }

    #[test]
    fn apr1_and_md5_crypt_entries() {
        let h = parse("$apr1$abcdefgh$FBwExRW4dCc8aL.OvjpIE1");
        assert!(h.verify(b"password"));
        assert!(!h.verify(b"passwore"));
        let h = parse("$1$saltsalt$ZliGyAN3DciDHEkDboonh/");
        assert!(h.verify(b"hunter2"));
        assert!(!h.verify(b"hunter3"));
        // Same salt and digest under the other magic must not match.
        let h = parse("$1$abcdefgh$FBwExRW4dCc8aL.OvjpIE1");
        assert!(!h.verify(b"password"));
    }

    #[test]
    fn plaintext_only_when_allowed() {
        let err = Hash::parse("hunter2", false).unwrap_err();
        assert!(err.contains("allow_plaintext"), "{err}");
        let h = Hash::parse("hunter2", true).unwrap();
        assert_eq!(h.kind(), "plain");
        assert!(h.verify(b"hunter2"));
        assert!(!h.verify(b"hunter"));
    }

    #[test]
    fn unsupported_and_malformed_hashes_are_refused() {
        for (s, want) in [
            ("rqXexS6ZhobKA", "unsupported hash format: crypt(3) DES"),
            ("$6$salt$abc", "unsupported hash format \"$6$\""),
            ("$2x$04$abcdefghijklmnopqrstuu", "unsupported hash format"),
            ("{SSHA}abc", "unsupported hash format \"{SSHA}\""),
            ("$2y$04$short", "malformed bcrypt hash"),
            ("{SHA}not base64!", "not base64"),
            ("{SHA}AAAA", "not 20 bytes"),
            ("$apr1$nodigest", "expected $apr1$salt$digest"),
            ("$apr1$toolongsalt$FBwExRW4dCc8aL.OvjpIE1", "salt must be"),
            ("$apr1$abc$short", "digest must be"),
        ] {
            // Even with allow_plaintext these must not silently become plain passwords.
            let err = Hash::parse(s, true).unwrap_err();
            assert!(err.contains(want), "{s}: {err}");
        }
    }

    #[test]
    fn debug_shows_no_hash_material() {
        let h = parse("{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=");
        assert_eq!(format!("{h:?}"), "{SHA}");
    }
}
