//! The queue of one signal: the requests it holds (waiting or being sent), the two capacity
//! bounds, and the hand-off between producers ([`SignalQueue::enqueue`]) and workers
//! ([`SignalQueue::next_entry`] … [`SignalQueue::done`]).

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use sluice_config::QueueSettings;
use tokio::sync::Notify;

use crate::metrics::ExporterMetrics;
use crate::queue::record;
use crate::queue::storage::{FRAME_HEADER, RecordId, Recovered, SegmentLog, seal_frame};
use crate::{Batch, ConsumeError, Form, Signal};

/// What a refused client is told to wait before retrying.
pub(crate) const RETRY_AFTER: Duration = Duration::from_secs(1);

/// At most one log line per this interval for repeated disk errors.
const DISK_ERROR_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// One queued request.
pub(crate) struct Entry {
    pub batch: Batch,
    pub items: usize,
    /// Protobuf size of the payload, as counted against `queue_size_bytes`.
    pub bytes: u64,
    /// Where the request is on disk (persistent queues).
    pub id: Option<RecordId>,
}

#[derive(Default)]
struct State {
    waiting: VecDeque<Entry>,
    /// Requests and bytes held: reserved by producers, waiting, or being sent.
    held: usize,
    held_bytes: u64,
    /// Reserved requests still being written to disk.
    writing: usize,
    in_flight: usize,
    in_flight_items: usize,
    /// No new requests are taken.
    closed: bool,
    /// Workers take no more requests.
    stopped: bool,
}

/// The queue of one signal of one exporter.
pub(crate) struct SignalQueue {
    exporter: Arc<str>,
    signal: Signal,
    capacity: usize,
    capacity_bytes: u64,
    blocking: bool,
    /// The form held of requests that have two.
    keep: Form,
    log: Option<Arc<SegmentLog>>,
    metrics: ExporterMetrics,
    state: Mutex<State>,
    /// A request is waiting, or the workers must stop.
    work: Notify,
    /// Something was released (space for blocked producers, progress for shutdown) or the
    /// queue closed.
    released: Notify,
    refusal_logged: AtomicBool,
    started: Instant,
    /// Milliseconds after `started` of the last disk error log line, plus one (0: never).
    disk_error_logged: AtomicU64,
}

/// Capacity reserved by a producer. Dropped without [`Reservation::push`] (an error, a
/// panic), it gives the capacity back.
struct Reservation {
    queue: Arc<SignalQueue>,
    bytes: u64,
    writing: bool,
    armed: bool,
}

impl Reservation {
    fn push(mut self, entry: Entry) {
        self.armed = false;
        self.queue.push(entry, self.writing);
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.armed {
            self.queue.unreserve(self.bytes, self.writing);
        }
    }
}

impl SignalQueue {
    /// Bounds and `blocking` from `settings` (`queue_size`, `queue_size_bytes`).
    pub(crate) fn new(
        exporter: Arc<str>,
        signal: Signal,
        settings: &QueueSettings,
        keep: Form,
        log: Option<Arc<SegmentLog>>,
        metrics: ExporterMetrics,
    ) -> Self {
        let queue = SignalQueue {
            exporter,
            signal,
            capacity: settings.queue_size.max(1),
            capacity_bytes: settings.queue_size_bytes,
            blocking: settings.blocking,
            keep,
            log,
            metrics,
            state: Mutex::default(),
            work: Notify::new(),
            released: Notify::new(),
            refusal_logged: AtomicBool::new(false),
            started: Instant::now(),
            disk_error_logged: AtomicU64::new(0),
        };
        queue.publish(&queue.state.lock());
        queue
    }

    /// The segment log of a persistent queue.
    pub(crate) fn log(&self) -> Option<&Arc<SegmentLog>> {
        self.log.as_ref()
    }

    pub(crate) fn signal(&self) -> Signal {
        self.signal
    }

    pub(crate) fn metrics(&self) -> &ExporterMetrics {
        &self.metrics
    }

    /// Requests held: waiting and being sent.
    pub(crate) fn held(&self) -> usize {
        self.state.lock().held
    }

    /// Requests waiting to be sent.
    pub(crate) fn waiting(&self) -> usize {
        self.state.lock().waiting.len()
    }

    /// Items of the requests being sent.
    pub(crate) fn in_flight_items(&self) -> usize {
        self.state.lock().in_flight_items
    }

    fn publish(&self, state: &State) {
        self.metrics
            .set_queue(self.signal, state.held, self.capacity);
    }

    /// Queue the records a previous run left on disk (at start-up, before the workers run).
    /// They are taken even beyond capacity; new requests are refused until there is room.
    pub(crate) fn restore(&self, recovered: Vec<Recovered>) {
        let Some(log) = &self.log else {
            return;
        };
        if recovered.is_empty() {
            return;
        }
        let (mut requests, mut items, mut skipped) = (0usize, 0usize, 0usize);
        let mut state = self.state.lock();
        for Recovered { id, bytes } in recovered {
            match record::decode(&bytes, self.signal, self.keep) {
                Ok(batch) => {
                    let entry_items = batch.payload.item_count();
                    let entry_bytes = batch.payload.encoded_len() as u64;
                    state.held += 1;
                    state.held_bytes += entry_bytes;
                    state.waiting.push_back(Entry {
                        batch,
                        items: entry_items,
                        bytes: entry_bytes,
                        id: Some(id),
                    });
                    requests += 1;
                    items += entry_items;
                }
                Err(reason) => {
                    skipped += 1;
                    tracing::warn!(
                        exporter = %self.exporter,
                        data_type = %self.signal,
                        directory = %log.dir().display(),
                        segment = id.segment,
                        record = id.index,
                        %reason,
                        "skipping a sending queue record that does not decode"
                    );
                    if let Err(e) = log.ack(id) {
                        tracing::warn!(error = %e, "could not mark the skipped record as done");
                    }
                }
            }
        }
        self.publish(&state);
        let (held, held_bytes) = (state.held, state.held_bytes);
        drop(state);
        if requests > 0 || skipped > 0 {
            tracing::info!(
                exporter = %self.exporter,
                data_type = %self.signal,
                directory = %log.dir().display(),
                requests,
                items,
                skipped,
                "recovered undelivered requests of the persistent sending queue"
            );
        }
        if held > self.capacity || held_bytes > self.capacity_bytes {
            tracing::warn!(
                exporter = %self.exporter,
                data_type = %self.signal,
                requests = held,
                bytes = held_bytes,
                queue_size = self.capacity,
                queue_size_bytes = self.capacity_bytes,
                "more was recovered than the queue holds: new data is refused until it drains \
                 below its capacity"
            );
        }
    }

    /// Take a request: hold it in memory and, for a persistent queue, write it to the segment
    /// log (and fsync it if configured) before returning `Ok`.
    ///
    /// Requests are counted by their protobuf size: the bytes an `Encoded` payload carries, the
    /// encoded length of a decoded one. Of a payload that has both forms only one is held
    /// ([`QueueOptions::keep`](super::QueueOptions::keep)); the record on disk is written from
    /// the bytes when there are bytes.
    pub(crate) async fn enqueue(self: &Arc<Self>, batch: Batch) -> Result<(), ConsumeError> {
        let items = batch.payload.item_count();
        let bytes = batch.payload.encoded_len() as u64;
        let reservation = self.reserve(items, bytes).await?;
        let Some(log) = self.log.clone() else {
            reservation.push(Entry {
                batch: self.slim(batch),
                items,
                bytes,
                id: None,
            });
            return Ok(());
        };
        let mut frame = record::encode(&batch, FRAME_HEADER).map_err(|e| {
            ConsumeError::Invalid(format!("request cannot be encoded for the queue: {e}"))
        })?;
        let batch = self.slim(batch);
        if let Err(len) = seal_frame(&mut frame) {
            return Err(ConsumeError::Invalid(format!(
                "a request of {len} bytes is too large for the persistent sending queue"
            )));
        }
        // Detached: once the write started, it completes (and the request is queued) even if
        // the caller gives up waiting.
        let queue = self.clone();
        let write = tokio::spawn(async move {
            queue
                .write(&log, reservation, batch, items, bytes, frame)
                .await
        });
        write.await.unwrap_or_else(|e| {
            Err(ConsumeError::Refused {
                reason: format!(
                    "sending queue of exporter {}: write task failed: {e}",
                    self.exporter
                ),
                retry_after: Some(RETRY_AFTER),
            })
        })
    }

    fn slim(&self, batch: Batch) -> Batch {
        Batch {
            payload: batch.payload.slim(self.keep),
            context: batch.context,
        }
    }

    async fn write(
        &self,
        log: &Arc<SegmentLog>,
        reservation: Reservation,
        batch: Batch,
        items: usize,
        bytes: u64,
        frame: Vec<u8>,
    ) -> Result<(), ConsumeError> {
        let appended = {
            let log = log.clone();
            tokio::task::spawn_blocking(move || log.append(&frame)).await
        };
        let (id, seq) = match appended {
            Ok(Ok(appended)) => appended,
            Ok(Err(e)) => return Err(self.disk_error("write to", log, &e)),
            Err(e) => return Err(self.disk_error("write to", log, &io::Error::other(e))),
        };
        if log.fsync()
            && let Err(e) = log.durable(seq).await
        {
            // The client is told to retry: do not deliver this copy after a restart too.
            let acked = {
                let log = log.clone();
                tokio::task::spawn_blocking(move || log.ack(id)).await
            };
            if !matches!(acked, Ok(Ok(()))) {
                tracing::debug!("could not mark a record whose fsync failed as done");
            }
            return Err(self.disk_error("fsync", log, &e));
        }
        reservation.push(Entry {
            batch,
            items,
            bytes,
            id: Some(id),
        });
        Ok(())
    }

    /// The refusal for a failed disk operation, logged at most every few seconds.
    fn disk_error(&self, action: &str, log: &SegmentLog, error: &io::Error) -> ConsumeError {
        let now = self.started.elapsed().as_millis() as u64 + 1;
        let last = self.disk_error_logged.load(Ordering::Relaxed);
        let interval = DISK_ERROR_LOG_INTERVAL.as_millis() as u64;
        if (last == 0 || now.saturating_sub(last) >= interval)
            && self
                .disk_error_logged
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::error!(
                exporter = %self.exporter,
                data_type = %self.signal,
                directory = %log.dir().display(),
                %error,
                "the persistent sending queue cannot {action} its directory: requests are \
                 refused (check free space and permissions; repeats are logged every {}s)",
                DISK_ERROR_LOG_INTERVAL.as_secs()
            );
        }
        ConsumeError::Refused {
            reason: format!(
                "sending queue of exporter {} cannot {action} {}: {error}",
                self.exporter,
                log.dir().display()
            ),
            retry_after: Some(RETRY_AFTER),
        }
    }

    /// Reserve room for one request, waiting for it in blocking mode.
    async fn reserve(
        self: &Arc<Self>,
        items: usize,
        bytes: u64,
    ) -> Result<Reservation, ConsumeError> {
        loop {
            let released = self.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            {
                let mut state = self.state.lock();
                if state.closed {
                    return Err(ConsumeError::Refused {
                        reason: format!(
                            "sending queue of exporter {} is shutting down",
                            self.exporter
                        ),
                        retry_after: Some(RETRY_AFTER),
                    });
                }
                // An empty queue takes even a request above queue_size_bytes, or it could never
                // be sent (and a blocking producer would wait forever).
                let fits = state.held == 0
                    || (state.held < self.capacity
                        && state.held_bytes + bytes <= self.capacity_bytes);
                if fits {
                    let writing = self.log.is_some();
                    state.held += 1;
                    state.held_bytes += bytes;
                    state.writing += usize::from(writing);
                    self.publish(&state);
                    return Ok(Reservation {
                        queue: self.clone(),
                        bytes,
                        writing,
                        armed: true,
                    });
                }
                if !self.blocking {
                    let (held, held_bytes) = (state.held, state.held_bytes);
                    drop(state);
                    self.metrics.enqueue_failed(self.signal, items);
                    return Err(ConsumeError::Refused {
                        reason: format!(
                            "sending queue of exporter {} is full ({held} requests / {held_bytes} bytes)",
                            self.exporter
                        ),
                        retry_after: Some(RETRY_AFTER),
                    });
                }
            }
            released.await;
        }
    }

    fn unreserve(&self, bytes: u64, writing: bool) {
        {
            let mut state = self.state.lock();
            state.held -= 1;
            state.held_bytes -= bytes;
            state.writing -= usize::from(writing);
            self.publish(&state);
        }
        self.released.notify_waiters();
    }

    fn push(&self, entry: Entry, writing: bool) {
        let mut state = self.state.lock();
        state.writing -= usize::from(writing);
        if !state.stopped {
            state.waiting.push_back(entry);
            drop(state);
            self.work.notify_one();
            return;
        }
        // Shutdown already gave up on the queue: a persistent request stays on disk; an
        // in-memory one is lost.
        state.held -= 1;
        state.held_bytes -= entry.bytes;
        self.publish(&state);
        drop(state);
        if entry.id.is_none() {
            self.metrics.failed(self.signal, entry.items);
            tracing::error!(
                exporter = %self.exporter,
                data_type = %self.signal,
                items = entry.items,
                "a request queued during shutdown could not be sent (counted as failed)"
            );
        }
        self.released.notify_waiters();
    }

    /// The next request to send, or `None` once the workers must stop.
    pub(crate) async fn next_entry(&self) -> Option<Entry> {
        loop {
            let work = self.work.notified();
            tokio::pin!(work);
            work.as_mut().enable();
            {
                let mut state = self.state.lock();
                if state.stopped {
                    return None;
                }
                if let Some(entry) = state.waiting.pop_front() {
                    state.in_flight += 1;
                    state.in_flight_items += entry.items;
                    return Some(entry);
                }
            }
            work.await;
        }
    }

    /// A request from [`SignalQueue::next_entry`] is finished with (delivered, lost or left on
    /// disk): release its room.
    pub(crate) fn done(&self, bytes: u64, items: usize) {
        {
            let mut state = self.state.lock();
            state.held -= 1;
            state.held_bytes -= bytes;
            state.in_flight -= 1;
            state.in_flight_items -= items;
            self.publish(&state);
        }
        self.released.notify_waiters();
    }

    /// The exporter refused a request (it is shutting down): a persistent request stays on
    /// disk for the next start; an in-memory one is lost and counted as failed. Logged once.
    pub(crate) fn refused_by_exporter(&self, items: usize, reason: &str) {
        let first = !self.refusal_logged.swap(true, Ordering::Relaxed);
        match &self.log {
            Some(log) => {
                if first {
                    tracing::info!(
                        exporter = %self.exporter,
                        data_type = %self.signal,
                        directory = %log.dir().display(),
                        %reason,
                        "the exporter refused a queued request; it stays on disk and is sent \
                         after the next start (further refusals are not logged)"
                    );
                }
            }
            None => {
                self.metrics.failed(self.signal, items);
                if first {
                    tracing::warn!(
                        exporter = %self.exporter,
                        data_type = %self.signal,
                        items,
                        %reason,
                        "the exporter refused a queued request: it is lost and counted as failed \
                         (further refusals are counted, not logged)"
                    );
                }
            }
        }
    }

    /// Take no new requests; blocked producers are refused.
    pub(crate) fn close(&self) {
        self.state.lock().closed = true;
        self.released.notify_waiters();
    }

    /// Wait, until `deadline` at most, for the queue to be quiet: in memory, everything sent;
    /// persistent, no send and no disk write in progress. Returns whether it became quiet.
    pub(crate) async fn quiesce(&self, deadline: tokio::time::Instant) -> bool {
        loop {
            let released = self.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            if self.is_quiet(&self.state.lock()) {
                return true;
            }
            if tokio::time::timeout_at(deadline, released).await.is_err() {
                return self.is_quiet(&self.state.lock());
            }
        }
    }

    fn is_quiet(&self, state: &State) -> bool {
        match self.log {
            Some(_) => state.in_flight == 0 && state.writing == 0,
            None => state.held == 0,
        }
    }

    /// Stop the workers after their current request. Returns the requests still waiting,
    /// released from the queue's accounting (a persistent queue keeps them on disk).
    pub(crate) fn stop(&self) -> Vec<Entry> {
        let left: Vec<Entry> = {
            let mut state = self.state.lock();
            state.stopped = true;
            let left: Vec<Entry> = state.waiting.drain(..).collect();
            state.held -= left.len();
            state.held_bytes -= left.iter().map(|e| e.bytes).sum::<u64>();
            self.publish(&state);
            left
        };
        self.work.notify_waiters();
        self.released.notify_waiters();
        left
    }
}
