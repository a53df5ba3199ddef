//! [`Encoded`]: an export request as OTLP protobuf bytes, so that bytes received or produced by a
//! guest travel on without being decoded and encoded again by stages that do not look inside.

use std::fmt;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use prost::Message;

use crate::split::merge;
use crate::wire::{self, WireError};
use crate::{ConsumeError, Payload, Signal};

/// An export request as OTLP protobuf bytes (the `Export*ServiceRequest` of its signal), with its
/// decoded form when it is already known.
///
/// The fields are private so that what they say holds by construction: `decoded`, when present,
/// is what `bytes` decode to and is never itself `Encoded`; `items` is the item count of `bytes`.
/// Stages that change a request work on [`Payload::into_decoded`], so bytes are never stale.
#[derive(Clone)]
pub struct Encoded {
    signal: Signal,
    bytes: Bytes,
    items: usize,
    decoded: Option<Box<Payload>>,
    /// The processor that produced `bytes`, for error messages.
    origin: Option<Arc<str>>,
}

/// Bytes from a guest whose protobuf framing is broken.
#[derive(Debug, Clone, thiserror::Error)]
#[error("malformed OTLP {signal} request from processor {origin}: {problem}")]
pub struct FramingError {
    pub signal: Signal,
    pub origin: Arc<str>,
    pub problem: WireError,
}

/// Bytes that do not decode as the request of their signal.
#[derive(Debug, Clone)]
pub struct DecodeError {
    pub signal: Signal,
    /// The processor that produced the bytes.
    pub origin: Option<Arc<str>>,
    pub source: prost::DecodeError,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed OTLP {} request", self.signal)?;
        if let Some(origin) = &self.origin {
            write!(f, " from processor {origin}")?;
        }
        write!(f, ": {}", self.source)
    }
}

impl std::error::Error for DecodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

impl From<DecodeError> for ConsumeError {
    fn from(e: DecodeError) -> Self {
        ConsumeError::Invalid(e.to_string())
    }
}

impl Encoded {
    /// For receivers: `bytes` as received and `decoded`, what they decode to. `bytes` must be
    /// exactly what `decoded` was decoded from. An `Encoded` `decoded` is returned as it is.
    pub fn with_decoded(bytes: Bytes, decoded: Payload) -> Payload {
        if let Payload::Encoded(_) = decoded {
            return decoded;
        }
        Payload::Encoded(Encoded {
            signal: decoded.signal(),
            items: decoded.item_count(),
            bytes,
            decoded: Some(Box::new(decoded)),
            origin: None,
        })
    }

    /// Bytes that processor `origin` (a guest) produced, not decoded: their framing is checked
    /// down to the items, which are counted (see [`crate::wire`]); what is inside the items is
    /// checked only by a stage that decodes them.
    pub fn from_guest(
        signal: Signal,
        bytes: Bytes,
        origin: Arc<str>,
    ) -> Result<Payload, FramingError> {
        match wire::count_items(signal, &bytes) {
            Ok(items) => Ok(Payload::Encoded(Encoded {
                signal,
                bytes,
                items,
                decoded: None,
                origin: Some(origin),
            })),
            Err(problem) => Err(FramingError {
                signal,
                origin,
                problem,
            }),
        }
    }

    /// Bytes checked to decode without decoding them ([`wire::validate`], which also counts
    /// their items): a request as received, for a receiver whose pipeline reads bytes, or what
    /// processor `origin` returned.
    pub fn checked(
        signal: Signal,
        bytes: Bytes,
        origin: Option<Arc<str>>,
    ) -> Result<Payload, wire::Invalid> {
        let items = wire::validate(signal, &bytes)?;
        Ok(Payload::Encoded(Encoded {
            signal,
            bytes,
            items,
            decoded: None,
            origin,
        }))
    }

    pub fn signal(&self) -> Signal {
        self.signal
    }

    /// Spans, metric data points or log records.
    pub fn items(&self) -> usize {
        self.items
    }

    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The decoded request, when it is known without decoding.
    pub fn known_decoded(&self) -> Option<&Payload> {
        self.decoded.as_deref()
    }

    /// The processor that produced the bytes, if a processor did.
    pub fn origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }

    /// Decodes the bytes (ignoring a known decoded form).
    pub(crate) fn decode(&self) -> Result<Payload, DecodeError> {
        let bytes = self.bytes.as_ref();
        let decoded = match self.signal {
            Signal::Traces => Message::decode(bytes).map(Payload::Traces),
            Signal::Metrics => Message::decode(bytes).map(Payload::Metrics),
            Signal::Logs => Message::decode(bytes).map(Payload::Logs),
        };
        decoded.map_err(|source| DecodeError {
            signal: self.signal,
            origin: self.origin.clone(),
            source,
        })
    }

    pub(crate) fn into_decoded(self) -> Result<Payload, DecodeError> {
        match self.decoded {
            Some(decoded) => Ok(*decoded),
            None => self.decode(),
        }
    }

    /// Bytes the host encoded itself, holding `items` items: nothing to check.
    pub(crate) fn from_host(signal: Signal, bytes: Bytes, items: usize) -> Payload {
        Payload::Encoded(Encoded {
            signal,
            bytes,
            items,
            decoded: None,
            origin: None,
        })
    }

    /// A copy of the bytes only (shared, not copied).
    pub(crate) fn bytes_only(&self) -> Encoded {
        Encoded {
            signal: self.signal,
            bytes: self.bytes.clone(),
            items: self.items,
            decoded: None,
            origin: self.origin.clone(),
        }
    }

    /// The bytes only.
    pub(crate) fn without_decoded(mut self) -> Encoded {
        self.decoded = None;
        self
    }

    /// The decoded request only, when it is known; else the bytes.
    pub(crate) fn without_bytes(self) -> Payload {
        match self.decoded {
            Some(decoded) => *decoded,
            None => Payload::Encoded(self),
        }
    }
}

impl PartialEq for Encoded {
    fn eq(&self, other: &Self) -> bool {
        self.signal == other.signal && self.bytes == other.bytes
    }
}

impl fmt::Debug for Encoded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Encoded")
            .field("signal", &self.signal)
            .field("bytes", &self.bytes.len())
            .field("items", &self.items)
            .field("decoded", &self.decoded.is_some())
            .field("origin", &self.origin)
            .finish()
    }
}

/// One request of `signal` with the items of `parts` (all of `signal`), in order, for the batch
/// processor. Nothing is decoded: when some part is bytes only, the result is bytes only (parts
/// known only decoded are encoded, and the encodings concatenated: concatenated protobuf
/// requests are the request with their resources appended); otherwise the decoded parts are
/// merged, and the bytes concatenated too when every part has them.
pub(crate) fn join(signal: Signal, mut parts: Vec<Payload>) -> Payload {
    if parts.len() <= 1 {
        return parts.pop().unwrap_or_else(|| Payload::empty(signal));
    }
    let bytes_only = |p: &Payload| matches!(p, Payload::Encoded(e) if e.decoded.is_none());
    if parts.iter().any(bytes_only) {
        return Payload::Encoded(Encoded {
            signal,
            bytes: concatenated(&parts),
            items: parts.iter().map(Payload::item_count).sum(),
            decoded: None,
            origin: parts.iter().find_map(|p| match p {
                Payload::Encoded(e) => e.origin.clone(),
                _ => None,
            }),
        });
    }
    let bytes = parts
        .iter()
        .all(|p| matches!(p, Payload::Encoded(_)))
        .then(|| concatenated(&parts));
    let mut merged = Payload::empty(signal);
    for part in parts {
        let decoded = match part {
            Payload::Encoded(e) => e.without_bytes(),
            decoded => decoded,
        };
        if let Err(lost) = merge(&mut merged, decoded) {
            // Callers join parts of one signal only.
            debug_assert_eq!(lost.signal(), signal, "a part of another signal was joined");
            tracing::error!(
                signal = %lost.signal(),
                items = lost.item_count(),
                "bug: a request of another signal was joined into a batch; it is lost"
            );
        }
    }
    match bytes {
        Some(bytes) => Encoded::with_decoded(bytes, merged),
        None => merged,
    }
}

/// The encodings of `parts`, one after the other.
fn concatenated(parts: &[Payload]) -> Bytes {
    let mut buf = BytesMut::with_capacity(parts.iter().map(Payload::encoded_len).sum());
    for part in parts {
        match part.wire() {
            Some(bytes) => buf.extend_from_slice(bytes),
            None => buf.extend_from_slice(&part.to_wire()),
        }
    }
    buf.freeze()
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

    use super::*;
    use crate::Form;

    fn traces(names: &[&str]) -> Payload {
        Payload::Traces(ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: names
                        .iter()
                        .map(|name| Span {
                            name: (*name).into(),
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
        })
    }

    fn from_guest(payload: &Payload) -> Payload {
        Encoded::from_guest(payload.signal(), payload.to_wire(), "wasm/g".into()).unwrap()
    }

    #[test]
    fn receiver_bytes_keep_their_decoded_form() {
        let decoded = traces(&["a", "b"]);
        let payload = Encoded::with_decoded(decoded.to_wire(), decoded.clone());
        assert_eq!(payload.item_count(), 2);
        assert_eq!(payload.signal(), Signal::Traces);
        assert_eq!(payload.encoded_len(), decoded.encoded_len());
        assert_eq!(payload.wire(), Some(&decoded.to_wire()));
        assert!(matches!(
            payload.decoded(),
            Ok(std::borrow::Cow::Borrowed(_))
        ));
        assert_eq!(payload.clone().into_decoded().ok(), Some(decoded.clone()));
        assert_eq!(payload.clone().slim(Form::Decoded), decoded);
        let wire_only = payload.slim(Form::Wire);
        assert!(matches!(&wire_only, Payload::Encoded(e) if e.known_decoded().is_none()));
        assert_eq!(wire_only.into_decoded().ok(), Some(decoded));
    }

    #[test]
    fn guest_bytes_are_counted_and_decoded_on_demand() {
        let decoded = traces(&["a", "b", "c"]);
        let payload = from_guest(&decoded);
        assert_eq!(payload.item_count(), 3);
        assert!(matches!(payload.decoded(), Ok(std::borrow::Cow::Owned(_))));
        assert_eq!(payload.into_decoded().ok(), Some(decoded));
    }

    #[test]
    fn errors_name_the_processor() {
        let framing = Encoded::from_guest(
            Signal::Logs,
            Bytes::from_static(b"\x0a\x05"),
            "wasm/x".into(),
        )
        .unwrap_err();
        assert_eq!(
            framing.to_string(),
            "malformed OTLP logs request from processor wasm/x: truncated length at byte 1"
        );
        // Good framing, but the span name is not UTF-8.
        let mut span = vec![0x2a, 0x02, 0xff, 0xfe];
        let mut scope = vec![0x12, span.len() as u8];
        scope.append(&mut span);
        let mut resource = vec![0x12, scope.len() as u8];
        resource.append(&mut scope);
        let mut request = vec![0x0a, resource.len() as u8];
        request.append(&mut resource);
        let payload =
            Encoded::from_guest(Signal::Traces, Bytes::from(request), "wasm/x".into()).unwrap();
        assert_eq!(payload.item_count(), 1);
        let error = payload.into_decoded().unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("malformed OTLP traces request from processor wasm/x: "),
            "{error}"
        );
        assert!(matches!(
            ConsumeError::from(error),
            ConsumeError::Invalid(m) if m.contains("wasm/x")
        ));
    }

    #[test]
    fn join_concatenates_bytes_and_never_decodes() {
        let (a, b) = (traces(&["a"]), traces(&["b", "c"]));
        let expected = {
            let mut all = a.clone();
            merge(&mut all, b.clone()).unwrap();
            all
        };
        // Bytes only, with a decoded part: bytes only, the decoded part encoded.
        let joined = join(Signal::Traces, vec![from_guest(&a), b.clone()]);
        assert!(matches!(&joined, Payload::Encoded(e) if e.known_decoded().is_none()));
        assert_eq!(joined.item_count(), 3);
        assert_eq!(joined.clone().into_decoded().ok(), Some(expected.clone()));
        // Both forms everywhere: both forms kept, consistent.
        let both = |p: &Payload| Encoded::with_decoded(p.to_wire(), p.clone());
        let joined = join(Signal::Traces, vec![both(&a), both(&b)]);
        let Payload::Encoded(e) = &joined else {
            panic!("{joined:?}")
        };
        assert_eq!(e.known_decoded(), Some(&expected));
        assert_eq!(e.decode().ok(), Some(expected.clone()));
        // Decoded somewhere: decoded.
        assert_eq!(join(Signal::Traces, vec![both(&a), b]), expected);
        assert_eq!(join(Signal::Logs, Vec::new()), Payload::empty(Signal::Logs));
    }
}
