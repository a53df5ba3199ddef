//! htpasswd parsing: `user:hash` lines, blank lines and `#` comments ignored.

use std::collections::HashMap;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::LoadError;
use crate::hash::Hash;

/// User name to stored hash.
pub(crate) type Users = HashMap<String, Hash>;

/// Where htpasswd text came from, for error messages.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Origin<'a> {
    File(&'a Path),
    Inline,
}

impl Origin<'_> {
    fn describe(self) -> String {
        match self {
            Origin::File(path) => format!("htpasswd file {}", path.display()),
            Origin::Inline => "htpasswd inline".to_owned(),
        }
    }
}

/// Parses a whole htpasswd text. Any bad line fails the whole text: a half-loaded user list
/// would lock out users silently.
pub(crate) fn parse(
    text: &[u8],
    origin: Origin<'_>,
    allow_plaintext: bool,
    owner: &str,
) -> Result<Users, LoadError> {
    let mut users = Users::new();
    let mut first_seen: HashMap<String, usize> = HashMap::new();
    for (index, raw) in text.split(|&b| b == b'\n').enumerate() {
        let line_no = index + 1;
        let fail = |reason: String| LoadError::Line {
            owner: owner.to_owned(),
            origin: origin.describe(),
            line: line_no,
            reason,
        };
        let line = std::str::from_utf8(raw).map_err(|_| fail("not valid UTF-8".into()))?;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((user, hash)) = line.split_once(':') else {
            return Err(fail("expected user:hash (no ':' found)".into()));
        };
        if user.is_empty() {
            return Err(fail("empty user name".into()));
        }
        if hash.is_empty() {
            return Err(fail(format!("user {user:?} has an empty password hash")));
        }
        let hash = Hash::parse(hash, allow_plaintext)
            .map_err(|reason| fail(format!("user {user:?}: {reason}")))?;
        if let Some(first) = first_seen.get(user) {
            return Err(fail(format!(
                "user {user:?} is listed twice (first on line {first})"
            )));
        }
        first_seen.insert(user.to_owned(), line_no);
        users.insert(user.to_owned(), hash);
    }
    Ok(users)
}

/// File entries overlaid with inline entries (inline wins on duplicates, as documented in the
/// config).
pub(crate) fn merge(file: &Users, inline: &Users) -> Users {
    let mut all = file.clone();
    all.extend(inline.iter().map(|(u, h)| (u.clone(), h.clone())));
    all
}

/// Fingerprint of file content, to tell a real change from a touch.
pub(crate) fn fingerprint(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str, allow_plaintext: bool) -> Result<Users, LoadError> {
        parse(
            text.as_bytes(),
            Origin::File(Path::new("/etc/sluice/htpasswd")),
            allow_plaintext,
            "extensions.basicauth",
        )
    }

    fn line_error(text: &str) -> (usize, String) {
        match load(text, false) {
            Err(LoadError::Line { line, reason, .. }) => (line, reason),
            other => panic!("expected a line error, got {other:?}"),
        }
    }

    #[test]
    fn comments_blank_lines_and_crlf_are_ignored() {
        let text = "# users\n\n  \nalice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\r\n  # indented comment\nbob:$apr1$abcdefgh$FBwExRW4dCc8aL.OvjpIE1\n";
        let users = load(text, false).unwrap();
        assert_eq!(users.len(), 2);
        assert!(users["alice"].verify(b"password"));
        assert!(users["bob"].verify(b"password"));
    }

    #[test]
    fn malformed_lines_name_file_and_line() {
        let (line, reason) =
            line_error("# ok\nalice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\nno-colon-here\n");
        assert_eq!(line, 3);
        assert!(reason.contains("no ':'"), "{reason}");
        let (line, reason) = line_error(":{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=");
        assert_eq!((line, reason.as_str()), (1, "empty user name"));
        let (line, reason) = line_error("\n\nalice:");
        assert_eq!(line, 3);
        assert!(reason.contains("empty password hash"), "{reason}");
        let (_, reason) = line_error("alice:rqXexS6ZhobKA");
        assert!(reason.contains("unsupported hash format"), "{reason}");
        let err = load("x\nalice:hunter2", false).unwrap_err().to_string();
        assert!(
            err.starts_with("extensions.basicauth: htpasswd file /etc/sluice/htpasswd line 1:"),
            "{err}"
        );
    }

    #[test]
    fn plaintext_lines_need_allow_plaintext() {
        let (line, reason) = line_error("alice:hunter2");
        assert_eq!(line, 1);
        assert!(reason.contains("user \"alice\""), "{reason}");
        assert!(reason.contains("allow_plaintext"), "{reason}");
        let users = load("alice:hunter2", true).unwrap();
        assert!(users["alice"].verify(b"hunter2"));
    }

    #[test]
    fn duplicate_user_is_an_error() {
        let (line, reason) = line_error(
            "alice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\nalice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=",
        );
        assert_eq!(line, 2);
        assert!(reason.contains("first on line 1"), "{reason}");
    }

    #[test]
    fn invalid_utf8_is_a_line_error_not_a_panic() {
        let err = parse(b"alice:{SHA}x\n\xff\xfe:y", Origin::Inline, false, "o").unwrap_err();
        assert_eq!(
            err.to_string(),
            "o: htpasswd inline line 1: user \"alice\": malformed {SHA} hash: not base64"
        );
        let err = parse(b"# fine\n\xff\xfe:y", Origin::Inline, false, "o").unwrap_err();
        assert_eq!(
            err.to_string(),
            "o: htpasswd inline line 2: not valid UTF-8"
        );
    }

    #[test]
    fn inline_entries_win_over_file_entries() {
        let file = load(
            "alice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\ncarol:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=",
            false,
        )
        .unwrap();
        let inline = load("alice:$1$saltsalt$ZliGyAN3DciDHEkDboonh/", false).unwrap();
        let all = merge(&file, &inline);
        assert_eq!(all.len(), 2);
        assert!(all["alice"].verify(b"hunter2"));
        assert!(!all["alice"].verify(b"password"));
    }
}
