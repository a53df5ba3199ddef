//! The `Export` methods of the three OTLP collector services as unary gRPC services on tonic's
//! [`Grpc`]. tonic reads the frame (decompression, size limit) and writes the answer; the
//! message is decoded here, so bad protobuf gets `InvalidArgument`. The payload goes to the
//! pipeline and the outcome becomes the gRPC status.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use http_body_util::BodyExt;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;
use sluice_pipeline::{ConsumeError, Signal};
use tonic::codec::CompressionEncoding;
use tonic::server::Grpc;
use tonic::{Code, Request, Response, Status};

use super::codec::ExportCodec;
use crate::auth::Identity;
use crate::connection::ConnectionInfo;
use crate::ingest::{DeliverError, Ingest, Received};
use crate::rpc_status::{self, code};
use crate::tenancy::Refusal;

/// The gRPC path of a signal's `Export` method.
pub(crate) fn path(signal: Signal) -> &'static str {
    match signal {
        Signal::Traces => "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        Signal::Metrics => "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
        Signal::Logs => "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
    }
}

/// What the three methods share.
pub(crate) struct Shared {
    pub ingest: Ingest,
    /// `max_recv_msg_size_mib` in bytes, on the wire and decompressed.
    pub max_message_size: usize,
}

/// The `Export` method of one signal.
#[derive(Clone)]
pub(crate) struct Export {
    signal: Signal,
    shared: Arc<Shared>,
}

impl Export {
    pub fn new(signal: Signal, shared: Arc<Shared>) -> Self {
        Export { signal, shared }
    }

    /// One gRPC exchange, answering with an `R` (the signal's `Export*ServiceResponse`).
    async fn serve<R>(
        self,
        request: http::Request<axum::body::Body>,
    ) -> http::Response<tonic::body::Body>
    where
        R: Message + Default + Send + 'static,
    {
        let mut grpc = Grpc::new(ExportCodec::<R>::default())
            .max_decoding_message_size(self.shared.max_message_size)
            .accept_compressed(CompressionEncoding::Gzip)
            .accept_compressed(CompressionEncoding::Zstd)
            .send_compressed(CompressionEncoding::Gzip)
            .send_compressed(CompressionEncoding::Zstd);
        // Count the request's bytes as they arrive (compressed, framed) for `bytes_per_second`.
        let wire_bytes = Arc::new(AtomicUsize::new(0));
        let (parts, body) = request.into_parts();
        let counter = wire_bytes.clone();
        let body = body.map_frame(move |frame| {
            if let Some(data) = frame.data_ref() {
                counter.fetch_add(data.len(), Ordering::Relaxed);
            }
            frame
        });
        let request = http::Request::from_parts(parts, body);
        let export = &self;
        let wire_bytes = &wire_bytes;
        let method = tower::service_fn(move |request: Request<Bytes>| async move {
            export
                .export(request, wire_bytes.load(Ordering::Relaxed))
                .await?;
            Ok::<_, Status>(Response::new(R::default()))
        });
        grpc.unary(method, request).await
    }

    async fn export(&self, request: Request<Bytes>, wire_bytes: usize) -> Result<(), Status> {
        let ingest = &self.shared.ingest;
        if !ingest.has_pipeline(self.signal) {
            return Err(status(ingest, DeliverError::NoPipeline(self.signal)));
        }
        let (metadata, extensions, message) = request.into_parts();
        // The same decoding, and error message, as a protobuf body over OTLP/HTTP.
        let payload = crate::http::codec::Codec::Protobuf
            .read(self.signal, &message, ingest.reads_bytes(self.signal))
            .map_err(Status::invalid_argument)?;
        let headers = metadata.into_headers();
        let context = ingest.context(
            extensions.get::<ConnectionInfo>(),
            extensions.get::<Identity>(),
            &headers,
        );
        let received = Received {
            headers: &headers,
            wire_bytes,
            protobuf: Some(message),
        };
        ingest
            .deliver(payload, context, received)
            .await
            .map_err(|e| status(ingest, e))
    }
}

impl tower::Service<http::Request<axum::body::Body>> for Export {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<axum::body::Body>) -> Self::Future {
        let export = self.clone();
        Box::pin(async move {
            Ok(match export.signal {
                Signal::Traces => export.serve::<ExportTraceServiceResponse>(request).await,
                Signal::Metrics => export.serve::<ExportMetricsServiceResponse>(request).await,
                Signal::Logs => export.serve::<ExportLogsServiceResponse>(request).await,
            })
        })
    }
}

/// The gRPC status of a request the pipeline did not take.
fn status(ingest: &Ingest, error: DeliverError) -> Status {
    match error {
        DeliverError::NoPipeline(signal) => {
            Status::unimplemented(DeliverError::no_pipeline_message(ingest.receiver(), signal))
        }
        DeliverError::Consume(ConsumeError::Refused { reason, .. }) => {
            Status::unavailable(format!("data refused, retry later: {reason}"))
        }
        DeliverError::Tenancy(refusal) => tenancy_status(&refusal),
        DeliverError::Consume(ConsumeError::Invalid(reason)) => {
            Status::invalid_argument(format!("invalid data: {reason}"))
        }
        DeliverError::Consume(ConsumeError::Internal(reason)) => {
            Status::internal(format!("internal error: {reason}"))
        }
    }
}

/// `InvalidArgument` invalid tenant id, `Unauthenticated` no tenant, `ResourceExhausted` over
/// quota with a `google.rpc.RetryInfo` in the status details.
fn tenancy_status(refusal: &Refusal) -> Status {
    let message = refusal.message();
    match refusal {
        Refusal::InvalidTenant { .. } => Status::invalid_argument(message),
        Refusal::Unidentified { .. } => Status::unauthenticated(message),
        Refusal::Quota(_) => {
            let seconds = rpc_status::retry_seconds(refusal.retry_after().unwrap_or_default());
            let details = rpc_status::with_retry_info(
                code::RESOURCE_EXHAUSTED,
                message.clone(),
                Duration::from_secs(seconds),
            );
            Status::with_details(
                Code::ResourceExhausted,
                message,
                Bytes::from(details.encode_to_vec()),
            )
        }
    }
}
