//! The series of one metric of one resource: created on first sight up to the cardinality
//! limit, then folded into a single overflow series; each with its exemplars. A series is
//! keyed by its attributes in OTLP encoding ([`crate::dimensions::AttrList::encode_key`]), so
//! the key is all a series needs to be written out.

use std::hash::BuildHasher;

use hashbrown::HashMap;
use hashbrown::hash_map::RawEntryMut;

use sluice_guest_sdk::otlp::Span;

use crate::dimensions;

/// A span kept as an exemplar: its ids and the value it contributed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Exemplar {
    pub trace_id: [u8; 16],
    pub span_id: Option<[u8; 8]>,
    pub value: f64,
}

/// One time series: when it started, its exemplars and its data.
#[derive(Debug, Clone, PartialEq)]
pub struct Series<T> {
    /// When the series was created (Unix nanoseconds): the start of cumulative points, and of
    /// the first delta point.
    pub start: u64,
    seq: u64,
    pub exemplars: Vec<Exemplar>,
    pub data: T,
}

impl<T> Series<T> {
    fn new(start: u64, seq: u64, data: T) -> Self {
        Self {
            start,
            seq,
            exemplars: Vec::new(),
            data,
        }
    }

    /// Keeps `span` as an exemplar worth `value` unless `max` are already kept. Spans without
    /// a valid trace id (16 bytes, not all zero) are not kept, as in the Collector.
    pub fn add_exemplar(&mut self, span: &Span, value: f64, max: usize) {
        if self.exemplars.len() >= max {
            return;
        }
        let Ok(trace_id) = <[u8; 16]>::try_from(span.trace_id.as_slice()) else {
            return;
        };
        if trace_id == [0; 16] {
            return;
        }
        self.exemplars.push(Exemplar {
            trace_id,
            span_id: <[u8; 8]>::try_from(span.span_id.as_slice()).ok(),
            value,
        });
    }
}

/// `a == b`, eight bytes at a time: keys are encoded attribute lists of some 100 bytes, and
/// a WebAssembly `memcmp` compares byte by byte.
fn same_key(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (a_words, b_words) = (a.chunks_exact(8), b.chunks_exact(8));
    let (a_rest, b_rest) = (a_words.remainder(), b_words.remainder());
    let word = |w: &[u8]| u64::from_ne_bytes(<[u8; 8]>::try_from(w).unwrap_or_default());
    a_words.zip(b_words).all(|(x, y)| word(x) == word(y)) && a_rest == b_rest
}

/// Which series of a map: one keyed by its attributes, or the overflow series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeriesId<'a> {
    Key(&'a [u8]),
    Overflow,
}

/// The series of one metric, by key.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesMap<T> {
    series: HashMap<Vec<u8>, Series<T>>,
    overflow: Option<(Vec<u8>, Series<T>)>,
    next_seq: u64,
}

impl<T> Default for SeriesMap<T> {
    fn default() -> Self {
        Self {
            series: HashMap::new(),
            overflow: None,
            next_seq: 0,
        }
    }
}

impl<T> SeriesMap<T> {
    /// The series for `key`, created with `data()` if new. When `limit` series exist already
    /// (`limit > 0`), a new key gets the overflow series instead, whose only attribute is
    /// `otel.metric.overflow = true`; the flag says so. One lookup of `key`; it is copied
    /// only when a series is created.
    pub fn get_or_create(
        &mut self,
        key: &[u8],
        limit: usize,
        now: u64,
        data: impl FnOnce() -> T,
    ) -> (&mut Series<T>, bool) {
        let Self {
            series,
            overflow,
            next_seq,
        } = self;
        let full = limit > 0 && series.len() >= limit;
        let hash = series.hasher().hash_one(key);
        match series.raw_entry_mut().from_hash(hash, |k| same_key(k, key)) {
            RawEntryMut::Occupied(entry) => (entry.into_mut(), false),
            RawEntryMut::Vacant(entry) if !full => {
                let seq = *next_seq;
                *next_seq += 1;
                let series = Series::new(now, seq, data());
                (
                    entry.insert_hashed_nocheck(hash, key.to_vec(), series).1,
                    false,
                )
            }
            RawEntryMut::Vacant(_) => {
                let seq = *next_seq;
                let (_, overflow) = overflow.get_or_insert_with(|| {
                    (dimensions::overflow_key(), Series::new(now, seq, data()))
                });
                (overflow, true)
            }
        }
    }

    /// Every series in creation order, the overflow series last, with its id and its encoded
    /// attributes.
    pub fn ordered(&self) -> Vec<(SeriesId<'_>, &[u8], &Series<T>)> {
        let mut out: Vec<(SeriesId<'_>, &[u8], &Series<T>)> = self
            .series
            .iter()
            .map(|(k, s)| (SeriesId::Key(k.as_slice()), k.as_slice(), s))
            .collect();
        out.sort_by_key(|(_, _, s)| s.seq);
        if let Some((attributes, s)) = &self.overflow {
            out.push((SeriesId::Overflow, attributes.as_slice(), s));
        }
        out
    }

    /// Forgets the series `id` (delta state already reported).
    pub fn remove(&mut self, id: SeriesId<'_>) {
        match id {
            SeriesId::Key(k) => {
                self.series.remove(k);
            }
            SeriesId::Overflow => self.overflow = None,
        }
    }

    /// Forgets every exemplar (they describe one flush interval only).
    pub fn clear_exemplars(&mut self) {
        let overflow = self.overflow.as_mut().map(|(_, s)| s);
        for s in self.series.values_mut().chain(overflow) {
            s.exemplars.clear();
        }
    }

    /// Number of series, the overflow series included.
    pub fn len(&self) -> usize {
        self.series.len() + usize::from(self.overflow.is_some())
    }

    /// Whether there is no series.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_compare_as_slices() {
        let key: Vec<u8> = (0..41).collect();
        for len in 0..key.len() {
            let a = &key[..len];
            let copy = a.to_vec();
            assert!(same_key(a, &copy));
            assert!(len == 0 || !same_key(a, &key[1..=len]));
            assert!(len == 0 || !same_key(a, &key[..len - 1]));
            for i in 0..len {
                let mut b = a.to_vec();
                b[i] ^= 1;
                assert!(!same_key(a, &b), "len {len}, byte {i}");
            }
        }
    }

    #[test]
    fn new_keys_beyond_the_limit_share_the_overflow_series() {
        let mut m: SeriesMap<u64> = SeriesMap::default();
        for key in [b"a", b"b", b"c", b"d", b"a"] {
            let (s, overflow) = m.get_or_create(key, 2, 7, || 0);
            s.data += 1;
            assert_eq!(overflow, key == b"c" || key == b"d");
        }
        let ordered = m.ordered();
        let counts: Vec<(SeriesId<'_>, u64)> =
            ordered.iter().map(|(id, _, s)| (*id, s.data)).collect();
        assert_eq!(
            counts,
            vec![
                (SeriesId::Key(b"a"), 2),
                (SeriesId::Key(b"b"), 1),
                (SeriesId::Overflow, 2)
            ]
        );
        assert_eq!(ordered[2].1, dimensions::overflow_key());
        assert_eq!(m.len(), 3);
    }
}
