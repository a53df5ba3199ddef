//! Accepting one connection: plaintext-HTTP detection, the handshake with the current config, and
//! readable reasons for handshake failures.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustls::{AlertDescription, CertificateError, PeerIncompatible};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::error::AcceptError;
use crate::server::ServerTls;

/// Go's answer to plain HTTP on a TLS port.
pub(crate) const PLAINTEXT_ANSWER: &[u8] =
    b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n";

/// First four bytes of an HTTP/1 request line, or of the HTTP/2 preface ("PRI ").
const HTTP_STARTS: [&[u8; 4]; 10] = [
    b"GET ", b"POST", b"PRI ", b"PUT ", b"HEAD", b"DELE", b"OPTI", b"PATC", b"CONN", b"TRAC",
];

/// Why a TLS handshake failed, in words an operator can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeFailure {
    #[error(
        "no client certificate presented; client_ca_file {} requires one (set the client's \
         cert_file and key_file)", show(.client_ca)
    )]
    NoClientCert { client_ca: Option<PathBuf> },
    #[error(
        "client certificate signed by an unknown CA (client_ca_file {}); issue it from a CA in \
         that file or add its CA there", show(.client_ca)
    )]
    UnknownCa { client_ca: Option<PathBuf> },
    #[error("client certificate expired; issue a new one")]
    Expired,
    #[error("client certificate not yet valid; check the clocks or the certificate's dates")]
    NotYetValid,
    #[error(
        "client certificate is X.509 v1 (made without extensions), re-issue it with \
         extensions, e.g. `sluice certs` or openssl with `-extfile` containing \
         `basicConstraints=CA:FALSE`"
    )]
    X509V1,
    #[error("client certificate rejected: {detail}")]
    BadClientCert { detail: String },
    #[error(
        "protocol version too old: the client offered only TLS versions below 1.2; Sluice \
         accepts TLS 1.2 and 1.3"
    )]
    ProtocolVersionTooOld,
    #[error(
        "no TLS version in common: the client's versions are outside this endpoint's \
         min_version/max_version"
    )]
    ProtocolVersionMismatch,
    #[error("no cipher suite or key exchange group in common with the client")]
    NoCommonAlgorithms,
    #[error("the client offered no ALPN protocol this server speaks (h2, http/1.1)")]
    NoCommonAlpn,
    #[error(
        "the client rejected the server certificate (alert {alert}); make the client trust the \
         CA that issued cert_file and connect with a name the certificate covers"
    )]
    ClientRejectedServerCert { alert: String },
    #[error("the client aborted the handshake (alert {alert})")]
    PeerAlert { alert: String },
    #[error("the client did not send a TLS handshake ({detail}); is it configured for plaintext?")]
    NotTls { detail: String },
    #[error("the client closed the connection during the handshake")]
    ClosedByPeer,
    #[error("{detail}")]
    Other { detail: String },
}

fn show(path: &Option<PathBuf>) -> String {
    path.as_deref()
        .map_or_else(|| "(unset)".to_string(), |p| p.display().to_string())
}

/// Map the handshake's I/O error (tokio-rustls wraps `rustls::Error` in it) to a reason.
pub(crate) fn classify(err: &io::Error, client_ca: Option<&Path>) -> HandshakeFailure {
    let client_ca = client_ca.map(Path::to_path_buf);
    let Some(tls) = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    else {
        return match err.kind() {
            io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::BrokenPipe => HandshakeFailure::ClosedByPeer,
            _ => HandshakeFailure::Other {
                detail: err.to_string(),
            },
        };
    };
    match tls {
        rustls::Error::NoCertificatesPresented => HandshakeFailure::NoClientCert { client_ca },
        rustls::Error::InvalidCertificate(cert) => classify_cert(cert, client_ca),
        rustls::Error::PeerIncompatible(why) => match why {
            // A TLS 1.0/1.1-only client sends no signature_algorithms (a TLS 1.2 extension);
            // rustls notices that before the version.
            PeerIncompatible::Tls12NotOffered
            | PeerIncompatible::SignatureAlgorithmsExtensionRequired => {
                HandshakeFailure::ProtocolVersionTooOld
            }
            PeerIncompatible::Tls12NotOfferedOrEnabled
            | PeerIncompatible::SupportedVersionsExtensionRequired => {
                HandshakeFailure::ProtocolVersionMismatch
            }
            PeerIncompatible::NoCipherSuitesInCommon | PeerIncompatible::NoKxGroupsInCommon => {
                HandshakeFailure::NoCommonAlgorithms
            }
            other => HandshakeFailure::Other {
                detail: format!("the client is incompatible: {other:?}"),
            },
        },
        rustls::Error::NoApplicationProtocol => HandshakeFailure::NoCommonAlpn,
        rustls::Error::AlertReceived(alert) => {
            let rejected_cert = matches!(
                alert,
                AlertDescription::BadCertificate
                    | AlertDescription::UnsupportedCertificate
                    | AlertDescription::CertificateRevoked
                    | AlertDescription::CertificateExpired
                    | AlertDescription::CertificateUnknown
                    | AlertDescription::UnknownCA
            );
            let alert = format!("{alert:?}");
            if rejected_cert {
                HandshakeFailure::ClientRejectedServerCert { alert }
            } else {
                HandshakeFailure::PeerAlert { alert }
            }
        }
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => {
            HandshakeFailure::NotTls {
                detail: tls.to_string(),
            }
        }
        other => HandshakeFailure::Other {
            detail: other.to_string(),
        },
    }
}

fn classify_cert(cert: &CertificateError, client_ca: Option<PathBuf>) -> HandshakeFailure {
    match cert {
        CertificateError::UnknownIssuer => HandshakeFailure::UnknownCa { client_ca },
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            HandshakeFailure::Expired
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            HandshakeFailure::NotYetValid
        }
        CertificateError::Other(other)
            if matches!(
                other.0.downcast_ref::<webpki::Error>(),
                Some(webpki::Error::UnsupportedCertVersion)
            ) =>
        {
            HandshakeFailure::X509V1
        }
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            HandshakeFailure::BadClientCert {
                detail: "not valid for client authentication (its extendedKeyUsage lacks \
                         clientAuth)"
                    .to_string(),
            }
        }
        other => HandshakeFailure::BadClientCert {
            detail: format!("{other}"),
        },
    }
}

/// What the first bytes of a connection say.
#[derive(Debug, PartialEq, Eq)]
enum Sniff {
    Tls,
    Http,
    Closed,
}

/// `Some(true)`: an HTTP request line; `Some(false)`: not HTTP; `None`: too short to tell.
fn looks_like_http(prefix: &[u8]) -> Option<bool> {
    let n = prefix.len().min(4);
    if !HTTP_STARTS.iter().any(|m| m[..n] == prefix[..n]) {
        Some(false)
    } else if n < 4 {
        None
    } else {
        Some(true)
    }
}

/// Peek (without consuming) until the first bytes tell TLS from plain HTTP. Bounded by the
/// caller's timeout.
async fn sniff(tcp: &TcpStream) -> io::Result<Sniff> {
    let mut buf = [0u8; 4];
    loop {
        let n = tcp.peek(&mut buf).await?;
        if n == 0 {
            return Ok(Sniff::Closed);
        }
        match looks_like_http(&buf[..n]) {
            Some(true) => return Ok(Sniff::Http),
            // Anything else goes to rustls, which explains what is wrong with it.
            Some(false) => return Ok(Sniff::Tls),
            // Peek returns at once while the bytes seen so far are all there is: wait a little.
            None => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
}

/// Send Go's 400 answer, then read and drop what the client sent (briefly), so closing does not
/// reset the connection before the client reads the answer.
async fn answer_plaintext(mut tcp: TcpStream) {
    if tcp.write_all(PLAINTEXT_ANSWER).await.is_err() {
        return;
    }
    let _ = tcp.shutdown().await;
    let mut sink = [0u8; 4096];
    let mut left = 64 * 1024;
    let drain = async {
        while left > 0 {
            match tcp.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => left -= n.min(left),
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_millis(500), drain).await;
}

impl ServerTls {
    /// Accept one TCP connection: TLS handshake with the current config. Plain HTTP gets Go's
    /// "400 Bad Request … Client sent an HTTP request to an HTTPS server." answer and an error.
    /// Failures are logged here (WARN with the peer address and a readable cause; a connection
    /// closed before sending anything only at DEBUG), so callers need not log them again.
    pub async fn accept(
        &self,
        tcp: TcpStream,
        peer: SocketAddr,
    ) -> Result<TlsStream<TcpStream>, AcceptError> {
        let after = self.handshake_timeout;
        match tokio::time::timeout(after, self.accept_within(tcp, peer)).await {
            Ok(result) => result,
            Err(_) => {
                tracing::warn!(
                    owner = self.owner(),
                    %peer,
                    ?after,
                    "no TLS handshake within the timeout; closing the connection"
                );
                Err(AcceptError::Timeout { peer, after })
            }
        }
    }

    async fn accept_within(
        &self,
        tcp: TcpStream,
        peer: SocketAddr,
    ) -> Result<TlsStream<TcpStream>, AcceptError> {
        let owner = self.owner();
        match sniff(&tcp).await {
            Err(source) => {
                tracing::debug!(owner, %peer, error = %source, "cannot read from a new connection");
                return Err(AcceptError::Io { peer, source });
            }
            Ok(Sniff::Closed) => {
                tracing::debug!(owner, %peer, "connection closed before the TLS handshake started");
                return Err(AcceptError::Closed { peer });
            }
            Ok(Sniff::Http) => {
                tracing::warn!(
                    owner,
                    %peer,
                    "plaintext HTTP received on a TLS port; use https:// in the client endpoint"
                );
                answer_plaintext(tcp).await;
                return Err(AcceptError::PlaintextHttp { peer });
            }
            Ok(Sniff::Tls) => {}
        }
        let acceptor = TlsAcceptor::from(self.inner.current.load_full());
        acceptor.accept(tcp).await.map_err(|source| {
            let cause = classify(&source, self.inner.settings.client_ca_file.as_deref());
            tracing::warn!(owner, %peer, "TLS handshake failed: {cause}");
            AcceptError::Handshake {
                peer,
                cause,
                source,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_http_request_lines() {
        assert_eq!(looks_like_http(b"GET / HTTP/1.1"), Some(true));
        assert_eq!(looks_like_http(b"POST"), Some(true));
        assert_eq!(looks_like_http(b"PRI * HTTP/2.0"), Some(true));
        assert_eq!(looks_like_http(b"PO"), None);
        assert_eq!(looks_like_http(&[0x16, 0x03, 0x01, 0x00]), Some(false));
        assert_eq!(looks_like_http(b"GETX"), Some(false));
    }

    #[test]
    fn maps_rustls_errors_to_reasons() {
        let wrap = |e: rustls::Error| io::Error::new(io::ErrorKind::InvalidData, e);
        let ca = Some(Path::new("/etc/sluice/ca.crt"));
        let cause = classify(&wrap(rustls::Error::NoCertificatesPresented), ca);
        assert!(
            cause
                .to_string()
                .starts_with("no client certificate presented")
        );
        let cause = classify(
            &wrap(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer,
            )),
            ca,
        );
        assert_eq!(
            cause.to_string(),
            "client certificate signed by an unknown CA (client_ca_file /etc/sluice/ca.crt); \
             issue it from a CA in that file or add its CA there"
        );
        let v1 = CertificateError::Other(rustls::OtherError(std::sync::Arc::new(
            webpki::Error::UnsupportedCertVersion,
        )));
        let cause = classify(&wrap(rustls::Error::InvalidCertificate(v1)), ca);
        assert_eq!(cause, HandshakeFailure::X509V1);
        assert!(cause.to_string().contains("basicConstraints=CA:FALSE"));
        let eof = io::Error::new(io::ErrorKind::UnexpectedEof, "tls handshake eof");
        assert_eq!(classify(&eof, ca), HandshakeFailure::ClosedByPeer);
    }
}
