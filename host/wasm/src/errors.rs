//! Errors: [`WasmError`] for starting the runtime and loading a processor (public), and the
//! classification of failed calls into the kinds that metrics and logs report.

use std::fmt;
use std::path::PathBuf;

/// Why the runtime could not start or a processor version could not be loaded. Each names the
/// processor and says what failed; the running version (if any) is unaffected.
#[derive(Debug, thiserror::Error)]
pub enum WasmError {
    #[error("WebAssembly engine could not start: {message}")]
    Engine { message: String },

    #[error("processor {processor}: cannot read component {}: {source}", path.display())]
    Read {
        processor: String,
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("processor {processor}: compile failed: not a valid WebAssembly component: {message}")]
    Compile { processor: String, message: String },

    #[error(
        "processor {processor}: the component does not fit Sluice's host \
         (world sluice:processor/guest@0.1.0, WASI 0.2): {message}"
    )]
    Link { processor: String, message: String },

    #[error("processor {processor}: instantiating the component failed: {message}")]
    Instantiate { processor: String, message: String },

    #[error(
        "processor {processor}: init rejected config: {}",
        ProblemList(problems)
    )]
    ConfigRejected {
        processor: String,
        problems: Vec<ConfigProblem>,
    },

    #[error("processor {processor}: init failed: {message}")]
    Init { processor: String, message: String },

    #[error("processor {processor}: smoke batch (an empty {signal} request) failed: {message}")]
    Smoke {
        processor: String,
        signal: &'static str,
        message: String,
    },
}

/// One problem a guest found in its configuration (`init`'s error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// Path inside the processor's `config:` (`statements[2]`); empty for the whole config.
    pub path: String,
    /// What is wrong, one line.
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

struct ProblemList<'a>(&'a [ConfigProblem]);

impl fmt::Display for ProblemList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

/// What kind of failure a call ended in; the `kind` label of
/// `sluice_processor_errors_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    /// The guest trapped: a panic (`unreachable`), a stack overflow, any other trap.
    Trap,
    /// The per-call deadline expired (epoch interruption).
    Timeout,
    /// The guest hit the memory cap (and trapped).
    Memory,
    /// `replaced` bytes that are not the signal's OTLP request.
    MalformedOutput,
    /// The guest returned a `process-error`; the instance stays in service.
    ProcessError,
    /// A new instance could not be created: instantiation or `init` failed.
    Init,
    /// The processor is in crash-loop back-off: the batch did not reach the guest.
    Backoff,
    /// `flush` failed.
    Flush,
}

impl ErrorKind {
    pub(crate) fn label(self) -> &'static str {
        match self {
            ErrorKind::Trap => "trap",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Memory => "memory",
            ErrorKind::MalformedOutput => "malformed_output",
            ErrorKind::ProcessError => "process_error",
            ErrorKind::Init => "init",
            ErrorKind::Backoff => "backoff",
            ErrorKind::Flush => "flush",
        }
    }
}

/// A failed call: its kind and a one-line description.
#[derive(Debug, Clone)]
pub(crate) struct CallError {
    pub(crate) kind: ErrorKind,
    pub(crate) message: String,
}

impl CallError {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        CallError {
            kind,
            message: message.into(),
        }
    }

    /// Classifies an error returned by a call into the guest. `memory_refused`: the memory
    /// limiter refused a growth during the call.
    pub(crate) fn from_trap(error: &wasmtime::Error, memory_refused: bool) -> Self {
        let trap = error.downcast_ref::<wasmtime::Trap>().copied();
        let kind = match trap {
            Some(wasmtime::Trap::Interrupt) => ErrorKind::Timeout,
            _ if memory_refused => ErrorKind::Memory,
            _ => ErrorKind::Trap,
        };
        let message = match (kind, trap) {
            (ErrorKind::Timeout, _) => "deadline exceeded (epoch interruption)".to_owned(),
            (ErrorKind::Memory, _) => {
                format!(
                    "memory cap reached, the guest aborted ({})",
                    first_line(error)
                )
            }
            (_, Some(trap)) => trap.to_string(),
            _ => first_line(error),
        };
        CallError { kind, message }
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.kind.label())
    }
}

/// The first line of an error chain's top message (wasmtime appends multi-line backtraces).
pub(crate) fn first_line(error: &wasmtime::Error) -> String {
    let text = format!("{error:#}");
    text.lines().next().unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_rejection_lists_every_problem_with_its_path() {
        let e = WasmError::ConfigRejected {
            processor: "wasm/x".into(),
            problems: vec![
                ConfigProblem {
                    path: "statements[1]".into(),
                    message: "unknown function".into(),
                },
                ConfigProblem {
                    path: String::new(),
                    message: "bad".into(),
                },
            ],
        };
        assert_eq!(
            e.to_string(),
            "processor wasm/x: init rejected config: statements[1]: unknown function; bad"
        );
    }

    #[test]
    fn traps_are_classified_by_kind() {
        let timeout = wasmtime::Error::from(wasmtime::Trap::Interrupt);
        assert_eq!(
            CallError::from_trap(&timeout, false).kind,
            ErrorKind::Timeout
        );
        let unreachable = wasmtime::Error::from(wasmtime::Trap::UnreachableCodeReached);
        assert_eq!(
            CallError::from_trap(&unreachable, false).kind,
            ErrorKind::Trap
        );
        assert_eq!(
            CallError::from_trap(&unreachable, true).kind,
            ErrorKind::Memory
        );
    }
}
