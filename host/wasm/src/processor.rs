//! The running processor: a pipeline stage that sends every batch through a guest.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use arc_swap::ArcSwap;
use bytes::Bytes;
use parking_lot::Mutex;
use sluice_pipeline::metrics::{Metrics, WasmProcessorMetrics};
use sluice_pipeline::{Batch, ConsumeError, Consumer, Form, Payload, RequestContext, Signal};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use crate::bindings;
use crate::codec;
use crate::engine::Runtime;
use crate::errors::{CallError, ErrorKind};
use crate::flush;
use crate::instance::{Call, Instance, Processed};
use crate::module::{Module, ModuleInner, OnError};
use crate::pool::{Health, Pool};
use crate::routes::{EmitRoutes, deliver};

/// A processor stage running a [`Module`]: hands each batch to the guest's `process` as OTLP
/// bytes (the bytes it travels as, else its encoding) on a pooled instance with a fresh
/// deadline, on the async worker or in the blocking pool (see `dispatch`), and forwards the
/// result to `next` (`replaced`: the new bytes, as an [`Encoded`](sluice_pipeline::Encoded)
/// payload whose framing was checked, not decoded; `unchanged`: the original; `dropped`:
/// nothing). A failed call never takes the host down: the batch follows the module's
/// [`OnError`], the error is counted by kind and logged, a trapped instance is discarded and
/// created again, and repeated failures back off.
///
/// [`swap`](WasmProcessor::swap) replaces the module atomically: every batch is processed by
/// exactly one version; calls in flight finish on the old one.
pub struct WasmProcessor {
    shared: Arc<Shared>,
    timer: Mutex<Option<JoinHandle<()>>>,
}

pub(crate) struct Shared {
    /// Keeps the epoch ticker running while this processor lives.
    _runtime: Runtime,
    pub(crate) current: ArcSwap<Version>,
    generations: AtomicU64,
    pub(crate) pool: Pool,
    health: Health,
    /// Calls may run on the async worker that carries the batch (see `dispatch`); cleared
    /// for good when the guest makes a WASI call that needs the blocking pool.
    pub(crate) inline: AtomicBool,
    /// Calls into the guest at once (each needs an instance and a thread).
    slots: Semaphore,
    next: Arc<dyn Consumer>,
    pub(crate) routes: EmitRoutes,
    metrics: WasmProcessorMetrics,
}

pub(crate) struct Version {
    pub(crate) generation: u64,
    pub(crate) module: Module,
}

/// What a call produced, for the async side to send on.
#[derive(Default)]
pub(crate) struct Done {
    pub(crate) forward: Option<Payload>,
    /// Emitted during `process`.
    pub(crate) emitted: Vec<Payload>,
    /// Emitted by the final `flush` of retired instances.
    pub(crate) flushed: Vec<Payload>,
}

impl WasmProcessor {
    /// A processor without emit routes (see [`WasmProcessor::with_routes`]).
    pub fn new(
        runtime: &Runtime,
        module: Module,
        next: Arc<dyn Consumer>,
        metrics: &Metrics,
    ) -> Arc<Self> {
        Self::with_routes(runtime, module, next, EmitRoutes::default(), metrics)
    }

    /// A processor whose guest may `emit` to `routes`. Starts the flush timer when called
    /// inside a Tokio runtime.
    pub fn with_routes(
        runtime: &Runtime,
        module: Module,
        next: Arc<dyn Consumer>,
        routes: EmitRoutes,
        metrics: &Metrics,
    ) -> Arc<Self> {
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get().max(2));
        Self::with_instances(runtime, module, next, routes, metrics, workers)
    }

    /// A processor whose guest keeps state that must not be split across instances (a span
    /// metrics accumulator: two instances would each count part of the spans and report two
    /// different cumulative series). One instance serves every call, one call at a time.
    pub fn single_instance(
        runtime: &Runtime,
        module: Module,
        next: Arc<dyn Consumer>,
        routes: EmitRoutes,
        metrics: &Metrics,
    ) -> Arc<Self> {
        Self::with_instances(runtime, module, next, routes, metrics, 1)
    }

    fn with_instances(
        runtime: &Runtime,
        module: Module,
        next: Arc<dyn Consumer>,
        routes: EmitRoutes,
        metrics: &Metrics,
        workers: usize,
    ) -> Arc<Self> {
        let shared = Arc::new(Shared {
            _runtime: runtime.clone(),
            metrics: match module.tenant() {
                Some(tenant) => metrics.tenant_wasm_processor(module.name(), tenant),
                None => metrics.wasm_processor(module.name()),
            },
            current: ArcSwap::from_pointee(Version {
                generation: 1,
                module,
            }),
            generations: AtomicU64::new(1),
            pool: Pool::new(workers),
            health: Health::new(),
            inline: AtomicBool::new(true),
            slots: Semaphore::new(workers),
            next,
            routes,
        });
        let timer = tokio::runtime::Handle::try_current()
            .ok()
            .map(|handle| handle.spawn(flush::timer(Arc::downgrade(&shared))));
        Arc::new(WasmProcessor {
            shared,
            timer: Mutex::new(timer),
        })
    }

    /// Serves `module` from now on. Calls in flight finish on the old version; idle instances
    /// of the old version are flushed and retired when next touched.
    pub fn swap(&self, module: Module) {
        let generation = self.shared.generations.fetch_add(1, Ordering::AcqRel) + 1;
        tracing::info!(
            processor = module.name(),
            tenant = module.tenant(),
            generation,
            "new processor version serving"
        );
        self.shared
            .current
            .store(Arc::new(Version { generation, module }));
        self.shared.health.reset();
    }

    /// The generation of the version serving now (1 for the first, +1 per swap).
    pub fn generation(&self) -> u64 {
        self.shared.current.load().generation
    }

    /// Idle pooled instances (for tests and diagnostics).
    pub fn idle_instances(&self) -> usize {
        self.shared.pool.idle()
    }

    /// Whether calls may run on the async worker that carries the batch: false once the guest
    /// needed the blocking pool (for tests and diagnostics).
    pub fn runs_inline(&self) -> bool {
        self.shared.inline.load(Ordering::Relaxed)
    }
}

impl Drop for WasmProcessor {
    fn drop(&mut self) {
        if let Some(timer) = self.timer.lock().take() {
            timer.abort();
        }
    }
}

#[async_trait::async_trait]
impl Consumer for WasmProcessor {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        let shared = &self.shared;
        let version = shared.current.load_full();
        let Batch { payload, context } = batch;
        // The guest needs only the bytes (and `on_error: pass` or `unchanged` forward them):
        // drop a decoded form the receiver kept here, on the thread that decoded it, rather
        // than in the worker thread after the call (a cross-thread free of every span).
        let payload = payload.slim(Form::Wire);
        if shared.health.backing_off() {
            shared.metrics.error(ErrorKind::Backoff.label());
            let forward = shared.on_error(&version.module.inner, payload);
            return shared.forward(forward, context).await;
        }
        let permit = shared.slots.acquire().await.map_err(|_| {
            ConsumeError::refused(format!("processor {} is shut down", version.module.name()))
        })?;
        let signal = payload.signal();
        let wit_context =
            codec::context_to_wit(&context, version.module.inner.environment.as_deref());
        let done = shared.dispatch(version, payload, wit_context).await?;
        drop(permit);
        let name = shared.name();
        deliver(
            &name,
            &shared.routes,
            Some((&shared.next, signal)),
            done.emitted,
            &context,
        )
        .await;
        deliver(
            &name,
            &shared.routes,
            None,
            done.flushed,
            &RequestContext::default(),
        )
        .await;
        shared.forward(done.forward, context).await
    }

    fn wants(&self) -> Form {
        Form::Wire
    }

    async fn shutdown(&self) {
        if let Some(timer) = self.timer.lock().take() {
            timer.abort();
        }
        self.shared.flush_idle(false).await;
        self.shared.next.shutdown().await;
    }
}

impl Shared {
    pub(crate) fn name(&self) -> Arc<str> {
        self.current.load().module.inner.blueprint.name.clone()
    }

    async fn forward(
        &self,
        payload: Option<Payload>,
        context: RequestContext,
    ) -> Result<(), ConsumeError> {
        match payload {
            Some(payload) => self.next.consume(Batch::new(payload, context)).await,
            None => Ok(()),
        }
    }

    /// One call on an instance taken from the pool (`found`, or a new one) after retiring the
    /// `stale` ones, and the instance put back: what a call in the blocking pool does.
    pub(crate) fn run(
        &self,
        version: &Version,
        (found, stale): (Option<Instance>, Vec<Instance>),
        (payload, bytes): (Payload, Bytes),
        context: &bindings::RequestContext,
    ) -> Done {
        let mut done = Done::default();
        for old in stale {
            self.retire(&version.module.inner, old, &mut done.flushed);
        }
        let mut instance = match found {
            Some(instance) => instance,
            None => match Instance::start(&version.module.inner.blueprint, version.generation) {
                Ok((instance, _ready)) => instance,
                Err(e) => {
                    let module = &version.module.inner;
                    self.failed(module, &e.into_call_error(), false);
                    done.forward = self.on_error(module, payload);
                    return done;
                }
            },
        };
        let call = self.invoke(version, &mut instance, payload.signal(), &bytes, context);
        drop(bytes);
        if let Some(instance) = self.settle(version, instance, call, payload, &mut done) {
            self.retire(&version.module.inner, instance, &mut done.flushed);
        }
        done
    }

    /// The guest's `process` on `bytes`, timed.
    pub(crate) fn invoke(
        &self,
        version: &Version,
        instance: &mut Instance,
        signal: Signal,
        bytes: &[u8],
        context: &bindings::RequestContext,
    ) -> Call<Processed> {
        let blueprint = &version.module.inner.blueprint;
        let routable = self.routes.routable(Some(signal));
        let call = instance.process(
            blueprint,
            blueprint.limits.timeout,
            signal,
            context,
            bytes,
            routable,
        );
        self.metrics.call(call.elapsed.as_secs_f64());
        call
    }

    /// Applies a call's outcome to `payload` (what goes on is in `done`) and puts a healthy
    /// instance back in the pool. Returns the instance when it must be retired instead (see
    /// [`Shared::keep`]).
    pub(crate) fn settle(
        &self,
        version: &Version,
        instance: Instance,
        call: Call<Processed>,
        payload: Payload,
        done: &mut Done,
    ) -> Option<Instance> {
        let module = &version.module.inner;
        let signal = payload.signal();
        done.emitted = call.emitted;
        done.forward = match call.result {
            Ok(processed) => {
                self.health.success();
                match processed {
                    Processed::Replaced(new) => Some(new),
                    Processed::Unchanged => Some(payload),
                    Processed::Dropped => {
                        self.metrics.dropped(signal, payload.item_count());
                        None
                    }
                }
            }
            Err(e) => {
                self.failed(module, &e, !call.healthy);
                self.on_error(module, payload)
            }
        };
        if call.healthy {
            self.keep(version, instance).err()
        } else {
            None
        }
    }

    /// Returns a healthy instance to the pool unless it must be retired (see
    /// [`Shared::keep`]).
    pub(crate) fn checkin(
        &self,
        version: &Version,
        instance: Instance,
        flushed: &mut Vec<Payload>,
    ) {
        if let Err(instance) = self.keep(version, instance) {
            self.retire(&version.module.inner, instance, flushed);
        }
    }

    /// Puts a healthy instance back in the pool, or hands it back when it must be retired:
    /// it belongs to an older version, grew above the memory high-water mark, or the pool is
    /// full.
    fn keep(&self, version: &Version, instance: Instance) -> Result<(), Instance> {
        let module = &version.module.inner;
        let current = self.current.load().generation;
        if instance.generation != current {
            Err(instance)
        } else if instance.memory_peak() > module.blueprint.limits.high_water_bytes() {
            tracing::debug!(
                processor = &*module.blueprint.name,
                tenant = module.blueprint.tenant.as_deref(),
                memory_bytes = instance.memory_peak(),
                "instance above the memory high-water mark: recycled"
            );
            self.metrics.restart();
            Err(instance)
        } else {
            self.pool.put(instance).map_or(Ok(()), Err)
        }
    }

    /// Calls `flush` one last time on a healthy instance and drops it.
    pub(crate) fn retire(
        &self,
        module: &ModuleInner,
        mut instance: Instance,
        flushed: &mut Vec<Payload>,
    ) {
        let call = instance.flush(
            crate::flush::flush_deadline(module.blueprint.limits.timeout),
            self.routes.routable(None),
        );
        if let Err(e) = &call.result {
            self.flush_failed(module, e, false);
        }
        flushed.extend(call.emitted);
    }

    /// Counts and logs a failed `flush`; `discarded`: the instance was dropped.
    pub(crate) fn flush_failed(&self, module: &ModuleInner, error: &CallError, discarded: bool) {
        self.metrics.error(error.kind.label());
        if discarded {
            self.metrics.restart();
        }
        if module.blueprint.log.admit() {
            tracing::warn!(
                processor = &*module.blueprint.name,
                tenant = module.blueprint.tenant.as_deref(),
                kind = error.kind.label(),
                discarded,
                "flush failed, what the instance held is lost: {}",
                error.message
            );
        }
    }

    /// Counts and logs a failed batch; `discarded`: the instance was dropped.
    fn failed(&self, module: &ModuleInner, error: &CallError, discarded: bool) {
        self.metrics.error(error.kind.label());
        if discarded {
            self.metrics.restart();
        }
        let backoff = match error.kind {
            ErrorKind::ProcessError => None,
            _ => self.health.failure(),
        };
        let processor = &*module.blueprint.name;
        let tenant = module.blueprint.tenant.as_deref();
        let kind = error.kind.label();
        if module.blueprint.log.admit() {
            let message = &error.message;
            match module.on_error {
                OnError::Pass => tracing::warn!(
                    processor,
                    tenant,
                    kind,
                    discarded,
                    "processor failed, batch passed on unchanged (on_error: pass): {message}"
                ),
                OnError::Drop => tracing::error!(
                    processor,
                    tenant,
                    kind,
                    discarded,
                    "processor failed, batch dropped (on_error: drop): {message}"
                ),
            }
        }
        if let Some(backoff) = backoff {
            tracing::error!(
                processor,
                tenant,
                failures = self.health.consecutive(),
                backoff_ms = u64::try_from(backoff.as_millis()).unwrap_or(u64::MAX),
                "processor keeps failing: batches skip it (on_error applies) until the back-off ends"
            );
        }
    }

    /// The batch to forward after a failure, per `on_error`.
    fn on_error(&self, module: &ModuleInner, payload: Payload) -> Option<Payload> {
        match module.on_error {
            OnError::Pass => Some(payload),
            OnError::Drop => {
                self.metrics.dropped(payload.signal(), payload.item_count());
                None
            }
        }
    }
}
