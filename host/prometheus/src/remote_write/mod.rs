//! The `prometheusremotewrite` exporter's encoding: Prometheus remote write 1.0
//! (<https://prometheus.io/docs/specs/prw/remote_write_spec/>).
//!
//! A request body is a `prometheus.WriteRequest` ([`proto`]) in protobuf, compressed with
//! snappy's *block* format, POSTed with `Content-Encoding: snappy`, `Content-Type:
//! application/x-protobuf`, `X-Prometheus-Remote-Write-Version: 0.1.0` and a `User-Agent`. In
//! each series the labels are sorted by name and include `__name__`, and samples are in
//! timestamp order. A receiver answering 5xx or 429 may be retried ([`is_retryable`]); other
//! 4xx answers mean the data will never be accepted.
//!
//! This module builds the bodies and headers; sending them (HTTP client, TLS, `auth`, retries,
//! `timeout`) is the job of the network exporters' HTTP client in `sluice-exporters`, which
//! calls [`RemoteWriteEncoder`]:
//!
//! ```text
//! let encoder = RemoteWriteEncoder::new("prometheusremotewrite", &settings)?;
//! for body in encoder.encode(&request)?.bodies {
//!     POST encoder.endpoint() with encoder.headers() and body
//! }
//! ```

mod batch;
mod convert;
pub mod proto;

use http::header::{CONTENT_ENCODING, CONTENT_TYPE, HeaderName, HeaderValue, USER_AGENT};
use http::{HeaderMap, StatusCode, Uri};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use prost::Message;
use sluice_config::RemoteWriteExporterSettings;

use crate::PromError;
use crate::dropped::WarnOnce;
use crate::translate::Translator;
pub use convert::STALE_NAN;
use proto::WriteRequest;

/// `Content-Encoding` of every body.
pub const ENCODING: &str = "snappy";
/// `Content-Type` of every body.
pub const PROTOBUF: &str = "application/x-protobuf";
/// The version header's name.
pub const VERSION_HEADER: &str = "X-Prometheus-Remote-Write-Version";
/// The version header's value for remote write 1.0.
pub const VERSION: &str = "0.1.0";

/// The headers the remote write 1.0 specification requires on every request.
pub fn required_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_ENCODING, HeaderValue::from_static(ENCODING));
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(PROTOBUF));
    headers.insert(
        HeaderName::from_static("x-prometheus-remote-write-version"),
        HeaderValue::from_static(VERSION),
    );
    headers.insert(
        USER_AGENT,
        HeaderValue::from_static(concat!("Sluice/", env!("CARGO_PKG_VERSION"))),
    );
    headers
}

/// Whether a remote-write answer with `status` may be retried (5xx and 429, as the
/// specification says); other non-2xx answers are final.
pub fn is_retryable(status: StatusCode) -> bool {
    status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS
}

/// Snappy (block format) compression of an encoded `WriteRequest`.
pub fn compress(protobuf: &[u8]) -> Result<Vec<u8>, snap::Error> {
    snap::raw::Encoder::new().compress_vec(protobuf)
}

/// A body back into its `WriteRequest` (for tests and for receivers of remote write).
pub fn decode(body: &[u8]) -> Result<WriteRequest, PromError> {
    let raw = snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| PromError::Decompress(e.to_string()))?;
    Ok(WriteRequest::decode(raw.as_slice())?)
}

/// The bodies for one export.
#[derive(Debug, Default)]
pub struct Encoded {
    /// Snappy-compressed `WriteRequest`s, each below `max_batch_size_bytes` before compression
    /// (samples first, then metadata when `send_metadata` is on).
    pub bodies: Vec<Vec<u8>>,
    /// Series and samples in the bodies.
    pub series: usize,
    pub samples: usize,
    /// Data points that could not be translated (delta temporality, ...), already logged once
    /// per metric; count them as failed.
    pub dropped_points: usize,
}

/// Turns OTLP metric exports into remote-write request bodies for one exporter.
#[derive(Debug)]
pub struct RemoteWriteEncoder {
    id: String,
    endpoint: Uri,
    headers: HeaderMap,
    translator: Translator,
    target_info: bool,
    send_metadata: bool,
    max_batch_size_bytes: usize,
    warn: WarnOnce,
}

fn translator(settings: &RemoteWriteExporterSettings, add_suffixes: bool) -> Translator {
    Translator::new(
        &settings.namespace,
        add_suffixes,
        settings.resource_to_telemetry_conversion.enabled,
        &settings.external_labels,
    )
}

impl RemoteWriteEncoder {
    /// Check `endpoint` (an http or https URL) and `headers`, and refuse UTF-8
    /// `translation_strategy` values. A configured header that would replace a required one is
    /// ignored with a WARN.
    pub fn new(
        id: &str,
        settings: &RemoteWriteExporterSettings,
    ) -> Result<RemoteWriteEncoder, PromError> {
        let add_suffixes = match settings.translation_strategy {
            None => settings.add_metric_suffixes,
            Some(strategy) => {
                strategy
                    .add_suffixes()
                    .ok_or_else(|| PromError::UnsupportedStrategy {
                        exporter: id.to_owned(),
                        strategy: strategy.as_str(),
                    })?
            }
        };
        let endpoint = parse_endpoint(id, &settings.endpoint)?;
        let mut headers = required_headers();
        for (name, value) in &settings.headers {
            let invalid = |reason: String| PromError::InvalidHeader {
                exporter: id.to_owned(),
                name: name.clone(),
                reason,
            };
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| invalid(format!("not a valid header name: {e}")))?;
            let value = HeaderValue::from_str(value)
                .map_err(|e| invalid(format!("not a valid header value: {e}")))?;
            if header == CONTENT_ENCODING
                || header == CONTENT_TYPE
                || header.as_str().eq_ignore_ascii_case(VERSION_HEADER)
            {
                tracing::warn!(
                    exporter = id,
                    header = name.as_str(),
                    "headers: remote write requires its own value of this header; the \
                     configured one is ignored"
                );
                continue;
            }
            headers.insert(header, value);
        }
        Ok(RemoteWriteEncoder {
            id: id.to_owned(),
            endpoint,
            headers,
            translator: translator(settings, add_suffixes),
            target_info: settings.target_info.enabled,
            send_metadata: settings.send_metadata,
            max_batch_size_bytes: settings.max_batch_size_bytes,
            warn: WarnOnce::default(),
        })
    }

    /// Where the bodies are POSTed.
    pub fn endpoint(&self) -> &Uri {
        &self.endpoint
    }

    /// Every header of a request: the required ones, `User-Agent`, and the configured ones.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The uncompressed requests for one export (series, then metadata if `send_metadata`).
    pub fn write_requests(&self, request: &ExportMetricsServiceRequest) -> Vec<WriteRequest> {
        self.requests(request).0
    }

    fn requests(&self, request: &ExportMetricsServiceRequest) -> (Vec<WriteRequest>, Encoded) {
        let converted = convert::convert(
            request,
            &convert::Options {
                exporter: &self.id,
                translator: &self.translator,
                target_info: self.target_info,
                warn: &self.warn,
            },
        );
        let stats = Encoded {
            bodies: Vec::new(),
            series: converted.series.len(),
            samples: converted.samples,
            dropped_points: converted.dropped,
        };
        let metadata = if self.send_metadata {
            converted.metadata
        } else {
            Vec::new()
        };
        let requests = batch::batch(converted.series, metadata, self.max_batch_size_bytes);
        (requests, stats)
    }

    /// The snappy-compressed bodies for one export. Fails only when a request is too large for
    /// snappy (gigabytes), which `max_batch_size_bytes` prevents.
    pub fn encode(&self, request: &ExportMetricsServiceRequest) -> Result<Encoded, PromError> {
        let (requests, mut encoded) = self.requests(request);
        for request in requests {
            let protobuf = request.encode_to_vec();
            let body = compress(&protobuf).map_err(|e| PromError::Compress {
                exporter: self.id.clone(),
                bytes: protobuf.len(),
                reason: e.to_string(),
            })?;
            encoded.bodies.push(body);
        }
        Ok(encoded)
    }
}

fn parse_endpoint(id: &str, endpoint: &str) -> Result<Uri, PromError> {
    let invalid = |reason: String| PromError::InvalidEndpoint {
        exporter: id.to_owned(),
        endpoint: endpoint.to_owned(),
        reason,
    };
    let uri: Uri = endpoint.parse().map_err(|e| invalid(format!("{e}")))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        Some(other) => return Err(invalid(format!("scheme {other:?} is not http or https"))),
        None => return Err(invalid("no scheme (http:// or https://)".to_owned())),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(invalid("no host".to_owned()));
    }
    Ok(uri)
}

/// The snappy-compressed remote-write bodies for `request` under `settings`, split at
/// `max_batch_size_bytes` (uncompressed). Headers: [`required_headers`] plus
/// `settings.headers`. This skips [`RemoteWriteEncoder::new`]'s checks: a UTF-8
/// `translation_strategy` counts as "with suffixes", and a body snappy cannot compress is
/// logged and left out.
pub fn write_requests(
    request: &ExportMetricsServiceRequest,
    settings: &RemoteWriteExporterSettings,
) -> Vec<Vec<u8>> {
    let add_suffixes = settings
        .translation_strategy
        .map_or(settings.add_metric_suffixes, |s| {
            s.add_suffixes().unwrap_or(true)
        });
    let encoder = RemoteWriteEncoder {
        id: "prometheusremotewrite".to_owned(),
        endpoint: Uri::from_static("http://localhost/"),
        headers: required_headers(),
        translator: translator(settings, add_suffixes),
        target_info: settings.target_info.enabled,
        send_metadata: settings.send_metadata,
        max_batch_size_bytes: settings.max_batch_size_bytes,
        warn: WarnOnce::default(),
    };
    encoder
        .write_requests(request)
        .into_iter()
        .filter_map(|request| {
            let protobuf = request.encode_to_vec();
            compress(&protobuf)
                .map_err(|error| {
                    tracing::error!(
                        bytes = protobuf.len(),
                        %error,
                        "cannot snappy-compress a remote-write request; lower max_batch_size_bytes"
                    );
                })
                .ok()
        })
        .collect()
}

#[cfg(test)]
mod tests;
