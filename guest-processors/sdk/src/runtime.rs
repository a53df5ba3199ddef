//! The bytes-in/bytes-out driver behind [`export_processor!`](crate::export_processor): the
//! component calls it through the generated WIT exports, [`crate::testing::Harness`] calls it
//! natively, so both take exactly the same path.

use std::time::Duration;

use crate::config::ConfigProblem;
use crate::otlp::{
    Batch, ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest,
};
use crate::{Outcome, Processor, RequestContext, Signal};

/// What a successful `init` tells the host (the WIT `ready`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ready {
    pub warnings: Vec<ConfigProblem>,
    pub flush_interval_ms: Option<u32>,
}

/// The WIT `outcome`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Replaced(Vec<u8>),
    Unchanged,
    Dropped,
}

/// The WIT `process-error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The bytes are not a valid OTLP request of the signal.
    Malformed(String),
    /// The processor returned an error (or was called before `init`).
    Failed(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Malformed(m) => write!(f, "malformed batch: {m}"),
            Failure::Failed(m) => write!(f, "processing failed: {m}"),
        }
    }
}

const NOT_INITIALIZED: &str = "the host called the processor before a successful init";

/// Builds the processor into `slot`. On error the slot is left empty.
pub fn init<P: Processor>(
    slot: &mut Option<P>,
    config_json: &str,
) -> Result<Ready, Vec<ConfigProblem>> {
    *slot = None;
    let init = P::init(config_json)?;
    *slot = Some(init.processor);
    Ok(Ready {
        warnings: init.warnings,
        flush_interval_ms: init.flush_interval.map(millis),
    })
}

fn millis(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX).max(1)
}

/// Decodes `bytes` as `signal`'s request, runs the processor, encodes only if it changed.
pub fn process<P: Processor>(
    slot: &mut Option<P>,
    signal: Signal,
    context: &RequestContext,
    bytes: &[u8],
) -> Result<Output, Failure> {
    let processor = slot
        .as_mut()
        .ok_or_else(|| Failure::Failed(NOT_INITIALIZED.to_owned()))?;
    if !processor.handles(signal) {
        return Ok(Output::Unchanged);
    }
    if let Some(result) = processor.process_encoded(signal, bytes, context) {
        return result.map_err(|e| Failure::Failed(e.to_string()));
    }
    match signal {
        Signal::Traces => {
            run::<ExportTraceServiceRequest>(bytes, |b| processor.process_traces(b, context))
        }
        Signal::Metrics => {
            run::<ExportMetricsServiceRequest>(bytes, |b| processor.process_metrics(b, context))
        }
        Signal::Logs => {
            run::<ExportLogsServiceRequest>(bytes, |b| processor.process_logs(b, context))
        }
    }
}

fn run<B: Batch>(
    bytes: &[u8],
    f: impl FnOnce(&mut B) -> Result<Outcome, crate::Error>,
) -> Result<Output, Failure> {
    let mut batch = B::decode(bytes)
        .map_err(|e| Failure::Malformed(format!("not an OTLP {} request: {e}", B::SIGNAL)))?;
    match f(&mut batch).map_err(|e| Failure::Failed(e.to_string()))? {
        Outcome::Unchanged => Ok(Output::Unchanged),
        Outcome::Dropped => Ok(Output::Dropped),
        Outcome::Modified if batch.item_count() == 0 => Ok(Output::Dropped),
        Outcome::Modified => Ok(Output::Replaced(batch.encode_to_vec())),
    }
}

/// Runs the processor's `flush`.
pub fn flush<P: Processor>(slot: &mut Option<P>) -> Result<(), String> {
    let processor = slot.as_mut().ok_or_else(|| NOT_INITIALIZED.to_owned())?;
    processor.flush().map_err(|e| e.to_string())
}
