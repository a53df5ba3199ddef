//! A base-2 exponential histogram as the Collector's go-expohisto keeps one: it starts at the
//! finest scale (20) and halves its resolution whenever the populated buckets would exceed
//! `max_size`. Bucket `i` at scale `s` holds values in `(2^(i·2^-s), 2^((i+1)·2^-s)]`; zero
//! goes to the zero bucket. Durations are never negative, so only positive buckets are used.

use std::f64::consts::LN_2;

/// The finest scale, where histograms start.
pub const MAX_SCALE: i32 = 20;
/// The coarsest scale; downscaling stops here.
pub const MIN_SCALE: i32 = -10;

/// One exponential histogram.
#[derive(Debug, Clone, PartialEq)]
pub struct ExponentialHistogram {
    max_size: usize,
    pub scale: i32,
    pub count: u64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    pub zero_count: u64,
    /// Index of `bucket_counts[0]`.
    pub offset: i32,
    pub bucket_counts: Vec<u64>,
}

impl ExponentialHistogram {
    /// An empty histogram with at most `max_size` buckets.
    pub fn new(max_size: u32) -> Self {
        Self {
            max_size: usize::try_from(max_size.max(2)).unwrap_or(2),
            scale: MAX_SCALE,
            count: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            zero_count: 0,
            offset: 0,
            bucket_counts: Vec::new(),
        }
    }

    /// Records `value` `n` times.
    pub fn observe(&mut self, value: f64, n: u64) {
        if n == 0 || value.is_nan() {
            return;
        }
        self.count = self.count.saturating_add(n);
        self.sum += value * n as f64;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        if value <= 0.0 || value.is_infinite() {
            // Durations are never negative; zero (and anything unrepresentable) is "zero".
            self.zero_count = self.zero_count.saturating_add(n);
            return;
        }
        let mut index = map_to_index(value, self.scale);
        if self.bucket_counts.is_empty() {
            self.offset = index;
            self.bucket_counts.push(n);
            return;
        }
        let last = i64::from(self.offset) + self.bucket_counts.len() as i64 - 1;
        let low = i64::from(self.offset).min(i64::from(index));
        let high = last.max(i64::from(index));
        let change = self.downscale_needed(low, high);
        if change > 0 {
            self.downscale(change);
            index >>= change;
        }
        self.increment(index, n);
    }

    /// How many halvings make `[low, high]` fit in `max_size` buckets.
    fn downscale_needed(&self, low: i64, high: i64) -> i32 {
        let mut change = 0;
        while (high >> change) - (low >> change) + 1 > self.max_size as i64
            && self.scale - change > MIN_SCALE
        {
            change += 1;
        }
        change
    }

    /// Merges buckets `change` times pairwise (bucket `i` becomes `i >> change`).
    fn downscale(&mut self, change: i32) {
        let new_offset = self.offset >> change;
        let mut merged: Vec<u64> = Vec::new();
        for (i, count) in self.bucket_counts.iter().enumerate() {
            let index = i64::from(self.offset) + i as i64;
            let slot = usize::try_from((index >> change) - i64::from(new_offset)).unwrap_or(0);
            if merged.len() <= slot {
                merged.resize(slot + 1, 0);
            }
            if let Some(m) = merged.get_mut(slot) {
                *m = m.saturating_add(*count);
            }
        }
        self.offset = new_offset;
        self.bucket_counts = merged;
        self.scale -= change;
    }

    fn increment(&mut self, index: i32, n: u64) {
        if index < self.offset {
            let grow = usize::try_from(i64::from(self.offset) - i64::from(index)).unwrap_or(0);
            let mut counts = vec![0; grow];
            counts.append(&mut self.bucket_counts);
            self.bucket_counts = counts;
            self.offset = index;
        }
        let Ok(slot) = usize::try_from(i64::from(index) - i64::from(self.offset)) else {
            return;
        };
        if self.bucket_counts.len() <= slot {
            self.bucket_counts.resize(slot + 1, 0);
        }
        if let Some(c) = self.bucket_counts.get_mut(slot) {
            *c = c.saturating_add(n);
        }
    }
}

/// `floor(log2(value))` and whether `value` is an exact power of two, for `value > 0`.
fn base2(value: f64) -> (i64, bool) {
    let bits = value.to_bits();
    let raw_exponent = ((bits >> 52) & 0x7ff) as i64;
    let mantissa = bits & ((1u64 << 52) - 1);
    if raw_exponent == 0 {
        // Subnormal: value = mantissa · 2^-1074.
        let top = 63 - i64::from(mantissa.leading_zeros());
        (top - 1074, mantissa.is_power_of_two())
    } else {
        (raw_exponent - 1023, mantissa == 0)
    }
}

/// The bucket index of `value > 0` at `scale` (upper bounds inclusive, exact at powers of two).
pub fn map_to_index(value: f64, scale: i32) -> i32 {
    let (exponent, exact) = base2(value);
    let index = if scale > 0 {
        if exact {
            (exponent << scale) - 1
        } else {
            let factor = f64::from(scale).exp2() / LN_2;
            (value.ln() * factor).floor() as i64
        }
    } else {
        (exponent - i64::from(exact)) >> -scale
    };
    i32::try_from(index).unwrap_or(if index < 0 { i32::MIN } else { i32::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bucket `(lower, upper]` that `index` stands for at `scale`.
    fn bucket(index: i32, scale: i32) -> (f64, f64) {
        let width = (-f64::from(scale)).exp2();
        (
            (f64::from(index) * width).exp2(),
            (f64::from(index + 1) * width).exp2(),
        )
    }

    #[test]
    fn indexes_put_values_in_their_bucket() {
        for scale in [-2, 0, 1, 3, 8, 20] {
            for v in [
                0.001, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 11.0, 1000.0, 2000.0, 123456.7,
            ] {
                let i = map_to_index(v, scale);
                let (lower, upper) = bucket(i, scale);
                let tolerance = upper * 1e-9;
                assert!(
                    lower < v + tolerance && v <= upper + tolerance,
                    "{v} at scale {scale}: index {i} = ({lower}, {upper}]"
                );
            }
        }
        // Powers of two are the upper bound of the bucket below them.
        assert_eq!(map_to_index(1.0, 0), -1);
        assert_eq!(map_to_index(2.0, 0), 0);
        assert_eq!(map_to_index(4.0, 1), 3);
        assert_eq!(map_to_index(4.0, -1), 0);
        assert_eq!(map_to_index(8.0, -1), 1);
    }

    #[test]
    fn downscales_to_fit_max_size() {
        let mut h = ExponentialHistogram::new(4);
        for v in [1.0, 2.0, 4.0, 8.0, 16.0, 1024.0] {
            h.observe(v, 1);
        }
        assert!(h.bucket_counts.len() <= 4, "{h:?}");
        assert_eq!(h.bucket_counts.iter().sum::<u64>(), 6);
        assert_eq!(h.count, 6);
        // Every value still falls into the bucket that counts it.
        for v in [1.0, 2.0, 4.0, 8.0, 16.0, 1024.0] {
            let i = map_to_index(v, h.scale);
            assert!(i >= h.offset && ((i - h.offset) as usize) < h.bucket_counts.len());
        }
        assert_eq!((h.min, h.max, h.sum), (1.0, 1024.0, 1055.0));
    }

    #[test]
    fn zero_and_weights() {
        let mut h = ExponentialHistogram::new(160);
        h.observe(0.0, 2);
        h.observe(11.0, 3);
        assert_eq!((h.count, h.zero_count, h.sum), (5, 2, 33.0));
        assert_eq!(h.bucket_counts, vec![3]);
        assert_eq!(h.scale, MAX_SCALE);
    }
}
