//! The OpenTelemetry Collector's `probabilistic_sampler` processor as a Sluice guest.
//!
//! ```yaml
//! processors:
//!   wasm/sample:
//!     component: sluice_guest_probabilistic_sampler.wasm
//!     config:
//!       sampling_percentage: 15.3    # 0 drops everything, >= 100 keeps everything
//!       hash_seed: 22                # default 0
//!       mode: hash_seed              # hash_seed (default) | proportional | equalizing
//!       fail_closed: true            # default true: items with sampling errors are dropped
//!       sampling_precision: 4        # hex digits of written thresholds, 1..14
//!       attribute_source: record     # logs: traceID (default) | record
//!       from_attribute: log.id       # logs: hashed when the trace id is not used
//!       sampling_priority: priority  # logs: a record attribute holding a percentage
//! ```
//!
//! Spans and log records are decided one by one, statelessly, exactly as the Collector does:
//! in `hash_seed` mode an FNV-1a hash of the seed and the trace id is compared with the
//! percentage (14 bits), so spans of one trace share the decision; the consistent modes use
//! the trace id's 56 low bits or an explicit `rv`. Kept items carry their sampling threshold
//! (`ot=th:...` in the span's tracestate, `sampling.threshold` on log records), as in the
//! Collector. See README.md for the differences.

pub mod config;
pub mod fnv;
pub mod logs;
pub mod sampler;
pub mod sampling;
pub mod traces;
pub mod tracestate;
mod value_string;

use sluice_guest_sdk::prelude::*;

use crate::config::Settings;
use crate::logs::LogsOptions;
use crate::sampler::Sampler;

/// The processor: one sampler, built once from the configuration.
pub struct ProbabilisticSampler {
    settings: Settings,
    sampler: Sampler,
}

impl ProbabilisticSampler {
    /// The validated settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The sampler the settings select.
    pub fn sampler(&self) -> &Sampler {
        &self.sampler
    }
}

/// `unchanged` when everything was kept untouched, `dropped` when nothing was kept,
/// otherwise the edited batch.
fn outcome(total: usize, kept: usize, rewritten: usize) -> Outcome {
    if kept == 0 && total > 0 {
        Outcome::Dropped
    } else if kept == total && rewritten == 0 {
        Outcome::Unchanged
    } else {
        Outcome::Modified
    }
}

fn log_errors(signal: &str, errors: usize, first: Option<&str>) {
    if errors > 0 {
        sluice_guest_sdk::logs::debug(&format!(
            "{signal} sampler: {errors} item(s) had sampling errors and were decided by fail_closed; first: {}",
            first.unwrap_or("")
        ));
    }
}

impl Processor for ProbabilisticSampler {
    fn init(config_json: &str) -> Result<Init<Self>, Vec<ConfigProblem>> {
        let (settings, warnings) = config::parse(config_json)?;
        let sampler = Sampler::new(&settings);
        Ok(Init::new(ProbabilisticSampler { settings, sampler }).warnings(warnings))
    }

    fn handles(&self, signal: Signal) -> bool {
        matches!(signal, Signal::Traces | Signal::Logs)
    }

    fn process_traces(
        &mut self,
        batch: &mut ExportTraceServiceRequest,
        _context: &RequestContext,
    ) -> Result<Outcome, Error> {
        let r = traces::sample_traces(&self.sampler, self.settings.fail_closed, batch);
        log_errors("traces", r.errors, r.first_error.as_deref());
        Ok(outcome(r.total, r.kept, r.rewritten))
    }

    fn process_logs(
        &mut self,
        batch: &mut ExportLogsServiceRequest,
        _context: &RequestContext,
    ) -> Result<Outcome, Error> {
        let options = LogsOptions {
            fail_closed: self.settings.fail_closed,
            priority_attribute: self.settings.sampling_priority.clone(),
            precision: self.settings.sampling_precision,
        };
        let r = logs::sample_logs(&self.sampler, &options, batch);
        log_errors("logs", r.errors, r.first_error.as_deref());
        Ok(outcome(r.total, r.kept, r.rewritten))
    }
}

sluice_guest_sdk::export_processor!(ProbabilisticSampler);

#[cfg(test)]
mod tests;
