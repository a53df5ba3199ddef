//! Errors: [`AuthError`] for one request, [`LoadError`] for building an authenticator.

use std::io;
use std::path::PathBuf;

/// Why one request was not authenticated. The `Display` text is for logs (it may name the
/// user, never a password or token); send [`AuthError::client_message`] to the client.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No credentials header at all.
    #[error("no credentials")]
    MissingCredentials,
    /// The header uses another scheme (`Bearer` where `Basic` is expected, ...).
    #[error("wrong authorization scheme")]
    WrongScheme,
    /// `Basic` credentials that are not valid base64.
    #[error("credentials are not valid base64")]
    InvalidBase64,
    /// `Basic` credentials without the `:` between user and password.
    #[error("credentials have no ':' between user and password")]
    MissingColon,
    /// Any other unreadable header (not ASCII, empty credentials, user not UTF-8, ...).
    #[error("malformed credentials: {0}")]
    Malformed(String),
    #[error("unknown user")]
    UnknownUser { username: String },
    #[error("wrong password")]
    WrongPassword { username: String },
    #[error("invalid token")]
    InvalidToken,
    /// The check itself could not run (the blocking pool is shutting down).
    #[error("authentication unavailable: {0}")]
    Unavailable(String),
}

impl AuthError {
    /// A short message safe to send to the client: no secrets, and the same text for an
    /// unknown user, a wrong password and an invalid token, so users cannot be enumerated.
    pub fn client_message(&self) -> &'static str {
        match self {
            AuthError::MissingCredentials => "missing credentials",
            AuthError::WrongScheme => "unsupported authorization scheme",
            AuthError::InvalidBase64 | AuthError::MissingColon | AuthError::Malformed(_) => {
                "malformed credentials"
            }
            AuthError::UnknownUser { .. }
            | AuthError::WrongPassword { .. }
            | AuthError::InvalidToken => "invalid credentials",
            AuthError::Unavailable(_) => "authentication temporarily unavailable",
        }
    }

    /// The user the client claimed to be, when the header was readable.
    pub fn username(&self) -> Option<&str> {
        match self {
            AuthError::UnknownUser { username } | AuthError::WrongPassword { username } => {
                Some(username)
            }
            _ => None,
        }
    }
}

/// Why an authenticator could not be built (or a reload was refused).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A credentials file could not be read.
    #[error("{owner}: cannot read {}: {source}", path.display())]
    Read {
        owner: String,
        path: PathBuf,
        source: io::Error,
    },
    /// One line of an htpasswd or token source is wrong. `origin` is e.g.
    /// `htpasswd file /etc/sluice/htpasswd` or `htpasswd inline`.
    #[error("{owner}: {origin} line {line}: {reason}")]
    Line {
        owner: String,
        origin: String,
        line: usize,
        reason: String,
    },
    /// The settings themselves are unusable (no source, conflicting fields, bad header name, ...).
    #[error("{owner}: {message}")]
    Settings { owner: String, message: String },
}

impl LoadError {
    pub(crate) fn settings(owner: &str, message: impl Into<String>) -> Self {
        LoadError::Settings {
            owner: owner.to_owned(),
            message: message.into(),
        }
    }

    pub(crate) fn read(owner: &str, path: &std::path::Path, source: io::Error) -> Self {
        LoadError::Read {
            owner: owner.to_owned(),
            path: path.to_owned(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_message_does_not_reveal_whether_the_user_exists() {
        let unknown = AuthError::UnknownUser {
            username: "mallory".into(),
        };
        let wrong = AuthError::WrongPassword {
            username: "alice".into(),
        };
        assert_eq!(unknown.client_message(), wrong.client_message());
        assert_eq!(
            AuthError::InvalidToken.client_message(),
            "invalid credentials"
        );
        assert!(!unknown.client_message().contains("mallory"));
        assert_eq!(wrong.username(), Some("alice"));
    }

    #[test]
    fn load_error_names_owner_origin_and_line() {
        let e = LoadError::Line {
            owner: "extensions.basicauth/server".into(),
            origin: "htpasswd file /etc/htpasswd".into(),
            line: 3,
            reason: "missing ':'".into(),
        };
        assert_eq!(
            e.to_string(),
            "extensions.basicauth/server: htpasswd file /etc/htpasswd line 3: missing ':'"
        );
    }
}
