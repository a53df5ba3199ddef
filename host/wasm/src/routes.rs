//! Where batches a guest `emit`s go.

use std::sync::Arc;

use sluice_pipeline::{Batch, Consumer, Payload, RequestContext, Signal};

use crate::codec::signal_index;

/// Consumers for emitted batches, per signal. A signal without a route is refused to the guest
/// (`no-route`), except the signal of the batch being processed, which continues after the
/// processor (to its `next`) as the WIT contract says.
#[derive(Clone, Default)]
pub struct EmitRoutes {
    pub traces: Option<Arc<dyn Consumer>>,
    pub metrics: Option<Arc<dyn Consumer>>,
    pub logs: Option<Arc<dyn Consumer>>,
}

impl EmitRoutes {
    pub(crate) fn get(&self, signal: Signal) -> Option<&Arc<dyn Consumer>> {
        match signal {
            Signal::Traces => self.traces.as_ref(),
            Signal::Metrics => self.metrics.as_ref(),
            Signal::Logs => self.logs.as_ref(),
        }
    }

    /// Which signals a guest may emit; `processing`: the signal of the batch in the call.
    pub(crate) fn routable(&self, processing: Option<Signal>) -> [bool; 3] {
        let mut routable = [false; 3];
        for signal in Signal::ALL {
            routable[signal_index(signal)] =
                self.get(signal).is_some() || processing == Some(signal);
        }
        routable
    }
}

impl std::fmt::Debug for EmitRoutes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmitRoutes")
            .field("traces", &self.traces.is_some())
            .field("metrics", &self.metrics.is_some())
            .field("logs", &self.logs.is_some())
            .finish()
    }
}

/// Sends emitted batches on. `next` and `processing` are set for batches emitted during
/// `process` (same-signal batches continue to `next`); flush output uses the routes only.
pub(crate) async fn deliver(
    processor: &str,
    routes: &EmitRoutes,
    next: Option<(&Arc<dyn Consumer>, Signal)>,
    emitted: Vec<Payload>,
    context: &RequestContext,
) {
    for payload in emitted {
        let signal = payload.signal();
        let consumer = match (routes.get(signal), next) {
            (Some(route), _) => route,
            (None, Some((next, processing))) if processing == signal => next,
            // The guest was told `no-route`; nothing can arrive here.
            (None, _) => continue,
        };
        let items = payload.item_count();
        if let Err(e) = consumer.consume(Batch::new(payload, context.clone())).await {
            tracing::warn!(
                processor,
                signal = signal.as_str(),
                items,
                error = %e,
                "an emitted batch was refused downstream and is lost"
            );
        }
    }
}
