//! Decoding a traces request without the span fields a processor never reads: most of a
//! span's decoding cost is its attributes, events and links.

use prost::Message;

use super::proto::Malformed;
use super::walk::{Last, RetainFields, rewrite};
use crate::otlp::ExportTraceServiceRequest;

/// `ExportTraceServiceRequest.resource_spans` → `ResourceSpans.scope_spans` →
/// `ScopeSpans.spans`.
const SPANS: &[u32] = &[1, 2, 2];

/// Decodes traces requests leaving out the span fields it was made with (by field number:
/// `Span.attributes` is 9, `events` 11, `links` 13...). Reuses its buffers from batch to batch.
#[derive(Debug, Default)]
pub struct SpanDecoder {
    skip: Vec<u32>,
    buffers: Vec<Vec<u8>>,
}

impl SpanDecoder {
    /// A decoder that leaves out the span fields `skip`.
    pub fn skipping(skip: Vec<u32>) -> Self {
        SpanDecoder {
            skip,
            buffers: vec![Vec::new(); SPANS.len()],
        }
    }

    /// The span fields left out.
    pub fn skipped(&self) -> &[u32] {
        &self.skip
    }

    /// The request without the skipped span fields; `None` when its framing is broken or it
    /// does not decode (the decoded path then reports what is wrong).
    pub fn decode(&mut self, request: &[u8]) -> Option<ExportTraceServiceRequest> {
        let skip = &self.skip;
        let mut strip = RetainFields(|n| !skip.contains(&n));
        match rewrite(
            request,
            SPANS,
            Last::Repeated,
            &mut self.buffers,
            &mut strip,
        ) {
            Ok(true) => ExportTraceServiceRequest::decode(self.buffers[0].as_slice()).ok(),
            Ok(false) => ExportTraceServiceRequest::decode(request).ok(),
            Err(Malformed) => None,
        }
    }
}
