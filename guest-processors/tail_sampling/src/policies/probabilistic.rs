//! `probabilistic` (the Collector's tail-sampling `probabilistic.go`): an FNV-1a 64-bit hash
//! of `hash_salt` and the trace id against `sampling_percentage` of the 64-bit range.

use crate::decision::Decision;
use crate::trace_view::TraceRef;

/// The salt used when `hash_salt` is empty.
pub const DEFAULT_HASH_SALT: &str = "default-hash-seed";

/// `probabilistic` policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probabilistic {
    /// `hash_salt` (or the default).
    pub salt: String,
    /// Traces whose hash is `<=` this are sampled.
    pub threshold: u64,
}

impl Probabilistic {
    /// A policy for `hash_salt` and `sampling_percentage`.
    pub fn new(hash_salt: &str, sampling_percentage: f64) -> Self {
        let salt = if hash_salt.is_empty() {
            DEFAULT_HASH_SALT
        } else {
            hash_salt
        };
        Self {
            salt: salt.to_owned(),
            threshold: calculate_threshold(sampling_percentage / 100.0),
        }
    }

    /// Sampled when `fnv64a(salt ++ trace id) <= threshold`.
    pub fn evaluate(&self, trace: &TraceRef<'_>) -> Decision {
        if hash_trace_id(self.salt.as_bytes(), &trace.trace_id()) <= self.threshold {
            Decision::Sampled
        } else {
            Decision::NotSampled
        }
    }
}

/// `hashTraceID`: FNV-1a 64 of the salt bytes followed by the trace id.
pub fn hash_trace_id(salt: &[u8], trace_id: &[u8]) -> u64 {
    salt.iter()
        .chain(trace_id)
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
}

/// `calculateThreshold`: `MaxUint64 * ratio` computed as Go's `big.Float` does — the exact
/// product rounded to 64 significant bits (nearest, ties to even), then truncated to an
/// integer; negative gives 0 and anything from 2^64 up gives `u64::MAX`.
pub fn calculate_threshold(ratio: f64) -> u64 {
    if ratio.is_nan() || ratio <= 0.0 {
        return 0;
    }
    if ratio.is_infinite() {
        return u64::MAX;
    }
    // ratio = mantissa * 2^exp exactly.
    let bits = ratio.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1u64 << 52) - 1);
    let (mantissa, exp) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1u64 << 52), biased - 1075)
    };
    let product = u128::from(u64::MAX) * u128::from(mantissa);
    // Round the product to 64 significant bits.
    let bit_len = 128 - product.leading_zeros() as i32;
    let (rounded, exp) = if bit_len > 64 {
        let shift = (bit_len - 64) as u32;
        let kept = product >> shift;
        let rest = product & ((1u128 << shift) - 1);
        let half = 1u128 << (shift - 1);
        let up = rest > half || (rest == half && kept & 1 == 1);
        (kept + u128::from(up), exp + shift as i32)
    } else {
        (product, exp)
    };
    // value = rounded * 2^exp, truncated toward zero.
    if exp >= 0 {
        if exp >= 64 || rounded.leading_zeros() < exp as u32 {
            return u64::MAX;
        }
        u64::try_from(rounded << exp).unwrap_or(u64::MAX)
    } else if -exp >= 128 {
        0
    } else {
        u64::try_from(rounded >> (-exp) as u32).unwrap_or(u64::MAX)
    }
}
