//! The sampling modes and the per-item decision shared by spans and log records, ported from
//! the Collector's `sampler_mode.go` (`makeSampler`, `decide`, `consistencyCheck`,
//! `commonShouldSampleLogic`).

use crate::config::{Mode, Settings, TRACE_ID_SOURCE};
use crate::fnv::HASH_BUCKETS;
use crate::sampling::{MIN_SAMPLING_PROBABILITY, Randomness, SamplingError, Threshold};

/// A sampling mode with its configured threshold or ratio (`dataSampler`).
#[derive(Debug, Clone, PartialEq)]
pub enum Sampler {
    /// 0%: decides never-sample (`neverSampler`).
    Never,
    /// The legacy FNV hash (`hashingSampler`).
    Hashing {
        /// `hash_seed`.
        seed: u32,
        /// `(0x4000 - scaled rate) << 42`.
        threshold: Threshold,
        /// Logs: hash the trace id (`attribute_source: traceID`).
        logs_trace_id: bool,
        /// Logs: the attribute hashed when the trace id is not used or empty.
        logs_source_attribute: String,
    },
    /// `equalizingSampler`.
    Equalizing {
        /// The configured threshold.
        threshold: Threshold,
    },
    /// `proportionalSampler`.
    Proportional {
        /// Sampling ratio in `[2^-56, 1]`.
        ratio: f64,
        /// Precision in hex digits.
        precision: u32,
    },
}

impl Sampler {
    /// Builds the sampler as `makeSampler` does (the same for traces and logs).
    pub fn new(settings: &Settings) -> Sampler {
        let pct = settings.sampling_percentage.min(100.0);
        let mode = settings.mode.unwrap_or(
            // The Collector's rule for an unset mode: hash_seed when the seed is set or logs
            // do not use the trace id, otherwise its default mode, which is hash_seed too.
            Mode::HashSeed,
        );
        if pct == 0.0 {
            return Sampler::Never;
        }
        let ratio = (f64::from(pct) / 100.0).max(MIN_SAMPLING_PROBABILITY);
        match mode {
            Mode::Equalizing => Sampler::Equalizing {
                threshold: Threshold::from_probability_with_precision(
                    ratio,
                    settings.sampling_precision,
                )
                .unwrap_or(Threshold::ALWAYS_SAMPLE),
            },
            Mode::Proportional => Sampler::Proportional {
                ratio,
                precision: settings.sampling_precision,
            },
            Mode::HashSeed => {
                // uint32(pct * percentageScaleFactor): a float32 product, truncated.
                let scaled = (pct * 163.84_f32) as u32;
                if scaled == 0 {
                    return Sampler::Never;
                }
                let reject = HASH_BUCKETS.saturating_sub(scaled);
                Sampler::Hashing {
                    seed: settings.hash_seed,
                    threshold: Threshold::from_unsigned(u64::from(reject) << 42)
                        .unwrap_or(Threshold::ALWAYS_SAMPLE),
                    logs_trace_id: settings.attribute_source == TRACE_ID_SOURCE,
                    logs_source_attribute: settings.from_attribute.clone(),
                }
            }
        }
    }

    /// The threshold this sampler applies to an item whose carrier holds `arriving`
    /// (`decide`).
    pub fn decide(&self, arriving: Option<Threshold>) -> Threshold {
        match self {
            Sampler::Never => Threshold::NEVER_SAMPLE,
            Sampler::Hashing { threshold, .. } => *threshold,
            Sampler::Equalizing { threshold } => match arriving {
                Some(tv) if *threshold < tv => tv,
                _ => *threshold,
            },
            Sampler::Proportional { ratio, precision } => {
                let incoming = arriving.map_or(1.0, Threshold::probability);
                match Threshold::from_probability_with_precision(incoming * ratio, *precision) {
                    Ok(t) => t,
                    Err(SamplingError::ProbabilityRange) => Threshold::NEVER_SAMPLE,
                    // As the Collector: any other error yields the zero threshold.
                    Err(_) => Threshold::ALWAYS_SAMPLE,
                }
            }
        }
    }
}

/// Where an item's randomness came from (`randomnessNamer`); the name is the Collector's
/// metric `policy` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rnd {
    /// None could be found (`missing_randomness`); compares as all-probabilities.
    Missing,
    /// The FNV hash of the trace id (`trace_id_hash`).
    TraceIdHash(Randomness),
    /// The trace id's 56 low bits (`trace_id_w3c`).
    TraceIdW3c(Randomness),
    /// An explicit `rv` / `sampling.randomness` (`sampling_randomness`).
    Explicit(Randomness),
    /// The hash of a log attribute (policy named after the attribute).
    Attribute(Randomness),
    /// Set by sampling priority or the 0% sampler (`sampling_priority`).
    Priority(Randomness),
}

impl Rnd {
    /// The randomness value; all-probabilities when missing.
    pub fn value(self) -> Randomness {
        match self {
            Rnd::Missing => Randomness::ALL_PROBABILITIES,
            Rnd::TraceIdHash(r)
            | Rnd::TraceIdW3c(r)
            | Rnd::Explicit(r)
            | Rnd::Attribute(r)
            | Rnd::Priority(r) => r,
        }
    }
}

/// Sampling-related problems with an item (`samplerError` and parse errors). Each makes the
/// item follow `fail_closed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemError {
    /// `inconsistent arriving threshold: item should not have been sampled`
    InconsistentThreshold,
    /// `missing randomness`
    MissingRandomness,
    /// `item has sampling randomness, equalizing or proportional mode recommended`
    RandomnessInUse,
    /// `item has sampling threshold, equalizing or proportional mode recommended`
    ThresholdInUse,
    /// The tracestate or the `sampling.*` attributes do not parse.
    Parse(String),
}

impl std::fmt::Display for ItemError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ItemError::InconsistentThreshold => {
                f.write_str("inconsistent arriving threshold: item should not have been sampled")
            }
            ItemError::MissingRandomness => f.write_str("missing randomness"),
            ItemError::RandomnessInUse => f.write_str(
                "item has sampling randomness, equalizing or proportional mode recommended",
            ),
            ItemError::ThresholdInUse => f.write_str(
                "item has sampling threshold, equalizing or proportional mode recommended",
            ),
            ItemError::Parse(m) => f.write_str(m),
        }
    }
}

/// Where an item keeps its sampling state: a span's tracestate or a log record's
/// `sampling.threshold` / `sampling.randomness` attributes (`samplingCarrier`).
pub trait Carrier {
    /// The arriving threshold, if any.
    fn threshold(&self) -> Option<Threshold>;
    /// The explicit randomness, if any.
    fn explicit_randomness(&self) -> Option<Randomness>;
    /// Records explicit randomness.
    fn set_explicit_randomness(&mut self, rnd: Randomness);
    /// Removes the threshold.
    fn clear_threshold(&mut self);
    /// Records the threshold the item was sampled with, unless that raises its probability.
    fn update_threshold(&mut self, threshold: Threshold);
    /// Writes the state back into the item.
    fn reserialize(&mut self);
}

/// The result of [`should_sample`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Whether the item is kept.
    pub sampled: bool,
    /// The error that made `fail_closed` decide, if any.
    pub error: Option<ItemError>,
}

/// `commonShouldSampleLogic`: checks consistency, lets `fail_closed` decide on errors,
/// applies the sampler and then `priority`, and records the threshold of sampled items.
pub fn should_sample<C: Carrier>(
    sampler: &Sampler,
    fail_closed: bool,
    rnd: Rnd,
    mut carrier: Option<C>,
    error: Option<ItemError>,
    priority: impl FnOnce(Rnd, Threshold) -> (Rnd, Threshold),
) -> (Verdict, Option<C>) {
    let error = error.or_else(|| consistency_check(rnd, carrier.as_mut()));
    let threshold = match (&error, &carrier) {
        (Some(_), _) if fail_closed => Threshold::NEVER_SAMPLE,
        (Some(_), _) => Threshold::ALWAYS_SAMPLE,
        (None, c) => sampler.decide(c.as_ref().and_then(Carrier::threshold)),
    };
    let (rnd, threshold) = priority(rnd, threshold);
    let sampled = threshold.should_sample(rnd.value());
    if sampled && let Some(c) = carrier.as_mut() {
        c.update_threshold(threshold);
        c.reserialize();
    }
    (Verdict { sampled, error }, carrier)
}

/// `consistencyCheck`: randomness must exist, and an arriving threshold must accept it (an
/// inconsistent one is cleared).
fn consistency_check<C: Carrier>(rnd: Rnd, carrier: Option<&mut C>) -> Option<ItemError> {
    if rnd == Rnd::Missing {
        return Some(ItemError::MissingRandomness);
    }
    let carrier = carrier?;
    match carrier.threshold() {
        Some(tv) if !tv.should_sample(rnd.value()) => {
            carrier.clear_threshold();
            Some(ItemError::InconsistentThreshold)
        }
        _ => None,
    }
}
