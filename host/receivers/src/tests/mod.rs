//! Tests of the running receiver over real sockets (127.0.0.1:0, so they run in parallel).

mod auth;
mod fixtures;
mod grpc;
mod http;
mod json;
mod quota;
mod shutdown;
mod start;
mod tenancy;
mod tenancy_mtls;
mod tls;

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use sluice_config::{
    ComponentId, GrpcServerSettings, HttpServerSettings, OtlpReceiverSettings, TenancySettings,
};
use sluice_pipeline::metrics::Metrics;
use sluice_pipeline::{Batch, ConsumeError, Consumer, Form, Payload};
use std::sync::Mutex;
use tokio::io::{AsyncRead, AsyncWrite};

use tokio::sync::Notify;

use crate::{Authenticators, RunningReceiver, SignalConsumers, Tenancies, Tenancy};

/// A consumer that records every batch and answers with a configurable outcome.
#[derive(Default)]
pub(crate) struct Recorder {
    batches: Mutex<Vec<Batch>>,
    refuse: Mutex<Option<ConsumeError>>,
    /// When set, `consume` announces itself on `entered` and waits for `release`.
    hold: Mutex<bool>,
    /// Whether it reads requests as bytes ([`Form::Wire`]).
    wire: bool,
    pub entered: Notify,
    pub release: Notify,
}

impl Recorder {
    pub fn new() -> Arc<Recorder> {
        Arc::new(Recorder::default())
    }

    /// Every call answers `error` (items are not recorded).
    pub fn failing(error: ConsumeError) -> Arc<Recorder> {
        let recorder = Recorder::default();
        *recorder.refuse.lock().unwrap() = Some(error);
        Arc::new(recorder)
    }

    /// A recorder that reads requests as bytes: the receiver only checks them.
    pub fn reading_bytes() -> Arc<Recorder> {
        Arc::new(Recorder {
            wire: true,
            ..Recorder::default()
        })
    }

    /// Every call waits for [`Recorder::release`] before recording.
    pub fn holding() -> Arc<Recorder> {
        let recorder = Recorder::default();
        *recorder.hold.lock().unwrap() = true;
        Arc::new(recorder)
    }

    /// The recorded batches, decoded.
    pub fn batches(&self) -> Vec<Batch> {
        self.raw_batches()
            .into_iter()
            .map(|b| Batch::new(b.payload.into_decoded().unwrap(), b.context))
            .collect()
    }

    /// The recorded batches as they arrived (a protobuf request travels as its bytes).
    pub fn raw_batches(&self) -> Vec<Batch> {
        self.batches.lock().unwrap().clone()
    }

    pub fn payloads(&self) -> Vec<Payload> {
        self.batches().into_iter().map(|b| b.payload).collect()
    }

    /// The only recorded batch; panics (in the test) otherwise.
    pub fn single(&self) -> Batch {
        let batches = self.batches();
        assert_eq!(batches.len(), 1, "expected exactly one batch");
        batches.into_iter().next().unwrap()
    }

    pub fn consumers(self: &Arc<Self>) -> SignalConsumers {
        SignalConsumers {
            traces: Some(self.clone()),
            metrics: Some(self.clone()),
            logs: Some(self.clone()),
        }
    }
}

#[async_trait::async_trait]
impl Consumer for Recorder {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        if let Some(error) = self.refuse.lock().unwrap().clone() {
            return Err(error);
        }
        let hold = *self.hold.lock().unwrap();
        if hold {
            self.entered.notify_one();
            self.release.notified().await;
        }
        self.batches.lock().unwrap().push(batch);
        Ok(())
    }

    fn wants(&self) -> Form {
        if self.wire { Form::Wire } else { Form::Decoded }
    }
}

pub(crate) fn id() -> ComponentId {
    ComponentId::new("otlp", None)
}

pub(crate) fn http_settings() -> HttpServerSettings {
    HttpServerSettings {
        endpoint: "127.0.0.1:0".into(),
        ..Default::default()
    }
}

pub(crate) fn grpc_settings() -> GrpcServerSettings {
    GrpcServerSettings {
        endpoint: "127.0.0.1:0".into(),
        ..Default::default()
    }
}

/// Settings with both protocols on ephemeral ports, adjusted by `edit`.
pub(crate) fn settings(
    edit: impl FnOnce(&mut GrpcServerSettings, &mut HttpServerSettings),
) -> OtlpReceiverSettings {
    let mut grpc = grpc_settings();
    let mut http = http_settings();
    edit(&mut grpc, &mut http);
    let mut settings = OtlpReceiverSettings::default();
    settings.protocols.grpc = Some(grpc);
    settings.protocols.http = Some(http);
    settings
}

/// A started receiver with its metrics.
pub(crate) struct Harness {
    pub receiver: RunningReceiver,
    pub metrics: Metrics,
}

impl Harness {
    pub async fn start(settings: OtlpReceiverSettings, consumers: SignalConsumers) -> Harness {
        Harness::start_with(settings, consumers, &Authenticators::new()).await
    }

    pub async fn start_with(
        settings: OtlpReceiverSettings,
        consumers: SignalConsumers,
        authenticators: &Authenticators,
    ) -> Harness {
        Harness::start_in(
            settings,
            consumers,
            authenticators,
            &Tenancies::new(),
            Metrics::new(),
        )
        .await
    }

    /// Started with `tenancy` as extension `tenancy`, which the receiver references.
    pub async fn start_with_tenancy(
        mut settings: OtlpReceiverSettings,
        consumers: SignalConsumers,
        authenticators: &Authenticators,
        tenancy: &TenancySettings,
    ) -> Harness {
        let metrics = Metrics::new();
        let tenancy_id = ComponentId::new("tenancy", None);
        settings.tenancy = Some(tenancy_id.clone());
        let mut tenancies = Tenancies::new();
        tenancies.insert(
            tenancy_id.clone(),
            Arc::new(Tenancy::new(&tenancy_id, tenancy, &metrics)),
        );
        Harness::start_in(settings, consumers, authenticators, &tenancies, metrics).await
    }

    async fn start_in(
        settings: OtlpReceiverSettings,
        consumers: SignalConsumers,
        authenticators: &Authenticators,
        tenancies: &Tenancies,
        metrics: Metrics,
    ) -> Harness {
        let receiver = crate::start(
            &id(),
            &settings,
            consumers,
            authenticators,
            tenancies,
            &metrics,
        )
        .await
        .expect("receiver starts");
        Harness { receiver, metrics }
    }

    pub fn http(&self) -> std::net::SocketAddr {
        self.receiver.http_addr().expect("http listener")
    }

    pub fn grpc(&self) -> std::net::SocketAddr {
        self.receiver.grpc_addr().expect("grpc listener")
    }

    /// The value of one of the receiver's counters (`accepted_spans`, `refused_log_records`).
    pub fn counter(&self, name: &str, transport: &str) -> u64 {
        let prefix = format!(
            "otelcol_receiver_{name}_total{{receiver=\"otlp\",transport=\"{transport}\"}} "
        );
        self.metrics
            .encode()
            .lines()
            .find_map(|line| {
                line.strip_prefix(&prefix)
                    .map(|v| v.trim().parse().unwrap())
            })
            .unwrap_or(0)
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: ::http::StatusCode,
    pub headers: ::http::HeaderMap,
    pub body: Bytes,
}

impl Answer {
    /// The `google.rpc.Status` JSON body.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

/// Send one HTTP/1.1 request over `io`.
pub(crate) async fn send_on<IO, B>(io: IO, request: ::http::Request<B>) -> Answer
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    try_send_on(io, request).await.expect("HTTP exchange")
}

/// Send one HTTP/1.1 request over `io`; errors when the connection fails.
pub(crate) async fn try_send_on<IO, B>(
    io: IO,
    request: ::http::Request<B>,
) -> Result<Answer, hyper::Error>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io)).await?;
    tokio::spawn(connection);
    let response = sender.send_request(request).await?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await?.to_bytes();
    Ok(Answer {
        status: parts.status,
        headers: parts.headers,
        body,
    })
}

/// Build a request to `path` on `addr`.
pub(crate) fn request(
    method: &str,
    addr: std::net::SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> ::http::Request<Full<Bytes>> {
    let mut builder = ::http::Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"))
        .header("host", addr.to_string());
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Full::new(body.into())).unwrap()
}

/// POST `body` to `path` over plaintext HTTP/1.1.
pub(crate) async fn post(
    addr: std::net::SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Answer {
    send(request("POST", addr, path, headers, body)).await
}

/// Send `request` over a new plaintext connection to its URI's authority.
pub(crate) async fn send(request: ::http::Request<Full<Bytes>>) -> Answer {
    let authority = request.uri().authority().unwrap().to_string();
    let tcp = tokio::net::TcpStream::connect(authority)
        .await
        .expect("connect");
    send_on(tcp, request).await
}

pub(crate) const PROTOBUF: (&str, &str) = ("content-type", "application/x-protobuf");
pub(crate) const JSON: (&str, &str) = ("content-type", "application/json");
