//! A recording HTTP backend for exporter tests: it stores every request (method, path, headers,
//! body decoded from its `Content-Encoding`) and answers what the test's [`Answer`] says, over
//! HTTP/1.1 or HTTP/2, plaintext or TLS. Loki's push API is checked in [`crate::loki`].

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use parking_lot::Mutex;
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::{PATIENCE, poll};

/// One request the backend received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    /// The body after undoing `Content-Encoding` (gzip, zstd).
    pub body: Bytes,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// What the backend answers: status, extra headers, body.
pub type Answer = (StatusCode, Vec<(&'static str, String)>, Bytes);

type Responder = Box<dyn Fn(&Recorded) -> Answer + Send + Sync>;

struct Shared {
    requests: Mutex<Vec<Recorded>>,
    responder: Mutex<Responder>,
}

/// A running backend. Dropping it stops listening.
pub struct Backend {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Backend {
    /// Plaintext on 127.0.0.1:0, answering 200 with an empty body.
    pub async fn start() -> Result<Backend> {
        Backend::listen(TcpListener::bind("127.0.0.1:0").await?, None)
    }

    /// TLS with this certificate and key (PEM files), ALPN h2 and http/1.1.
    pub async fn start_tls(
        cert_file: &std::path::Path,
        key_file: &std::path::Path,
    ) -> Result<Backend> {
        let certs = CertificateDer::pem_file_iter(cert_file)?.collect::<Result<Vec<_>, _>>()?;
        let key = PrivateKeyDer::from_pem_file(key_file)?;
        let mut config =
            ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()?
                .with_no_client_auth()
                .with_single_cert(certs, key)?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Backend::listen(
            TcpListener::bind("127.0.0.1:0").await?,
            Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))),
        )
    }

    fn listen(listener: TcpListener, tls: Option<tokio_rustls::TlsAcceptor>) -> Result<Backend> {
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            requests: Mutex::new(Vec::new()),
            responder: Mutex::new(Box::new(|_| (StatusCode::OK, Vec::new(), Bytes::new()))),
        });
        let task = tokio::spawn(serve(listener, tls, shared.clone()));
        Ok(Backend { addr, shared, task })
    }

    /// Answer every later request with `respond(request)`.
    pub fn respond(&self, respond: impl Fn(&Recorded) -> Answer + Send + Sync + 'static) {
        *self.shared.responder.lock() = Box::new(respond);
    }

    /// `http://127.0.0.1:port` (or `https://` for a TLS backend: the caller knows which).
    pub fn url(&self, scheme: &str) -> String {
        format!("{scheme}://{}", self.addr)
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().clone()
    }

    /// Wait (bounded) until at least `n` requests arrived.
    pub async fn wait_for_requests(&self, n: usize) -> Result<Vec<Recorded>> {
        let got = poll(PATIENCE, || async {
            let requests = self.requests();
            (requests.len() >= n).then_some(requests)
        })
        .await;
        match got {
            Some(requests) => Ok(requests),
            None => bail!(
                "the backend received {} requests, expected at least {n}",
                self.requests().len()
            ),
        }
    }
}

async fn serve(listener: TcpListener, tls: Option<tokio_rustls::TlsAcceptor>, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let (shared, tls) = (shared.clone(), tls.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(handle(request, &shared).await) }
            });
            let builder = auto::Builder::new(TokioExecutor::new());
            match tls {
                Some(acceptor) => {
                    if let Ok(stream) = acceptor.accept(stream).await {
                        let _ = builder
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    }
                }
                None => {
                    let _ = builder
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                }
            }
        });
    }
}

async fn handle(request: http::Request<Incoming>, shared: &Shared) -> http::Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let raw = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let body = match decode(&parts.headers, &raw) {
        Ok(body) => body,
        Err(e) => {
            return answer((
                StatusCode::BAD_REQUEST,
                Vec::new(),
                Bytes::from(format!("cannot decode body: {e:#}")),
            ));
        }
    };
    let recorded = Recorded {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        headers: parts.headers,
        body,
    };
    let reply = (shared.responder.lock())(&recorded);
    shared.requests.lock().push(recorded);
    answer(reply)
}

fn answer((status, headers, body): Answer) -> http::Response<Full<Bytes>> {
    let mut response = http::Response::new(Full::new(body));
    *response.status_mut() = status;
    for (name, value) in headers {
        if let Ok(value) = http::HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

fn decode(headers: &HeaderMap, raw: &Bytes) -> Result<Bytes> {
    use std::io::Read;
    match headers
        .get(http::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
    {
        None | Some("identity") => Ok(raw.clone()),
        Some("gzip") => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&raw[..])
                .read_to_end(&mut out)
                .context("gzip")?;
            Ok(out.into())
        }
        Some("zstd") => Ok(zstd::decode_all(&raw[..]).context("zstd")?.into()),
        Some(other) => bail!("unsupported Content-Encoding {other:?}"),
    }
}
