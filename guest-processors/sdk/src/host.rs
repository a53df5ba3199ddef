//! The host's functions: [`log`](crate::log) and [`emit`](crate::emit).
//!
//! In a component these call the WIT `host` imports. Compiled natively (`cargo test`) there
//! is no host: calls are recorded per thread, and [`crate::testing`] hands them back.

use std::fmt;

use crate::Signal;
use crate::otlp::Batch;

/// Severity of a guest log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

/// Why the host refused an emitted batch; the batch is discarded in every case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmitError {
    /// No pipeline takes this signal from this processor.
    NoRoute,
    /// The downstream pipeline is full: keep the data for the next flush or drop it.
    Busy,
    /// The host could not decode the bytes.
    Malformed(String),
}

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmitError::NoRoute => f.write_str("no pipeline takes this signal from this processor"),
            EmitError::Busy => f.write_str("the downstream pipeline is full"),
            EmitError::Malformed(m) => write!(f, "the host could not decode the batch: {m}"),
        }
    }
}

impl std::error::Error for EmitError {}

/// Writes one line to the host log under the processor's name. Never fails.
pub fn log(level: Level, message: &str) {
    imp::log(level, message);
}

/// Sends `batch` downstream, outside the batch being processed (see the WIT `host.emit`):
/// a batch of another signal enters that signal's pipelines fed by this processor.
/// Call it from `process_*` or `flush` only.
pub fn emit<B: Batch>(batch: &B) -> Result<(), EmitError> {
    imp::emit(B::SIGNAL, batch.encode_to_vec())
}

/// Sends `bytes`, already the OTLP protobuf encoding of `signal`'s request message, downstream
/// like [`emit`]. For processors that write their output directly instead of building the
/// message types first (span metrics encode thousands of data points per flush). Bytes the
/// host cannot decode are refused with [`EmitError::Malformed`].
pub fn emit_encoded(signal: Signal, bytes: Vec<u8>) -> Result<(), EmitError> {
    imp::emit(signal, bytes)
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::{EmitError, Level};
    use crate::Signal;
    use crate::bindings::sluice::processor::{host, types};

    pub(super) fn log(level: Level, message: &str) {
        let level = match level {
            Level::Trace => types::Level::Trace,
            Level::Debug => types::Level::Debug,
            Level::Info => types::Level::Info,
            Level::Warn => types::Level::Warn,
            Level::Error => types::Level::Error,
        };
        host::log(level, message);
    }

    pub(super) fn emit(signal: Signal, bytes: Vec<u8>) -> Result<(), EmitError> {
        host::emit(crate::glue::signal_to_wit(signal), &bytes).map_err(|e| match e {
            types::EmitError::NoRoute => EmitError::NoRoute,
            types::EmitError::Busy => EmitError::Busy,
            types::EmitError::Malformed(m) => EmitError::Malformed(m),
        })
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use super::{EmitError, Level};
    use crate::Signal;
    use std::cell::RefCell;

    thread_local! {
        static LOGS: RefCell<Vec<(Level, String)>> = const { RefCell::new(Vec::new()) };
        static EMITTED: RefCell<Vec<(Signal, Vec<u8>)>> = const { RefCell::new(Vec::new()) };
    }

    pub(super) fn log(level: Level, message: &str) {
        LOGS.with_borrow_mut(|l| l.push((level, message.to_owned())));
    }

    pub(super) fn emit(signal: Signal, bytes: Vec<u8>) -> Result<(), EmitError> {
        EMITTED.with_borrow_mut(|e| e.push((signal, bytes)));
        Ok(())
    }

    pub(crate) fn take_logs() -> Vec<(Level, String)> {
        LOGS.with_borrow_mut(std::mem::take)
    }

    pub(crate) fn take_emitted() -> Vec<(Signal, Vec<u8>)> {
        EMITTED.with_borrow_mut(std::mem::take)
    }
}

#[cfg(not(target_arch = "wasm32"))]
pub(crate) use imp::{take_emitted, take_logs};
