//! OpenTelemetry consistent probability sampling arithmetic (OTEP 235): 56-bit thresholds and
//! randomness values, their hex encodings (`th`, `rv`) and probability conversions.
//!
//! A port of the Collector's `pkg/sampling` (`threshold.go`, `randomness.go`,
//! `probability.go`): an item is sampled when its randomness `R` is at least the threshold
//! `T` (`T <= R`), both 56-bit unsigned numbers; `T = 0` samples everything and
//! `T = 2^56` nothing.

/// `2^56`: one more than the largest randomness value, and the never-sample threshold.
pub const MAX_ADJUSTED_COUNT: u64 = 1 << 56;

/// Hex digits in a full 56-bit value.
pub const NUM_HEX_DIGITS: usize = 14;

/// The smallest representable sampling probability, `2^-56`.
pub const MIN_SAMPLING_PROBABILITY: f64 = 1.0 / MAX_ADJUSTED_COUNT as f64;

/// A rejection threshold in `[0, 2^56]`; larger means a smaller sampling probability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Threshold(u64);

/// 56 bits of randomness in `[0, 2^56 - 1]`, from the trace id or an explicit `rv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Randomness(u64);

/// Why a `th` or `rv` value, or a probability, was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SamplingError {
    /// `t-value exceeds 14 hex digits`
    TValueSize,
    /// `t-value is empty`
    TValueEmpty,
    /// `r-value must have 14 hex digits`
    RValueSize,
    /// A character that is not a hex digit (Go's `strconv.ErrSyntax`).
    Syntax,
    /// The probability is outside `[2^-56, 1]`.
    ProbabilityRange,
}

impl std::fmt::Display for SamplingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SamplingError::TValueSize => "t-value exceeds 14 hex digits",
            SamplingError::TValueEmpty => "t-value is empty",
            SamplingError::RValueSize => "r-value must have 14 hex digits",
            SamplingError::Syntax => "invalid syntax",
            SamplingError::ProbabilityRange => {
                "sampling probability out of the range [1/MaxAdjustedCount, 1]"
            }
        })
    }
}

/// Parses hex digits (either case) like Go's `strconv.ParseUint(s, 16, 64)` for inputs of at
/// most 16 digits: no sign, no prefix, no underscores.
fn parse_hex(s: &str) -> Result<u64, SamplingError> {
    if s.is_empty() || s.len() > 16 {
        return Err(SamplingError::Syntax);
    }
    let mut value = 0u64;
    for c in s.bytes() {
        let digit = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => return Err(SamplingError::Syntax),
        };
        value = (value << 4) | u64::from(digit);
    }
    Ok(value)
}

impl Threshold {
    /// 100% sampling (`th:0`).
    pub const ALWAYS_SAMPLE: Threshold = Threshold(0);
    /// 0% sampling; has no `th` encoding.
    pub const NEVER_SAMPLE: Threshold = Threshold(MAX_ADJUSTED_COUNT);

    /// The threshold for an unsigned value; `None` above `2^56`.
    pub fn from_unsigned(x: u64) -> Option<Threshold> {
        (x <= MAX_ADJUSTED_COUNT).then_some(Threshold(x))
    }

    /// The unsigned value.
    pub fn unsigned(self) -> u64 {
        self.0
    }

    /// Parses a `th` value: 1 to 14 hex digits, trailing zeros omitted (`TValueToThreshold`).
    pub fn from_tvalue(s: &str) -> Result<Threshold, SamplingError> {
        if s.len() > NUM_HEX_DIGITS {
            return Err(SamplingError::TValueSize);
        }
        if s.is_empty() {
            return Err(SamplingError::TValueEmpty);
        }
        let unsigned = parse_hex(s)?;
        Ok(Threshold(unsigned << (4 * (NUM_HEX_DIGITS - s.len()))))
    }

    /// Encodes the threshold as a `th` value: `"0"` for always-sample, otherwise 14 hex
    /// digits with trailing zeros removed; empty for never-sample (`TValue`).
    pub fn tvalue(self) -> String {
        if self == Threshold::ALWAYS_SAMPLE {
            return "0".to_owned();
        }
        Randomness(self.0).rvalue().trim_end_matches('0').to_owned()
    }

    /// Whether an item with randomness `rnd` passes (`T <= R`).
    pub fn should_sample(self, rnd: Randomness) -> bool {
        rnd.0 >= self.0
    }

    /// The sampling probability `(2^56 - T) / 2^56`.
    pub fn probability(self) -> f64 {
        (MAX_ADJUSTED_COUNT - self.0.min(MAX_ADJUSTED_COUNT)) as f64 / MAX_ADJUSTED_COUNT as f64
    }

    /// `ProbabilityToThreshold`: full precision.
    pub fn from_probability(prob: f64) -> Result<Threshold, SamplingError> {
        if !probability_in_range(prob) {
            return Err(SamplingError::ProbabilityRange);
        }
        let scaled = (prob * MAX_ADJUSTED_COUNT as f64).round() as u64;
        Ok(Threshold(MAX_ADJUSTED_COUNT - scaled))
    }

    /// `ProbabilityToThresholdWithPrecision`: rounds the threshold to `precision` hex digits
    /// (0 means all 14), plus one digit for every 4 binary orders of magnitude that the
    /// probability or its complement lies below 1 (leading `f`s or `0`s of the threshold), at
    /// most 14.
    pub fn from_probability_with_precision(
        prob: f64,
        precision: u32,
    ) -> Result<Threshold, SamplingError> {
        let precision = if precision == 0 {
            NUM_HEX_DIGITS as u32
        } else {
            precision
        };
        if !probability_in_range(prob) {
            return Err(SamplingError::ProbabilityRange);
        }
        if prob == 1.0 {
            return Ok(Threshold::ALWAYS_SAMPLE);
        }
        // precision = min(14, max(precision + expF/-4, precision + expR/-4)), Go's truncating
        // integer division.
        let extra = |x: f64| (frexp_exponent(x) / -4).max(0) as u32;
        let precision = (precision + extra(prob).max(extra(1.0 - prob))).min(NUM_HEX_DIGITS as u32);
        let scaled = (prob * MAX_ADJUSTED_COUNT as f64).round() as u64;
        let mut threshold = MAX_ADJUSTED_COUNT - scaled.min(MAX_ADJUSTED_COUNT);
        let shift = 4 * (NUM_HEX_DIGITS as u32 - precision);
        if shift != 0 {
            threshold += 1u64 << (shift - 1);
            threshold >>= shift;
            threshold <<= shift;
        }
        Ok(Threshold(threshold))
    }
}

/// The exponent of Go's `math.Frexp`: `x = frac * 2^exp` with `frac` in `[0.5, 1)`; 0 for
/// zero, infinities and NaN.
fn frexp_exponent(x: f64) -> i32 {
    if x == 0.0 || !x.is_finite() {
        return 0;
    }
    let bits = x.abs().to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    if biased == 0 {
        // Subnormal: normalize first.
        return frexp_exponent(x * (1u64 << 54) as f64) - 54;
    }
    biased - 1022
}

fn probability_in_range(prob: f64) -> bool {
    (MIN_SAMPLING_PROBABILITY..=1.0).contains(&prob)
}

impl Randomness {
    /// Randomness that every threshold but never-sample accepts (`ffffffffffffff`).
    pub const ALL_PROBABILITIES: Randomness = Randomness(MAX_ADJUSTED_COUNT - 1);

    /// The randomness for an unsigned value; `None` at or above `2^56`.
    pub fn from_unsigned(x: u64) -> Option<Randomness> {
        (x < MAX_ADJUSTED_COUNT).then_some(Randomness(x))
    }

    /// The unsigned value.
    pub fn unsigned(self) -> u64 {
        self.0
    }

    /// The W3C Trace Context level 2 randomness of a trace id: its 56 least-significant bits
    /// (`TraceIDToRandomness`).
    pub fn from_trace_id(id: &[u8; 16]) -> Randomness {
        let mut low = [0u8; 8];
        low.copy_from_slice(&id[8..]);
        Randomness(u64::from_be_bytes(low) & (MAX_ADJUSTED_COUNT - 1))
    }

    /// Parses an `rv` value: exactly 14 hex digits (`RValueToRandomness`).
    pub fn from_rvalue(s: &str) -> Result<Randomness, SamplingError> {
        if s.len() != NUM_HEX_DIGITS {
            return Err(SamplingError::RValueSize);
        }
        Ok(Randomness(parse_hex(s)?))
    }

    /// The `rv` encoding: 14 lower-case hex digits with leading zeros.
    pub fn rvalue(self) -> String {
        if self.0 >= MAX_ADJUSTED_COUNT {
            return String::new();
        }
        format!("{:014x}", self.0)
    }
}
