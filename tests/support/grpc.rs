//! gRPC clients: tonic's generated OTLP clients over plain TCP or rustls (tonic's own TLS
//! features are off in the workspace, so TLS is done in a connector), and a raw client that
//! sends hand-made gRPC frames (undecodable messages, compression bombs).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use bytes::{BufMut, Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use rustls::ClientConfig;
use tokio::net::TcpStream;
use tonic::codec::CompressionEncoding;
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint};

use crate::PATIENCE;

pub const TRACES_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// How a client talks to a Sluice gRPC listener.
#[derive(Clone, Default)]
pub struct Client {
    /// rustls config (must offer ALPN `h2`), or plaintext.
    pub tls: Option<Arc<ClientConfig>>,
    /// `authorization` metadata value (`Basic …`).
    pub authorization: Option<String>,
    /// Compress requests.
    pub compression: Option<CompressionEncoding>,
}

/// Why an export failed: the connection could not be made, or the server answered a status.
#[derive(Debug)]
pub enum Failure {
    Connect(String),
    Status(tonic::Status),
}

impl Failure {
    /// The gRPC status code, if the server answered one.
    pub fn code(&self) -> Option<tonic::Code> {
        match self {
            Failure::Connect(_) => None,
            Failure::Status(status) => Some(status.code()),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Connect(e) => write!(f, "connect: {e}"),
            Failure::Status(s) => {
                write!(f, "{:?}: {} ({})", s.code(), s.message(), source_chain(s))
            }
        }
    }
}

fn source_chain(status: &tonic::Status) -> String {
    match std::error::Error::source(status) {
        Some(source) => crate::error_chain(source),
        None => String::new(),
    }
}

impl Client {
    pub fn plaintext() -> Client {
        Client::default()
    }

    pub fn tls(config: Arc<ClientConfig>) -> Client {
        Client {
            tls: Some(config),
            ..Client::default()
        }
    }

    pub fn basic_auth(mut self, user: &str, password: &str) -> Client {
        self.authorization = Some(crate::htpasswd::authorization(user, password));
        self
    }

    pub fn compression(mut self, encoding: CompressionEncoding) -> Client {
        self.compression = Some(encoding);
        self
    }

    /// A new connection to `addr` (a TLS handshake when configured).
    pub async fn channel(&self, addr: SocketAddr) -> Result<Channel, Failure> {
        let endpoint = Endpoint::from_shared(format!("http://{addr}"))
            .map_err(|e| Failure::Connect(crate::error_chain(&e)))?
            .connect_timeout(PATIENCE)
            .timeout(PATIENCE);
        let connected = match self.tls.clone() {
            None => endpoint.connect().await,
            Some(config) => {
                let connector = tower::service_fn(move |_: http::Uri| {
                    let config = config.clone();
                    async move {
                        let tcp = TcpStream::connect(addr).await?;
                        let tls = tokio_rustls::TlsConnector::from(config)
                            .connect(crate::http::server_name(), tcp)
                            .await?;
                        Ok::<_, std::io::Error>(TokioIo::new(tls))
                    }
                });
                endpoint.connect_with_connector(connector).await
            }
        };
        connected.map_err(|e| Failure::Connect(crate::error_chain(&e)))
    }

    fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        if let Some(value) = &self.authorization {
            let value: MetadataValue<_> = value.parse().expect("valid metadata");
            request.metadata_mut().insert("authorization", value);
        }
        request
    }

    /// Export traces on a new connection.
    pub async fn traces(
        &self,
        addr: SocketAddr,
        message: ExportTraceServiceRequest,
    ) -> Result<(), Failure> {
        let mut client = TraceServiceClient::new(self.channel(addr).await?);
        if let Some(encoding) = self.compression {
            client = client.send_compressed(encoding);
        }
        client
            .export(self.request(message))
            .await
            .map(drop)
            .map_err(Failure::Status)
    }

    /// Export metrics on a new connection.
    pub async fn metrics(
        &self,
        addr: SocketAddr,
        message: ExportMetricsServiceRequest,
    ) -> Result<(), Failure> {
        let mut client = MetricsServiceClient::new(self.channel(addr).await?);
        if let Some(encoding) = self.compression {
            client = client.send_compressed(encoding);
        }
        client
            .export(self.request(message))
            .await
            .map(drop)
            .map_err(Failure::Status)
    }

    /// Export logs on a new connection.
    pub async fn logs(
        &self,
        addr: SocketAddr,
        message: ExportLogsServiceRequest,
    ) -> Result<(), Failure> {
        let mut client = LogsServiceClient::new(self.channel(addr).await?);
        if let Some(encoding) = self.compression {
            client = client.send_compressed(encoding);
        }
        client
            .export(self.request(message))
            .await
            .map(drop)
            .map_err(Failure::Status)
    }
}

/// What a server answered to a raw gRPC call.
#[derive(Debug, Clone)]
pub struct RawAnswer {
    pub http_status: http::StatusCode,
    pub grpc_status: Option<i32>,
    pub grpc_message: Option<String>,
}

impl RawAnswer {
    pub fn code(&self) -> Option<tonic::Code> {
        self.grpc_status.map(tonic::Code::from_i32)
    }
}

/// Send one hand-made gRPC message frame to `path` over plaintext HTTP/2 (prior knowledge).
/// `compressed` sets the frame's compressed flag and `grpc-encoding: gzip`.
pub async fn raw_call(
    addr: SocketAddr,
    path: &str,
    message: &[u8],
    compressed: bool,
) -> Result<RawAnswer> {
    let mut frame = BytesMut::with_capacity(message.len() + 5);
    frame.put_u8(u8::from(compressed));
    frame.put_u32(u32::try_from(message.len()).context("message over 4 GiB")?);
    frame.put_slice(message);
    let mut request = http::Request::builder()
        .method(http::Method::POST)
        .uri(format!("http://{addr}{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    if compressed {
        request = request.header("grpc-encoding", "gzip");
    }
    let request = request.body(Full::new(Bytes::from(frame)))?;
    let work = async {
        let tcp = TcpStream::connect(addr).await?;
        let (mut sender, connection) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp)).await?;
        tokio::spawn(connection);
        let response = sender.send_request(request).await?;
        let (parts, body) = response.into_parts();
        let collected = body.collect().await?;
        let trailers = collected.trailers().cloned().unwrap_or_default();
        let find = |name: &str| {
            trailers
                .get(name)
                .or_else(|| parts.headers.get(name))
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        Ok::<_, anyhow::Error>(RawAnswer {
            http_status: parts.status,
            grpc_status: find("grpc-status").and_then(|s| s.parse().ok()),
            grpc_message: find("grpc-message"),
        })
    };
    tokio::time::timeout(PATIENCE, work)
        .await
        .map_err(|_| anyhow!("no gRPC answer from {addr} within {PATIENCE:?}"))?
}
