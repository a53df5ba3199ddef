//! Splitting a traces request by trace id, keeping its resource and scope structure.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::ResourceSpans;

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

/// The spans of one trace taken from one request, in that request's resource and scope
/// envelopes (only the envelopes are cloned; spans are moved).
#[derive(Debug, Clone)]
pub(crate) struct TracePart {
    pub key: TraceKey,
    pub resource_spans: Vec<ResourceSpans>,
    pub spans: usize,
}

/// Split `request` into one part per trace, in order of first appearance.
pub(crate) fn group_by_trace(request: ExportTraceServiceRequest) -> Vec<TracePart> {
    let mut index: HashMap<TraceKey, usize> = HashMap::new();
    let mut parts: Vec<TracePart> = Vec::new();
    // Per part: the (resource, scope) positions its last envelopes were cloned from.
    let mut last: Vec<(usize, usize)> = Vec::new();
    for (r, mut resource) in request.resource_spans.into_iter().enumerate() {
        let scopes = std::mem::take(&mut resource.scope_spans);
        for (s, mut scope) in scopes.into_iter().enumerate() {
            let spans = std::mem::take(&mut scope.spans);
            for span in spans {
                let key = TraceKey::of(&span.trace_id);
                let i = *index.entry(key).or_insert_with(|| {
                    parts.push(TracePart {
                        key,
                        resource_spans: Vec::new(),
                        spans: 0,
                    });
                    last.push((usize::MAX, usize::MAX));
                    parts.len() - 1
                });
                let part = &mut parts[i];
                let new_resource = last[i].0 != r;
                let out = last_or_push(&mut part.resource_spans, new_resource, || resource.clone());
                let new_scope = new_resource || last[i].1 != s;
                let out = last_or_push(&mut out.scope_spans, new_scope, || scope.clone());
                out.spans.push(span);
                part.spans += 1;
                last[i] = (r, s);
            }
        }
    }
    parts
}

/// The last element of `items`, after pushing `make()` when `push` (or when empty).
fn last_or_push<T>(items: &mut Vec<T>, push: bool, make: impl FnOnce() -> T) -> &mut T {
    if push || items.is_empty() {
        items.push(make());
    }
    let at = items.len() - 1;
    &mut items[at]
}

/// One request holding the given parts, in order.
pub(crate) fn request_of<I>(parts: I) -> ExportTraceServiceRequest
where
    I: IntoIterator<Item = Vec<ResourceSpans>>,
{
    ExportTraceServiceRequest {
        resource_spans: parts.into_iter().flatten().collect(),
    }
}

/// Spans in `request`.
pub(crate) fn span_count(request: &ExportTraceServiceRequest) -> usize {
    request
        .resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .map(|ss| ss.spans.len())
        .sum()
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
    use opentelemetry_proto::tonic::trace::v1::{ScopeSpans, Span};

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

    #[test]
    fn groups_by_trace_keeping_resources_and_scopes() {
        let request = ExportTraceServiceRequest {
            resource_spans: vec![
                ResourceSpans {
                    scope_spans: vec![
                        scope("a", vec![span(1, "1a"), span(2, "2a"), span(1, "1b")]),
                        scope("b", vec![span(1, "1c")]),
                    ],
                    schema_url: "r0".into(),
                    ..Default::default()
                },
                ResourceSpans {
                    scope_spans: vec![scope("c", vec![span(2, "2b")])],
                    schema_url: "r1".into(),
                    ..Default::default()
                },
            ],
        };
        let parts = group_by_trace(request);
        assert_eq!(parts.len(), 2);
        let (one, two) = (&parts[0], &parts[1]);
        assert_eq!(one.key, TraceKey::of(&[1; 16]));
        assert_eq!(one.spans, 3);
        assert_eq!(one.resource_spans.len(), 1);
        let scopes: Vec<(&str, Vec<&str>)> = one.resource_spans[0]
            .scope_spans
            .iter()
            .map(|ss| {
                let name = ss.scope.as_ref().map_or("", |s| s.name.as_str());
                (name, ss.spans.iter().map(|s| s.name.as_str()).collect())
            })
            .collect();
        assert_eq!(scopes, vec![("a", vec!["1a", "1b"]), ("b", vec!["1c"])]);
        assert_eq!(two.spans, 2);
        let resources: Vec<&str> = two
            .resource_spans
            .iter()
            .map(|rs| rs.schema_url.as_str())
            .collect();
        assert_eq!(resources, vec!["r0", "r1"]);
    }

    #[test]
    fn odd_trace_ids_get_distinct_keys() {
        assert_eq!(TraceKey::of(&[]), TraceKey::of(&[0; 16]));
        assert_ne!(TraceKey::of(&[1; 8]), TraceKey::of(&[2; 8]));
        assert_ne!(TraceKey::of(&[1; 8]), TraceKey::of(&[1; 16]));
        assert_eq!(TraceKey::of(&[3; 5]), TraceKey::of(&[3; 5]));
    }
}
