//! One client connection sending pre-encoded OTLP bodies: HTTP/1.1 for OTLP/HTTP, HTTP/2 with
//! hand-made gRPC framing for OTLP/gRPC (so a pre-compressed body goes out as it is).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::cli::Protocol;
use crate::response::{grpc_outcome, http_outcome};

const GRPC_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// Everything a client needs to reach the server; shared by all clients.
pub struct Target {
    pub protocol: Protocol,
    pub addr: SocketAddr,
    /// Request URI: origin-form path for HTTP/1.1, absolute for HTTP/2.
    pub uri: Uri,
    pub tls: Option<(TlsConnector, ServerName<'static>)>,
    /// Headers sent with every request (host, content type and encoding, authorization).
    pub headers: HeaderMap,
    pub timeout: Duration,
}

impl Target {
    pub fn new(
        protocol: Protocol,
        addr: SocketAddr,
        endpoint: &Uri,
        tls: Option<(TlsConnector, ServerName<'static>)>,
        gzip: bool,
        authorization: Option<HeaderValue>,
        timeout: Duration,
    ) -> anyhow::Result<Target> {
        let scheme = if tls.is_some() { "https" } else { "http" };
        let authority = endpoint
            .authority()
            .ok_or_else(|| anyhow::anyhow!("--endpoint {endpoint}: no host"))?;
        let mut headers = HeaderMap::new();
        let uri = match protocol {
            Protocol::Http => {
                let path = match endpoint.path() {
                    "" | "/" => "/v1/traces",
                    path => path,
                };
                headers.insert(header::HOST, HeaderValue::from_str(authority.as_str())?);
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/x-protobuf"),
                );
                if gzip {
                    headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                }
                path.parse()?
            }
            Protocol::Grpc => {
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/grpc"),
                );
                headers.insert(header::TE, HeaderValue::from_static("trailers"));
                if gzip {
                    headers.insert("grpc-encoding", HeaderValue::from_static("gzip"));
                }
                format!("{scheme}://{authority}{GRPC_PATH}").parse()?
            }
        };
        headers.insert(
            header::USER_AGENT,
            HeaderValue::from_static("sluice-loadgen"),
        );
        if let Some(value) = authorization {
            headers.insert(header::AUTHORIZATION, value);
        }
        Ok(Target {
            protocol,
            addr,
            uri,
            tls,
            headers,
            timeout,
        })
    }
}

/// What became of one request.
pub enum Outcome {
    /// The server accepted the request; `rejected` spans were refused in a partial success.
    Ok { rejected: u64 },
    /// `kind` is a short, bounded key for counting ("http 503", "grpc UNAVAILABLE", "timeout");
    /// `detail` is a human explanation of one occurrence.
    Failed { kind: String, detail: String },
}

impl Outcome {
    /// The request got no answer from the server (connect, TLS or connection failure).
    pub fn is_transport_failure(&self) -> bool {
        matches!(self, Outcome::Failed { kind, .. }
            if matches!(kind.as_str(), "connect error" | "tls error" | "connection error"))
    }

    pub(crate) fn failed(kind: impl Into<String>, detail: impl std::fmt::Display) -> Outcome {
        Outcome::Failed {
            kind: kind.into(),
            detail: detail.to_string(),
        }
    }
}

enum Connection {
    Http1(http1::SendRequest<Full<Bytes>>),
    Http2(http2::SendRequest<Full<Bytes>>),
}

/// A client with one connection and one request in flight, reconnecting after errors.
pub struct Client {
    target: Arc<Target>,
    connection: Option<Connection>,
}

impl Client {
    pub fn new(target: Arc<Target>) -> Client {
        Client {
            target,
            connection: None,
        }
    }

    /// Send `body`, with `tenant` as `X-Scope-OrgID` when given.
    pub async fn send(&mut self, body: Bytes, tenant: Option<&HeaderValue>) -> Outcome {
        let timeout = self.target.timeout;
        match tokio::time::timeout(timeout, self.exchange(body, tenant)).await {
            Ok(outcome) => outcome,
            Err(_) => {
                // The connection may hold a half-read response: start afresh.
                self.connection = None;
                Outcome::failed(
                    "timeout",
                    format!("no complete response within {timeout:?}"),
                )
            }
        }
    }

    async fn exchange(&mut self, body: Bytes, tenant: Option<&HeaderValue>) -> Outcome {
        let mut connection = match self.ready_connection().await {
            Ok(connection) => connection,
            Err(outcome) => return outcome,
        };
        let mut request = Request::post(self.target.uri.clone())
            .body(Full::new(body))
            .expect("valid request");
        *request.headers_mut() = self.target.headers.clone();
        if let Some(tenant) = tenant {
            request
                .headers_mut()
                .insert("x-scope-orgid", tenant.clone());
        }
        let response = match &mut connection {
            Connection::Http1(sender) => sender.send_request(request).await,
            Connection::Http2(sender) => sender.send_request(request).await,
        };
        let response = match response {
            Ok(response) => response,
            Err(e) => return Outcome::failed("connection error", error_chain(&e)),
        };
        let (parts, body) = response.into_parts();
        let collected = match body.collect().await {
            Ok(collected) => collected,
            Err(e) => return Outcome::failed("connection error", error_chain(&e)),
        };
        self.connection = Some(connection);
        let trailers = collected.trailers().cloned();
        let body = collected.to_bytes();
        match self.target.protocol {
            Protocol::Http => http_outcome(parts.status, &body),
            Protocol::Grpc => grpc_outcome(parts.status, &parts.headers, trailers.as_ref(), body),
        }
    }

    /// The current connection if it can take a request, else a new one.
    async fn ready_connection(&mut self) -> Result<Connection, Outcome> {
        if let Some(mut connection) = self.connection.take() {
            let ready = match &mut connection {
                Connection::Http1(sender) => sender.ready().await,
                Connection::Http2(sender) => sender.ready().await,
            };
            // A connection the server closed between requests is not a failed request.
            if ready.is_ok() {
                return Ok(connection);
            }
        }
        self.connect().await
    }

    async fn connect(&self) -> Result<Connection, Outcome> {
        let tcp = TcpStream::connect(self.target.addr)
            .await
            .map_err(|e| Outcome::failed("connect error", format!("{}: {e}", self.target.addr)))?;
        let _ = tcp.set_nodelay(true);
        match &self.target.tls {
            None => self.handshake(tcp).await,
            Some((connector, name)) => {
                let tls = connector
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(|e| Outcome::failed("tls error", format!("TLS handshake: {e}")))?;
                self.handshake(tls).await
            }
        }
    }

    async fn handshake<T>(&self, io: T) -> Result<Connection, Outcome>
    where
        T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let io = TokioIo::new(io);
        let failed = |e: hyper::Error| Outcome::failed("connect error", error_chain(&e));
        match self.target.protocol {
            Protocol::Http => {
                let (sender, connection) = http1::handshake(io).await.map_err(failed)?;
                tokio::spawn(async move {
                    let _ = connection.await;
                });
                Ok(Connection::Http1(sender))
            }
            Protocol::Grpc => {
                let (sender, connection) = http2::Builder::new(TokioExecutor::new())
                    .handshake(io)
                    .await
                    .map_err(failed)?;
                tokio::spawn(async move {
                    let _ = connection.await;
                });
                Ok(Connection::Http2(sender))
            }
        }
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An OTLP/HTTP server on 127.0.0.1:0 answering 200 and 503 in turn.
    async fn flaky_server() -> SocketAddr {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let served = Arc::new(AtomicUsize::new(0));
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let served = served.clone();
                let service = hyper::service::service_fn(move |_request| {
                    let status = if served.fetch_add(1, Ordering::Relaxed).is_multiple_of(2) {
                        200
                    } else {
                        503
                    };
                    let response = http::Response::builder()
                        .status(status)
                        .body(Full::new(Bytes::new()));
                    async move { response }
                });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service),
                );
            }
        });
        addr
    }

    #[tokio::test]
    async fn http_client_survives_server_errors_on_one_connection() {
        let addr = flaky_server().await;
        let endpoint: Uri = format!("http://{addr}").parse().unwrap();
        let target = Target::new(
            Protocol::Http,
            addr,
            &endpoint,
            None,
            false,
            None,
            Duration::from_secs(5),
        );
        let mut client = Client::new(Arc::new(target.unwrap()));
        let mut kinds = Vec::new();
        for _ in 0..4 {
            kinds.push(
                match client.send(Bytes::from_static(b"not protobuf"), None).await {
                    Outcome::Ok { rejected } => format!("ok {rejected}"),
                    Outcome::Failed { kind, .. } => kind,
                },
            );
        }
        assert_eq!(kinds, ["ok 0", "http 503", "ok 0", "http 503"]);
    }

    #[tokio::test]
    async fn refused_connection_is_a_transport_failure() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let endpoint: Uri = format!("http://{addr}").parse().unwrap();
        let target = Target::new(
            Protocol::Grpc,
            addr,
            &endpoint,
            None,
            false,
            None,
            Duration::from_secs(5),
        );
        let outcome = Client::new(Arc::new(target.unwrap()))
            .send(Bytes::new(), None)
            .await;
        assert!(outcome.is_transport_failure());
    }
}
