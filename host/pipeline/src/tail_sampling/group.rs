//! Splitting an encoded traces request by trace id, keeping its resource and scope structure.

use std::hash::{DefaultHasher, Hash, Hasher};

use bytes::{Bytes, BytesMut};
use foldhash::{HashMap, HashMapExt};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::encoding::{encode_varint, encoded_len_varint};

use crate::wire::{self, TraceLevel, WireError};

/// A trace id as a map key. 16-byte ids are taken as they are; an empty id is the all-zero id
/// (as the Collector and the guest read it); other lengths, invalid in OTLP, are hashed to 128
/// bits so that each still forms its own trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct TraceKey(u128);

impl TraceKey {
    pub(crate) fn of(id: &[u8]) -> TraceKey {
        if let Ok(bytes) = <[u8; 16]>::try_from(id) {
            return TraceKey(u128::from_be_bytes(bytes));
        }
        if id.is_empty() {
            return TraceKey(0);
        }
        let half = |salt: u8| {
            let mut h = DefaultHasher::new();
            (salt, id).hash(&mut h);
            u128::from(h.finish())
        };
        TraceKey((half(0) << 64) | half(1))
    }
}

/// The spans of one trace taken from one request, encoded as `ResourceSpans` records of an
/// `ExportTraceServiceRequest` (field 1, tag and length included): the request's resource and
/// scope envelopes around them, the spans' bytes as they arrived. Records of several parts
/// concatenated are a request holding them all.
#[derive(Debug, Clone)]
pub(crate) struct TracePart {
    pub key: TraceKey,
    pub bytes: Vec<u8>,
    pub spans: usize,
}

/// Split an encoded traces request into one part per trace, in order of first appearance,
/// without decoding spans: each part gets a copy of the envelopes its spans came in (a trace
/// may span several resources and scopes) and of its spans' bytes.
pub(crate) fn group_by_trace(request: &[u8]) -> Result<Vec<TracePart>, WireError> {
    // Envelope fields per resource, and per scope with its resource.
    let mut resources: Vec<Vec<&[u8]>> = Vec::new();
    let mut scopes: Vec<(usize, Vec<&[u8]>)> = Vec::new();
    let mut index: HashMap<TraceKey, usize> = HashMap::new();
    // Per trace: its spans with the scope each came in, in order.
    let mut traces: Vec<(TraceKey, Vec<ScopedSpan>)> = Vec::new();
    wire::each_span_in_envelopes(request, |level| match level {
        TraceLevel::Resource(own) => resources.push(own),
        TraceLevel::Scope(own) => scopes.push((resources.len() - 1, own)),
        TraceLevel::Span { trace_id, span } => {
            let key = TraceKey::of(trace_id);
            let i = *index.entry(key).or_insert_with(|| {
                traces.push((key, Vec::new()));
                traces.len() - 1
            });
            traces[i].1.push((scopes.len() - 1, span));
        }
    })?;
    Ok(traces
        .into_iter()
        .map(|(key, spans)| TracePart {
            key,
            bytes: encode_part(&spans, &scopes, &resources),
            spans: spans.len(),
        })
        .collect())
}

/// A span's bytes with the index of the scope it came in.
type ScopedSpan<'a> = (usize, &'a [u8]);

/// `spans` (each with its scope index, in request order) in one `ResourceSpans` record per run
/// of spans of one resource, holding one `ScopeSpans` per run of spans of one scope.
fn encode_part(
    spans: &[ScopedSpan],
    scopes: &[(usize, Vec<&[u8]>)],
    resources: &[Vec<&[u8]>],
) -> Vec<u8> {
    let fields_len = |fields: &[&[u8]]| fields.iter().map(|f| f.len()).sum::<usize>();
    let record_len = |len: usize| 1 + encoded_len_varint(len as u64) + len;
    let scope_len = |run: &[ScopedSpan]| {
        fields_len(&scopes[run[0].0].1)
            + run.iter().map(|(_, s)| record_len(s.len())).sum::<usize>()
    };
    let resource_of = |run: &[ScopedSpan]| scopes[run[0].0].0;
    let resource_len = |run: &[ScopedSpan]| {
        fields_len(&resources[resource_of(run)])
            + run
                .chunk_by(|a, b| a.0 == b.0)
                .map(|s| record_len(scope_len(s)))
                .sum::<usize>()
    };
    let by_resource = || spans.chunk_by(|a, b| scopes[a.0].0 == scopes[b.0].0);
    let mut out = Vec::with_capacity(by_resource().map(|r| record_len(resource_len(r))).sum());
    for run in by_resource() {
        // Field 1 of the request, field 2 of the resource and of the scope: all length-delimited.
        out.push(0x0a);
        encode_varint(resource_len(run) as u64, &mut out);
        resources[resource_of(run)]
            .iter()
            .for_each(|f| out.extend_from_slice(f));
        for scope_run in run.chunk_by(|a, b| a.0 == b.0) {
            out.push(0x12);
            encode_varint(scope_len(scope_run) as u64, &mut out);
            scopes[scope_run[0].0]
                .1
                .iter()
                .for_each(|f| out.extend_from_slice(f));
            for (_, span) in scope_run {
                out.push(0x12);
                encode_varint(span.len() as u64, &mut out);
                out.extend_from_slice(span);
            }
        }
    }
    out
}

/// `parts` as one encoded request, and the spans it holds.
pub(crate) fn join_parts(parts: &[TracePart]) -> (Bytes, usize) {
    let request = request_of(parts.iter().map(|p| p.bytes.as_slice()));
    (request, parts.iter().map(|p| p.spans).sum())
}

/// One encoded request holding the given parts' records, in order.
pub(crate) fn request_of<'a, I>(parts: I) -> Bytes
where
    I: IntoIterator<Item = &'a [u8]>,
    I::IntoIter: Clone,
{
    let parts = parts.into_iter();
    let mut out = BytesMut::with_capacity(parts.clone().map(<[u8]>::len).sum());
    for part in parts {
        out.extend_from_slice(part);
    }
    out.freeze()
}

/// The trace key of every span in `request` (repeated for each span of a trace).
pub(crate) fn keys_of(request: &ExportTraceServiceRequest) -> impl Iterator<Item = TraceKey> + '_ {
    request
        .resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .flat_map(|ss| &ss.spans)
        .map(|span| TraceKey::of(&span.trace_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
    use prost::Message;
    use prost::encoding::{WireType, encode_key};

    fn span(trace: u8, name: &str) -> Span {
        Span {
            trace_id: vec![trace; 16],
            name: name.into(),
            ..Default::default()
        }
    }

    fn scope(name: &str, spans: Vec<Span>) -> ScopeSpans {
        ScopeSpans {
            scope: Some(InstrumentationScope {
                name: name.into(),
                ..Default::default()
            }),
            spans,
            ..Default::default()
        }
    }

    fn resource(schema_url: &str, service: &str, scope_spans: Vec<ScopeSpans>) -> ResourceSpans {
        ResourceSpans {
            resource: Some(Resource {
                attributes: vec![KeyValue {
                    key: "service.name".into(),
                    value: Some(AnyValue {
                        value: Some(any_value::Value::StringValue(service.into())),
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            scope_spans,
            schema_url: schema_url.into(),
        }
    }

    fn decode(part: &TracePart) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest::decode(part.bytes.as_slice()).expect("a part decodes")
    }

    #[test]
    fn groups_by_trace_keeping_resources_and_scopes() {
        let request = ExportTraceServiceRequest {
            resource_spans: vec![
                resource(
                    "r0",
                    "front",
                    vec![
                        scope("a", vec![span(1, "1a"), span(2, "2a"), span(1, "1b")]),
                        scope("b", vec![span(1, "1c")]),
                    ],
                ),
                resource("r1", "back", vec![scope("c", vec![span(2, "2b")])]),
            ],
        };
        let parts = group_by_trace(&request.encode_to_vec()).unwrap();
        assert_eq!(parts.len(), 2);
        let (one, two) = (&parts[0], &parts[1]);
        assert_eq!(one.key, TraceKey::of(&[1; 16]));
        assert_eq!(one.spans, 3);
        let expected_one = ExportTraceServiceRequest {
            resource_spans: vec![resource(
                "r0",
                "front",
                vec![
                    scope("a", vec![span(1, "1a"), span(1, "1b")]),
                    scope("b", vec![span(1, "1c")]),
                ],
            )],
        };
        assert_eq!(decode(one), expected_one);
        assert_eq!(two.key, TraceKey::of(&[2; 16]));
        assert_eq!(two.spans, 2);
        let expected_two = ExportTraceServiceRequest {
            resource_spans: vec![
                resource("r0", "front", vec![scope("a", vec![span(2, "2a")])]),
                resource("r1", "back", vec![scope("c", vec![span(2, "2b")])]),
            ],
        };
        assert_eq!(decode(two), expected_two);
        // Parts concatenated are one request holding them all.
        let joined = request_of(parts.iter().map(|p| p.bytes.as_slice()));
        let joined = ExportTraceServiceRequest::decode(joined).unwrap();
        let mut expected = expected_one.resource_spans;
        expected.extend(expected_two.resource_spans);
        assert_eq!(joined.resource_spans, expected);
    }

    #[test]
    fn envelope_fields_after_the_children_and_unknown_fields_are_kept() {
        // A resource whose schema_url and an unknown field (99) follow its scope list, and a
        // scope whose scope field follows its spans: the parts keep them, before the children.
        let span_bytes = span(7, "s").encode_to_vec();
        let mut scope_body = Vec::new();
        encode_key(2, WireType::LengthDelimited, &mut scope_body);
        encode_varint(span_bytes.len() as u64, &mut scope_body);
        scope_body.extend_from_slice(&span_bytes);
        prost::encoding::message::encode(
            1,
            &InstrumentationScope {
                name: "late".into(),
                ..Default::default()
            },
            &mut scope_body,
        );
        let mut resource_body = Vec::new();
        encode_key(2, WireType::LengthDelimited, &mut resource_body);
        encode_varint(scope_body.len() as u64, &mut resource_body);
        resource_body.extend_from_slice(&scope_body);
        prost::encoding::string::encode(3, &"late-url".to_string(), &mut resource_body);
        prost::encoding::uint64::encode(99, &5, &mut resource_body);
        let mut request = Vec::new();
        encode_key(1, WireType::LengthDelimited, &mut request);
        encode_varint(resource_body.len() as u64, &mut request);
        request.extend_from_slice(&resource_body);

        let parts = group_by_trace(&request).unwrap();
        assert_eq!(parts.len(), 1);
        // The unknown field survives: the part re-encodes to itself only with it.
        assert!(parts[0].bytes.windows(2).any(|w| w == [0x98, 0x06]));
        let decoded = decode(&parts[0]);
        assert_eq!(
            decoded,
            ExportTraceServiceRequest::decode(request.as_slice()).unwrap()
        );
        assert_eq!(decoded.resource_spans[0].schema_url, "late-url");
        let scope = &decoded.resource_spans[0].scope_spans[0];
        assert_eq!(scope.scope.as_ref().map(|s| s.name.as_str()), Some("late"));
    }

    #[test]
    fn broken_framing_is_an_error() {
        let mut request = ExportTraceServiceRequest {
            resource_spans: vec![resource("r", "s", vec![scope("a", vec![span(1, "x")])])],
        }
        .encode_to_vec();
        request.truncate(request.len() - 3);
        assert!(group_by_trace(&request).is_err());
        assert!(group_by_trace(&[]).unwrap().is_empty());
    }

    #[test]
    fn odd_trace_ids_get_distinct_keys() {
        assert_eq!(TraceKey::of(&[]), TraceKey::of(&[0; 16]));
        assert_ne!(TraceKey::of(&[1; 8]), TraceKey::of(&[2; 8]));
        assert_ne!(TraceKey::of(&[1; 8]), TraceKey::of(&[1; 16]));
        assert_eq!(TraceKey::of(&[3; 5]), TraceKey::of(&[3; 5]));
    }
}
