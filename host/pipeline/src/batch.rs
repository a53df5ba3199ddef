//! The `batch` processor: merges small requests into batches of `send_batch_size` items, sends a
//! partial batch after `timeout`, and splits anything above `send_batch_max_size`.
//!
//! Batches are kept per sender (receiver and authenticated identity), so the context a batch
//! carries downstream is true for every item in it. Like the Collector, `consume` acknowledges
//! as soon as the data is buffered; unlike it, the request that fills a batch sends it inline and
//! so feels downstream backpressure, and [`Consumer::shutdown`] flushes every buffered item.

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use sluice_config::BatchSettings;

use crate::encoded::join;
use crate::split::split_off_front;
use crate::{AuthInfo, Batch, ConsumeError, Consumer, Form, Payload, RequestContext, Signal};

/// Distinct senders buffered at once; beyond it, requests pass through unbatched.
const MAX_PENDING_KEYS: usize = 1000;

#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    signal: Signal,
    receiver: Arc<str>,
    auth: Arc<AuthInfo>,
    tenant: Option<Arc<str>>,
}

struct Pending {
    signal: Signal,
    /// The requests taken, in order; joined into one when sent, outside the lock.
    parts: Vec<Payload>,
    items: usize,
    context: RequestContext,
    since: Instant,
}

pub struct BatchProcessor {
    settings: BatchSettings,
    next: Arc<dyn Consumer>,
    pending: Mutex<HashMap<Key, Pending>>,
}

impl BatchProcessor {
    /// Build the processor and start its timer (requires a tokio runtime).
    pub fn new(settings: &BatchSettings, next: Arc<dyn Consumer>) -> Arc<Self> {
        let processor = Arc::new(BatchProcessor {
            settings: settings.clone(),
            next,
            pending: Mutex::new(HashMap::new()),
        });
        let tick = (settings.timeout / 4).max(Duration::from_millis(5));
        tokio::spawn(timer(Arc::downgrade(&processor), tick));
        processor
    }

    /// Join `parts` and send the request downstream in parts of at most `send_batch_max_size`
    /// items. Joining decodes nothing; cutting a request does, so bytes are decoded only when a
    /// request is above the maximum.
    async fn send(
        &self,
        signal: Signal,
        parts: Vec<Payload>,
        context: RequestContext,
    ) -> Result<(), ConsumeError> {
        let mut payload = join(signal, parts);
        let max = self.settings.send_batch_max_size;
        if max > 0 && payload.item_count() > max {
            payload = decoded_to_cut(payload);
            while payload.item_count() > max {
                let head = split_off_front(&mut payload, max);
                self.next.consume(Batch::new(head, context.clone())).await?;
            }
        }
        if payload.item_count() == 0 {
            return Ok(());
        }
        self.next.consume(Batch::new(payload, context)).await
    }

    /// Take every pending batch that is due (all of them when `all`).
    fn take_due(&self, all: bool) -> Vec<Pending> {
        let mut pending = self.pending.lock();
        let due: Vec<Key> = pending
            .iter()
            .filter(|(_, p)| all || p.since.elapsed() >= self.settings.timeout)
            .map(|(k, _)| k.clone())
            .collect();
        due.iter().filter_map(|k| pending.remove(k)).collect()
    }

    async fn flush(&self, all: bool) {
        for p in self.take_due(all) {
            if let Err(e) = self.send(p.signal, p.parts, p.context).await {
                // Downstream stages count and log their own losses; this is the batch's view.
                tracing::warn!(items = p.items, error = %e, "batch could not be delivered");
            }
        }
    }
}

async fn timer(processor: Weak<BatchProcessor>, tick: Duration) {
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let Some(processor) = processor.upgrade() else {
            return;
        };
        processor.flush(false).await;
    }
}

#[async_trait::async_trait]
impl Consumer for BatchProcessor {
    /// Requests are joined in either form; the next stage says which it reads.
    fn wants(&self) -> Form {
        self.next.wants()
    }

    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        let items = batch.payload.item_count();
        if items == 0 {
            return Ok(());
        }
        let key = Key {
            signal: batch.payload.signal(),
            receiver: batch.context.receiver.clone(),
            auth: batch.context.auth.clone(),
            tenant: batch.context.tenant.clone(),
        };
        // Decide under the lock, send after it: the guard never lives across an await.
        let to_send = {
            let mut pending = self.pending.lock();
            if !pending.contains_key(&key) && pending.len() >= MAX_PENDING_KEYS {
                Some((vec![batch.payload], batch.context))
            } else {
                match pending.get_mut(&key) {
                    Some(p) => {
                        p.parts.push(batch.payload);
                        p.items += items;
                    }
                    None => {
                        pending.insert(
                            key.clone(),
                            Pending {
                                signal: key.signal,
                                parts: vec![batch.payload],
                                items,
                                context: batch.context,
                                since: Instant::now(),
                            },
                        );
                    }
                }
                match pending.get(&key) {
                    Some(p) if p.items >= self.settings.send_batch_size => {
                        pending.remove(&key).map(|p| (p.parts, p.context))
                    }
                    _ => None,
                }
            }
        };
        match to_send {
            Some((parts, context)) => self.send(key.signal, parts, context).await,
            None => Ok(()),
        }
    }

    async fn shutdown(&self) {
        self.flush(true).await;
        self.next.shutdown().await;
    }
}

/// `payload` decoded, to be cut. Bytes that do not decode are kept whole (the stage that needs
/// them decoded reports them); a warning says the maximum could not be applied.
fn decoded_to_cut(payload: Payload) -> Payload {
    let Payload::Encoded(e) = payload else {
        return payload;
    };
    if e.known_decoded().is_some() {
        return e.without_bytes();
    }
    match e.decode() {
        Ok(decoded) => decoded,
        Err(error) => {
            tracing::warn!(
                items = e.items(),
                %error,
                "batch above send_batch_max_size sent whole: its bytes do not decode"
            );
            Payload::Encoded(e)
        }
    }
}
