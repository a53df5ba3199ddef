//! OTLP payloads of the three signals and their item counts.

use std::borrow::Cow;

use bytes::Bytes;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::Metric;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;

use crate::encoded::{DecodeError, Encoded};
use crate::{RequestContext, Signal};

/// One OTLP export request: decoded, or as protobuf bytes ([`Payload::Encoded`]).
///
/// A stage that reads or changes requests takes [`Payload::into_decoded`] (or
/// [`Payload::decoded`]) and never matches the three decoded variants alone: an `Encoded` payload
/// is a request of its signal too. A stage that only moves requests keeps the payload as it is,
/// so bytes received or produced by a guest are not decoded and encoded again.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    Traces(ExportTraceServiceRequest),
    Metrics(ExportMetricsServiceRequest),
    Logs(ExportLogsServiceRequest),
    /// A request as OTLP protobuf bytes, with its decoded form when it is already known.
    Encoded(Encoded),
}

/// Which form of an [`Encoded`] payload a holder keeps ([`Payload::slim`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Form {
    /// The bytes (for stages that send them as they are).
    #[default]
    Wire,
    /// The decoded request when it is known, else the bytes.
    Decoded,
}

impl Payload {
    pub fn signal(&self) -> Signal {
        match self {
            Payload::Traces(_) => Signal::Traces,
            Payload::Metrics(_) => Signal::Metrics,
            Payload::Logs(_) => Signal::Logs,
            Payload::Encoded(e) => e.signal(),
        }
    }

    /// Spans, metric data points or log records, as the Collector counts them.
    pub fn item_count(&self) -> usize {
        match self {
            Payload::Encoded(e) => e.items(),
            Payload::Traces(r) => r
                .resource_spans
                .iter()
                .flat_map(|rs| &rs.scope_spans)
                .map(|ss| ss.spans.len())
                .sum(),
            Payload::Metrics(r) => r
                .resource_metrics
                .iter()
                .flat_map(|rm| &rm.scope_metrics)
                .flat_map(|sm| &sm.metrics)
                .map(data_point_count)
                .sum(),
            Payload::Logs(r) => r
                .resource_logs
                .iter()
                .flat_map(|rl| &rl.scope_logs)
                .map(|sl| sl.log_records.len())
                .sum(),
        }
    }

    /// Size of the protobuf encoding, in bytes (computed for a decoded payload).
    pub fn encoded_len(&self) -> usize {
        use prost::Message;
        match self {
            Payload::Traces(r) => r.encoded_len(),
            Payload::Metrics(r) => r.encoded_len(),
            Payload::Logs(r) => r.encoded_len(),
            Payload::Encoded(e) => e.bytes().len(),
        }
    }

    /// The protobuf bytes, when the payload travels as bytes.
    pub fn wire(&self) -> Option<&Bytes> {
        match self {
            Payload::Encoded(e) => Some(e.bytes()),
            _ => None,
        }
    }

    /// The protobuf bytes: shared for an `Encoded` payload, encoded for the others.
    pub fn to_wire(&self) -> Bytes {
        use prost::Message;
        match self {
            Payload::Traces(r) => Bytes::from(r.encode_to_vec()),
            Payload::Metrics(r) => Bytes::from(r.encode_to_vec()),
            Payload::Logs(r) => Bytes::from(r.encode_to_vec()),
            Payload::Encoded(e) => e.bytes().clone(),
        }
    }

    /// The decoded request (never `Encoded`): an `Encoded` payload gives its known decoded form,
    /// or decodes its bytes. The error names the processor that produced bad bytes.
    pub fn into_decoded(self) -> Result<Payload, DecodeError> {
        match self {
            Payload::Encoded(e) => e.into_decoded(),
            decoded => Ok(decoded),
        }
    }

    /// The decoded request (never `Encoded`), borrowed when it is known.
    pub fn decoded(&self) -> Result<Cow<'_, Payload>, DecodeError> {
        match self {
            Payload::Encoded(e) => match e.known_decoded() {
                Some(decoded) => Ok(Cow::Borrowed(decoded)),
                None => e.decode().map(Cow::Owned),
            },
            decoded => Ok(Cow::Borrowed(decoded)),
        }
    }

    /// Keeps one form of an `Encoded` payload that holds two (see [`Form`]), to hold less
    /// memory while it waits; other payloads are returned as they are.
    pub fn slim(self, keep: Form) -> Payload {
        match (self, keep) {
            (Payload::Encoded(e), Form::Wire) => Payload::Encoded(e.without_decoded()),
            (Payload::Encoded(e), Form::Decoded) => e.without_bytes(),
            (other, _) => other,
        }
    }

    /// A copy for a stage that reads requests in `form`: only the (shared) bytes of an
    /// `Encoded` payload for a stage that reads bytes, else a full copy.
    pub fn share(&self, form: Form) -> Payload {
        match (self, form) {
            (Payload::Encoded(e), Form::Wire) => Payload::Encoded(e.bytes_only()),
            (other, _) => other.clone(),
        }
    }

    /// An empty request of the given signal.
    pub fn empty(signal: Signal) -> Payload {
        match signal {
            Signal::Traces => Payload::Traces(Default::default()),
            Signal::Metrics => Payload::Metrics(Default::default()),
            Signal::Logs => Payload::Logs(Default::default()),
        }
    }
}

/// Data points of one metric.
pub fn data_point_count(metric: &Metric) -> usize {
    match metric.data.as_ref() {
        Some(Data::Gauge(g)) => g.data_points.len(),
        Some(Data::Sum(s)) => s.data_points.len(),
        Some(Data::Histogram(h)) => h.data_points.len(),
        Some(Data::ExponentialHistogram(h)) => h.data_points.len(),
        Some(Data::Summary(s)) => s.data_points.len(),
        None => 0,
    }
}

/// A payload with the context it arrived in.
#[derive(Debug, Clone)]
pub struct Batch {
    pub payload: Payload,
    pub context: RequestContext,
}

impl Batch {
    pub fn new(payload: Payload, context: RequestContext) -> Self {
        Batch { payload, context }
    }
}
