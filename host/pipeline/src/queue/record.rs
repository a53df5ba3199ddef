//! The record stored for one queued request: the signal's protobuf payload and the request
//! context needed to deliver it correctly later (receiver, transport, peer, the authenticated
//! identity and the metadata), as a small protobuf message.

use std::collections::BTreeMap;
use std::sync::Arc;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

use bytes::Bytes;

use crate::{AuthInfo, Batch, Encoded, Form, Payload, RequestContext, Signal, Transport};

/// Version of the record layout; a record of another version is skipped with a warning.
const FORMAT: u32 = 1;

/// Field number of [`StoredRecord::payload`], written by hand after the other fields.
const PAYLOAD_TAG: u32 = 3;

#[derive(Clone, PartialEq, prost::Message)]
struct StoredRecord {
    #[prost(uint32, tag = "1")]
    format: u32,
    /// 1 traces, 2 metrics, 3 logs.
    #[prost(uint32, tag = "2")]
    signal: u32,
    /// The `Export*ServiceRequest` of the signal.
    #[prost(bytes = "vec", tag = "3")]
    payload: Vec<u8>,
    #[prost(string, tag = "4")]
    receiver: String,
    /// `grpc` or `http`.
    #[prost(string, optional, tag = "5")]
    transport: Option<String>,
    #[prost(string, optional, tag = "6")]
    peer: Option<String>,
    #[prost(message, optional, tag = "7")]
    auth: Option<StoredAuth>,
    #[prost(message, repeated, tag = "8")]
    metadata: Vec<StoredMetadata>,
    /// Absent in records written before tenancy existed: read back as no tenant.
    #[prost(string, optional, tag = "9")]
    tenant: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct StoredAuth {
    #[prost(string, optional, tag = "1")]
    username: Option<String>,
    #[prost(string, optional, tag = "2")]
    token_name: Option<String>,
    #[prost(string, optional, tag = "3")]
    client_subject: Option<String>,
    #[prost(string, optional, tag = "4")]
    client_cn: Option<String>,
    #[prost(string, repeated, tag = "5")]
    client_sans: Vec<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct StoredMetadata {
    #[prost(string, tag = "1")]
    key: String,
    #[prost(string, repeated, tag = "2")]
    values: Vec<String>,
}

fn signal_number(signal: Signal) -> u32 {
    match signal {
        Signal::Traces => 1,
        Signal::Metrics => 2,
        Signal::Logs => 3,
    }
}

/// Encode `batch` as a record placed after `prefix` zero bytes (room for the frame header, so
/// the frame is built without another copy). Fails only if memory runs out.
pub(crate) fn encode(batch: &Batch, prefix: usize) -> Result<Vec<u8>, prost::EncodeError> {
    let context = &batch.context;
    let auth = &*context.auth;
    let stored_auth = (*auth != AuthInfo::default()).then(|| StoredAuth {
        username: auth.username.clone(),
        token_name: auth.token_name.clone(),
        client_subject: auth.client_subject.clone(),
        client_cn: auth.client_cn.clone(),
        client_sans: auth.client_sans.clone(),
    });
    let head = StoredRecord {
        format: FORMAT,
        signal: signal_number(batch.payload.signal()),
        // Empty here, so not encoded: appended below straight from the request.
        payload: Vec::new(),
        receiver: context.receiver.to_string(),
        transport: context.transport.map(|t| t.as_str().to_owned()),
        peer: context.peer.map(|p| p.to_string()),
        auth: stored_auth,
        tenant: context.tenant.as_deref().map(str::to_owned),
        metadata: context
            .metadata
            .iter()
            .map(|(key, values)| StoredMetadata {
                key: key.clone(),
                values: values.clone(),
            })
            .collect(),
    };
    let payload_len = batch.payload.encoded_len();
    let mut buf = Vec::with_capacity(prefix + head.encoded_len() + payload_len + 11);
    buf.resize(prefix, 0);
    head.encode(&mut buf)?;
    // Field 3, length-delimited: protobuf lets a field follow the others in any order.
    put_varint(u64::from(PAYLOAD_TAG << 3 | 2), &mut buf);
    put_varint(payload_len as u64, &mut buf);
    match &batch.payload {
        Payload::Traces(r) => r.encode(&mut buf)?,
        Payload::Metrics(r) => r.encode(&mut buf)?,
        Payload::Logs(r) => r.encode(&mut buf)?,
        Payload::Encoded(e) => buf.extend_from_slice(e.bytes()),
    }
    Ok(buf)
}

fn put_varint(mut value: u64, buf: &mut Vec<u8>) {
    while value >= 0x80 {
        buf.push((value as u8) | 0x80);
        value >>= 7;
    }
    buf.push(value as u8);
}

/// Decode a record into the batch it was made from, holding its payload in form `keep`. The
/// payload is decoded in both cases, so a record that would not decode is found now. The error
/// says why it is unusable.
pub(crate) fn decode(bytes: &[u8], expected: Signal, keep: Form) -> Result<Batch, String> {
    let record = StoredRecord::decode(bytes).map_err(|e| format!("not a queue record: {e}"))?;
    if record.format != FORMAT {
        return Err(format!(
            "record format {} (this Sluice reads format {FORMAT})",
            record.format
        ));
    }
    if record.signal != signal_number(expected) {
        return Err(format!(
            "record of signal number {} in the {expected} queue",
            record.signal
        ));
    }
    let payload = record.payload.as_slice();
    let decoded = match expected {
        Signal::Traces => ExportTraceServiceRequest::decode(payload).map(Payload::Traces),
        Signal::Metrics => ExportMetricsServiceRequest::decode(payload).map(Payload::Metrics),
        Signal::Logs => ExportLogsServiceRequest::decode(payload).map(Payload::Logs),
    }
    .map_err(|e| format!("{expected} payload does not decode: {e}"))?;
    let payload = match keep {
        Form::Wire => Encoded::with_decoded(Bytes::from(record.payload), decoded).slim(keep),
        Form::Decoded => decoded,
    };
    let auth = record.auth.map_or_else(AuthInfo::default, |a| AuthInfo {
        username: a.username,
        token_name: a.token_name,
        client_subject: a.client_subject,
        client_cn: a.client_cn,
        client_sans: a.client_sans,
    });
    let transport = match record.transport.as_deref() {
        Some("grpc") => Some(Transport::Grpc),
        Some("http") => Some(Transport::Http),
        _ => None,
    };
    let metadata: BTreeMap<String, Vec<String>> = record
        .metadata
        .into_iter()
        .map(|m| (m.key, m.values))
        .collect();
    let context = RequestContext {
        receiver: Arc::from(record.receiver),
        transport,
        peer: record.peer.and_then(|p| p.parse().ok()),
        auth: Arc::new(auth),
        tenant: record.tenant.map(Arc::from),
        metadata: Arc::new(metadata),
    };
    Ok(Batch::new(payload, context))
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};

    use super::*;

    pub(crate) fn logs_batch(body: &str) -> Batch {
        let record = LogRecord {
            severity_text: body.into(),
            ..Default::default()
        };
        let payload = Payload::Logs(ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                scope_logs: vec![ScopeLogs {
                    log_records: vec![record],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        });
        let context = RequestContext {
            receiver: Arc::from("otlp/internal"),
            transport: Some(Transport::Http),
            peer: Some("10.0.0.7:5100".parse().unwrap()),
            auth: Arc::new(AuthInfo {
                username: Some("tenant-a".into()),
                token_name: None,
                client_subject: Some("CN=app,O=Org".into()),
                client_cn: Some("app".into()),
                client_sans: vec!["app.internal".into(), "spiffe://x/app".into()],
            }),
            tenant: Some(Arc::from("acme")),
            metadata: Arc::new(BTreeMap::from([(
                "x-scope-orgid".to_owned(),
                vec!["a".to_owned(), "b".to_owned()],
            )])),
        };
        Batch::new(payload, context)
    }

    #[test]
    fn payload_and_context_round_trip() {
        let batch = logs_batch("hello");
        let bytes = encode(&batch, 8).unwrap();
        assert_eq!(&bytes[..8], &[0; 8]);
        let back = decode(&bytes[8..], Signal::Logs, Form::Decoded).unwrap();
        assert_eq!(back.payload, batch.payload);
        assert_eq!(back.context.receiver, batch.context.receiver);
        assert_eq!(back.context.transport, batch.context.transport);
        assert_eq!(back.context.peer, batch.context.peer);
        assert_eq!(back.context.auth, batch.context.auth);
        assert_eq!(back.context.metadata, batch.context.metadata);
    }

    #[test]
    fn wire_bytes_are_stored_as_they_are_and_read_back_as_bytes() {
        let mut batch = logs_batch("wire");
        let raw = batch.payload.to_wire();
        batch.payload = Encoded::with_decoded(raw.clone(), batch.payload);
        let record = encode(&batch, 0).unwrap();
        let back = decode(&record, Signal::Logs, Form::Wire).unwrap();
        assert_eq!(back.payload.wire(), Some(&raw));
        assert_eq!(back.payload.item_count(), 1);
        let decoded = decode(&record, Signal::Logs, Form::Decoded).unwrap();
        assert_eq!(Some(decoded.payload), batch.payload.into_decoded().ok());
    }

    #[test]
    fn a_default_context_round_trips() {
        let mut batch = logs_batch("x");
        batch.context = RequestContext::default();
        let back = decode(&encode(&batch, 0).unwrap(), Signal::Logs, Form::Decoded).unwrap();
        assert_eq!(back.payload, batch.payload);
        assert_eq!(*back.context.auth, AuthInfo::default());
        assert!(back.context.metadata.is_empty());
        assert_eq!(back.context.transport, None);
    }

    #[test]
    fn wrong_signal_format_or_garbage_is_an_error() {
        let bytes = encode(&logs_batch("x"), 0).unwrap();
        assert!(
            decode(&bytes, Signal::Traces, Form::Decoded)
                .unwrap_err()
                .contains("signal")
        );
        assert!(decode(b"\xff\xff\xff", Signal::Logs, Form::Decoded).is_err());
        let mut newer = Vec::new();
        put_varint(1 << 3, &mut newer);
        put_varint(2, &mut newer);
        assert!(
            decode(&newer, Signal::Logs, Form::Decoded)
                .unwrap_err()
                .contains("format 2")
        );
    }
}
