//! Reading OTLP responses: HTTP status and body, or gRPC status, message and partial success.

use std::io::Read;

use bytes::{Buf, Bytes};
use http::header::HeaderMap;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;

use crate::transport::Outcome;

pub fn http_outcome(status: http::StatusCode, body: &Bytes) -> Outcome {
    if status.is_success() {
        // A JSON or empty body (some servers) counts as full success.
        let rejected = ExportTraceServiceResponse::decode(body.clone())
            .ok()
            .and_then(|r| r.partial_success)
            .map_or(0, |p| p.rejected_spans.max(0) as u64);
        return Outcome::Ok { rejected };
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(300)])
        .trim()
        .to_string();
    Outcome::failed(format!("http {}", status.as_u16()), text)
}

pub fn grpc_outcome(
    status: http::StatusCode,
    headers: &HeaderMap,
    trailers: Option<&HeaderMap>,
    body: Bytes,
) -> Outcome {
    if status != http::StatusCode::OK {
        return Outcome::failed(
            format!("http {}", status.as_u16()),
            "gRPC call answered without HTTP 200",
        );
    }
    // Trailers-only responses carry the status in the headers.
    let source = trailers
        .filter(|t| t.contains_key("grpc-status"))
        .unwrap_or(headers);
    let Some(code) = source
        .get("grpc-status")
        .and_then(|v| v.to_str().ok()?.parse::<u32>().ok())
    else {
        return Outcome::failed("grpc no status", "response has no grpc-status");
    };
    if code != 0 {
        let message = source
            .get("grpc-message")
            .map_or(String::new(), |v| percent_decode(v.as_bytes()));
        return Outcome::failed(format!("grpc {}", grpc_code_name(code)), message);
    }
    let compressed = headers
        .get("grpc-encoding")
        .is_some_and(|v| v != "identity");
    let rejected = grpc_message(body, compressed)
        .and_then(|m| ExportTraceServiceResponse::decode(m.as_slice()).ok())
        .and_then(|r| r.partial_success)
        .map_or(0, |p| p.rejected_spans.max(0) as u64);
    Outcome::Ok { rejected }
}

/// The first length-prefixed message of a gRPC body, decompressed.
fn grpc_message(mut body: Bytes, gzip: bool) -> Option<Vec<u8>> {
    if body.len() < 5 {
        return None;
    }
    let flag = body.get_u8();
    let len = body.get_u32() as usize;
    let message = body.get(..len)?;
    if flag == 1 && gzip {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(message)
            .read_to_end(&mut out)
            .ok()?;
        Some(out)
    } else {
        Some(message.to_vec())
    }
}

/// `grpc-message` is percent-encoded (gRPC over HTTP/2 spec).
fn percent_decode(value: &[u8]) -> String {
    let mut out = Vec::with_capacity(value.len());
    let mut i = 0;
    while i < value.len() {
        let hex = value
            .get(i + 1..i + 3)
            .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
        match (value[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn grpc_code_name(code: u32) -> String {
    const NAMES: [&str; 17] = [
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    ];
    NAMES
        .get(code as usize)
        .map_or_else(|| format!("code {code}"), |n| (*n).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::HeaderValue;
    #[test]
    fn grpc_status_in_trailers_wins_over_headers() {
        let headers = HeaderMap::new();
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", HeaderValue::from_static("14"));
        trailers.insert("grpc-message", HeaderValue::from_static("pipeline%20full%"));
        let outcome = grpc_outcome(
            http::StatusCode::OK,
            &headers,
            Some(&trailers),
            Bytes::new(),
        );
        assert!(matches!(outcome, Outcome::Failed { kind, detail }
            if kind == "grpc UNAVAILABLE" && detail == "pipeline full%"));
    }

    #[test]
    fn grpc_partial_success_counts_rejected_spans() {
        let response = ExportTraceServiceResponse {
            partial_success: Some(
                opentelemetry_proto::tonic::collector::trace::v1::ExportTracePartialSuccess {
                    rejected_spans: 7,
                    error_message: "too old".into(),
                },
            ),
        };
        let encoded = response.encode_to_vec();
        let mut body = vec![0u8];
        body.extend_from_slice(&(encoded.len() as u32).to_be_bytes());
        body.extend_from_slice(&encoded);
        let mut headers = HeaderMap::new();
        headers.insert("grpc-status", HeaderValue::from_static("0"));
        let outcome = grpc_outcome(
            http::StatusCode::OK,
            &HeaderMap::new(),
            Some(&headers),
            body.into(),
        );
        assert!(matches!(outcome, Outcome::Ok { rejected: 7 }));
    }

    #[test]
    fn http_error_keeps_status_and_body() {
        let outcome = http_outcome(
            http::StatusCode::SERVICE_UNAVAILABLE,
            &Bytes::from_static(b"busy"),
        );
        assert!(
            matches!(outcome, Outcome::Failed { kind, detail } if kind == "http 503" && detail == "busy")
        );
    }
}
