//! Decoding a traces request without the span fields a processor never reads: most of a
//! span's decoding cost is its attributes, events and links.

use prost::Message;
use prost::encoding::{DecodeContext, WireType, check_wire_type, decode_key, decode_varint};

use super::proto::Malformed;
use crate::otlp::{ExportTraceServiceRequest, ResourceSpans, ScopeSpans, Span};

/// Decodes traces requests leaving out the span fields it was made with (by field number:
/// `Span.attributes` is 9, `events` 11, `links` 13...), in one pass: the skipped fields are
/// stepped over, every other field is decoded as prost decodes it.
#[derive(Debug, Default)]
pub struct SpanDecoder {
    skip: Vec<u32>,
}

impl SpanDecoder {
    /// A decoder that leaves out the span fields `skip`.
    pub fn skipping(skip: Vec<u32>) -> Self {
        SpanDecoder { skip }
    }

    /// The span fields left out.
    pub fn skipped(&self) -> &[u32] {
        &self.skip
    }

    /// The request without the skipped span fields; `None` when it does not decode (the
    /// decoded path then reports what is wrong). What a skipped field holds is not looked at.
    pub fn decode(&self, request: &[u8]) -> Option<ExportTraceServiceRequest> {
        let mut out = ExportTraceServiceRequest::default();
        self.decode_into(request, &mut out).then_some(out)
    }

    /// As [`decode`](Self::decode), into `out`, which is replaced: the resources, scopes and
    /// spans it holds are reused in order, so a processor that keeps one request between
    /// batches of a similar shape decodes without allocating for span ids, names and the span
    /// lists. False (and `out` empty) when `request` does not decode.
    pub fn decode_into(&self, request: &[u8], out: &mut ExportTraceServiceRequest) -> bool {
        let skip = SkipSet::new(&self.skip);
        let decoded = decode_request(request, &skip, out).is_ok();
        if !decoded {
            out.resource_spans.clear();
        }
        decoded
    }
}

/// The request's resources, each into the next message of `out.resource_spans`.
fn decode_request(
    buf: &[u8],
    skip: &SkipSet,
    out: &mut ExportTraceServiceRequest,
) -> Result<(), Malformed> {
    decode_repeated(
        buf,
        out,
        1,
        |r| &mut r.resource_spans,
        |bytes, rs| {
            let scope_spans = std::mem::take(&mut rs.scope_spans);
            *rs = ResourceSpans {
                scope_spans,
                ..Default::default()
            };
            decode_repeated(
                bytes,
                rs,
                2,
                |r| &mut r.scope_spans,
                |bytes, ss| {
                    let spans = std::mem::take(&mut ss.spans);
                    *ss = ScopeSpans {
                        spans,
                        ..Default::default()
                    };
                    // Decoded in place: a `Span` is 150-260 bytes, and returning then pushing one
                    // moved it.
                    decode_repeated(
                        bytes,
                        ss,
                        2,
                        |s| &mut s.spans,
                        |bytes, span| {
                            reset_span(span);
                            decode_span(bytes, skip, span)
                        },
                    )
                },
            )
        },
    )
}

/// Decodes `msg` from `buf`: each occurrence of the repeated message field `tag` into the next
/// element of `items(msg)` with `item` (the elements there are reused in order, and those left
/// over dropped), every other field as prost does. `item` resets what it is given.
fn decode_repeated<M: Message, T: Default>(
    mut buf: &[u8],
    msg: &mut M,
    tag: u32,
    items: fn(&mut M) -> &mut Vec<T>,
    mut item: impl FnMut(&[u8], &mut T) -> Result<(), Malformed>,
) -> Result<(), Malformed> {
    let mut used = 0;
    while !buf.is_empty() {
        let (field, wire) = decode_key(&mut buf).map_err(|_| Malformed)?;
        if field == tag {
            let bytes = nested(wire, &mut buf)?;
            item(bytes, reuse(items(msg), used))?;
            used += 1;
        } else {
            msg.merge_field(field, wire, &mut buf, DecodeContext::default())
                .map_err(|_| Malformed)?;
        }
    }
    items(msg).truncate(used);
    Ok(())
}

/// The message at `index` of `list` (the next one to fill), added when the list is shorter.
fn reuse<T: Default>(list: &mut Vec<T>, index: usize) -> &mut T {
    if index >= list.len() {
        list.push(T::default());
    }
    let last = list.len() - 1;
    &mut list[index.min(last)]
}

/// Every field of `span` to its default, keeping the allocations of its ids, trace state and
/// name (the fields decoded into in place).
fn reset_span(span: &mut Span) {
    let mut kept = Span {
        trace_id: std::mem::take(&mut span.trace_id),
        span_id: std::mem::take(&mut span.span_id),
        parent_span_id: std::mem::take(&mut span.parent_span_id),
        trace_state: std::mem::take(&mut span.trace_state),
        name: std::mem::take(&mut span.name),
        ..Span::default()
    };
    kept.trace_id.clear();
    kept.span_id.clear();
    kept.parent_span_id.clear();
    kept.trace_state.clear();
    kept.name.clear();
    *span = kept;
}

/// The skipped span fields: a bit per field number below 32 (every `Span` field), a list for
/// the others.
struct SkipSet<'a> {
    low: u32,
    all: &'a [u32],
}

impl<'a> SkipSet<'a> {
    fn new(all: &'a [u32]) -> Self {
        let low = all
            .iter()
            .filter(|&&tag| tag < 32)
            .fold(0, |low, &tag| low | 1 << tag);
        SkipSet { low, all }
    }

    fn contains(&self, tag: u32) -> bool {
        if tag < 32 {
            self.low & (1 << tag) != 0
        } else {
            self.all.contains(&tag)
        }
    }
}

/// One span: the loop of `decode_with`, with one-byte keys and skipped length-delimited fields
/// (attributes, events, links: most of a span's bytes) read inline. Accepts and refuses what
/// `decode_with` with prost's `skip_field` does.
fn decode_span(mut buf: &[u8], skip: &SkipSet, span: &mut Span) -> Result<(), Malformed> {
    while !buf.is_empty() {
        let (tag, wire) = key(&mut buf)?;
        if !skip.contains(tag) {
            // The ids, trace state, name and times, as prost decodes them (the last occurrence
            // wins; a string must be UTF-8) but without its intermediate `Bytes` for each.
            match (tag, wire) {
                (1 | 2 | 4, WireType::LengthDelimited) => {
                    let id = match tag {
                        1 => &mut span.trace_id,
                        2 => &mut span.span_id,
                        _ => &mut span.parent_span_id,
                    };
                    id.clear();
                    id.extend_from_slice(nested(wire, &mut buf)?);
                    continue;
                }
                (3 | 5, WireType::LengthDelimited) => {
                    let text = if tag == 3 {
                        &mut span.trace_state
                    } else {
                        &mut span.name
                    };
                    let value = nested(wire, &mut buf)?;
                    text.clear();
                    text.push_str(std::str::from_utf8(value).map_err(|_| Malformed)?);
                    continue;
                }
                (7 | 8, WireType::SixtyFourBit) => {
                    let (time, rest) = buf.split_first_chunk::<8>().ok_or(Malformed)?;
                    let time = u64::from_le_bytes(*time);
                    buf = rest;
                    if tag == 7 {
                        span.start_time_unix_nano = time;
                    } else {
                        span.end_time_unix_nano = time;
                    }
                    continue;
                }
                _ => {}
            }
            span.merge_field(tag, wire, &mut buf, DecodeContext::default())
                .map_err(|_| Malformed)?;
        } else if wire == WireType::LengthDelimited {
            nested(wire, &mut buf)?;
        } else {
            prost::encoding::skip_field(wire, tag, &mut buf, DecodeContext::default())
                .map_err(|_| Malformed)?;
        }
    }
    Ok(())
}

/// A field key: one byte for field numbers below 16, otherwise prost's `decode_key`.
fn key(buf: &mut &[u8]) -> Result<(u32, WireType), Malformed> {
    if let Some(&byte) = buf.first()
        // A one-byte varint with a field number of at least 1.
        && (8..0x80).contains(&byte)
    {
        let wire = match byte & 7 {
            0 => WireType::Varint,
            1 => WireType::SixtyFourBit,
            2 => WireType::LengthDelimited,
            3 => WireType::StartGroup,
            4 => WireType::EndGroup,
            5 => WireType::ThirtyTwoBit,
            _ => return Err(Malformed),
        };
        *buf = &buf[1..];
        return Ok((u32::from(byte >> 3), wire));
    }
    decode_key(buf).map_err(|_| Malformed)
}

/// Decodes a message of type `M` from `buf`: `field` takes the fields it handles (returning
/// true), prost decodes the others.
#[cfg(test)]
fn decode_with<M, F>(mut buf: &[u8], mut field: F) -> Result<M, Malformed>
where
    M: Message + Default,
    F: FnMut(&mut M, u32, WireType, &mut &[u8]) -> Result<bool, Malformed>,
{
    use prost::bytes::Buf;
    let mut message = M::default();
    while buf.has_remaining() {
        let (tag, wire) = decode_key(&mut buf).map_err(|_| Malformed)?;
        if !field(&mut message, tag, wire, &mut buf)? {
            message
                .merge_field(tag, wire, &mut buf, DecodeContext::default())
                .map_err(|_| Malformed)?;
        }
    }
    Ok(message)
}

/// The bytes of an embedded message field whose key was just read, stepping `buf` past them.
fn nested<'a>(wire: WireType, buf: &mut &'a [u8]) -> Result<&'a [u8], Malformed> {
    check_wire_type(WireType::LengthDelimited, wire).map_err(|_| Malformed)?;
    let len = match buf.first() {
        Some(&byte) if byte < 0x80 => {
            *buf = &buf[1..];
            u64::from(byte)
        }
        _ => decode_varint(buf).map_err(|_| Malformed)?,
    };
    let len = usize::try_from(len)
        .ok()
        .filter(|&len| len <= buf.len())
        .ok_or(Malformed)?;
    let (value, rest) = buf.split_at(len);
    *buf = rest;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otlp::trace::span;
    use crate::otlp::{AnyValue, InstrumentationScope, KeyValue, Resource, Status, any_value};

    fn kv(key: &str, value: &str) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(value.into())),
            }),
            ..Default::default()
        }
    }

    fn request() -> ExportTraceServiceRequest {
        let span = |i: u8| Span {
            trace_id: vec![i; 16],
            span_id: vec![i; 8],
            parent_span_id: vec![i + 1; 8],
            trace_state: "ot=th:8".into(),
            name: format!("span {i}"),
            kind: 2,
            start_time_unix_nano: 1_000,
            end_time_unix_nano: 2_000 + u64::from(i),
            attributes: vec![kv("http.method", "GET"), kv("k", "v")],
            events: vec![span::Event {
                name: "e".into(),
                attributes: vec![kv("a", "b")],
                ..Default::default()
            }],
            links: vec![span::Link {
                trace_id: vec![9; 16],
                ..Default::default()
            }],
            status: Some(Status {
                code: 2,
                message: "bad".into(),
            }),
            flags: 0x301,
            ..Default::default()
        };
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![kv("service.name", "front")],
                    ..Default::default()
                }),
                scope_spans: vec![
                    ScopeSpans {
                        scope: Some(InstrumentationScope {
                            name: "lib".into(),
                            ..Default::default()
                        }),
                        spans: vec![span(1), span(2)],
                        schema_url: "s".into(),
                    },
                    ScopeSpans {
                        spans: vec![span(3)],
                        ..Default::default()
                    },
                ],
                schema_url: "r".into(),
            }],
        }
    }

    #[test]
    fn decodes_as_prost_without_the_skipped_fields() {
        let full = request();
        let bytes = full.encode_to_vec();
        assert_eq!(SpanDecoder::default().decode(&bytes), Some(full.clone()));
        let mut lean = full;
        for span in lean
            .resource_spans
            .iter_mut()
            .flat_map(|rs| &mut rs.scope_spans)
            .flat_map(|ss| &mut ss.spans)
        {
            span.attributes.clear();
            span.events.clear();
            span.links.clear();
            span.parent_span_id.clear();
        }
        let decoder = SpanDecoder::skipping(vec![4, 9, 11, 13]);
        assert_eq!(decoder.decode(&bytes), Some(lean));
    }

    #[test]
    fn broken_input_is_none_and_never_a_panic() {
        let bytes = request().encode_to_vec();
        let decoder = SpanDecoder::skipping(vec![9]);
        for cut in 0..bytes.len() {
            let part = &bytes[..cut];
            let prost_ok = ExportTraceServiceRequest::decode(part).is_ok();
            // A cut breaks the framing of the field it falls in, skipped or not: both fail,
            // or both succeed when it falls between two resources.
            assert_eq!(decoder.decode(part).is_some(), prost_ok, "cut at {cut}");
        }
        for i in 0..bytes.len() {
            let mut corrupt = bytes.clone();
            corrupt[i] ^= 0xff;
            let _ = decoder.decode(&corrupt);
        }
    }

    #[test]
    fn a_reused_request_decodes_each_batch_as_a_new_one() {
        let full = request();
        let mut bigger = full.clone();
        bigger.resource_spans.push(full.resource_spans[0].clone());
        bigger.resource_spans[1].scope_spans[1]
            .spans
            .push(Span::default());
        // Every field absent where the batch before had it.
        let bare = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![Span::default(), Span::default()],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let batches = [&full, &bare, &bigger, &full, &bare, &bare, &bigger];
        for decoder in [
            SpanDecoder::default(),
            SpanDecoder::skipping(vec![4, 9, 11]),
        ] {
            let mut out = ExportTraceServiceRequest::default();
            for (i, batch) in batches.iter().enumerate() {
                let bytes = batch.encode_to_vec();
                assert!(decoder.decode_into(&bytes, &mut out), "batch {i}");
                assert_eq!(Some(&out), decoder.decode(&bytes).as_ref(), "batch {i}");
                let broken = &bytes[..bytes.len() - 1];
                assert!(!decoder.decode_into(broken, &mut out), "broken batch {i}");
                assert_eq!(out, ExportTraceServiceRequest::default());
                assert!(decoder.decode_into(&bytes, &mut out), "batch {i} again");
            }
        }
        // With nothing skipped, what is decoded is what was sent.
        let mut out = ExportTraceServiceRequest::default();
        for batch in batches {
            assert!(SpanDecoder::default().decode_into(&batch.encode_to_vec(), &mut out));
            assert_eq!(&out, batch);
        }
    }

    /// The span loop as `decode_with` and prost's `skip_field` run it, without the inline
    /// fast paths of `decode_span`.
    fn reference_span(bytes: &[u8], skip: &[u32]) -> Result<Span, Malformed> {
        decode_with(bytes, |_: &mut Span, tag, wire, buf| {
            if !skip.contains(&tag) {
                return Ok(false);
            }
            prost::encoding::skip_field(wire, tag, buf, DecodeContext::default())
                .map_err(|_| Malformed)?;
            Ok(true)
        })
    }

    #[test]
    fn the_inline_span_loop_matches_the_generic_one_on_every_corruption() {
        let span = request().resource_spans[0].scope_spans[0].spans[0].encode_to_vec();
        let mut inputs = vec![span.clone()];
        for i in 0..span.len() {
            inputs.push(span[..i].to_vec());
            for flip in [0xff, 0x80, 0x07, 0x01, 0x78] {
                let mut corrupt = span.clone();
                corrupt[i] ^= flip;
                inputs.push(corrupt);
            }
        }
        // Keys of two bytes, groups, field 0 and the reserved wire types.
        inputs.extend([
            vec![0x80, 0x01, 0x05],
            vec![0x4b, 0x08, 0x01, 0x4c],
            vec![0x4b, 0x4c],
            vec![0x4c],
            vec![0x02, 0x00],
            vec![0x4e, 0x00],
            vec![0x4f, 0x00],
            vec![0x4a, 0xff, 0xff, 0xff, 0xff, 0x0f],
        ]);
        for skip in [
            vec![],
            vec![9],
            vec![2, 3, 4, 5, 6, 9, 11, 13],
            vec![1, 2, 9, 11, 40],
        ] {
            let set = SkipSet::new(&skip);
            for input in &inputs {
                let mut span = Span::default();
                assert_eq!(
                    decode_span(input, &set, &mut span).map(|()| span),
                    reference_span(input, &skip),
                    "skipping {skip:?}: {input:02x?}"
                );
            }
        }
    }
}
