//! Real servers on 127.0.0.1:0 that record what they receive and answer as scripted, a PKI
//! made at test time, metric readers and log capture.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::io::Read as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, Request, Response, Version};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use sluice_config::{RetrySettings, TlsClientSettings, TlsServerSettings};
use sluice_pipeline::metrics::Metrics;
use sluice_pipeline::{Batch, Payload, RequestContext};
use sluice_tls::ServerTls;
use sluice_tls::certgen::{Ca, Issued, Validity};
use tokio::net::TcpListener;
use tonic::codec::CompressionEncoding;
use tonic::{Code, Status};

/// Installs the crypto provider once.
pub fn init() {
    sluice_tls::install_crypto_provider();
}

pub fn batch(payload: Payload) -> Batch {
    Batch::new(payload, RequestContext::default())
}

/// A batch of `tenant` (as a receiver's tenancy would have attributed it).
pub fn tenant_batch(payload: Payload, tenant: Option<&str>) -> Batch {
    let context = RequestContext {
        tenant: tenant.map(std::sync::Arc::from),
        ..RequestContext::default()
    };
    Batch::new(payload, context)
}

/// `headers_setter` sending the tenant in `X-Scope-OrgID`, `anonymous` when there is none.
pub fn tenant_header_setter() -> crate::ClientAuth {
    let settings: sluice_config::HeadersSetterSettings = serde_yaml::from_str(
        "headers: [{key: X-Scope-OrgID, from_attribute: tenant, default_value: anonymous}]",
    )
    .unwrap();
    crate::ClientAuth::from_extension(
        &sluice_config::ComponentId::new("headers_setter", None),
        &sluice_config::Extension::HeadersSetter(settings),
    )
    .unwrap()
}

/// Retries every 10 ms (no jitter), giving up after 10 s.
pub fn fast_retry() -> RetrySettings {
    RetrySettings {
        enabled: true,
        initial_interval: Duration::from_millis(10),
        randomization_factor: 0.0,
        multiplier: 1.5,
        max_interval: Duration::from_millis(50),
        max_elapsed_time: Duration::from_secs(10),
    }
}

pub fn no_retry() -> RetrySettings {
    RetrySettings {
        enabled: false,
        ..fast_retry()
    }
}

/// The value of counter `name` (`otelcol_exporter_sent_spans_total`) for `exporter`.
pub fn counter(metrics: &Metrics, name: &str, exporter: &str) -> u64 {
    let prefix = format!("{name}{{exporter=\"{exporter}\"}} ");
    metrics
        .encode()
        .lines()
        .find_map(|line| line.strip_prefix(&prefix).map(str::to_owned))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Sent / failed / retried items of one exporter and signal (`spans`, `metric_points`,
/// `log_records`).
pub fn counts(metrics: &Metrics, exporter: &str, items: &str) -> (u64, u64, u64) {
    (
        counter(
            metrics,
            &format!("otelcol_exporter_sent_{items}_total"),
            exporter,
        ),
        counter(
            metrics,
            &format!("otelcol_exporter_send_failed_{items}_total"),
            exporter,
        ),
        counter(
            metrics,
            &format!("sluice_exporter_retried_{items}_total"),
            exporter,
        ),
    )
}

/// Polls `done` every 20 ms for up to `within`.
pub async fn eventually(within: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    done()
}

/// Log lines emitted on this thread while the guard lives (use a current-thread runtime).
pub struct Logs {
    buffer: Arc<Mutex<Vec<u8>>>,
    _guard: tracing::subscriber::DefaultGuard,
}

#[derive(Clone)]
struct Writer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    pub fn capture() -> Logs {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = Writer(buffer.clone());
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .finish();
        Logs {
            buffer,
            _guard: tracing::subscriber::set_default(subscriber),
        }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buffer.lock().unwrap()).into_owned()
    }

    /// Lines containing `level` (`ERROR`, `WARN`).
    pub fn lines(&self, level: &str) -> Vec<String> {
        self.text()
            .lines()
            .filter(|l| l.contains(level))
            .map(str::to_owned)
            .collect()
    }
}

/// A CA, a server certificate for `localhost` and `127.0.0.1`, a client certificate, and a
/// directory for their files.
pub struct Pki {
    pub dir: tempfile::TempDir,
    pub ca: Ca,
    pub server: Issued,
    pub client: Issued,
}

impl Pki {
    pub fn new() -> Pki {
        Pki::named("Sluice exporter test CA")
    }

    /// With a CA of this common name.
    pub fn named(ca_name: &str) -> Pki {
        init();
        let ca = Ca::new(ca_name, Validity::days(1)).unwrap();
        let hosts = ["localhost".to_owned(), "127.0.0.1".to_owned()];
        let server = ca.issue_server(&hosts, Validity::days(1)).unwrap();
        let client = ca.issue_client("exporter", Validity::days(1)).unwrap();
        Pki {
            dir: tempfile::tempdir().unwrap(),
            ca,
            server,
            client,
        }
    }

    /// Writes `contents` to `name` in the directory (by rename, as tools replace files).
    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        let tmp = self.dir.path().join(format!(".{name}.tmp"));
        std::fs::write(&tmp, contents).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        path
    }

    /// The server side; with `mtls`, client certificates signed by this CA are required.
    pub fn server_tls(&self, mtls: bool) -> ServerTls {
        let client_ca_file = mtls.then(|| self.write("client-ca.crt", &self.ca.cert_pem()));
        let settings = TlsServerSettings {
            cert_pem: Some(self.server.cert_pem.clone()),
            key_pem: Some(self.server.key_pem.clone()),
            client_ca_file,
            ..Default::default()
        };
        ServerTls::load(&settings, "test server").unwrap()
    }

    /// Client settings trusting this CA (`ca_file`), with the client certificate when asked.
    pub fn client_tls(&self, with_cert: bool) -> TlsClientSettings {
        let mut settings = TlsClientSettings {
            ca_file: Some(self.write("ca.crt", &self.ca.cert_pem())),
            ..Default::default()
        };
        if with_cert {
            settings.cert_file = Some(self.write("client.crt", &self.client.cert_pem));
            settings.key_file = Some(self.write("client.key", &self.client.key_pem));
        }
        settings
    }
}

/// A server task; stops accepting when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `service` (HTTP/1.1 and HTTP/2) on 127.0.0.1:0, over TLS when given.
pub async fn serve<S, B>(service: S, tls: Option<ServerTls>) -> TestServer
where
    S: tower::Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        loop {
            let Ok((tcp, peer)) = listener.accept().await else {
                return;
            };
            let service = service.clone();
            let tls = tls.clone();
            tokio::spawn(async move {
                let builder = auto::Builder::new(TokioExecutor::new());
                let service = TowerToHyperService::new(service);
                match tls {
                    None => {
                        let _ = builder.serve_connection(TokioIo::new(tcp), service).await;
                    }
                    Some(tls) => {
                        if let Ok(stream) = tls.accept(tcp, peer).await {
                            let _ = builder
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        }
                    }
                }
            });
        }
    });
    TestServer { addr, task }
}

// ---------------------------------------------------------------------------------------------
// HTTP

/// One request an HTTP backend received; the body is decoded per `Content-Encoding`.
#[derive(Debug, Clone)]
pub struct SeenHttp {
    pub path: String,
    pub version: Version,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub at: Instant,
}

impl SeenHttp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// One scripted answer.
#[derive(Debug, Clone)]
pub struct HttpReply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
    /// How long the server waits before answering.
    pub delay: Duration,
}

impl HttpReply {
    pub fn status(status: u16) -> HttpReply {
        HttpReply {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            delay: Duration::ZERO,
        }
    }

    /// Answer only after `delay` (the request is recorded on arrival).
    pub fn delayed(mut self, delay: Duration) -> HttpReply {
        self.delay = delay;
        self
    }

    pub fn header(mut self, name: &'static str, value: &str) -> HttpReply {
        self.headers.push((name, value.to_owned()));
        self
    }

    pub fn body(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> HttpReply {
        self.headers.push(("content-type", content_type.to_owned()));
        self.body = body.into();
        self
    }
}

#[derive(Default)]
struct HttpState {
    seen: Vec<SeenHttp>,
    script: VecDeque<HttpReply>,
    default: Option<HttpReply>,
}

/// Records requests; answers from the script, then with the default (200, empty body).
#[derive(Clone, Default)]
pub struct HttpBackend {
    state: Arc<Mutex<HttpState>>,
}

impl HttpBackend {
    pub fn then(&self, reply: HttpReply) -> &Self {
        self.state.lock().unwrap().script.push_back(reply);
        self
    }

    /// The answer once the script is used up.
    pub fn always(&self, reply: HttpReply) -> &Self {
        self.state.lock().unwrap().default = Some(reply);
        self
    }

    pub fn seen(&self) -> Vec<SeenHttp> {
        self.state.lock().unwrap().seen.clone()
    }

    pub fn count(&self) -> usize {
        self.state.lock().unwrap().seen.len()
    }

    pub async fn start(&self, tls: Option<ServerTls>) -> TestServer {
        let backend = self.clone();
        let service = tower::service_fn(move |request: Request<Incoming>| {
            let backend = backend.clone();
            async move { Ok::<_, Infallible>(backend.handle(request).await) }
        });
        serve(service, tls).await
    }

    async fn handle(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        let (parts, body) = request.into_parts();
        let raw = body
            .collect()
            .await
            .map(|b| b.to_bytes().to_vec())
            .unwrap_or_default();
        let body = match parts
            .headers
            .get("content-encoding")
            .and_then(|v| v.to_str().ok())
        {
            Some("gzip") => {
                let mut out = Vec::new();
                flate2::read::GzDecoder::new(&raw[..])
                    .read_to_end(&mut out)
                    .expect("gzip body");
                out
            }
            Some("zstd") => zstd::decode_all(&raw[..]).expect("zstd body"),
            _ => raw,
        };
        let reply = {
            let mut state = self.state.lock().unwrap();
            state.seen.push(SeenHttp {
                path: parts.uri.path().to_owned(),
                version: parts.version,
                headers: parts.headers,
                body,
                at: Instant::now(),
            });
            state
                .script
                .pop_front()
                .or_else(|| state.default.clone())
                .unwrap_or_else(|| HttpReply::status(200))
        };
        if !reply.delay.is_zero() {
            tokio::time::sleep(reply.delay).await;
        }
        let mut response = Response::builder().status(reply.status);
        for (name, value) in &reply.headers {
            response = response.header(*name, value);
        }
        response.body(Full::new(Bytes::from(reply.body))).unwrap()
    }
}

// ---------------------------------------------------------------------------------------------
// gRPC

/// One export a gRPC backend received.
#[derive(Debug, Clone)]
pub struct SeenGrpc {
    pub metadata: HeaderMap,
    pub payload: Payload,
    pub at: Instant,
}

impl SeenGrpc {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.metadata.get(name).and_then(|v| v.to_str().ok())
    }
}

/// One scripted answer (the default is a plain success).
#[derive(Debug, Clone)]
pub enum GrpcReply {
    Partial(i64, &'static str),
    Fail(Code, &'static str),
    FailWithRetryInfo(Code, &'static str, Duration),
}

#[derive(Default)]
struct GrpcState {
    seen: Vec<SeenGrpc>,
    script: VecDeque<GrpcReply>,
    default: Option<GrpcReply>,
}

/// The three OTLP services, recording every export.
#[derive(Clone, Default)]
pub struct GrpcBackend {
    state: Arc<Mutex<GrpcState>>,
}

impl GrpcBackend {
    pub fn then(&self, reply: GrpcReply) -> &Self {
        self.state.lock().unwrap().script.push_back(reply);
        self
    }

    pub fn always(&self, reply: GrpcReply) -> &Self {
        self.state.lock().unwrap().default = Some(reply);
        self
    }

    pub fn seen(&self) -> Vec<SeenGrpc> {
        self.state.lock().unwrap().seen.clone()
    }

    pub fn count(&self) -> usize {
        self.state.lock().unwrap().seen.len()
    }

    pub async fn start(&self, tls: Option<ServerTls>) -> TestServer {
        let gzip = CompressionEncoding::Gzip;
        let zstd = CompressionEncoding::Zstd;
        let routes = tonic::service::Routes::new(
            TraceServiceServer::new(self.clone())
                .accept_compressed(gzip)
                .accept_compressed(zstd),
        )
        .add_service(
            MetricsServiceServer::new(self.clone())
                .accept_compressed(gzip)
                .accept_compressed(zstd),
        )
        .add_service(
            LogsServiceServer::new(self.clone())
                .accept_compressed(gzip)
                .accept_compressed(zstd),
        );
        serve(routes, tls).await
    }

    /// Records the export; `Ok(Some((rejected, message)))` for a partial success.
    fn record<T>(
        &self,
        request: tonic::Request<T>,
        payload: impl FnOnce(T) -> Payload,
    ) -> Result<Option<(i64, String)>, Status> {
        let metadata = request.metadata().clone().into_headers();
        let mut state = self.state.lock().unwrap();
        state.seen.push(SeenGrpc {
            metadata,
            payload: payload(request.into_inner()),
            at: Instant::now(),
        });
        match state.script.pop_front().or_else(|| state.default.clone()) {
            None => Ok(None),
            Some(GrpcReply::Partial(rejected, message)) => Ok(Some((rejected, message.into()))),
            Some(GrpcReply::Fail(code, message)) => Err(Status::new(code, message)),
            Some(GrpcReply::FailWithRetryInfo(code, message, delay)) => {
                let details =
                    crate::client::rpc_status::status_with_retry_info(code as i32, message, delay);
                Err(Status::with_details(code, message, details.into()))
            }
        }
    }
}

#[async_trait::async_trait]
impl TraceService for GrpcBackend {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, Status> {
        let partial = self.record(request, Payload::Traces)?;
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: partial.map(|(rejected_spans, error_message)| {
                ExportTracePartialSuccess {
                    rejected_spans,
                    error_message,
                }
            }),
        }))
    }
}

#[async_trait::async_trait]
impl MetricsService for GrpcBackend {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, Status> {
        let partial = self.record(request, Payload::Metrics)?;
        Ok(tonic::Response::new(ExportMetricsServiceResponse {
            partial_success: partial.map(|(rejected_data_points, error_message)| {
                ExportMetricsPartialSuccess {
                    rejected_data_points,
                    error_message,
                }
            }),
        }))
    }
}

#[async_trait::async_trait]
impl LogsService for GrpcBackend {
    async fn export(
        &self,
        request: tonic::Request<ExportLogsServiceRequest>,
    ) -> Result<tonic::Response<ExportLogsServiceResponse>, Status> {
        let partial = self.record(request, Payload::Logs)?;
        Ok(tonic::Response::new(ExportLogsServiceResponse {
            partial_success: partial.map(|(rejected_log_records, error_message)| {
                ExportLogsPartialSuccess {
                    rejected_log_records,
                    error_message,
                }
            }),
        }))
    }
}
