//! Exponential histograms as classic (`le`) histograms.
//!
//! An OTLP exponential bucket `i` at scale `s` holds values in `(base^i, base^(i+1)]` with
//! `base = 2^(2^-s)` (negative buckets mirror that). Its upper bound `base^(i+1)` is therefore an
//! exact classic bucket bound, and the cumulative counts up to it are exact too: the conversion
//! loses nothing but the native encoding's compactness. Bounds, in increasing order: each
//! negative bucket's upper bound `-base^i` (most negative first), then the zero bucket's
//! `zero_threshold`, then each positive bucket's `base^(i+1)`, then `+Inf` (the point's count).
//!
//! The Collector's exporters send native histograms instead, which only Prometheus' protobuf
//! scrape format and remote write's `histograms` field can carry; Sluice serves the text format
//! and writes remote write 1.0 samples.

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::metrics::v1::ExponentialHistogramDataPoint;
use opentelemetry_proto::tonic::metrics::v1::exponential_histogram_data_point::Buckets;

/// One side (positive or negative) of an exponential histogram: counts from index `offset`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Side {
    pub offset: i32,
    pub counts: Vec<u64>,
}

impl Side {
    fn from_proto(buckets: Option<&Buckets>) -> Side {
        buckets.map_or_else(Side::default, |b| Side {
            offset: b.offset,
            counts: b.bucket_counts.clone(),
        })
    }

    /// `(index, count)` of every bucket.
    fn indexed(&self) -> impl Iterator<Item = (i64, u64)> + '_ {
        let offset = i64::from(self.offset);
        (0i64..)
            .zip(&self.counts)
            .map(move |(i, c)| (offset + i, *c))
    }

    /// The same counts at a scale `shift` steps lower: index `i` becomes `i >> shift` (floor).
    fn downscale(&self, shift: u32, into: &mut BTreeMap<i64, u64>) {
        for (index, count) in self.indexed() {
            let index = index >> shift.min(62);
            *into.entry(index).or_default() += count;
        }
    }

    fn from_map(map: BTreeMap<i64, u64>) -> Side {
        let (Some(first), Some(last)) =
            (map.keys().next().copied(), map.keys().next_back().copied())
        else {
            return Side::default();
        };
        let mut counts = vec![0; usize::try_from(last - first + 1).unwrap_or(0)];
        for (index, count) in map {
            if let Ok(at) = usize::try_from(index - first) {
                counts[at] = count;
            }
        }
        Side {
            offset: i32::try_from(first).unwrap_or(i32::MIN),
            counts,
        }
    }
}

/// The parts of an exponential histogram point the translation needs.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpHistogram {
    pub scale: i32,
    pub count: u64,
    pub sum: Option<f64>,
    pub zero_count: u64,
    pub zero_threshold: f64,
    pub positive: Side,
    pub negative: Side,
}

impl ExpHistogram {
    pub fn from_point(p: &ExponentialHistogramDataPoint) -> ExpHistogram {
        ExpHistogram {
            scale: p.scale,
            count: p.count,
            sum: p.sum,
            zero_count: p.zero_count,
            zero_threshold: p.zero_threshold,
            positive: Side::from_proto(p.positive.as_ref()),
            negative: Side::from_proto(p.negative.as_ref()),
        }
    }

    /// `base^index` at this histogram's scale.
    fn power(&self, index: i64) -> f64 {
        // base^i = 2^(i * 2^-scale)
        (index as f64 * (-f64::from(self.scale)).exp2()).exp2()
    }

    /// `(le, cumulative count)` in increasing `le` order, without `+Inf` (which is
    /// [`ExpHistogram::count`]). Bounds that would not increase (a zero threshold above the
    /// first positive bound) merge into the bucket before them.
    pub fn classic_buckets(&self) -> Vec<(f64, u64)> {
        let mut out: Vec<(f64, u64)> = Vec::new();
        let mut cumulative = 0u64;
        let mut push = |bound: f64, count: u64, out: &mut Vec<(f64, u64)>| {
            cumulative = cumulative.saturating_add(count);
            match out.last_mut() {
                Some(last) if bound <= last.0 => last.1 = cumulative,
                _ => out.push((bound, cumulative)),
            }
        };
        let negatives: Vec<(i64, u64)> = self.negative.indexed().collect();
        for (index, count) in negatives.into_iter().rev() {
            push(-self.power(index), count, &mut out);
        }
        if self.zero_count > 0 || !self.negative.counts.is_empty() {
            push(self.zero_threshold.max(0.0), self.zero_count, &mut out);
        }
        for (index, count) in self.positive.indexed() {
            push(self.power(index + 1), count, &mut out);
        }
        out
    }

    /// `self` (older) plus the delta `newer`, at the lower of the two scales, as the Collector's
    /// accumulator merges delta exponential histograms.
    pub fn merge(&self, newer: &ExpHistogram) -> ExpHistogram {
        let scale = self.scale.min(newer.scale);
        let side = |a: &Side, a_scale: i32, b: &Side, b_scale: i32| {
            let mut map = BTreeMap::new();
            a.downscale(a_scale.abs_diff(scale), &mut map);
            b.downscale(b_scale.abs_diff(scale), &mut map);
            Side::from_map(map)
        };
        ExpHistogram {
            scale,
            count: self.count.saturating_add(newer.count),
            sum: match (self.sum, newer.sum) {
                (None, None) => None,
                (a, b) => Some(a.unwrap_or(0.0) + b.unwrap_or(0.0)),
            },
            zero_count: self.zero_count.saturating_add(newer.zero_count),
            zero_threshold: self.zero_threshold.max(newer.zero_threshold),
            positive: side(&self.positive, self.scale, &newer.positive, newer.scale),
            negative: side(&self.negative, self.scale, &newer.negative, newer.scale),
        }
    }
}
