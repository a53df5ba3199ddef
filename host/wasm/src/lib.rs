//! Runs Sluice processors as sandboxed WebAssembly components. The only crate that links
//! wasmtime; the generated bindings of `wit/processor.wit` stay private.
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use sluice_wasm::*;
//! # fn demo(next: Arc<dyn sluice_pipeline::Consumer>) -> Result<(), WasmError> {
//! let runtime = Runtime::new()?;
//! let spec = ProcessorSpec {
//!     name: "transform/add_tags".into(),
//!     component: ComponentSource::Path("transform.wasm".into()),
//!     config_json: r#"{"metric_statements": []}"#.into(),
//!     limits: Limits::default(),
//!     on_error: OnError::Pass,
//!     tenant: None,
//!     output_check: OutputCheck::Decode,
//! };
//! let (module, warnings) = runtime.load(&spec)?; // compile, init, smoke batches
//! let metrics = sluice_pipeline::metrics::Metrics::new();
//! let processor = WasmProcessor::new(&runtime, module, next, &metrics);
//! // later, on a config or component change:
//! let (v2, _) = runtime.load(&spec)?;
//! processor.swap(v2);
//! # Ok(()) }
//! ```
//!
//! Sandbox: one engine with epoch interruption (a deadline per call), a linear memory cap per
//! instance, a wasm stack limit, and WASI 0.2 linked deny-all (no files, environment,
//! arguments or network; stdout and stderr go to the host log under the processor's name).
#![forbid(unsafe_code)]

mod bindings;
mod codec;
mod compiled;
mod dispatch;
mod engine;
mod errors;
mod flush;
mod host;
mod instance;
mod limits;
mod module;
mod pool;
mod processor;
mod routes;
mod wasi;

pub use engine::{Runtime, RuntimeConfig};
pub use errors::{ConfigProblem, WasmError};
pub use limits::Limits;
pub use module::{ComponentSource, Module, OnError, OutputCheck, ProcessorSpec};
pub use processor::WasmProcessor;
pub use routes::EmitRoutes;
