//! Host bindings generated from `wit/processor.wit` (world `guest`). Private to this crate.

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "guest",
});

pub(crate) use sluice::processor::types::{
    EmitError, Level, Outcome, ProcessError, Ready, RequestContext, Signal,
};
