//! Exporting to a running Sluice the same way over either protocol, and checking what arrived.

use std::fmt;
use std::sync::Arc;

use ::http::StatusCode;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use rustls::ClientConfig;
use tonic::codec::CompressionEncoding;

use crate::http::{Client, PROTOBUF, Request};
use crate::{Sluice, fake, grpc};

/// OTLP/gRPC or OTLP/HTTP (protobuf).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Grpc,
    Http,
}

impl Protocol {
    /// The ALPN a client of this protocol offers.
    pub fn alpn(self) -> &'static [&'static [u8]] {
        match self {
            Protocol::Grpc => &[b"h2"],
            Protocol::Http => &[b"http/1.1"],
        }
    }
}

/// Request compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Zstd,
}

/// Why Sluice did not accept an export.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// The HTTP status, when an HTTP answer came.
    pub http_status: Option<StatusCode>,
    /// The gRPC status code, when a gRPC answer came.
    pub grpc_code: Option<tonic::Code>,
    /// Everything known: the answer's body or status message, or the connection error chain.
    pub message: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.http_status, self.grpc_code) {
            (Some(status), _) => write!(f, "HTTP {status}: {}", self.message),
            (_, Some(code)) => write!(f, "gRPC {code:?}: {}", self.message),
            _ => write!(f, "no answer: {}", self.message),
        }
    }
}

impl std::error::Error for Refusal {}

/// How a client reaches Sluice: protocol, TLS, BasicAuth, compression.
#[derive(Clone)]
pub struct Via {
    pub protocol: Protocol,
    pub tls: Option<Arc<ClientConfig>>,
    pub auth: Option<(String, String)>,
    pub compression: Option<Compression>,
}

impl Via {
    pub fn plaintext(protocol: Protocol) -> Via {
        Via {
            protocol,
            tls: None,
            auth: None,
            compression: None,
        }
    }

    /// TLS with `config` (which should offer `protocol.alpn()`).
    pub fn tls(protocol: Protocol, config: Arc<ClientConfig>) -> Via {
        Via {
            tls: Some(config),
            ..Via::plaintext(protocol)
        }
    }

    pub fn basic_auth(mut self, user: &str, password: &str) -> Via {
        self.auth = Some((user.into(), password.into()));
        self
    }

    pub fn compression(mut self, compression: Compression) -> Via {
        self.compression = Some(compression);
        self
    }

    fn grpc_client(&self) -> grpc::Client {
        let mut client = grpc::Client {
            tls: self.tls.clone(),
            ..grpc::Client::default()
        };
        if let Some((user, password)) = &self.auth {
            client = client.basic_auth(user, password);
        }
        if let Some(compression) = self.compression {
            client = client.compression(match compression {
                Compression::Gzip => CompressionEncoding::Gzip,
                Compression::Zstd => CompressionEncoding::Zstd,
            });
        }
        client
    }

    fn http_client(&self, sluice: &Sluice) -> Client {
        match &self.tls {
            None => Client::plaintext(sluice.http),
            Some(config) => Client::tls(sluice.http, config.clone()),
        }
    }

    async fn post(&self, sluice: &Sluice, path: &str, body: Vec<u8>) -> Result<(), Refusal> {
        let mut request = Request::post(path, PROTOBUF, body);
        if let Some((user, password)) = &self.auth {
            request = request.basic_auth(user, password);
        }
        request = match self.compression {
            None => request,
            Some(Compression::Gzip) => request.gzip(),
            Some(Compression::Zstd) => request.zstd(),
        };
        match self.http_client(sluice).send(&request).await {
            Ok(response) if response.status == StatusCode::OK => Ok(()),
            Ok(response) => Err(Refusal {
                http_status: Some(response.status),
                grpc_code: None,
                message: response
                    .rpc_status()
                    .map(|s| s.message)
                    .unwrap_or_else(|_| response.text()),
            }),
            Err(error) => Err(Refusal {
                http_status: None,
                grpc_code: None,
                message: format!("{error:#}"),
            }),
        }
    }

    fn grpc_refusal(failure: grpc::Failure) -> Refusal {
        Refusal {
            http_status: None,
            grpc_code: failure.code(),
            message: failure.to_string(),
        }
    }

    pub async fn traces(
        &self,
        sluice: &Sluice,
        request: &ExportTraceServiceRequest,
    ) -> Result<(), Refusal> {
        match self.protocol {
            Protocol::Http => {
                self.post(sluice, "/v1/traces", fake::protobuf(request))
                    .await
            }
            Protocol::Grpc => self
                .grpc_client()
                .traces(sluice.grpc, request.clone())
                .await
                .map_err(Via::grpc_refusal),
        }
    }

    pub async fn metrics(
        &self,
        sluice: &Sluice,
        request: &ExportMetricsServiceRequest,
    ) -> Result<(), Refusal> {
        match self.protocol {
            Protocol::Http => {
                self.post(sluice, "/v1/metrics", fake::protobuf(request))
                    .await
            }
            Protocol::Grpc => self
                .grpc_client()
                .metrics(sluice.grpc, request.clone())
                .await
                .map_err(Via::grpc_refusal),
        }
    }

    pub async fn logs(
        &self,
        sluice: &Sluice,
        request: &ExportLogsServiceRequest,
    ) -> Result<(), Refusal> {
        match self.protocol {
            Protocol::Http => self.post(sluice, "/v1/logs", fake::protobuf(request)).await,
            Protocol::Grpc => self
                .grpc_client()
                .logs(sluice.grpc, request.clone())
                .await
                .map_err(Via::grpc_refusal),
        }
    }

    /// Export every signal of `export`; the first refusal stops.
    pub async fn all(&self, sluice: &Sluice, export: &Export) -> Result<(), Refusal> {
        self.traces(sluice, &export.traces).await?;
        self.metrics(sluice, &export.metrics).await?;
        self.logs(sluice, &export.logs).await
    }
}

/// One export request of every signal, with unique names.
#[derive(Debug, Clone)]
pub struct Export {
    pub traces: ExportTraceServiceRequest,
    pub metrics: ExportMetricsServiceRequest,
    pub logs: ExportLogsServiceRequest,
}

impl Default for Export {
    fn default() -> Export {
        Export::new()
    }
}

impl Export {
    /// 2 resources × 3 items × 4 attributes of each signal.
    pub fn new() -> Export {
        Export {
            traces: fake::traces(2, 3, 4),
            metrics: fake::metrics(2, 3, 4),
            logs: fake::logs(2, 3, 4),
        }
    }

    /// Wait until everything arrived in `sluice`'s output, and check it arrived exactly once.
    pub async fn arrived_in(&self, sluice: &Sluice) -> anyhow::Result<()> {
        let spans = fake::span_names(&self.traces);
        let metrics = fake::metric_names(&self.metrics);
        let logs = fake::log_bodies(&self.logs);
        sluice.wait_for_spans(&spans).await?;
        sluice.wait_for_metrics(&metrics).await?;
        let output = sluice.wait_for_logs(&logs).await?;
        for (what, wanted, have) in [
            ("span", spans, output.span_names()),
            ("metric", metrics, output.metric_names()),
            ("log record", logs, output.log_bodies()),
        ] {
            for name in &wanted {
                let copies = have.iter().filter(|h| *h == name).count();
                anyhow::ensure!(copies == 1, "{what} {name:?} arrived {copies} times");
            }
        }
        Ok(())
    }

    /// Nothing of this export is in `sluice`'s output (right now).
    pub fn absent_from(&self, sluice: &Sluice) -> anyhow::Result<()> {
        let output = sluice.output()?;
        let (spans, metrics, logs) = (
            output.span_names(),
            output.metric_names(),
            output.log_bodies(),
        );
        let leaked: Vec<String> = fake::span_names(&self.traces)
            .into_iter()
            .filter(|n| spans.contains(n))
            .chain(
                fake::metric_names(&self.metrics)
                    .into_iter()
                    .filter(|n| metrics.contains(n)),
            )
            .chain(
                fake::log_bodies(&self.logs)
                    .into_iter()
                    .filter(|n| logs.contains(n)),
            )
            .collect();
        anyhow::ensure!(leaked.is_empty(), "refused data arrived anyway: {leaked:?}");
        Ok(())
    }
}
