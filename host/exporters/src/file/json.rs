//! Encoding of one request as a file record: an OTLP/JSON line or a length-prefixed protobuf.

use prost::Message as _;
use sluice_config::FileFormat;
use sluice_pipeline::{DecodeError, Payload};

/// The OTLP/JSON encoding of one export request (`{"resourceSpans":[...]}`), on one line: ids as
/// lowercase hex, field names in lowerCamelCase, enums as integers, 64-bit integers as strings,
/// as the OTLP specification's JSON Protobuf Encoding.
/// An `Encoded` payload is decoded first (a decoding error comes back as a `serde_json` error).
pub fn to_otlp_json(payload: &Payload) -> Result<String, serde_json::Error> {
    match payload {
        Payload::Traces(r) => serde_json::to_string(r),
        Payload::Metrics(r) => serde_json::to_string(r),
        Payload::Logs(r) => serde_json::to_string(r),
        Payload::Encoded(_) => match payload.decoded() {
            Ok(decoded) => to_otlp_json(&decoded),
            Err(e) => Err(serde::ser::Error::custom(e)),
        },
    }
}

/// Why a request could not be encoded.
#[derive(Debug, thiserror::Error)]
pub(super) enum EncodeError {
    #[error("{0}")]
    Decode(#[from] DecodeError),
    #[error("cannot encode the request as OTLP/JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("cannot encode the request as protobuf: {0}")]
    Proto(#[from] prost::EncodeError),
    #[error("request of {0} bytes is too large for a length-prefixed record (4 GiB at most)")]
    TooLarge(usize),
}

/// One record of the file: a JSON line ending in `\n`, or the protobuf bytes preceded by their
/// length as a 4-byte big-endian integer (the Collector's `proto` format).
pub(super) fn record(payload: &Payload, format: FileFormat) -> Result<Vec<u8>, EncodeError> {
    match format {
        FileFormat::Json => {
            let mut line = to_otlp_json(&*payload.decoded()?)?.into_bytes();
            line.push(b'\n');
            Ok(line)
        }
        FileFormat::Proto => {
            let len = payload.encoded_len();
            let prefix = u32::try_from(len).map_err(|_| EncodeError::TooLarge(len))?;
            let mut out = Vec::with_capacity(4 + len);
            out.extend_from_slice(&prefix.to_be_bytes());
            match payload {
                Payload::Traces(r) => r.encode(&mut out)?,
                Payload::Metrics(r) => r.encode(&mut out)?,
                Payload::Logs(r) => r.encode(&mut out)?,
                // The bytes as they travel, not decoded: a `proto` file holds them as received.
                Payload::Encoded(e) => out.extend_from_slice(e.bytes()),
            }
            Ok(out)
        }
    }
}
