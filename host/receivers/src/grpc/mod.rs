//! `protocols.grpc`: the three OTLP collector services (our own unary services on tonic's
//! `Grpc`, see `service`), behind an authentication layer that runs before the request message
//! is read. A message that is not protobuf is answered `InvalidArgument`.
//!
//! Limits and compression: `max_recv_msg_size_mib` caps the message before and after
//! decompression; gzip and zstd requests are accepted, and responses are compressed when the
//! client asks for it (`grpc-accept-encoding`). tonic answers a message whose declared length is
//! over the limit with `OutOfRange` and a compressed message that inflates past it with
//! `ResourceExhausted` (grpc-go uses `ResourceExhausted` for both).

mod codec;
mod service;

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use sluice_config::{GrpcServerSettings, Signal};

use crate::auth::Gate;
use crate::connection::ConnectionInfo;
use crate::ingest::Ingest;

const MIB: usize = 1024 * 1024;

/// The router of the gRPC listener.
pub(crate) fn router(settings: &GrpcServerSettings, ingest: Ingest, gate: Gate) -> axum::Router {
    let shared = Arc::new(service::Shared {
        ingest,
        max_message_size: max_message_size(settings.max_recv_msg_size_mib),
    });
    let router = Signal::ALL
        .into_iter()
        .fold(axum::Router::new(), |router, signal| {
            router.route_service(
                service::path(signal),
                service::Export::new(signal, shared.clone()),
            )
        })
        .fallback(unknown_method);
    if gate.is_open() {
        router
    } else {
        router.layer(axum::middleware::from_fn_with_state(gate, authenticate))
    }
}

/// Any other path: `Unimplemented`, as gRPC servers answer an unknown service or method.
async fn unknown_method(request: Request) -> Response {
    tonic::Status::unimplemented(format!("unknown gRPC method {}", request.uri().path()))
        .into_http()
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
