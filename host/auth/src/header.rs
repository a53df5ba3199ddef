//! Reading credentials out of request headers.

use std::fmt;
use std::net::SocketAddr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderName};

use crate::error::AuthError;

/// User and password from `Authorization: Basic base64(user:password)`.
pub(crate) struct BasicCredentials {
    pub(crate) username: String,
    pub(crate) password: Vec<u8>,
}

impl fmt::Debug for BasicCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicCredentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Splits `<scheme> <credentials>` from `header`, checking the scheme case-insensitively
/// (RFC 9110 §11.1). An empty `scheme` means the whole value is the credentials.
pub(crate) fn credentials<'h>(
    headers: &'h HeaderMap,
    header: &HeaderName,
    scheme: &str,
) -> Result<&'h str, AuthError> {
    let value = headers.get(header).ok_or(AuthError::MissingCredentials)?;
    let value = value
        .to_str()
        .map_err(|_| AuthError::Malformed(format!("{header} header is not visible ASCII")))?
        .trim();
    if value.is_empty() {
        return Err(AuthError::MissingCredentials);
    }
    if scheme.is_empty() {
        return Ok(value);
    }
    let (got, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !got.eq_ignore_ascii_case(scheme) {
        return Err(AuthError::WrongScheme);
    }
    let rest = rest.trim_start();
    if rest.is_empty() {
        return Err(AuthError::Malformed(format!(
            "{scheme} without credentials"
        )));
    }
    Ok(rest)
}

pub(crate) fn basic(headers: &HeaderMap) -> Result<BasicCredentials, AuthError> {
    let encoded = credentials(headers, &http::header::AUTHORIZATION, "Basic")?;
    let decoded = STANDARD
        .decode(encoded)
        .map_err(|_| AuthError::InvalidBase64)?;
    let mut parts = decoded.splitn(2, |&b| b == b':');
    let user = parts.next().unwrap_or_default();
    let password = parts.next().ok_or(AuthError::MissingColon)?;
    let username = String::from_utf8(user.to_vec())
        .map_err(|_| AuthError::Malformed("user name is not UTF-8".into()))?;
    Ok(BasicCredentials {
        username,
        password: password.to_vec(),
    })
}

/// Formats an optional peer address for logs (`-` when unknown).
pub(crate) struct Peer(pub(crate) Option<SocketAddr>);

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(addr) => addr.fmt(f),
            None => f.write_str("-"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn auth(value: &[u8]) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_bytes(value).unwrap(),
        );
        h
    }

    fn basic_err(value: &[u8]) -> AuthError {
        basic(&auth(value)).unwrap_err()
    }

    #[test]
    fn basic_round_trip() {
        // base64("alice:pa:ss") — only the first colon splits.
        let c = basic(&auth(b"Basic YWxpY2U6cGE6c3M=")).unwrap();
        assert_eq!(c.username, "alice");
        assert_eq!(c.password, b"pa:ss");
        // Scheme is case-insensitive; extra spaces are tolerated.
        let c = basic(&auth(b"basic   YWxpY2U6cGE6c3M=  ")).unwrap();
        assert_eq!(c.username, "alice");
        // Empty password is still a password (and will simply not match).
        let c = basic(&auth(b"Basic YWxpY2U6")).unwrap();
        assert_eq!(c.password, b"");
        assert!(!format!("{c:?}").contains("pa:ss"));
    }

    #[test]
    fn basic_edge_cases_have_distinct_errors() {
        assert!(matches!(
            basic(&HeaderMap::new()).unwrap_err(),
            AuthError::MissingCredentials
        ));
        assert!(matches!(basic_err(b"  "), AuthError::MissingCredentials));
        assert!(matches!(basic_err(b"Bearer abc"), AuthError::WrongScheme));
        assert!(matches!(
            basic_err(b"BasicYWxpY2U6"),
            AuthError::WrongScheme
        ));
        assert!(matches!(basic_err(b"Basic"), AuthError::Malformed(_)));
        assert!(matches!(
            basic_err(b"Basic !!notbase64"),
            AuthError::InvalidBase64
        ));
        // base64("alice") has no colon.
        assert!(matches!(
            basic_err(b"Basic YWxpY2U="),
            AuthError::MissingColon
        ));
        // base64(b"\xff\xfe:pw"): user is not UTF-8.
        assert!(matches!(
            basic_err(b"Basic //46cHc="),
            AuthError::Malformed(_)
        ));
        assert!(matches!(
            basic_err(b"Basic \xe9t\xe9"),
            AuthError::Malformed(_)
        ));
    }

    #[test]
    fn custom_header_and_empty_scheme() {
        let name = HeaderName::from_static("x-api-key");
        let mut h = HeaderMap::new();
        h.insert(name.clone(), HeaderValue::from_static("tok123"));
        assert_eq!(credentials(&h, &name, "").unwrap(), "tok123");
        assert!(matches!(
            credentials(&h, &name, "Bearer").unwrap_err(),
            AuthError::WrongScheme
        ));
        assert!(matches!(
            credentials(&h, &http::header::AUTHORIZATION, "Bearer").unwrap_err(),
            AuthError::MissingCredentials
        ));
    }

    #[test]
    fn peer_display() {
        assert_eq!(Peer(None).to_string(), "-");
        assert_eq!(
            Peer(Some("1.2.3.4:5".parse().unwrap())).to_string(),
            "1.2.3.4:5"
        );
    }
}
