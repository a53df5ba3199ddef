//! One instance of a processor component in its own store, and the calls into it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sluice_pipeline::{Encoded, Payload, Signal};
use wasmtime::Store;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::{self, Outcome, ProcessError};
use crate::codec;
use crate::compiled::Compiled;
use crate::engine::{Running, TickerState, deadline_ticks};
use crate::errors::{CallError, ConfigProblem, ErrorKind, first_line};
use crate::host::{GuestLog, HostState};
use crate::limits::{Limits, MemoryLimiter};
use crate::module::OutputCheck;
use crate::wasi;

/// What the store of one instance holds.
pub(crate) struct StoreState {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: MemoryLimiter,
    pub(crate) host: HostState,
}

impl WasiView for StoreState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Everything needed to create instances of one processor version.
pub(crate) struct Blueprint {
    pub(crate) name: Arc<str>,
    /// The tenant this version serves alone, if any.
    pub(crate) tenant: Option<Arc<str>>,
    pub(crate) engine: wasmtime::Engine,
    /// The epoch ticker, kept awake while this version's guest code runs.
    pub(crate) ticker: Arc<TickerState>,
    /// Shared with every version running the same component bytes.
    pub(crate) compiled: Arc<Compiled>,
    pub(crate) config_json: String,
    pub(crate) limits: Limits,
    pub(crate) log: Arc<GuestLog>,
    pub(crate) output_check: OutputCheck,
}

/// Why a new instance could not be created.
pub(crate) enum StartError {
    Instantiate(String),
    Rejected(Vec<ConfigProblem>),
    Trapped(CallError),
}

impl StartError {
    /// As a call error of kind `init`.
    pub(crate) fn into_call_error(self) -> CallError {
        let message = match self {
            StartError::Instantiate(m) => format!("instantiating failed: {m}"),
            StartError::Rejected(problems) => {
                let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
                format!("init rejected config: {}", list.join("; "))
            }
            StartError::Trapped(e) => format!("init failed: {e}"),
        };
        CallError::new(ErrorKind::Init, message)
    }
}

/// What `process` did with a batch.
pub(crate) enum Processed {
    Replaced(Payload),
    Unchanged,
    Dropped,
}

/// The end of one call: its result, what the guest emitted (empty after a trap), and whether
/// the instance may serve again.
pub(crate) struct Call<T> {
    pub(crate) result: Result<T, CallError>,
    pub(crate) emitted: Vec<Payload>,
    pub(crate) healthy: bool,
    /// Time spent inside the guest call (lowering, guest code, lifting; not the host's
    /// decoding of the result).
    pub(crate) elapsed: Duration,
}

impl<T> Call<T> {
    fn trapped(error: CallError, elapsed: Duration) -> Self {
        Call {
            result: Err(error),
            emitted: Vec::new(),
            healthy: false,
            elapsed,
        }
    }
}

pub(crate) struct Instance {
    store: Store<StoreState>,
    guest: bindings::Guest,
    ticker: Arc<TickerState>,
    /// The processor version this instance belongs to.
    pub(crate) generation: u64,
}

impl Instance {
    /// Instantiates the component in a new store and calls `init`.
    pub(crate) fn start(
        blueprint: &Blueprint,
        generation: u64,
    ) -> Result<(Instance, bindings::Ready), StartError> {
        let _running = blueprint.ticker.running();
        let state = StoreState {
            wasi: wasi::deny_all_ctx(&blueprint.log),
            table: ResourceTable::new(),
            limiter: MemoryLimiter::new(blueprint.limits.memory_bytes()),
            host: HostState::new(blueprint.log.clone()),
        };
        let mut store = Store::new(&blueprint.engine, state);
        store.limiter(|state| &mut state.limiter);
        store.epoch_deadline_trap();
        store.set_epoch_deadline(deadline_ticks(blueprint.limits.init_timeout()));
        let guest = match blueprint.compiled.pre.instantiate(&mut store) {
            Ok(guest) => guest,
            Err(e) if e.downcast_ref::<wasmtime::Trap>().is_some() => {
                let refused = store.data().limiter.refused();
                return Err(StartError::Trapped(CallError::from_trap(&e, refused)));
            }
            Err(e) => return Err(StartError::Instantiate(first_line(&e))),
        };
        let mut instance = Instance {
            store,
            guest,
            ticker: blueprint.ticker.clone(),
            generation,
        };
        instance.store.data_mut().limiter.reset_refused();
        let init = instance
            .guest
            .sluice_processor_processor()
            .call_init(&mut instance.store, &blueprint.config_json);
        match init {
            Ok(Ok(ready)) => Ok((instance, ready)),
            Ok(Err(problems)) => Err(StartError::Rejected(
                problems
                    .into_iter()
                    .map(|p| ConfigProblem {
                        path: p.path,
                        message: p.message,
                    })
                    .collect(),
            )),
            Err(e) => {
                let refused = instance.store.data().limiter.refused();
                Err(StartError::Trapped(CallError::from_trap(&e, refused)))
            }
        }
    }

    /// Largest linear memory this instance has had, in bytes (memory never shrinks).
    pub(crate) fn memory_peak(&self) -> usize {
        self.store.data().limiter.peak()
    }

    /// Prepares a call; the epoch ticks while the returned guard lives.
    fn open(&mut self, timeout: Duration, routable: [bool; 3]) -> Running {
        let running = self.ticker.running();
        self.store.set_epoch_deadline(deadline_ticks(timeout));
        let state = self.store.data_mut();
        state.limiter.reset_refused();
        state.host.begin_call(routable);
        running
    }

    /// Calls `process` with a fresh deadline. `routable[i]`: signal `i` may be emitted.
    /// `replaced` bytes are checked as `blueprint.output_check` says and carry its name.
    pub(crate) fn process(
        &mut self,
        blueprint: &Blueprint,
        timeout: Duration,
        signal: Signal,
        context: &bindings::RequestContext,
        batch: &[u8],
        routable: [bool; 3],
    ) -> Call<Processed> {
        let _running = self.open(timeout, routable);
        let started = Instant::now();
        let result = self.guest.sluice_processor_processor().call_process(
            &mut self.store,
            codec::signal_to_wit(signal),
            context,
            batch,
        );
        let elapsed = started.elapsed();
        let emitted = self.store.data_mut().host.end_call();
        let processed = match result {
            Err(e) => {
                let refused = self.store.data().limiter.refused();
                return Call::trapped(CallError::from_trap(&e, refused), elapsed);
            }
            Ok(Err(e)) => {
                let message = match e {
                    ProcessError::Malformed(m) => {
                        format!("the guest could not decode the batch: {m}")
                    }
                    ProcessError::Failed(m) => m,
                };
                return Call {
                    result: Err(CallError::new(ErrorKind::ProcessError, message)),
                    emitted,
                    healthy: true,
                    elapsed,
                };
            }
            Ok(Ok(Outcome::Unchanged)) => Processed::Unchanged,
            Ok(Ok(Outcome::Dropped)) => Processed::Dropped,
            Ok(Ok(Outcome::Replaced(bytes))) => match checked(blueprint, signal, bytes) {
                Ok(payload) => Processed::Replaced(payload),
                Err(message) => {
                    return Call::trapped(
                        CallError::new(ErrorKind::MalformedOutput, message),
                        elapsed,
                    );
                }
            },
        };
        Call {
            result: Ok(processed),
            emitted,
            healthy: true,
            elapsed,
        }
    }

    /// Calls `flush` with a fresh deadline.
    pub(crate) fn flush(&mut self, timeout: Duration, routable: [bool; 3]) -> Call<()> {
        let _running = self.open(timeout, routable);
        let started = Instant::now();
        let result = self
            .guest
            .sluice_processor_processor()
            .call_flush(&mut self.store);
        let elapsed = started.elapsed();
        let emitted = self.store.data_mut().host.end_call();
        match result {
            Err(e) => {
                let refused = self.store.data().limiter.refused();
                Call::trapped(CallError::from_trap(&e, refused), elapsed)
            }
            Ok(Err(message)) => Call {
                result: Err(CallError::new(ErrorKind::Flush, message)),
                emitted,
                healthy: true,
                elapsed,
            },
            Ok(Ok(())) => Call {
                result: Ok(()),
                emitted,
                healthy: true,
                elapsed,
            },
        }
    }
}

/// A guest's `replaced` bytes as a payload, checked as the processor's [`OutputCheck`] says.
fn checked(blueprint: &Blueprint, signal: Signal, bytes: Vec<u8>) -> Result<Payload, String> {
    let len = bytes.len();
    let (bytes, origin) = (Bytes::from(bytes), blueprint.name.clone());
    let problem = match blueprint.output_check {
        OutputCheck::Framing => match Encoded::from_guest(signal, bytes, origin) {
            Ok(payload) => return Ok(payload),
            Err(e) => e.problem.to_string(),
        },
        // Checked to decode without decoding it, in one walk that also counts the items (a
        // later stage that reads the batch decodes it, and cannot fail).
        OutputCheck::Decode => match Encoded::checked(signal, bytes, Some(origin)) {
            Ok(payload) => return Ok(payload),
            Err(invalid) => invalid.to_string(),
        },
    };
    Err(format!(
        "replaced bytes ({len} B) are not an OTLP {} request: {problem}",
        signal.as_str()
    ))
}
