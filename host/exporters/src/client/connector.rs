//! The connector both tonic (gRPC) and hyper-util's client (HTTP) dial through: TCP, then TLS
//! with the exporter's current rustls config. Failures become `io::Error`s whose text says what
//! went wrong in words an operator can act on (tonic and hyper show that text).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::tls::TlsClient;

/// When to use TLS on a new connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TlsMode {
    /// Always (a gRPC endpoint that is TLS by the Collector's rule).
    Always,
    /// Never (plaintext: h2c for gRPC, HTTP/1.1 for HTTP).
    Never,
    /// When the request URI's scheme is `https`.
    ByScheme,
}

/// Dials `host:port` of the URI it is called with.
#[derive(Clone)]
pub(crate) struct Connector {
    tls: Option<Arc<TlsClient>>,
    mode: TlsMode,
    timeout: Duration,
}

impl Connector {
    /// `timeout` bounds the TCP connect and the TLS handshake together.
    pub(crate) fn new(tls: Option<Arc<TlsClient>>, mode: TlsMode, timeout: Duration) -> Self {
        Connector { tls, mode, timeout }
    }

    async fn connect(self, uri: Uri) -> io::Result<Conn> {
        let host = uri
            .host()
            .ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, format!("{uri} has no host"))
            })?
            .to_owned();
        let use_tls = match self.mode {
            TlsMode::Always => true,
            TlsMode::Never => false,
            TlsMode::ByScheme => uri.scheme_str() == Some("https"),
        };
        let port = uri.port_u16().unwrap_or(if use_tls { 443 } else { 80 });
        let timeout = self.timeout;
        let shown = uri
            .authority()
            .map_or_else(|| uri.to_string(), ToString::to_string);
        let dial = async move {
            let bare = host.trim_start_matches('[').trim_end_matches(']');
            let tcp = TcpStream::connect((bare, port)).await.map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot connect to {host}:{port}: {}", io_reason(&e)),
                )
            })?;
            // Best effort: Nagle only delays small requests.
            let _ = tcp.set_nodelay(true);
            if !use_tls {
                return Ok(Conn::new(Stream::Plain(tcp), false));
            }
            let Some(tls) = &self.tls else {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{uri} needs TLS but the exporter has no TLS configuration"),
                ));
            };
            let name = tls
                .server_name(&host)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
            let stream = TlsConnector::from(tls.config())
                .connect(name, tcp)
                .await
                .map_err(|e| {
                    io::Error::new(
                        e.kind(),
                        format!(
                            "TLS handshake with {host}:{port} failed: {}",
                            tls_reason(&e)
                        ),
                    )
                })?;
            let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2".as_slice());
            Ok(Conn::new(Stream::Tls(Box::new(stream)), h2))
        };
        tokio::time::timeout(timeout, dial).await.map_err(|_| {
            io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "no connection to {shown} within {}",
                    humantime::format_duration(timeout)
                ),
            )
        })?
    }
}

impl tower::Service<Uri> for Connector {
    type Response = Conn;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Conn>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        Box::pin(self.clone().connect(uri))
    }
}

/// An I/O error's text without the `(os error N)` suffix.
pub(crate) fn io_reason(error: &io::Error) -> String {
    let text = error.to_string();
    match text.rfind(" (os error ") {
        Some(at) if text.ends_with(')') => text[..at].to_owned(),
        _ => text,
    }
}

/// A handshake failure in words, with what to do for the common certificate problems.
fn tls_reason(error: &io::Error) -> String {
    let Some(tls) = error
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    else {
        return io_reason(error);
    };
    match tls_hint(tls) {
        Some(hint) => format!("{tls} ({hint})"),
        None => tls.to_string(),
    }
}

/// What to do about a TLS failure, for the ones an operator can fix in the config.
pub(crate) fn tls_hint(error: &rustls::Error) -> Option<&'static str> {
    use rustls::{AlertDescription, CertificateError, Error};
    Some(match error {
        Error::InvalidCertificate(
            CertificateError::UnknownIssuer | CertificateError::BadSignature,
        ) => {
            "the server certificate is not signed by a CA this exporter trusts; set tls.ca_file \
             to the CA that issued it"
        }
        Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => {
            "the server certificate is not valid for this host name; fix the endpoint or set \
             tls.server_name_override to a name in the certificate"
        }
        Error::InvalidCertificate(
            CertificateError::Expired | CertificateError::ExpiredContext { .. },
        ) => "the server certificate has expired",
        Error::AlertReceived(
            AlertDescription::CertificateRequired
            | AlertDescription::BadCertificate
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateUnknown,
        ) => {
            "the server refused this client's certificate (mTLS); set tls.cert_file and \
             tls.key_file to a certificate the server trusts"
        }
        Error::AlertReceived(AlertDescription::ProtocolVersion) => {
            "no TLS version in common; check tls.min_version and tls.max_version"
        }
        _ => return None,
    })
}

/// A TCP connection, plain or TLS.
enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }
}

/// A connection as hyper sees it, telling hyper-util's pool when ALPN chose HTTP/2.
pub(crate) struct Conn {
    io: TokioIo<Stream>,
    h2: bool,
}

impl Conn {
    fn new(stream: Stream, h2: bool) -> Self {
        Conn {
            io: TokioIo::new(stream),
            h2,
        }
    }
}

impl Connection for Conn {
    fn connected(&self) -> Connected {
        let connected = Connected::new();
        if self.h2 {
            connected.negotiated_h2()
        } else {
            connected
        }
    }
}

impl hyper::rt::Read for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }
}
