//! The OTLP exporters: [`grpc::OtlpGrpcExporter`] (`otlp`) and [`http::OtlpHttpExporter`]
//! (`otlphttp`).

pub mod grpc;
mod grpc_compression;
pub mod http;
mod raw;
