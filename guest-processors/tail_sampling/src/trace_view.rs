//! One trace's spans inside a batch that may hold several traces: which resources and spans
//! belong to it, in batch order, without copying anything.

use hashbrown::HashMap;

use sluice_guest_sdk::prelude::*;

use crate::decision::Decision;

/// The spans of one resource that belong to a trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceGroup {
    /// Index into `resource_spans`.
    pub resource: usize,
    /// `(scope_spans index, span index)` pairs, in batch order.
    pub spans: Vec<(usize, usize)>,
}

/// Where a trace's spans are in a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceView {
    /// The trace id as sent (normally 16 bytes).
    pub trace_id: Vec<u8>,
    /// Resources holding the trace's spans, in batch order.
    pub groups: Vec<ResourceGroup>,
    /// Number of spans.
    pub span_count: usize,
}

/// Groups the spans of `batch` by trace id, traces in order of first appearance.
pub fn group_traces(batch: &ExportTraceServiceRequest) -> Vec<TraceView> {
    let mut index: HashMap<&[u8], usize> = HashMap::new();
    let mut views: Vec<TraceView> = Vec::new();
    for (r, rs) in batch.resource_spans.iter().enumerate() {
        for (s, ss) in rs.scope_spans.iter().enumerate() {
            for (k, span) in ss.spans.iter().enumerate() {
                let i = *index.entry(span.trace_id.as_slice()).or_insert_with(|| {
                    views.push(TraceView {
                        trace_id: span.trace_id.clone(),
                        groups: Vec::new(),
                        span_count: 0,
                    });
                    views.len() - 1
                });
                let view = &mut views[i];
                view.span_count += 1;
                match view.groups.last_mut() {
                    Some(g) if g.resource == r => g.spans.push((s, k)),
                    _ => view.groups.push(ResourceGroup {
                        resource: r,
                        spans: vec![(s, k)],
                    }),
                }
            }
        }
    }
    views
}

/// A trace to evaluate: its view over the batch.
#[derive(Clone, Copy)]
pub struct TraceRef<'a> {
    batch: &'a ExportTraceServiceRequest,
    view: &'a TraceView,
}

impl<'a> TraceRef<'a> {
    /// The trace described by `view` in `batch`.
    pub fn new(batch: &'a ExportTraceServiceRequest, view: &'a TraceView) -> Self {
        Self { batch, view }
    }

    /// The trace id as a 16-byte array: an empty id is all zeros (as the Collector decodes
    /// it); other lengths are hashed as sent.
    pub fn trace_id(&self) -> Vec<u8> {
        if self.view.trace_id.is_empty() {
            vec![0; 16]
        } else {
            self.view.trace_id.clone()
        }
    }

    /// Number of spans in the trace.
    pub fn span_count(&self) -> usize {
        self.view.span_count
    }

    /// The resource attributes of group `g`.
    fn resource_attributes(self, g: &ResourceGroup) -> &'a [KeyValue] {
        self.batch
            .resource_spans
            .get(g.resource)
            .and_then(|rs| rs.resource.as_ref())
            .map_or(&[], |r| r.attributes.as_slice())
    }

    /// The spans of group `g`.
    fn group_spans(self, g: &'a ResourceGroup) -> impl Iterator<Item = &'a Span> + 'a {
        let batch = self.batch;
        g.spans.iter().filter_map(move |&(s, k)| {
            batch
                .resource_spans
                .get(g.resource)?
                .scope_spans
                .get(s)?
                .spans
                .get(k)
        })
    }

    /// Every span of the trace, in batch order.
    pub fn spans(&self) -> impl Iterator<Item = &'a Span> + 'a {
        let this = *self;
        self.view
            .groups
            .iter()
            .flat_map(move |g| this.group_spans(g))
    }

    /// `hasResourceOrSpanWithCondition`: `Sampled` as soon as a resource (checked before its
    /// spans) or a span satisfies its condition.
    pub fn has_resource_or_span(
        &self,
        mut resource: impl FnMut(&[KeyValue]) -> bool,
        mut span: impl FnMut(&Span) -> bool,
    ) -> Decision {
        for g in &self.view.groups {
            if resource(self.resource_attributes(g)) || self.group_spans(g).any(&mut span) {
                return Decision::Sampled;
            }
        }
        Decision::NotSampled
    }

    /// `invertHasResourceOrSpanWithCondition`: `InvertNotSampled` as soon as a resource or a
    /// span fails its condition, otherwise `InvertSampled`.
    pub fn invert_has_resource_or_span(
        &self,
        mut resource: impl FnMut(&[KeyValue]) -> bool,
        mut span: impl FnMut(&Span) -> bool,
    ) -> Decision {
        for g in &self.view.groups {
            if !resource(self.resource_attributes(g)) || !self.group_spans(g).all(&mut span) {
                return Decision::InvertNotSampled;
            }
        }
        Decision::InvertSampled
    }

    /// `hasSpanWithCondition`.
    pub fn has_span(&self, span: impl FnMut(&Span) -> bool) -> Decision {
        let mut spans = self.spans();
        if spans.any(span) {
            Decision::Sampled
        } else {
            Decision::NotSampled
        }
    }
}

/// The first value of `key` in `attrs`, as pcommon's `Map.Get`.
pub fn get<'v>(attrs: &'v [KeyValue], key: &str) -> Option<&'v AnyValue> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .map(|kv| kv.value.as_ref().unwrap_or(&EMPTY))
}

static EMPTY: AnyValue = AnyValue { value: None };
