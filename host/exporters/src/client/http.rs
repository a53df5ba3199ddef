//! The HTTP client of `otlphttp` and `loki`: hyper-util's pooled client over [`Connector`]
//! (HTTP/1.1, or HTTP/2 when ALPN picks it), one POST per attempt with a deadline, and the
//! shared reading of an answer (status, `Retry-After`, the server's message).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::compression::Compressor;
use super::connector::{Connector, TlsMode, tls_hint};
use super::tls::TlsClient;
use crate::retry::{SendError, parse_retry_after};

/// Largest response body read (partial-success messages and error texts are small).
const MAX_RESPONSE_BODY: usize = 1 << 20;
/// Longest server message kept for logs and errors.
const MAX_MESSAGE: usize = 1024;

/// `User-Agent` of every request.
pub(crate) const USER_AGENT: &str = concat!("Sluice/", env!("CARGO_PKG_VERSION"));

/// One answer: status, headers and (at most 1 MiB of) body.
#[derive(Debug)]
pub(crate) struct HttpResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// A pooled HTTP client with a per-request deadline.
pub(crate) struct HttpClient {
    client: Client<Connector, Full<Bytes>>,
    timeout: Duration,
}

impl HttpClient {
    /// `tls` is used for `https://` URLs. `timeout` bounds each request: connecting, sending
    /// and reading the whole answer.
    pub(crate) fn new(tls: Option<Arc<TlsClient>>, timeout: Duration) -> Self {
        let connector = Connector::new(tls, TlsMode::ByScheme, timeout);
        let client = Client::builder(TokioExecutor::new()).build(connector);
        HttpClient { client, timeout }
    }

    /// POSTs `body` to `uri`. Transport failures and the deadline are retryable errors; any
    /// answer, whatever its status, is `Ok`.
    pub(crate) async fn post(
        &self,
        uri: &Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> Result<HttpResponse, SendError> {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(uri.clone())
            .body(Full::new(body))
            .map_err(|e| SendError::permanent("request", e.to_string(), false))?;
        *request.headers_mut() = headers;
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| SendError::retryable("connection", error_chain(&e), None))?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, MAX_RESPONSE_BODY)
                .collect()
                .await
                .map_err(|e| {
                    SendError::retryable("connection", format!("reading the answer: {e}"), None)
                })?
                .to_bytes();
            Ok(HttpResponse {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(SendError::retryable(
                "timeout",
                format!(
                    "no answer from {} within {} (timeout)",
                    uri.authority().map_or("the server", |a| a.as_str()),
                    humantime::format_duration(self.timeout)
                ),
                None,
            )),
        }
    }
}

impl HttpResponse {
    /// `Retry-After` as a duration, when present and readable.
    pub(crate) fn retry_after(&self) -> Option<Duration> {
        self.headers
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()))
    }

    /// `HTTP 503 Service Unavailable`.
    pub(crate) fn status_text(&self) -> String {
        match self.status.canonical_reason() {
            Some(reason) => format!("HTTP {} {reason}", self.status.as_u16()),
            None => format!("HTTP {}", self.status.as_u16()),
        }
    }

    /// True when the `Content-Type` starts with `prefix` (`application/json`).
    pub(crate) fn content_type_is(&self, prefix: &str) -> bool {
        self.headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().to_ascii_lowercase().starts_with(prefix))
    }

    /// The body as text for a message: trimmed and cut to 1 KiB.
    pub(crate) fn body_text(&self) -> String {
        truncate(String::from_utf8_lossy(&self.body).trim())
    }

    /// An error for a non-2xx answer: retryable when `retryable` says so (with `Retry-After`
    /// as the hint), permanent otherwise (`invalid` for 400). `message` is the server's text.
    pub(crate) fn error(&self, retryable: bool, message: String) -> SendError {
        if retryable {
            SendError::retryable(self.status_text(), message, self.retry_after())
        } else {
            SendError::permanent(
                self.status_text(),
                message,
                self.status == StatusCode::BAD_REQUEST,
            )
        }
    }
}

/// `s` cut to [`MAX_MESSAGE`] bytes at a character boundary, with `…` when cut.
pub(crate) fn truncate(s: &str) -> String {
    if s.len() <= MAX_MESSAGE {
        return s.to_owned();
    }
    let mut end = MAX_MESSAGE;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// An error and its sources, `outer: inner: innermost`, without repeating a text that its
/// source already contains.
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(error);
    while let Some(e) = current {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    // Drop an outer part that an inner part repeats in full.
    let mut kept: Vec<&String> = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        if !parts[i + 1..]
            .iter()
            .any(|inner| inner.contains(part.as_str()))
        {
            kept.push(part);
        }
    }
    let mut text = kept
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(": ");
    let hint = rustls_error(error)
        .and_then(tls_hint)
        .or_else(|| alert_hint(&text));
    if let Some(hint) = hint
        && !text.contains(hint)
    {
        text = format!("{text} ({hint})");
    }
    text
}

/// tokio-rustls turns an alert received after the handshake (TLS 1.3 servers refuse a client
/// certificate then) into a plain-text I/O error: recognise it by its text.
fn alert_hint(text: &str) -> Option<&'static str> {
    use rustls::AlertDescription;
    [
        AlertDescription::CertificateRequired,
        AlertDescription::BadCertificate,
        AlertDescription::UnknownCA,
        AlertDescription::CertificateUnknown,
        AlertDescription::ProtocolVersion,
    ]
    .into_iter()
    .find(|alert| text.contains(&format!("received fatal alert: {alert:?}")))
    .and_then(|alert| tls_hint(&rustls::Error::AlertReceived(alert)))
}

/// The rustls error somewhere in the chain (io::Error hides its inner error from `source`).
fn rustls_error<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(tls) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Some(tls);
        }
        current = e.source();
    }
    None
}

/// Compresses a request body as `compressor` says; returns the body and the
/// `Content-Encoding` value, if any.
pub(crate) fn compress(
    compressor: &Compressor,
    body: Bytes,
) -> std::io::Result<(Bytes, Option<HeaderValue>)> {
    Ok(match compressor.compress(&body)? {
        None => (body, None),
        Some(compressed) => (
            Bytes::from(compressed),
            compressor.encoding().map(HeaderValue::from_static),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_config::{Compression, CompressionParams};

    #[test]
    fn error_chain_keeps_each_text_once() {
        let inner = std::io::Error::other("TLS handshake with x:1 failed: bad");
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("client error (Connect)")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        assert_eq!(
            error_chain(&Outer(inner)),
            "client error (Connect): TLS handshake with x:1 failed: bad"
        );
    }

    #[test]
    fn truncate_cuts_at_a_char_boundary() {
        let long = "é".repeat(1000);
        let cut = truncate(&long);
        assert!(cut.ends_with('…'));
        assert!(cut.len() <= MAX_MESSAGE + '…'.len_utf8());
        assert_eq!(truncate("short"), "short");
    }

    #[test]
    fn compression_round_trips() {
        use std::io::Read as _;
        let body = b"hello hello hello".to_vec();
        let with = |compression| Compressor::new(compression, &CompressionParams::default());
        let (gz, enc) = compress(&with(Compression::Gzip), body.clone().into()).unwrap();
        assert_eq!(enc.unwrap(), "gzip");
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, body);
        let (zs, enc) = compress(&with(Compression::Zstd), body.clone().into()).unwrap();
        assert_eq!(enc.unwrap(), "zstd");
        assert_eq!(zstd::decode_all(&zs[..]).unwrap(), body);
        let (plain, enc) = compress(&with(Compression::None), body.clone().into()).unwrap();
        assert!(enc.is_none());
        assert_eq!(plain, body);
    }
}
