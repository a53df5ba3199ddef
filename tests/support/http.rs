//! A small HTTP client on hyper: one request per fresh connection over HTTP/1.1 (so every
//! request does its own TLS handshake and a refusal is seen every time), and long-lived HTTP/2
//! connections (certificate rotation). TLS is rustls with the config the test gives.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use bytes::Bytes;
use http::header::{CONTENT_ENCODING, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::ClientConfig;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::PATIENCE;

pub const PROTOBUF: &str = "application/x-protobuf";
pub const JSON: &str = "application/json";

/// An HTTP request to send.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub path: String,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Bytes,
}

impl Request {
    /// `POST path` with `Content-Type: content_type`.
    pub fn post(path: &str, content_type: &str, body: impl Into<Bytes>) -> Request {
        Request {
            method: Method::POST,
            path: path.into(),
            headers: vec![(
                CONTENT_TYPE,
                HeaderValue::from_str(content_type).expect("valid"),
            )],
            body: body.into(),
        }
    }

    /// `POST /v1/traces` (protobuf) of a request message.
    pub fn protobuf(path: &str, message: &impl prost::Message) -> Request {
        Request::post(path, PROTOBUF, message.encode_to_vec())
    }

    /// `GET path`.
    pub fn get(path: &str) -> Request {
        Request {
            method: Method::GET,
            path: path.into(),
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    pub fn method(mut self, method: Method) -> Request {
        self.method = method;
        self
    }

    pub fn header(mut self, name: HeaderName, value: &str) -> Request {
        self.headers.push((
            name,
            HeaderValue::from_str(value).expect("valid header value"),
        ));
        self
    }

    /// `Authorization: Basic base64(user:password)`.
    pub fn basic_auth(self, user: &str, password: &str) -> Request {
        self.header(
            http::header::AUTHORIZATION,
            &crate::htpasswd::authorization(user, password),
        )
    }

    /// Replace the body with its gzip and say so in `Content-Encoding`.
    pub fn gzip(mut self) -> Request {
        self.body = crate::fake::gzip(&self.body).into();
        self.header(CONTENT_ENCODING, "gzip")
    }

    /// Replace the body with its zstd and say so in `Content-Encoding`.
    pub fn zstd(mut self) -> Request {
        self.body = crate::fake::zstd(&self.body).into();
        self.header(CONTENT_ENCODING, "zstd")
    }

    /// HTTP/1.1 needs a `Host` header; HTTP/2 carries the authority in the URI.
    fn build(&self, addr: SocketAddr, host_header: bool) -> Result<http::Request<Full<Bytes>>> {
        let mut builder = http::Request::builder()
            .method(self.method.clone())
            .uri(format!("http://{addr}{}", self.path));
        if host_header {
            builder = builder.header(http::header::HOST, addr.to_string());
        }
        for (name, value) in &self.headers {
            builder = builder.header(name, value);
        }
        Ok(builder.body(Full::new(self.body.clone()))?)
    }
}

/// A whole HTTP response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Decode a protobuf `google.rpc.Status` body.
    pub fn rpc_status(&self) -> Result<RpcStatus> {
        Ok(prost::Message::decode(self.body.clone())?)
    }
}

/// `google.rpc.Status`, as OTLP/HTTP error bodies carry it.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcStatus {
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
}

/// The name the server certificate is checked against: the IP address clients connect to.
pub fn server_name() -> ServerName<'static> {
    ServerName::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST).into())
}

/// A client for one Sluice HTTP listener; `tls: None` is plaintext.
#[derive(Clone)]
pub struct Client {
    addr: SocketAddr,
    tls: Option<Arc<ClientConfig>>,
}

impl Client {
    pub fn plaintext(addr: SocketAddr) -> Client {
        Client { addr, tls: None }
    }

    /// TLS with `config` (its ALPN decides HTTP/1.1 vs HTTP/2 for [`Client::connect_h2`]).
    pub fn tls(addr: SocketAddr, config: Arc<ClientConfig>) -> Client {
        Client {
            addr,
            tls: Some(config),
        }
    }

    /// Send `request` on a new HTTP/1.1 connection. Errors (refused handshakes, resets) carry
    /// their whole cause chain.
    pub async fn send(&self, request: &Request) -> Result<Response> {
        let work = async {
            let tcp = TcpStream::connect(self.addr).await?;
            match &self.tls {
                None => send_http1(tcp, self.addr, request).await,
                Some(config) => {
                    let tls = tokio_rustls::TlsConnector::from(config.clone())
                        .connect(server_name(), tcp)
                        .await?;
                    send_http1(tls, self.addr, request).await
                }
            }
        };
        tokio::time::timeout(PATIENCE, work)
            .await
            .map_err(|_| anyhow!("no answer from {} within {PATIENCE:?}", self.addr))?
    }

    /// Send, and turn any failure into its message (for asserting on refusals).
    pub async fn try_send(&self, request: &Request) -> Result<Response, String> {
        self.send(request).await.map_err(|e| format!("{e:#}"))
    }

    /// Open a TLS HTTP/2 connection (the config must offer ALPN `h2`) that stays open.
    pub async fn connect_h2(&self) -> Result<H2> {
        let config = self.tls.clone().context("connect_h2 needs TLS")?;
        let tcp = TcpStream::connect(self.addr).await?;
        let tls = tokio_rustls::TlsConnector::from(config)
            .connect(server_name(), tcp)
            .await?;
        let (_, session) = tls.get_ref();
        anyhow::ensure!(
            session.alpn_protocol() == Some(b"h2"),
            "the server did not pick h2 by ALPN: {:?}",
            session.alpn_protocol()
        );
        let peer_certificates = session
            .peer_certificates()
            .map(|certs| certs.iter().map(|c| c.clone().into_owned()).collect())
            .unwrap_or_default();
        let (sender, connection) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls)).await?;
        tokio::spawn(connection);
        Ok(H2 {
            addr: self.addr,
            sender,
            peer_certificates,
        })
    }

    /// Whether the server refuses this client's TLS session: handshake, send the HTTP/2
    /// preface, read. `Some(cause)` (with the server's TLS alert, e.g. `UnknownCA`) when it
    /// refuses, `None` when it answers. With TLS 1.3 a client certificate is judged after the
    /// client finished its handshake, so only the first read shows the refusal; gRPC clients
    /// tend to lose that cause, this keeps it.
    pub async fn tls_refusal(&self) -> Result<Option<String>> {
        const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
        let config = self.tls.clone().context("tls_refusal needs TLS")?;
        let tcp = TcpStream::connect(self.addr).await?;
        let mut tls = match tokio_rustls::TlsConnector::from(config)
            .connect(server_name(), tcp)
            .await
        {
            Ok(tls) => tls,
            Err(e) => return Ok(Some(crate::error_chain(&e))),
        };
        if let Err(e) = tls.write_all(PREFACE).await {
            return Ok(Some(crate::error_chain(&e)));
        }
        let _ = tls.flush().await;
        let mut buf = [0u8; 64];
        match tokio::time::timeout(PATIENCE, tls.read(&mut buf)).await {
            Err(_) => Err(anyhow!("no answer from {} within {PATIENCE:?}", self.addr)),
            Ok(Ok(0)) => Ok(Some(
                "the server closed the connection without an alert".into(),
            )),
            Ok(Ok(_)) => Ok(None),
            Ok(Err(e)) => Ok(Some(crate::error_chain(&e))),
        }
    }

    /// The certificate the server presents in a new handshake.
    pub async fn presented_certificate(&self) -> Result<CertificateDer<'static>> {
        let config = self
            .tls
            .clone()
            .context("presented_certificate needs TLS")?;
        let tcp = TcpStream::connect(self.addr).await?;
        let tls = tokio_rustls::TlsConnector::from(config)
            .connect(server_name(), tcp)
            .await?;
        let (_, session) = tls.get_ref();
        session
            .peer_certificates()
            .and_then(|certs| certs.first())
            .map(|c| c.clone().into_owned())
            .context("the server presented no certificate")
    }
}

/// A long-lived HTTP/2 connection.
pub struct H2 {
    addr: SocketAddr,
    sender: hyper::client::conn::http2::SendRequest<Full<Bytes>>,
    /// The certificate chain the server presented when this connection was opened.
    pub peer_certificates: Vec<CertificateDer<'static>>,
}

impl H2 {
    pub async fn send(&mut self, request: &Request) -> Result<Response> {
        let work = async {
            self.sender.ready().await?;
            let response = self
                .sender
                .send_request(request.build(self.addr, false)?)
                .await?;
            collect(response).await
        };
        tokio::time::timeout(PATIENCE, work)
            .await
            .map_err(|_| anyhow!("no answer on the HTTP/2 connection within {PATIENCE:?}"))?
    }
}

async fn send_http1<S>(stream: S, addr: SocketAddr, request: &Request) -> Result<Response>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    let driver = tokio::spawn(connection);
    let sent = sender.send_request(request.build(addr, true)?).await;
    match sent {
        Ok(response) => collect(response).await,
        Err(error) => {
            // The connection task holds the I/O cause (e.g. the server's TLS alert).
            drop(sender);
            let cause = match driver.await {
                Ok(Err(io)) => format!(" (connection: {})", crate::error_chain(&io)),
                _ => String::new(),
            };
            Err(anyhow!("{}{cause}", crate::error_chain(&error)))
        }
    }
}

async fn collect(response: http::Response<hyper::body::Incoming>) -> Result<Response> {
    let (parts, body) = response.into_parts();
    let body = body.collect().await?.to_bytes();
    Ok(Response {
        status: parts.status,
        headers: parts.headers,
        body,
    })
}
