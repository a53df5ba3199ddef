//! Native test support: drive a [`Processor`] through the same bytes-in/bytes-out path as the
//! component, read what it logged and emitted, and build batches quickly.
//!
//! ```
//! use sluice_guest_sdk::prelude::*;
//! use sluice_guest_sdk::testing::{Harness, Processed, fixtures};
//!
//! struct Tag;
//! impl Processor for Tag {
//!     fn init(_: &str) -> Result<Init<Self>, Vec<ConfigProblem>> {
//!         Ok(Init::new(Tag))
//!     }
//!     fn process_traces(&mut self, b: &mut ExportTraceServiceRequest, _: &RequestContext)
//!         -> Result<Outcome, Error> {
//!         for rs in &mut b.resource_spans {
//!             for ss in &mut rs.scope_spans {
//!                 for span in &mut ss.spans {
//!                     span.set_attribute("tagged", true);
//!                 }
//!             }
//!         }
//!         Ok(Outcome::Modified)
//!     }
//! }
//!
//! let mut h = Harness::<Tag>::new("{}").unwrap();
//! let batch = fixtures::traces([], [fixtures::span("GET /", [])]);
//! let Processed::Replaced(out) = h.process(&batch).unwrap() else { panic!() };
//! let span = &out.resource_spans[0].scope_spans[0].spans[0];
//! assert_eq!(span.attribute("tagged"), Some(&AnyValue::bool(true)));
//! ```

pub mod fixtures;

use crate::config::ConfigProblem;
use crate::otlp::Batch;
use crate::runtime::{self, Failure, Output, Ready};
use crate::{Processor, RequestContext, Signal};

pub use crate::host::Level;

/// What happened to a batch, decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum Processed<B> {
    /// The processor changed the batch; this is what the host would forward.
    Replaced(B),
    /// The host would forward the original bytes.
    Unchanged,
    /// The batch was dropped on purpose.
    Dropped,
}

impl<B> Processed<B> {
    /// The replacement batch, if there is one.
    pub fn replaced(self) -> Option<B> {
        match self {
            Processed::Replaced(b) => Some(b),
            _ => None,
        }
    }
}

/// One processor instance, initialised as the host would and called like the host calls it.
pub struct Harness<P: Processor> {
    slot: Option<P>,
    ready: Ready,
    context: RequestContext,
}

impl<P: Processor> Harness<P> {
    /// Calls `init` with `config_json`; the error is what the host would report.
    pub fn new(config_json: &str) -> Result<Self, Vec<ConfigProblem>> {
        let mut slot = None;
        let ready = runtime::init(&mut slot, config_json)?;
        Ok(Self {
            slot,
            ready,
            context: RequestContext {
                receiver: "otlp".into(),
                ..Default::default()
            },
        })
    }

    /// The warnings `init` returned.
    pub fn warnings(&self) -> &[ConfigProblem] {
        &self.ready.warnings
    }

    /// The flush interval `init` asked for, in milliseconds.
    pub fn flush_interval_ms(&self) -> Option<u32> {
        self.ready.flush_interval_ms
    }

    /// The request context passed with every batch (default: receiver `otlp`, nothing else).
    pub fn context_mut(&mut self) -> &mut RequestContext {
        &mut self.context
    }

    /// The processor itself.
    pub fn processor(&mut self) -> Option<&mut P> {
        self.slot.as_mut()
    }

    /// Encodes `batch`, processes the bytes, decodes the replacement.
    pub fn process<B: Batch>(&mut self, batch: &B) -> Result<Processed<B>, Failure> {
        match self.process_bytes(B::SIGNAL, &batch.encode_to_vec())? {
            Output::Unchanged => Ok(Processed::Unchanged),
            Output::Dropped => Ok(Processed::Dropped),
            Output::Replaced(bytes) => B::decode(bytes.as_slice())
                .map(Processed::Replaced)
                .map_err(|e| {
                    Failure::Malformed(format!("the guest returned undecodable bytes: {e}"))
                }),
        }
    }

    /// Processes raw bytes as the host would pass them.
    pub fn process_bytes(&mut self, signal: Signal, bytes: &[u8]) -> Result<Output, Failure> {
        runtime::process(&mut self.slot, signal, &self.context, bytes)
    }

    /// Calls `flush`.
    pub fn flush(&mut self) -> Result<(), String> {
        runtime::flush(&mut self.slot)
    }
}

/// Lines logged through [`crate::log`] on this thread since the last call.
#[cfg(not(target_arch = "wasm32"))]
pub fn take_logs() -> Vec<(Level, String)> {
    crate::host::take_logs()
}

/// Batches sent with [`crate::emit`] on this thread since the last call.
#[cfg(not(target_arch = "wasm32"))]
pub fn take_emitted() -> Vec<(Signal, Vec<u8>)> {
    crate::host::take_emitted()
}
