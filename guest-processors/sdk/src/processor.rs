//! The [`Processor`] trait and the plain types it works with.

use std::fmt;
use std::time::Duration;

use crate::config::ConfigProblem;
use crate::otlp::{
    ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest,
};

/// The three OTLP signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Signal {
    Traces,
    Metrics,
    Logs,
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Signal::Traces => "traces",
            Signal::Metrics => "metrics",
            Signal::Logs => "logs",
        })
    }
}

/// Where a batch came from and who sent it (the WIT `request-context`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestContext {
    /// The tenant the request was attributed to, when tenancy is configured.
    pub tenant: Option<String>,
    /// The deployment environment Sluice runs in (`dev`, `staging`, `prod`...), when set.
    pub environment: Option<String>,
    /// The receiver component id that accepted the request, e.g. `otlp`.
    pub receiver: String,
    /// The authenticated BasicAuth user, if any.
    pub username: Option<String>,
    /// The verified client certificate's subject, under mTLS.
    pub client_subject: Option<String>,
    /// Headers passed on by the receiver (`include_metadata`), lower-case names.
    pub headers: Vec<(String, String)>,
}

impl RequestContext {
    /// The first value of header `name` (compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What a `process_*` method did with the batch it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing changed: the host forwards its original bytes. **Edits made to the batch are
    /// discarded**, so return this only when you changed nothing.
    Unchanged,
    /// The batch was changed: the SDK encodes it and the host forwards the new bytes. A batch
    /// left without any span, data point or log record is reported as dropped instead.
    Modified,
    /// Drop the whole batch on purpose (not an error).
    Dropped,
}

/// A processing failure: the host applies the processor's `on_error` policy to the batch
/// (`pass` forwards it unchanged, `drop` discards it) and logs this message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    message: String,
}

impl Error {
    /// An error with a one-line message saying what failed and why.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<String> for Error {
    fn from(message: String) -> Self {
        Self { message }
    }
}

impl From<&str> for Error {
    fn from(message: &str) -> Self {
        Self::new(message)
    }
}

/// A processor built by [`Processor::init`], with what the host should know about it.
#[derive(Debug)]
pub struct Init<P> {
    pub(crate) processor: P,
    pub(crate) warnings: Vec<ConfigProblem>,
    pub(crate) flush_interval: Option<Duration>,
}

impl<P> Init<P> {
    /// A processor with no warnings that never needs `flush`.
    pub fn new(processor: P) -> Self {
        Self {
            processor,
            warnings: Vec::new(),
            flush_interval: None,
        }
    }
    /// Adds a warning the host logs once at start-up (config accepted, but worth changing).
    pub fn warn(mut self, warning: ConfigProblem) -> Self {
        self.warnings.push(warning);
        self
    }
    /// Adds several warnings.
    pub fn warnings(mut self, warnings: impl IntoIterator<Item = ConfigProblem>) -> Self {
        self.warnings.extend(warnings);
        self
    }
    /// Asks the host to call [`Processor::flush`] this often (rounded down to milliseconds,
    /// at least 1 ms, at most ~49 days).
    pub fn flush_every(mut self, interval: Duration) -> Self {
        self.flush_interval = Some(interval);
        self
    }
}

/// A processor: logic that edits, drops or derives telemetry, one batch at a time.
///
/// Only [`init`](Processor::init) is required; every other method defaults to a no-op. The
/// methods receive decoded batches ([`crate::otlp`]) and are plain Rust: test them natively
/// with `cargo test`, directly or through [`crate::testing::Harness`], which drives them
/// through the same bytes-in/bytes-out path as the component.
///
/// # Panics
///
/// Don't panic on bad input: return an [`Error`] (or a config problem from `init`). If a
/// method panics anyway, the panic message goes to the host log (guest stderr), the call
/// traps, and the host **drops the instance** (and any state it held), applies the
/// processor's `on_error` policy to the batch (`pass`: the original batch goes on exactly as
/// it arrived; `drop`: it is discarded), counts the error, and creates a fresh instance (with
/// `init` and the same config) for the next batch. Because the batch crosses the boundary as
/// bytes and the guest returns whole new bytes, a half-edited batch can never escape.
pub trait Processor: Sized + 'static {
    /// Builds the processor from its configuration: the YAML `config:` block as JSON (`{}`
    /// when absent). Validate everything and return every problem at once;
    /// [`crate::config::parse`] does that for serde types.
    fn init(config_json: &str) -> Result<Init<Self>, Vec<ConfigProblem>>;

    /// Whether this processor does anything with `signal`. Batches of other signals are
    /// answered `unchanged` without being decoded. Defaults to every signal.
    fn handles(&self, signal: Signal) -> bool {
        let _ = signal;
        true
    }

    /// An optional fast path over the batch as it arrived (OTLP protobuf bytes of `signal`'s
    /// request), tried before the batch is decoded. Return `None` to take the decoded path
    /// ([`Processor::process_traces`] and its siblings); a processor whose work can be done on
    /// the bytes (the built-in transform's attribute edits) saves the decode and re-encode.
    /// What it returns must decode to exactly what the decoded path would have produced.
    fn process_encoded(
        &mut self,
        signal: Signal,
        batch: &[u8],
        context: &RequestContext,
    ) -> Option<Result<crate::runtime::Output, Error>> {
        let _ = (signal, batch, context);
        None
    }

    /// Processes one traces batch in place.
    fn process_traces(
        &mut self,
        batch: &mut ExportTraceServiceRequest,
        context: &RequestContext,
    ) -> Result<Outcome, Error> {
        let _ = (batch, context);
        Ok(Outcome::Unchanged)
    }

    /// Processes one metrics batch in place.
    fn process_metrics(
        &mut self,
        batch: &mut ExportMetricsServiceRequest,
        context: &RequestContext,
    ) -> Result<Outcome, Error> {
        let _ = (batch, context);
        Ok(Outcome::Unchanged)
    }

    /// Processes one logs batch in place.
    fn process_logs(
        &mut self,
        batch: &mut ExportLogsServiceRequest,
        context: &RequestContext,
    ) -> Result<Outcome, Error> {
        let _ = (batch, context);
        Ok(Outcome::Unchanged)
    }

    /// Timer-driven output, called every [`Init::flush_every`] interval and once before a
    /// healthy instance is retired: send accumulated data with [`crate::emit`].
    fn flush(&mut self) -> Result<(), Error> {
        Ok(())
    }
}
