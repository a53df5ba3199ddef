//! The one wasmtime [`Engine`](wasmtime::Engine) of the process, its linker, and the epoch
//! ticker that enforces call deadlines.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

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
/// that advances the epoch every 10 ms while guest code runs. Cheap to clone; the ticker stops
/// when the last clone is dropped.
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
    pub(crate) ticker: Ticker,
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
                ticker,
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

/// Advances the engine's epoch every [`EPOCH_TICK`] while guest calls run, until dropped.
///
/// Between calls it sleeps, so that an idle or lightly loaded Sluice is not woken a hundred
/// times a second: a call that starts while it sleeps wakes it ([`TickerState::running`]), and
/// it goes back to sleep after a whole tick in which no call ran. Deadlines are unchanged: the
/// first tick of a call comes a full [`EPOCH_TICK`] after the ticker woke for it, never early.
pub(crate) struct Ticker {
    state: Arc<TickerState>,
}

/// What the ticker thread and the calls share.
pub(crate) struct TickerState {
    /// Guest calls running now.
    running: AtomicUsize,
    /// Guest calls started so far: a call that began and ended within one tick still keeps
    /// the ticker awake for the next.
    started: AtomicU64,
    /// Epoch increments so far.
    ticks: AtomicU64,
    control: Mutex<Control>,
    wake: Condvar,
}

#[derive(Default)]
struct Control {
    /// The ticker waits for a call (and must be woken for one).
    parked: bool,
    /// The runtime is gone: the thread ends.
    stop: bool,
}

/// Keeps the ticker ticking while a guest call runs; dropped when the call returns.
pub(crate) struct Running(Arc<TickerState>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::SeqCst);
    }
}

impl TickerState {
    /// Marks a guest call as running until the guard is dropped, waking the ticker if it
    /// sleeps. Take it before setting the call's epoch deadline.
    pub(crate) fn running(self: &Arc<Self>) -> Running {
        self.started.fetch_add(1, Ordering::SeqCst);
        if self.running.fetch_add(1, Ordering::SeqCst) == 0 {
            // The ticker checks `running` under this lock before it parks, so it either sees
            // this call or is parked by the time the lock is ours.
            let control = self.control.lock();
            if control.parked {
                self.wake.notify_one();
            }
        }
        Running(self.clone())
    }

    /// Epoch increments so far.
    #[cfg(test)]
    pub(crate) fn ticks(&self) -> u64 {
        self.ticks.load(Ordering::SeqCst)
    }
}

impl Ticker {
    fn start(engine: wasmtime::Engine) -> std::io::Result<Ticker> {
        let state = Arc::new(TickerState {
            running: AtomicUsize::new(0),
            started: AtomicU64::new(0),
            ticks: AtomicU64::new(0),
            control: Mutex::new(Control::default()),
            wake: Condvar::new(),
        });
        let shared = state.clone();
        thread::Builder::new()
            .name("sluice-wasm-epoch".into())
            .spawn(move || tick_while_calls_run(&engine, &shared))?;
        Ok(Ticker { state })
    }

    /// The state calls share with the ticker.
    pub(crate) fn state(&self) -> Arc<TickerState> {
        self.state.clone()
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.state.control.lock().stop = true;
        self.state.wake.notify_one();
    }
}

/// The ticker thread: sleeps until a call runs, then increments the epoch every
/// [`EPOCH_TICK`] until a whole tick passes without a call.
fn tick_while_calls_run(engine: &wasmtime::Engine, state: &TickerState) {
    let mut seen = state.started.load(Ordering::SeqCst);
    loop {
        let mut control = state.control.lock();
        let started = state.started.load(Ordering::SeqCst);
        if started == seen && state.running.load(Ordering::SeqCst) == 0 && !control.stop {
            control.parked = true;
            while state.running.load(Ordering::SeqCst) == 0 && !control.stop {
                state.wake.wait(&mut control);
            }
            control.parked = false;
        }
        seen = state.started.load(Ordering::SeqCst);
        // A whole tick, whatever wakes the thread in between.
        let due = Instant::now() + EPOCH_TICK;
        while !control.stop && !state.wake.wait_until(&mut control, due).timed_out() {}
        if control.stop {
            return;
        }
        drop(control);
        engine.increment_epoch();
        state.ticks.fetch_add(1, Ordering::SeqCst);
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

    /// Reads the tick count until it holds still for ten ticks; false if it never does.
    fn settles(state: &TickerState) -> bool {
        let give_up = Instant::now() + Duration::from_secs(10);
        while Instant::now() < give_up {
            let before = state.ticks();
            thread::sleep(EPOCH_TICK * 10);
            if state.ticks() == before {
                return true;
            }
        }
        false
    }

    #[test]
    fn the_epoch_ticks_only_while_a_call_runs() {
        let runtime = Runtime::new().expect("a runtime");
        let state = runtime.inner.ticker.state();
        assert!(settles(&state), "the ticker never went to sleep");
        let idle = state.ticks();

        let call = state.running();
        let give_up = Instant::now() + Duration::from_secs(10);
        while state.ticks() < idle + 3 {
            assert!(Instant::now() < give_up, "no tick while a call ran");
            thread::sleep(EPOCH_TICK);
        }
        // A second call while the first runs does not disturb the ticking.
        drop(state.running());
        drop(call);
        assert!(settles(&state), "the ticker kept ticking after the call");

        // It wakes again for the next call.
        let asleep = state.ticks();
        let _call = state.running();
        let give_up = Instant::now() + Duration::from_secs(10);
        while state.ticks() == asleep {
            assert!(
                Instant::now() < give_up,
                "the ticker did not wake for a call"
            );
            thread::sleep(EPOCH_TICK);
        }
    }

    #[test]
    fn deadlines_round_up_to_whole_ticks_plus_one() {
        assert_eq!(deadline_ticks(Duration::from_millis(100)), 11);
        assert_eq!(deadline_ticks(Duration::from_millis(101)), 12);
        assert_eq!(deadline_ticks(Duration::ZERO), 1);
    }
}
