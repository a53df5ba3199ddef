//! The OTLP exporters: [`grpc::OtlpGrpcExporter`] (`otlp`) and [`http::OtlpHttpExporter`]
//! (`otlphttp`).

pub mod grpc;
pub mod http;
mod raw;
