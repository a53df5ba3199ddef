//! The `otlp` receiver: OTLP over gRPC (`protocols.grpc`, tonic) and over HTTP
//! (`protocols.http`, axum), for traces, metrics and logs, answering clients as the
//! OpenTelemetry Collector's `otlpreceiver` does.
//!
//! [`start`] validates what it can (authenticator references, TLS material), binds every
//! listener and only then starts serving, so a bad endpoint or certificate fails start-up
//! instead of a background task. Each listener runs one accept loop (`listener`) that does TLS,
//! records who is on the other end of the connection (`connection`) and serves HTTP/1.1 and
//! HTTP/2 (with h2c prior knowledge, which gRPC clients use) on the same port.
//!
//! Both protocols share the request path after decoding (`ingest`): authentication, the
//! [`RequestContext`](sluice_pipeline::RequestContext), the tenant and its quotas (`tenancy`)
//! and the accepted / refused counters. A client gets success only after the pipeline's
//! [`Consumer`] returned `Ok`.
//!
//! # Where Sluice answers differently from the Collector
//!
//! - gRPC message over `max_recv_msg_size_mib`: tonic answers `OutOfRange` when the declared
//!   length is over the limit and `ResourceExhausted` when a compressed message inflates past
//!   it (grpc-go says `ResourceExhausted` for both).
//! - HTTP 413 (body over `max_request_body_size`, on the wire or decompressed) carries a
//!   `google.rpc.Status` with code 3 `InvalidArgument`: retrying cannot help.
//! - `Content-Encoding` `gzip`, `zstd` and `deflate` (zlib) are accepted; `snappy` and `lz4`
//!   get 400. zstd frames may use windows up to 8 MiB (more only for larger body limits).
//! - `include_metadata` never copies `authorization`, `proxy-authorization`, `cookie` or
//!   `set-cookie`.
//! - Not applied yet: `grpc.keepalive`, `grpc.read_buffer_size`, `grpc.write_buffer_size`.
//! - OTLP/JSON: see `http::otlp_json` for what is repaired on top of `opentelemetry-proto`'s
//!   serde support (silently dropped metric data is refused; `null` and enum names accepted).
#![forbid(unsafe_code)]

mod auth;
mod connection;
mod context;
mod error;
mod grpc;
mod http;
mod ingest;
mod listener;
mod rpc_status;
mod tenancy;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use sluice_config::{
    ComponentId, GrpcServerSettings, HttpServerSettings, OtlpReceiverSettings, Signal,
};
use sluice_pipeline::metrics::Metrics;
use sluice_pipeline::{Consumer, Transport};

pub use error::ReceiverError;
pub use tenancy::{Tenancies, Tenancy};

use crate::auth::Gate;
use crate::ingest::Ingest;

/// The pipelines a receiver feeds, one per signal. A signal without a consumer is answered
/// like the Collector answers a signal no pipeline uses: gRPC `Unimplemented`, HTTP 404.
#[derive(Clone, Default)]
pub struct SignalConsumers {
    pub traces: Option<Arc<dyn Consumer>>,
    pub metrics: Option<Arc<dyn Consumer>>,
    pub logs: Option<Arc<dyn Consumer>>,
}

impl SignalConsumers {
    /// The consumer of one signal, if a pipeline takes it.
    pub fn get(&self, signal: Signal) -> Option<&Arc<dyn Consumer>> {
        match signal {
            Signal::Traces => self.traces.as_ref(),
            Signal::Metrics => self.metrics.as_ref(),
            Signal::Logs => self.logs.as_ref(),
        }
    }
}

/// Server authenticators by extension id (`basicauth/server`), as `auth.authenticator` names them.
pub type Authenticators = HashMap<ComponentId, Arc<dyn sluice_auth::ServerAuthenticator>>;

/// Start the `otlp` receiver `id`: bind every configured protocol's listener and serve it.
/// `tenancies` holds the running `tenancy` extensions; the receiver's `tenancy:` field picks
/// one, shared with every other receiver naming it.
///
/// Returns once every listener is bound; errors name the field that caused them
/// (`receivers.otlp.protocols.grpc.endpoint: cannot listen on 0.0.0.0:4317: address in use`).
/// Nothing keeps running when an error is returned.
pub async fn start(
    id: &ComponentId,
    settings: &OtlpReceiverSettings,
    consumers: SignalConsumers,
    authenticators: &Authenticators,
    tenancies: &Tenancies,
    metrics: &Metrics,
) -> Result<RunningReceiver, ReceiverError> {
    let tenancy = match &settings.tenancy {
        Some(tenancy) => match tenancies.get(tenancy) {
            Some(running) => Some(running.clone()),
            None => {
                return Err(ReceiverError::UnknownTenancy {
                    path: format!("receivers.{id}.tenancy"),
                    tenancy: tenancy.to_string(),
                });
            }
        },
        None => None,
    };
    let common = Common {
        id,
        receiver: Arc::from(id.to_string()),
        consumers,
        authenticators,
        tenancy,
        metrics,
    };
    let grpc = match &settings.protocols.grpc {
        Some(grpc) => Some(common.prepare_grpc(grpc).await?),
        None => None,
    };
    let http = match &settings.protocols.http {
        Some(http) => Some(common.prepare_http(http).await?),
        None => None,
    };
    // Everything is bound and loaded: only now start serving (and reloading certificates).
    Ok(RunningReceiver {
        grpc: grpc.map(listener::Prepared::spawn),
        http: http.map(listener::Prepared::spawn),
    })
}

/// What both protocols of one receiver are built from.
struct Common<'a> {
    id: &'a ComponentId,
    receiver: Arc<str>,
    consumers: SignalConsumers,
    authenticators: &'a Authenticators,
    tenancy: Option<Arc<Tenancy>>,
    metrics: &'a Metrics,
}

impl Common<'_> {
    fn ingest(&self, transport: Transport, include_metadata: bool) -> Ingest {
        Ingest::new(
            self.receiver.clone(),
            transport,
            self.consumers.clone(),
            self.metrics.receiver(&self.receiver, transport.as_str()),
            include_metadata,
            self.tenancy.clone(),
        )
    }

    async fn prepare_grpc(
        &self,
        grpc: &GrpcServerSettings,
    ) -> Result<listener::Prepared, ReceiverError> {
        let path = format!("receivers.{}.protocols.grpc", self.id);
        if grpc.transport != "tcp" {
            return Err(ReceiverError::UnsupportedTransport {
                path: format!("{path}.transport"),
                transport: grpc.transport.clone(),
            });
        }
        let gate = Gate::resolve(grpc.auth.as_ref(), self.authenticators, &path)?;
        let tls = listener::load_tls(grpc.tls.as_ref(), &path)?;
        let (tcp, addr) = listener::bind(&grpc.endpoint, &format!("{path}.endpoint")).await?;
        let ingest = self.ingest(Transport::Grpc, grpc.include_metadata);
        Ok(listener::Prepared {
            tcp,
            addr,
            tls,
            router: grpc::router(grpc, ingest, gate),
            options: listener::Options {
                receiver: self.receiver.clone(),
                transport: Transport::Grpc,
                max_concurrent_streams: grpc.max_concurrent_streams,
            },
        })
    }

    async fn prepare_http(
        &self,
        http: &HttpServerSettings,
    ) -> Result<listener::Prepared, ReceiverError> {
        let path = format!("receivers.{}.protocols.http", self.id);
        let gate = Gate::resolve(http.auth.as_ref(), self.authenticators, &path)?;
        let tls = listener::load_tls(http.tls.as_ref(), &path)?;
        let ingest = self.ingest(Transport::Http, http.include_metadata);
        let router = http::router(http, ingest, gate, &path)?;
        let (tcp, addr) = listener::bind(&http.endpoint, &format!("{path}.endpoint")).await?;
        Ok(listener::Prepared {
            tcp,
            addr,
            tls,
            router,
            options: listener::Options {
                receiver: self.receiver.clone(),
                transport: Transport::Http,
                max_concurrent_streams: None,
            },
        })
    }
}

/// A started receiver. Dropping it without [`RunningReceiver::shutdown`] closes its listeners
/// and connections at once.
pub struct RunningReceiver {
    grpc: Option<listener::Server>,
    http: Option<listener::Server>,
}

impl RunningReceiver {
    /// The address the gRPC listener is bound to (the real port when configured with port 0).
    pub fn grpc_addr(&self) -> Option<SocketAddr> {
        self.grpc.as_ref().map(listener::Server::local_addr)
    }

    /// The address the HTTP listener is bound to (the real port when configured with port 0).
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http.as_ref().map(listener::Server::local_addr)
    }

    /// Graceful: stop accepting new connections, let in-flight requests finish (bounded by
    /// `grace`), then close what is left and return.
    pub async fn shutdown(self, grace: Duration) {
        let grpc = async {
            if let Some(server) = self.grpc {
                server.shutdown(grace).await;
            }
        };
        let http = async {
            if let Some(server) = self.http {
                server.shutdown(grace).await;
            }
        };
        futures::join!(grpc, http);
    }
}
