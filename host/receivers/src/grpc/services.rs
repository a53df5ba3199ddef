//! The OTLP collector services: decode is tonic's; this hands the message to the pipeline and
//! maps the outcome to a gRPC status.

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::LogsService;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::MetricsService;
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::TraceService;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use sluice_pipeline::{ConsumeError, Payload, Signal};
use tonic::{Request, Response, Status};

use crate::auth::Identity;
use crate::connection::ConnectionInfo;
use crate::ingest::{DeliverError, Ingest};

pub(crate) struct Services {
    ingest: Ingest,
}

impl Services {
    pub fn new(ingest: Ingest) -> Self {
        Services { ingest }
    }

    async fn export<T>(
        &self,
        signal: Signal,
        request: Request<T>,
        payload: fn(T) -> Payload,
    ) -> Result<(), Status> {
        if !self.ingest.has_pipeline(signal) {
            return Err(self.status(DeliverError::NoPipeline(signal)));
        }
        let (metadata, extensions, message) = request.into_parts();
        let headers = metadata.into_headers();
        let context = self.ingest.context(
            extensions.get::<ConnectionInfo>(),
            extensions.get::<Identity>(),
            &headers,
        );
        self.ingest
            .deliver(payload(message), context)
            .await
            .map_err(|e| self.status(e))
    }

    fn status(&self, error: DeliverError) -> Status {
        match error {
            DeliverError::NoPipeline(signal) => Status::unimplemented(
                DeliverError::no_pipeline_message(self.ingest.receiver(), signal),
            ),
            DeliverError::Consume(ConsumeError::Refused { reason, .. }) => {
                Status::unavailable(format!("data refused, retry later: {reason}"))
            }
            DeliverError::Consume(ConsumeError::Invalid(reason)) => {
                Status::invalid_argument(format!("invalid data: {reason}"))
            }
            DeliverError::Consume(ConsumeError::Internal(reason)) => {
                Status::internal(format!("internal error: {reason}"))
            }
        }
    }
}

#[tonic::async_trait]
impl TraceService for Services {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        Services::export(self, Signal::Traces, request, Payload::Traces).await?;
        Ok(Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Services {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        Services::export(self, Signal::Metrics, request, Payload::Metrics).await?;
        Ok(Response::new(ExportMetricsServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl LogsService for Services {
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        Services::export(self, Signal::Logs, request, Payload::Logs).await?;
        Ok(Response::new(ExportLogsServiceResponse::default()))
    }
}
