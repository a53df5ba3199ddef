//! Reading the protobuf framing of OTLP export requests without decoding them: enough to count
//! their items and to find the trace id of each span, with no allocation.
//!
//! The walk enters the levels that lead to the items (request → resource → scope → item, and for
//! metrics metric → data → data point), checks every tag, wire type and length on them, checks
//! the wire type of the fields of those levels it knows, and skips the others (varint, 64-bit,
//! length-delimited and 32-bit values; groups and invalid wire types are errors). Counts follow
//! prost's decoding, so they equal `Payload::item_count` of the decoded request. What lies inside
//! an item (a span's attributes...) is not looked at: bytes that pass this walk may still fail to
//! decode.

use std::fmt;

use crate::Signal;

mod validate;
pub use validate::{Invalid, validate};

/// Where and why the framing is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireError {
    /// Byte offset from the start of the request.
    pub offset: usize,
    pub problem: Problem,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// A varint runs past the end of its message.
    TruncatedVarint,
    /// A varint longer than 10 bytes.
    OverlongVarint,
    /// A tag above the largest protobuf tag, or field number 0.
    InvalidTag,
    /// Wire type 6 or 7.
    InvalidWireType(u8),
    /// Wire type 3 or 4 (groups are not used by OTLP).
    Group,
    /// A length-delimited value longer than what is left of its message.
    TruncatedLength,
    /// A 32- or 64-bit value cut off by the end of its message.
    TruncatedFixed,
    /// A known field with another wire type than its type has.
    WrongWireType { field: u32, found: u8 },
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = self.offset;
        match self.problem {
            Problem::TruncatedVarint => write!(f, "truncated varint at byte {at}"),
            Problem::OverlongVarint => write!(f, "varint longer than 10 bytes at byte {at}"),
            Problem::InvalidTag => write!(f, "invalid tag at byte {at}"),
            Problem::InvalidWireType(t) => write!(f, "invalid wire type {t} at byte {at}"),
            Problem::Group => write!(f, "group (unsupported wire type) at byte {at}"),
            Problem::TruncatedLength => write!(f, "truncated length at byte {at}"),
            Problem::TruncatedFixed => write!(f, "truncated fixed-size value at byte {at}"),
            Problem::WrongWireType { field, found } => {
                write!(f, "field {field} has wire type {found} at byte {at}")
            }
        }
    }
}

impl std::error::Error for WireError {}

const VARINT: u8 = 0;
const I64: u8 = 1;
const LEN: u8 = 2;
const I32: u8 = 5;

/// One field of a message.
struct Field<'a> {
    number: u32,
    wire_type: u8,
    /// The value of a length-delimited field (empty for the others).
    value: &'a [u8],
    /// Offset of the tag from the start of the request.
    offset: usize,
    /// Offset of `value` from the start of the request.
    value_offset: usize,
    /// Offset of the end of the field from the start of the request.
    end: usize,
}

/// The fields of one message, in order. `base`: offset of the message in the request.
struct Fields<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Fields<'a> {
    fn new(buf: &'a [u8], base: usize) -> Self {
        Fields { buf, pos: 0, base }
    }

    fn error(&self, at: usize, problem: Problem) -> WireError {
        WireError {
            offset: self.base + at,
            problem,
        }
    }

    fn varint(&mut self) -> Result<u64, WireError> {
        let start = self.pos;
        let mut value = 0u64;
        for i in 0..10 {
            let Some(&byte) = self.buf.get(self.pos) else {
                return Err(self.error(start, Problem::TruncatedVarint));
            };
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte < 0x80 {
                return Ok(value);
            }
        }
        Err(self.error(start, Problem::OverlongVarint))
    }

    fn skip(&mut self, n: usize, problem: Problem, at: usize) -> Result<(), WireError> {
        match self.pos.checked_add(n) {
            Some(end) if end <= self.buf.len() => {
                self.pos = end;
                Ok(())
            }
            _ => Err(self.error(at, problem)),
        }
    }

    fn next_field(&mut self) -> Result<Option<Field<'a>>, WireError> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let start = self.pos;
        let key = self.varint()?;
        // As prost: a key above u32::MAX or a field number 0 is invalid.
        let number = u32::try_from(key).map(|key| key >> 3).unwrap_or(0);
        if number == 0 {
            return Err(self.error(start, Problem::InvalidTag));
        }
        // The low three bits: always fits.
        let wire_type = (key & 7) as u8;
        let mut value: &'a [u8] = &[];
        let mut value_offset = self.base + self.pos;
        match wire_type {
            VARINT => {
                self.varint()?;
            }
            I64 => self.skip(8, Problem::TruncatedFixed, start)?,
            I32 => self.skip(4, Problem::TruncatedFixed, start)?,
            LEN => {
                let len_at = self.pos;
                let len = self.varint()?;
                let len = usize::try_from(len).unwrap_or(usize::MAX);
                let begin = self.pos;
                self.skip(len, Problem::TruncatedLength, len_at)?;
                value = &self.buf[begin..self.pos];
                value_offset = self.base + begin;
            }
            3 | 4 => return Err(self.error(start, Problem::Group)),
            other => return Err(self.error(start, Problem::InvalidWireType(other))),
        }
        Ok(Some(Field {
            number,
            wire_type,
            value,
            offset: self.base + start,
            value_offset,
            end: self.base + self.pos,
        }))
    }
}

/// The known fields of one level and their wire types; unknown fields are only skipped.
type Known = &'static [(u32, u8)];

/// Resource level: resource (1), scope list (2), schema_url (3); scope level: scope (1), item
/// list (2), schema_url (3). The same numbers for the three signals.
const ENVELOPE: Known = &[(1, LEN), (2, LEN), (3, LEN)];
const REQUEST: Known = &[(1, LEN)];
/// Metric: name, description, unit, the five data kinds, metadata.
const METRIC: Known = &[
    (1, LEN),
    (2, LEN),
    (3, LEN),
    (5, LEN),
    (7, LEN),
    (9, LEN),
    (10, LEN),
    (11, LEN),
    (12, LEN),
];
/// Gauge and summary: data points (1).
const GAUGE: Known = &[(1, LEN)];
/// Sum: data points (1), aggregation temporality (2), is_monotonic (3).
const SUM: Known = &[(1, LEN), (2, VARINT), (3, VARINT)];
/// Histogram and exponential histogram: data points (1), aggregation temporality (2).
const HISTOGRAM: Known = &[(1, LEN), (2, VARINT)];
/// Span: trace_id (1).
const SPAN: Known = &[(1, LEN)];

/// Calls `field` with every field of `message`, after checking the wire type of known ones.
fn each_field<'a>(
    message: &'a [u8],
    base: usize,
    known: Known,
    mut field: impl FnMut(Field<'a>) -> Result<(), WireError>,
) -> Result<(), WireError> {
    let mut fields = Fields::new(message, base);
    while let Some(f) = fields.next_field()? {
        if let Some(&(_, expected)) = known.iter().find(|(n, _)| *n == f.number)
            && expected != f.wire_type
        {
            return Err(WireError {
                offset: f.offset,
                problem: Problem::WrongWireType {
                    field: f.number,
                    found: f.wire_type,
                },
            });
        }
        field(f)?;
    }
    Ok(())
}

/// Calls `item` with the bytes (and offset) of every item of a traces or logs request, or every
/// metric of a metrics request: request field 1 → resource field 2 → scope field 2.
fn each_item<'a>(
    request: &'a [u8],
    mut item: impl FnMut(&'a [u8], usize) -> Result<(), WireError>,
) -> Result<(), WireError> {
    each_field(request, 0, REQUEST, |resource| {
        if resource.number != 1 {
            return Ok(());
        }
        each_field(resource.value, resource.value_offset, ENVELOPE, |scope| {
            if scope.number != 2 {
                return Ok(());
            }
            each_field(scope.value, scope.value_offset, ENVELOPE, |f| {
                if f.number == 2 {
                    item(f.value, f.value_offset)
                } else {
                    Ok(())
                }
            })
        })
    })
}

/// Data points of one encoded metric. As prost decodes the `data` oneof, a later field of the
/// same kind merges into the earlier one (its points add up) and one of another kind replaces it.
fn metric_points(metric: &[u8], base: usize) -> Result<usize, WireError> {
    let mut kind = 0u32;
    let mut points = 0usize;
    each_field(metric, base, METRIC, |f| {
        let known = match f.number {
            5 | 11 => GAUGE,
            7 => SUM,
            9 | 10 => HISTOGRAM,
            _ => return Ok(()),
        };
        let mut n = 0usize;
        each_field(f.value, f.value_offset, known, |p| {
            n += usize::from(p.number == 1);
            Ok(())
        })?;
        if f.number == kind {
            points += n;
        } else {
            (kind, points) = (f.number, n);
        }
        Ok(())
    })?;
    Ok(points)
}

/// Spans, metric data points or log records in an encoded export request of `signal`.
pub fn count_items(signal: Signal, request: &[u8]) -> Result<usize, WireError> {
    let mut count = 0usize;
    match signal {
        Signal::Traces | Signal::Logs => each_item(request, |_, _| {
            count += 1;
            Ok(())
        })?,
        Signal::Metrics => each_item(request, |metric, base| {
            count += metric_points(metric, base)?;
            Ok(())
        })?,
    }
    Ok(count)
}

/// Calls `trace_id` with the trace id of every span of an encoded traces request, in order (the
/// last `trace_id` field of a span, as prost decodes it; empty when it has none).
pub fn each_trace_id<'a>(
    request: &'a [u8],
    mut trace_id: impl FnMut(&'a [u8]),
) -> Result<(), WireError> {
    each_item(request, |span, base| {
        trace_id(trace_id_of(span, base)?);
        Ok(())
    })
}

/// The trace id of an encoded span at offset `base`: its last `trace_id` field, as prost
/// decodes it; empty when it has none.
fn trace_id_of(span: &[u8], base: usize) -> Result<&[u8], WireError> {
    let mut id: &[u8] = &[];
    each_field(span, base, SPAN, |f| {
        if f.number == 1 {
            id = f.value;
        }
        Ok(())
    })?;
    Ok(id)
}

/// What [`each_span_in_envelopes`] reports, in the order of the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TraceLevel<'a> {
    /// A new `ResourceSpans`: its fields other than the scope lists, as encoded records (tags
    /// included), in order.
    Resource(Vec<&'a [u8]>),
    /// A new `ScopeSpans` of the last resource: its fields other than the spans, likewise.
    Scope(Vec<&'a [u8]>),
    /// A span of the last scope: its trace id (as [`each_trace_id`] reads it) and its encoded
    /// message (without tag and length).
    Span { trace_id: &'a [u8], span: &'a [u8] },
}

/// Walks an encoded traces request down to its spans, reporting each resource and scope (their
/// own fields) before the spans inside them, so that a caller can regroup spans into new
/// envelopes without decoding them. The framing is checked as [`count_items`] checks it.
pub(crate) fn each_span_in_envelopes<'a>(
    request: &'a [u8],
    mut visit: impl FnMut(TraceLevel<'a>),
) -> Result<(), WireError> {
    // Each level is walked twice: its own fields first (they may follow the children), then
    // its children.
    let own_fields = |message: &'a [u8], base: usize| -> Result<Vec<&'a [u8]>, WireError> {
        let mut own = Vec::new();
        each_field(message, base, ENVELOPE, |f| {
            if f.number != 2 {
                own.push(&request[f.offset..f.end]);
            }
            Ok(())
        })?;
        Ok(own)
    };
    each_field(request, 0, REQUEST, |resource| {
        if resource.number != 1 {
            return Ok(());
        }
        let (body, base) = (resource.value, resource.value_offset);
        visit(TraceLevel::Resource(own_fields(body, base)?));
        each_field(body, base, ENVELOPE, |scope| {
            if scope.number != 2 {
                return Ok(());
            }
            let (body, base) = (scope.value, scope.value_offset);
            visit(TraceLevel::Scope(own_fields(body, base)?));
            each_field(body, base, ENVELOPE, |span| {
                if span.number != 2 {
                    return Ok(());
                }
                visit(TraceLevel::Span {
                    trace_id: trace_id_of(span.value, span.value_offset)?,
                    span: span.value,
                });
                Ok(())
            })
        })
    })
}

#[cfg(test)]
mod tests;
