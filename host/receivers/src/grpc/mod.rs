//! `protocols.grpc`: the three OTLP collector services (tonic), behind an authentication layer
//! that runs before the request message is read.
//!
//! Limits and compression: `max_recv_msg_size_mib` caps the message before and after
//! decompression; gzip and zstd requests are accepted, and responses are compressed when the
//! client asks for it (`grpc-accept-encoding`). tonic answers a message whose declared length is
//! over the limit with `OutOfRange` and a compressed message that inflates past it with
//! `ResourceExhausted` (grpc-go uses `ResourceExhausted` for both).

mod services;

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::LogsServiceServer;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::MetricsServiceServer;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::TraceServiceServer;
use sluice_config::GrpcServerSettings;
use tonic::codec::CompressionEncoding;
use tonic::service::Routes;

use crate::auth::Gate;
use crate::connection::ConnectionInfo;
use crate::ingest::Ingest;

const MIB: usize = 1024 * 1024;

/// The router of the gRPC listener.
pub(crate) fn router(settings: &GrpcServerSettings, ingest: Ingest, gate: Gate) -> axum::Router {
    let services = Arc::new(services::Services::new(ingest));
    let limit = max_message_size(settings.max_recv_msg_size_mib);
    macro_rules! server {
        ($server:ident) => {
            $server::from_arc(services.clone())
                .max_decoding_message_size(limit)
                .accept_compressed(CompressionEncoding::Gzip)
                .accept_compressed(CompressionEncoding::Zstd)
                .send_compressed(CompressionEncoding::Gzip)
                .send_compressed(CompressionEncoding::Zstd)
        };
    }
    let router = Routes::new(server!(TraceServiceServer))
        .add_service(server!(MetricsServiceServer))
        .add_service(server!(LogsServiceServer))
        .prepare()
        .into_axum_router();
    if gate.is_open() {
        router
    } else {
        router.layer(axum::middleware::from_fn_with_state(gate, authenticate))
    }
}

/// `max_recv_msg_size_mib` in bytes; 0 means the default (4 MiB), as in the Collector.
fn max_message_size(mib: u64) -> usize {
    let mib = if mib == 0 {
        GrpcServerSettings::default().max_recv_msg_size_mib
    } else {
        mib
    };
    usize::try_from(mib)
        .unwrap_or(usize::MAX)
        .saturating_mul(MIB)
}

/// Check credentials from the request headers; the identity travels on as an extension.
async fn authenticate(State(gate): State<Gate>, mut request: Request, next: Next) -> Response {
    let peer = request.extensions().get::<ConnectionInfo>().map(|c| c.peer);
    match gate.check(request.headers(), peer).await {
        Ok(identity) => {
            if let Some(identity) = identity {
                request.extensions_mut().insert(identity);
            }
            next.run(request).await
        }
        Err(denied) => tonic::Status::unauthenticated(denied.message).into_http(),
    }
}
