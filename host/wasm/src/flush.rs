//! `flush`: on a timer (`ready.flush-interval-ms`) and when idle instances are retired at
//! shutdown.

use std::sync::{Arc, Weak};
use std::time::Duration;

use sluice_pipeline::RequestContext;

use crate::processor::Shared;
use crate::routes::deliver;

/// A flush emits everything a guest accumulated (span metrics: thousands of series), so it
/// gets ten times the per-call deadline, and at least one second.
pub(crate) fn flush_deadline(call_timeout: Duration) -> Duration {
    (call_timeout * 10).max(Duration::from_secs(1))
}

impl Shared {
    /// Flushes idle instances and, when `keep`, returns them to the pool; otherwise retires
    /// them (shutdown).
    pub(crate) async fn flush_idle(self: &Arc<Self>, keep: bool) {
        let shared = self.clone();
        let job = tokio::task::spawn_blocking(move || {
            let version = shared.current.load_full();
            let module = &version.module.inner;
            let mut flushed = Vec::new();
            for mut instance in shared.pool.drain() {
                if !keep {
                    shared.retire(module, instance, &mut flushed);
                    continue;
                }
                let call = instance.flush(
                    flush_deadline(module.blueprint.limits.timeout),
                    shared.routes.routable(None),
                );
                if let Err(e) = &call.result {
                    shared.flush_failed(module, e, !call.healthy);
                }
                flushed.extend(call.emitted);
                if call.healthy {
                    shared.checkin(&version, instance, &mut flushed);
                }
            }
            flushed
        });
        if let Ok(flushed) = job.await {
            deliver(
                &self.name(),
                &self.routes,
                None,
                flushed,
                &RequestContext::default(),
            )
            .await;
        }
    }
}

/// Calls `flush` on idle instances every `ready.flush-interval-ms` of the serving version.
pub(crate) async fn timer(shared: Weak<Shared>) {
    const IDLE_CHECK: Duration = Duration::from_secs(1);
    const MIN_INTERVAL: Duration = Duration::from_millis(10);
    loop {
        let interval = match shared.upgrade() {
            Some(s) => s.current.load().module.flush_interval(),
            None => return,
        };
        tokio::time::sleep(interval.map_or(IDLE_CHECK, |i| i.max(MIN_INTERVAL))).await;
        if interval.is_none() {
            continue;
        }
        match shared.upgrade() {
            Some(s) => s.flush_idle(true).await,
            None => return,
        }
    }
}
