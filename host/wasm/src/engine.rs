//! The one wasmtime [`Engine`](wasmtime::Engine) of the process, its linker, and the epoch
//! ticker that enforces call deadlines.

use std::sync::Arc;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use wasmtime::component::{HasSelf, Linker};

use crate::bindings;
use crate::compiled;
use crate::errors::WasmError;
use crate::instance::StoreState;

/// Interval of the epoch ticker; deadlines are rounded up to it.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Engine-wide settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeConfig {
    /// Wasm stack limit of every call, in bytes (wasmtime's `max_wasm_stack`, engine-wide).
    /// Deeper recursion traps with a stack overflow. Default 512 KiB.
    pub max_wasm_stack: usize,
    /// The deployment environment (`dev`, `staging`, `prod`) passed to guests in every
    /// request context.
    pub environment: Option<String>,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            max_wasm_stack: 512 * 1024,
            environment: None,
        }
    }
}

/// The WebAssembly runtime: one wasmtime engine (Cranelift, component model, epoch
/// interruption), a linker with WASI 0.2 (deny-all) and the `host` interface, and a thread
/// that advances the epoch every 10 ms. Cheap to clone; the ticker stops when the last clone
/// is dropped.
#[derive(Clone)]
pub struct Runtime {
    pub(crate) inner: Arc<RuntimeInner>,
}

pub(crate) struct RuntimeInner {
    pub(crate) engine: wasmtime::Engine,
    pub(crate) linker: Linker<StoreState>,
    pub(crate) environment: Option<String>,
    /// Compiled components, shared by the processor versions that run the same bytes.
    pub(crate) compiled: compiled::Cache,
    _ticker: Ticker,
}

impl Runtime {
    /// A runtime with default settings.
    pub fn new() -> Result<Runtime, WasmError> {
        Runtime::with_config(RuntimeConfig::default())
    }

    pub fn with_config(config: RuntimeConfig) -> Result<Runtime, WasmError> {
        let engine_error = |e: wasmtime::Error| WasmError::Engine {
            message: format!("{e:#}"),
        };
        let mut wasm = wasmtime::Config::new();
        wasm.wasm_component_model(true)
            .epoch_interruption(true)
            .max_wasm_stack(config.max_wasm_stack);
        if std::env::var_os("SLUICE_WASM_PERFMAP").is_some() {
            // `perf` names guest functions (/tmp/perf-PID.map), for profiling processors.
            wasm.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine = wasmtime::Engine::new(&wasm).map_err(engine_error)?;

        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(engine_error)?;
        bindings::Guest::add_to_linker::<StoreState, HasSelf<crate::host::HostState>>(
            &mut linker,
            |state| &mut state.host,
        )
        .map_err(engine_error)?;

        let ticker = Ticker::start(engine.clone()).map_err(|e| WasmError::Engine {
            message: format!("cannot start the epoch ticker thread: {e}"),
        })?;
        Ok(Runtime {
            inner: Arc::new(RuntimeInner {
                engine,
                linker,
                environment: config.environment,
                compiled: compiled::Cache::default(),
                _ticker: ticker,
            }),
        })
    }
}

impl Runtime {
    /// Distinct components compiled and in use by some loaded version: processors (and
    /// tenants) running the same component file share one.
    pub fn compiled_components(&self) -> usize {
        self.inner.compiled.live()
    }
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until dropped.
struct Ticker {
    _stop: mpsc::Sender<()>,
}

impl Ticker {
    fn start(engine: wasmtime::Engine) -> std::io::Result<Ticker> {
        let (stop, stopped) = mpsc::channel::<()>();
        thread::Builder::new()
            .name("sluice-wasm-epoch".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(EPOCH_TICK) {
                    engine.increment_epoch();
                }
            })?;
        Ok(Ticker { _stop: stop })
    }
}

/// Epoch ticks for a deadline: the call ends between `timeout` and `timeout + EPOCH_TICK`.
pub(crate) fn deadline_ticks(timeout: Duration) -> u64 {
    let tick = EPOCH_TICK.as_nanos().max(1);
    let ticks = timeout.as_nanos().div_ceil(tick) + 1;
    u64::try_from(ticks).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_round_up_to_whole_ticks_plus_one() {
        assert_eq!(deadline_ticks(Duration::from_millis(100)), 11);
        assert_eq!(deadline_ticks(Duration::from_millis(101)), 12);
        assert_eq!(deadline_ticks(Duration::ZERO), 1);
    }
}
