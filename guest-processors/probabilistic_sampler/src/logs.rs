//! Log record sampling (the Collector's `logsprocessor.go`): randomness from the trace id, an
//! explicit `sampling.randomness` attribute or the hash of `from_attribute`; the record's
//! `sampling_priority` attribute; and the `sampling.threshold` (and, in `hash_seed` mode,
//! `sampling.randomness`) attributes written into kept records.

use sluice_guest_sdk::otlp::any_value::Value;
use sluice_guest_sdk::prelude::*;

use crate::fnv::randomness_from_bytes;
use crate::sampler::{Carrier, ItemError, Rnd, Sampler, Verdict, should_sample};
use crate::sampling::{Randomness, Threshold};
use crate::traces::valid_trace_id;
use crate::value_string::value_as_string;

const THRESHOLD_KEY: &str = "sampling.threshold";
const RANDOMNESS_KEY: &str = "sampling.randomness";

/// A log record's sampling state in its attributes (`recordCarrier`).
pub struct RecordCarrier<'a> {
    record: &'a mut LogRecord,
    threshold: Option<Threshold>,
    randomness: Option<Randomness>,
    modified: bool,
}

impl<'a> RecordCarrier<'a> {
    /// Reads `sampling.threshold` and `sampling.randomness` (string attributes; empty means
    /// absent) as `newLogRecordCarrier`; a value that does not parse is an error.
    fn new(record: &'a mut LogRecord) -> (Self, Option<ItemError>) {
        let mut error = None;
        let mut threshold = None;
        let mut randomness = None;
        if let Some(tv) = string_attr(record, THRESHOLD_KEY) {
            match Threshold::from_tvalue(tv) {
                Ok(t) => threshold = Some(t),
                Err(e) => error = Some(ItemError::Parse(e.to_string())),
            }
        }
        if let Some(rv) = string_attr(record, RANDOMNESS_KEY) {
            match Randomness::from_rvalue(rv) {
                Ok(r) => randomness = Some(r),
                Err(e) => error = Some(ItemError::Parse(e.to_string())),
            }
        }
        let carrier = Self {
            record,
            threshold,
            randomness,
            modified: false,
        };
        (carrier, error)
    }

    fn put(&mut self, key: &str, value: String) {
        if self.record.str_attribute(key) != Some(value.as_str()) {
            self.record.set_attribute(key, value);
            self.modified = true;
        }
    }
}

/// A non-empty string attribute.
fn string_attr<'r>(record: &'r LogRecord, key: &str) -> Option<&'r str> {
    record.str_attribute(key).filter(|s| !s.is_empty())
}

impl Carrier for RecordCarrier<'_> {
    fn threshold(&self) -> Option<Threshold> {
        self.threshold
    }
    fn explicit_randomness(&self) -> Option<Randomness> {
        self.randomness
    }
    fn set_explicit_randomness(&mut self, rnd: Randomness) {
        self.randomness = Some(rnd);
        self.put(RANDOMNESS_KEY, rnd.rvalue());
    }
    fn clear_threshold(&mut self) {
        self.threshold = None;
        if self.record.remove_attribute(THRESHOLD_KEY).is_some() {
            self.modified = true;
        }
    }
    fn update_threshold(&mut self, threshold: Threshold) {
        if let Some(existing) = self.threshold
            && threshold < existing
        {
            // Cannot raise an existing sampling probability (logged at debug level).
            return;
        }
        self.put(THRESHOLD_KEY, threshold.tvalue());
    }
    fn reserialize(&mut self) {}
}

/// The bytes the Collector hashes for an attribute value (`getBytesFromValue`): raw bytes for
/// a bytes value, otherwise the value's string form (`AsString`).
fn value_bytes(value: &AnyValue) -> Vec<u8> {
    match &value.value {
        Some(Value::BytesValue(b)) => b.clone(),
        _ => value_as_string(value).into_bytes(),
    }
}

/// `randomnessFromLogRecord` of each mode.
fn randomness_from_record<'a>(
    sampler: &Sampler,
    record: &'a mut LogRecord,
) -> (Rnd, Option<RecordCarrier<'a>>, Option<ItemError>) {
    match sampler {
        Sampler::Never => {
            let (carrier, error) = RecordCarrier::new(record);
            (
                Rnd::Priority(Randomness::ALL_PROBABILITIES),
                Some(carrier),
                error,
            )
        }
        Sampler::Hashing {
            seed,
            logs_trace_id,
            logs_source_attribute,
            ..
        } => {
            let mut rnd = Rnd::Missing;
            if *logs_trace_id && let Some(id) = valid_trace_id(&record.trace_id) {
                rnd = Rnd::TraceIdHash(randomness_from_bytes(&id, *seed));
            }
            if rnd == Rnd::Missing
                && !logs_source_attribute.is_empty()
                && let Some(value) = record.attribute(logs_source_attribute)
            {
                let bytes = value_bytes(value);
                if !bytes.is_empty() {
                    rnd = Rnd::Attribute(randomness_from_bytes(&bytes, *seed));
                }
            }
            let (mut carrier, error) = RecordCarrier::new(record);
            if error.is_some() {
                (rnd, None, error)
            } else if carrier.explicit_randomness().is_some() {
                (rnd, None, Some(ItemError::RandomnessInUse))
            } else if carrier.threshold().is_some() {
                (rnd, None, Some(ItemError::ThresholdInUse))
            } else {
                if rnd != Rnd::Missing {
                    carrier.set_explicit_randomness(rnd.value());
                }
                (rnd, Some(carrier), None)
            }
        }
        Sampler::Equalizing { .. } | Sampler::Proportional { .. } => {
            let trace_id = valid_trace_id(&record.trace_id);
            let (carrier, error) = RecordCarrier::new(record);
            if error.is_some() {
                return (Rnd::Missing, None, error);
            }
            let rnd = match (carrier.explicit_randomness(), trace_id) {
                (Some(r), _) => Rnd::Explicit(r),
                (None, Some(id)) => Rnd::TraceIdW3c(Randomness::from_trace_id(&id)),
                (None, None) => Rnd::Missing,
            };
            (rnd, Some(carrier), None)
        }
    }
}

/// `logRecordToPriorityThreshold`: an int or double attribute is a percentage; a valid
/// non-zero one replaces the decided threshold.
pub fn priority_threshold(record: &LogRecord, key: &str, precision: u32) -> Option<Threshold> {
    if key.is_empty() {
        return None;
    }
    let min_prob = match record.attribute(key).and_then(|v| v.value.as_ref()) {
        Some(Value::DoubleValue(d)) => d / 100.0,
        Some(Value::IntValue(i)) => *i as f64 / 100.0,
        _ => return None,
    };
    if min_prob == 0.0 {
        return None;
    }
    Threshold::from_probability_with_precision(min_prob, precision).ok()
}

/// What sampling did to a logs batch.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LogsResult {
    /// Records seen.
    pub total: usize,
    /// Records kept.
    pub kept: usize,
    /// Kept records whose sampling attributes changed.
    pub rewritten: usize,
    /// Records with a sampling error.
    pub errors: usize,
    /// The first error.
    pub first_error: Option<String>,
}

/// Logs sampling options besides the sampler.
#[derive(Debug, Clone)]
pub struct LogsOptions {
    /// `fail_closed`.
    pub fail_closed: bool,
    /// `sampling_priority`.
    pub priority_attribute: String,
    /// `sampling_precision`.
    pub precision: u32,
}

/// Samples every record of `batch` in place, removing unsampled records and emptied scopes
/// and resources.
pub fn sample_logs(
    sampler: &Sampler,
    options: &LogsOptions,
    batch: &mut ExportLogsServiceRequest,
) -> LogsResult {
    let mut result = LogsResult::default();
    for rl in &mut batch.resource_logs {
        for sl in &mut rl.scope_logs {
            sl.log_records.retain_mut(|record| {
                result.total += 1;
                let (verdict, modified) = sample_record(sampler, options, record);
                if let Some(e) = verdict.error {
                    result.errors += 1;
                    result.first_error.get_or_insert_with(|| e.to_string());
                }
                if verdict.sampled {
                    result.kept += 1;
                    if modified {
                        result.rewritten += 1;
                    }
                }
                verdict.sampled
            });
        }
        rl.scope_logs.retain(|sl| !sl.log_records.is_empty());
    }
    batch.resource_logs.retain(|rl| !rl.scope_logs.is_empty());
    result
}

/// The decision for one record, which is updated in place; also whether it was modified.
pub fn sample_record(
    sampler: &Sampler,
    options: &LogsOptions,
    record: &mut LogRecord,
) -> (Verdict, bool) {
    let priority = priority_threshold(record, &options.priority_attribute, options.precision);
    let (rnd, carrier, error) = randomness_from_record(sampler, record);
    let (verdict, carrier) = should_sample(
        sampler,
        options.fail_closed,
        rnd,
        carrier,
        error,
        |rnd, threshold| match priority {
            Some(p) => (Rnd::Priority(rnd.value()), p),
            None => (rnd, threshold),
        },
    );
    let modified = carrier.is_some_and(|c| c.modified);
    (verdict, modified)
}
