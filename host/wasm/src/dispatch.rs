//! Where a guest call runs: on the async worker that carries the batch, or in Tokio's
//! blocking pool.
//!
//! A hand-off to the blocking pool costs two thread wake-ups per call (the blocking thread's,
//! then the worker's when the call is done), and at light load each wakes an idle CPU. Calls
//! run here gave seed 002's production pipeline 3–7% more spans per CPU-second at 10k and
//! 100k spans/s (`bench/README.md`); `block_in_place` gave nothing (it wakes a thread to take
//! over the worker's queue). So a call runs where the batch is when that is safe:
//! - an idle instance of the current version is ready (creating one runs the guest's `init`,
//!   whose deadline is longer) and no instance of an older version waits to be retired
//!   (retiring calls `flush`, whose deadline is longer);
//! - the call's deadline is at most [`INLINE_DEADLINE`], so no worker is held longer than
//!   that plus one epoch tick, and the batch is at most [`INLINE_MAX_BYTES`], so that a well
//!   behaved guest holds it a millisecond or two;
//! - the guest has not needed the blocking pool before. wasmtime-wasi's synchronous bindings
//!   run some WASI calls (a write to stdout or stderr, such as a panic message; a sleep; a
//!   poll) by blocking on the Tokio runtime, which panics on one of its workers. That panic
//!   unwinds out of the guest call before the batch is touched: the instance that started it
//!   is dropped (with anything it emitted), the batch is processed again in the blocking pool,
//!   and the processor's calls run there from then on.
//!
//! Everything else runs in the blocking pool.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use sluice_pipeline::{ConsumeError, Payload};

use crate::bindings;
use crate::instance::Instance;
use crate::processor::{Done, Shared, Version};

/// The longest call deadline with which a call may run on an async worker: the default
/// `timeout`.
pub(crate) const INLINE_DEADLINE: Duration = Duration::from_millis(100);

/// The largest batch that may be processed on an async worker: about 2,000 spans of ten
/// attributes, a millisecond or two of a guest's work. Longer calls gain little from saving
/// the hand-off and would hold up the other requests of their worker (at 100k spans/s, tail
/// sampling's decision calls of 20,000 spans on the workers raised the p99 latency of
/// seed 002's pipeline from ~23 to ~33 ms).
pub(crate) const INLINE_MAX_BYTES: usize = 1 << 20;

impl Shared {
    /// Processes `payload` on an instance of `version`, on this worker or in the blocking
    /// pool (see the module documentation).
    pub(crate) async fn dispatch(
        self: &Arc<Self>,
        version: Arc<Version>,
        payload: Payload,
        context: bindings::RequestContext,
    ) -> Result<Done, ConsumeError> {
        // The bytes the payload travels as (a cheap clone), or its encoding.
        let bytes = payload.to_wire();
        let (found, stale) = self.pool.take(version.generation);
        let inline = self.inline.load(Ordering::Relaxed)
            && version.module.inner.blueprint.limits.timeout <= INLINE_DEADLINE
            && bytes.len() <= INLINE_MAX_BYTES;
        let (batch, taken) = match found {
            Some(instance) if inline && stale.is_empty() => {
                match self
                    .inline_call(&version, instance, (payload, bytes), &context)
                    .await
                {
                    Ok(done) => return Ok(done),
                    Err(batch) => (batch, (None, stale)),
                }
            }
            found => ((payload, bytes), (found, stale)),
        };
        self.blocking(version, taken, batch, context).await
    }

    /// One call on this worker. `Err` gives the batch back when the guest needed the
    /// blocking pool.
    async fn inline_call(
        self: &Arc<Self>,
        version: &Arc<Version>,
        mut instance: Instance,
        (payload, bytes): (Payload, Bytes),
        context: &bindings::RequestContext,
    ) -> Result<Done, (Payload, Bytes)> {
        let signal = payload.signal();
        let call = catch_unwind(AssertUnwindSafe(|| {
            self.invoke(version, &mut instance, signal, &bytes, context)
        }));
        let Ok(call) = call else {
            drop(instance);
            self.inline.store(false, Ordering::Relaxed);
            let module = &version.module.inner;
            tracing::warn!(
                processor = &*module.blueprint.name,
                tenant = module.blueprint.tenant.as_deref(),
                "the guest call panicked on an async worker (the message above), which a WASI \
                 call that blocks (stdout, stderr, sleep, poll) does there: its batch is \
                 processed again, and its calls run in the blocking pool from now on"
            );
            return Err((payload, bytes));
        };
        drop(bytes);
        let mut done = Done::default();
        if let Some(instance) = self.settle(version, instance, call, payload, &mut done) {
            let (shared, version) = (self.clone(), version.clone());
            let retired = tokio::task::spawn_blocking(move || {
                let mut flushed = Vec::new();
                shared.retire(&version.module.inner, instance, &mut flushed);
                flushed
            });
            match retired.await {
                Ok(flushed) => done.flushed = flushed,
                Err(e) => tracing::error!(
                    processor = &*self.name(),
                    "retiring an instance failed, what it held is lost: {e}"
                ),
            }
        }
        Ok(done)
    }

    /// One call in the blocking pool, on `found` or a new instance, after retiring `stale`.
    async fn blocking(
        self: &Arc<Self>,
        version: Arc<Version>,
        taken: (Option<Instance>, Vec<Instance>),
        batch: (Payload, Bytes),
        context: bindings::RequestContext,
    ) -> Result<Done, ConsumeError> {
        let shared = self.clone();
        tokio::task::spawn_blocking(move || shared.run(&version, taken, batch, &context))
            .await
            .map_err(|e| ConsumeError::Internal(format!("processor worker thread failed: {e}")))
    }
}
