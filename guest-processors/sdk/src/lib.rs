//! The Sluice guest SDK: write a telemetry processor in Rust, test it natively, build it into
//! a WebAssembly component that Sluice runs sandboxed.
//!
//! ```
//! use sluice_guest_sdk::prelude::*;
//!
//! #[derive(serde::Deserialize)]
//! #[serde(deny_unknown_fields)]
//! struct Config { env: String }
//!
//! pub struct AddEnv { env: String }
//!
//! impl Processor for AddEnv {
//!     fn init(config_json: &str) -> Result<Init<Self>, Vec<ConfigProblem>> {
//!         let config: Config = sluice_guest_sdk::config::parse(config_json)?;
//!         Ok(Init::new(AddEnv { env: config.env }))
//!     }
//!
//!     fn handles(&self, signal: Signal) -> bool {
//!         signal == Signal::Traces
//!     }
//!
//!     fn process_traces(&mut self, batch: &mut ExportTraceServiceRequest, _: &RequestContext)
//!         -> Result<Outcome, Error> {
//!         for rs in &mut batch.resource_spans {
//!             rs.resource.get_or_insert_default().set_attribute("env", self.env.as_str());
//!         }
//!         Ok(Outcome::Modified)
//!     }
//! }
//!
//! sluice_guest_sdk::export_processor!(AddEnv);
//! ```
//!
//! Build it with `cargo build --release --target wasm32-wasip2 -p my-processor`; the `.wasm`
//! in `target/wasm32-wasip2/release/` is the component. The contract it implements is
//! `wit/processor.wit` at the repository root.
//!
//! # What happens to my data if my processor panics?
//!
//! Nothing bad. The panic message goes to the host log, the call traps, and the host drops
//! the instance (with any state it held), applies the processor's `on_error` policy to the
//! batch — `pass` (default) forwards it exactly as it arrived, `drop` discards it — counts
//! the error, and starts a fresh instance (running `init` again) for the next batch. A batch
//! is never half-applied: it crosses as bytes and the guest returns whole new bytes or
//! nothing. Endless loops (the per-call deadline) and runaway allocation (the memory cap) end
//! the same way. Return an [`Error`] instead of panicking on bad input: the instance then
//! survives and the error names what went wrong.

pub mod attrs;
pub mod config;
mod host;
pub mod otlp;
pub mod points;
mod processor;
pub mod runtime;
pub mod testing;
pub mod wire;

#[doc(hidden)]
pub mod glue;

/// The bindings generated from `wit/processor.wit`, once, for every guest.
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "guest",
        pub_export_macro: true,
        export_macro_name: "__export_guest",
        default_bindings_module: "sluice_guest_sdk::bindings",
    });
}

/// The prost version the OTLP types derive from (`prost::Message` for `encode_to_vec`/`decode`).
pub use prost;

pub use config::ConfigProblem;
pub use host::{EmitError, Level, emit, emit_encoded, log};
pub use processor::{Error, Init, Outcome, Processor, RequestContext, Signal};

/// Logging shorthands: `sluice_guest_sdk::logs::warn("...")`.
pub mod logs {
    use crate::host::{Level, log};

    /// Logs at TRACE.
    pub fn trace(message: &str) {
        log(Level::Trace, message);
    }
    /// Logs at DEBUG.
    pub fn debug(message: &str) {
        log(Level::Debug, message);
    }
    /// Logs at INFO.
    pub fn info(message: &str) {
        log(Level::Info, message);
    }
    /// Logs at WARN.
    pub fn warn(message: &str) {
        log(Level::Warn, message);
    }
    /// Logs at ERROR: data was lost or an operator must act.
    pub fn error(message: &str) {
        log(Level::Error, message);
    }
}

/// Everything a processor usually needs.
pub mod prelude {
    pub use crate::attrs::Attributes;
    pub use crate::config::ConfigProblem;
    pub use crate::otlp::trace::span::{Event as SpanEvent, Link as SpanLink, SpanKind};
    pub use crate::otlp::trace::status::StatusCode;
    pub use crate::otlp::{
        AnyValue, Batch, ExportLogsServiceRequest, ExportMetricsServiceRequest,
        ExportTraceServiceRequest, InstrumentationScope, KeyValue, LogRecord, Metric, Owner,
        Resource, Span,
    };
    pub use crate::points::{DataPointMut, DataPointRef};
    pub use crate::{Error, Init, Outcome, Processor, RequestContext, Signal, export_processor};
}

/// Makes `$processor` (a [`Processor`]) the component's implementation of the WIT
/// `processor` interface. Call it once, at the crate root of a `cdylib` guest crate.
///
/// The generated exports keep one processor per instance, built by `init`. `process`
/// decodes the batch, calls the trait method, and encodes only when it returns
/// [`Outcome::Modified`]; otherwise the host forwards its own bytes.
#[macro_export]
macro_rules! export_processor {
    ($processor:ty) => {
        #[doc(hidden)]
        pub struct __SluiceGuest;

        ::std::thread_local! {
            static __SLUICE_PROCESSOR: ::core::cell::RefCell<::core::option::Option<$processor>> =
                const { ::core::cell::RefCell::new(::core::option::Option::None) };
        }

        impl $crate::bindings::exports::sluice::processor::processor::Guest for __SluiceGuest {
            fn init(
                config_json: ::std::string::String,
            ) -> ::core::result::Result<
                $crate::bindings::sluice::processor::types::Ready,
                ::std::vec::Vec<$crate::bindings::sluice::processor::types::ConfigProblem>,
            > {
                __SLUICE_PROCESSOR.with_borrow_mut(|slot| $crate::glue::init(slot, &config_json))
            }

            fn process(
                signal: $crate::bindings::sluice::processor::types::Signal,
                context: $crate::bindings::sluice::processor::types::RequestContext,
                batch: ::std::vec::Vec<u8>,
            ) -> ::core::result::Result<
                $crate::bindings::sluice::processor::types::Outcome,
                $crate::bindings::sluice::processor::types::ProcessError,
            > {
                __SLUICE_PROCESSOR
                    .with_borrow_mut(|slot| $crate::glue::process(slot, signal, context, &batch))
            }

            fn flush() -> ::core::result::Result<(), ::std::string::String> {
                __SLUICE_PROCESSOR.with_borrow_mut(|slot| $crate::glue::flush(slot))
            }
        }

        // The exports exist only in the component: natively (`cargo test`) their WIT names
        // (`sluice:processor/processor@0.1.0#process`) are not valid linker symbols.
        #[cfg(target_arch = "wasm32")]
        $crate::bindings::__export_guest!(__SluiceGuest with_types_in $crate::bindings);
    };
}
