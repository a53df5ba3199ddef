//! The two OTLP/HTTP encodings: binary protobuf and OTLP/JSON.
//!
//! OTLP/JSON is decoded with `opentelemetry-proto`'s serde derives (feature `with-serde`):
//! lowerCamelCase field names, trace and span ids as hex (either case), enums as integers, and
//! 64-bit integers as strings or numbers; [`super::otlp_json`] repairs the derives' gaps. The
//! tests decode the OTLP specification's example documents and compare them with the
//! equivalent protobuf.

use bytes::Bytes;
use http::HeaderValue;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use sluice_pipeline::{Encoded, Payload, Signal};

use super::otlp_json;

pub(crate) const PROTOBUF: &str = "application/x-protobuf";
pub(crate) const JSON: &str = "application/json";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Codec {
    Protobuf,
    Json,
}

impl Codec {
    /// The codec of a `Content-Type` value; parameters (`; charset=utf-8`) are ignored.
    pub fn from_content_type(value: Option<&HeaderValue>) -> Option<Codec> {
        let value = value?.to_str().ok()?;
        let media_type = value.split(';').next().unwrap_or_default().trim();
        if media_type.eq_ignore_ascii_case(PROTOBUF) {
            Some(Codec::Protobuf)
        } else if media_type.eq_ignore_ascii_case(JSON) {
            Some(Codec::Json)
        } else {
            None
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Codec::Protobuf => PROTOBUF,
            Codec::Json => JSON,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Codec::Protobuf => "protobuf",
            Codec::Json => "JSON",
        }
    }

    /// Read an export request of `signal`: when `bytes_only` (the pipeline reads requests as
    /// bytes) a protobuf body is only checked ([`Encoded::checked`]); otherwise it is decoded.
    /// The error says which message and encoding failed.
    pub fn read(self, signal: Signal, body: &Bytes, bytes_only: bool) -> Result<Payload, String> {
        if bytes_only && self == Codec::Protobuf {
            return Encoded::checked(signal, body.clone(), None)
                .map_err(|reason| self.error(signal, reason));
        }
        self.decode(signal, body)
    }

    fn error(self, signal: Signal, reason: impl std::fmt::Display) -> String {
        format!(
            "cannot decode {} as {}: {reason}",
            request_name(signal),
            self.name()
        )
    }

    /// Decode an export request of `signal`; the error says which message and encoding failed.
    pub fn decode(self, signal: Signal, body: &[u8]) -> Result<Payload, String> {
        let decoded = match (self, signal) {
            (Codec::Protobuf, Signal::Traces) => ExportTraceServiceRequest::decode(body)
                .map(Payload::Traces)
                .map_err(|e| e.to_string()),
            (Codec::Protobuf, Signal::Metrics) => ExportMetricsServiceRequest::decode(body)
                .map(Payload::Metrics)
                .map_err(|e| e.to_string()),
            (Codec::Protobuf, Signal::Logs) => ExportLogsServiceRequest::decode(body)
                .map(Payload::Logs)
                .map_err(|e| e.to_string()),
            (Codec::Json, Signal::Traces) => otlp_json::decode(body).map(Payload::Traces),
            (Codec::Json, Signal::Metrics) => otlp_json::decode_metrics(body).map(Payload::Metrics),
            (Codec::Json, Signal::Logs) => otlp_json::decode(body).map(Payload::Logs),
        };
        decoded.map_err(|reason| self.error(signal, reason))
    }

    /// The body of a full success: an empty `Export*ServiceResponse`.
    pub fn success(self) -> Bytes {
        match self {
            // An empty message encodes to zero bytes.
            Codec::Protobuf => Bytes::new(),
            Codec::Json => Bytes::from_static(b"{}"),
        }
    }
}

fn request_name(signal: Signal) -> &'static str {
    match signal {
        Signal::Traces => "ExportTraceServiceRequest",
        Signal::Metrics => "ExportMetricsServiceRequest",
        Signal::Logs => "ExportLogsServiceRequest",
    }
}
