//! The exporters' `sending_queue`: requests wait here for `num_consumers` workers that hand
//! them to the exporter, in memory or, with `storage: file_storage/…`, on disk as well.
//!
//! # Contract
//!
//! * One queue per signal (the `data_type` label of the queue metrics), each with
//!   `num_consumers` workers calling the exporter's [`Consumer::consume`]. Requests of one signal
//!   are taken in FIFO order (with several workers, they may complete out of order).
//! * [`Consumer::consume`] returns `Ok` only once the request is held: in memory, or with
//!   storage written to the segment file with `write()` (it survives kill -9) and, with
//!   `fsync: true`, fsynced (it survives a power loss; concurrent writers share one fsync). From
//!   then on the queue owns the request (the acknowledgement rule of this crate).
//! * Capacity is `queue_size` requests and `queue_size_bytes` bytes of protobuf payload, whichever
//!   is reached first; requests being sent still count. A full queue refuses with
//!   [`ConsumeError::Refused`] ("sending queue of exporter X is full (N requests / M bytes)",
//!   `retry_after` 1 s) and counts the items in `otelcol_exporter_enqueue_failed_*`. With
//!   `blocking: true` the producer waits for room instead, until shutdown. An empty queue takes a
//!   request even if it alone is above `queue_size_bytes`.
//! * What the exporter answers: `Ok` is delivered. `Refused` means not delivered and not counted
//!   (the exporter is shutting down): a persistent request stays unacknowledged on disk and is
//!   sent after the next start (not before: its segment stays until then); an in-memory one
//!   is lost and counted in
//!   `otelcol_exporter_send_failed_*` (logged once). Any other error was already counted and
//!   logged by the exporter: the request is dropped. A panicking exporter loses the request
//!   (counted as failed).
//! * [`Consumer::shutdown`]: refuse new requests ("shutting down"), then, within the shutdown
//!   grace ([`QueueOptions::shutdown_grace`], 30 s): in memory, let the workers send everything
//!   queued; persistent, let the requests being sent finish and keep the rest on disk. After the
//!   grace, in-memory requests still waiting are counted as failed and logged. Then the
//!   exporter's `shutdown` runs (its retries stop, so requests still being sent return), the
//!   workers are awaited (one more grace at most, then aborted) and the directory is released.
//! * `otelcol_exporter_queue_size` is the number of requests held (waiting and being sent),
//!   `otelcol_exporter_queue_capacity` is `queue_size`.
//! * Delivery is exactly once while the process lives and at least once across crashes: a request
//!   delivered just before a crash may be delivered again.
//! * Dropping the queue without `shutdown` behaves like kill -9: workers are aborted, in-memory
//!   requests are lost, persistent ones are delivered after the next start.
//!
//! # On disk
//!
//! `{file_storage.directory}/exporter_{exporter id}_{signal}/` (characters of the id other than
//! ASCII letters, digits, `-`, `_` and `.` become `_`: `exporter_otlp_tempo_traces`) holds:
//!
//! * `LOCK`: locked while a queue uses the directory. A second process, or a second instance of
//!   the exporter while the first was not shut down, gets [`QueueError::Locked`]: on a reload,
//!   shut the old queue down before building the new one.
//! * Segment files `{seq:020}.seg`: the header `SLUICEQ1`, then records framed as
//!   `[len u32 LE][crc32 u32 LE][len bytes]` (CRC-32/IEEE of the record bytes). A record is a
//!   small protobuf message: format version, signal, the `Export*ServiceRequest` bytes, receiver,
//!   transport, peer, the [`AuthInfo`](crate::AuthInfo) fields and the metadata. A new segment
//!   starts at [`QueueOptions::segment_bytes`] and at every start.
//! * Acknowledgement files `{seq:020}.ack`: the `u32 LE` index of every record of the segment
//!   that is done with (delivered, or dropped after an exporter error), appended without fsync:
//!   a crash may deliver a record again, never lose it.
//!
//! A sealed segment is deleted with its acknowledgement file once every record in it is done.
//! At start-up every record not acknowledged is queued again, in order (even beyond capacity:
//! new requests are then refused until the queue drains below it); a damaged tail (a torn
//! write: short header, short record, bad checksum, zero length) is cut off with a warning;
//! records that do not decode are skipped with a warning. Disk use is what is held plus, per
//! segment, the delivered records that share a segment with undelivered ones.

mod error;
mod record;
mod signal_queue;
mod storage;
mod worker;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::future::join_all;
use parking_lot::Mutex;
use sluice_config::{FileStorageSettings, QueueSettings};
use tokio::task::JoinSet;

pub use error::QueueError;
use signal_queue::SignalQueue;
use storage::{LogOptions, SegmentLog, create_queue_dir, prepare_root, queue_dir};

use crate::metrics::ExporterMetrics;
use crate::{Batch, ConsumeError, Consumer, Form, Signal};

/// Tuning that is not part of the configuration.
#[derive(Debug, Clone)]
pub struct QueueOptions {
    /// How long shutdown waits for the queue to drain (in memory) or for requests being sent
    /// to finish (persistent), and then again for the workers to return. Default 30 s.
    pub shutdown_grace: Duration,
    /// Size at which a new segment file is started. Default 32 MiB.
    pub segment_bytes: u64,
    /// What is held of a request that has both its protobuf bytes and its decoded form: the
    /// bytes (default: the exporter sends them as they are, and they take the least memory) or
    /// the decoded form (for exporters that translate requests).
    pub keep: Form,
}

impl Default for QueueOptions {
    fn default() -> Self {
        QueueOptions {
            shutdown_grace: Duration::from_secs(30),
            segment_bytes: 32 << 20,
            keep: Form::Wire,
        }
    }
}

/// An exporter's sending queue; see the [module documentation](self) for its contract.
pub struct SendingQueue {
    exporter: Arc<str>,
    /// Indexed by [`slot`].
    queues: [Arc<SignalQueue>; 3],
    next: Arc<dyn Consumer>,
    options: QueueOptions,
    workers: Mutex<JoinSet<()>>,
    shutting_down: AtomicBool,
}

fn slot(signal: Signal) -> usize {
    match signal {
        Signal::Traces => 0,
        Signal::Metrics => 1,
        Signal::Logs => 2,
    }
}

impl SendingQueue {
    /// One queue per signal inside, each with `num_consumers` workers calling `next.consume`.
    /// `exporter` is the component id (`otlp/tempo`): it names the metrics, the log lines and
    /// the directories. `storage` is the `file_storage` extension named by `settings.storage`
    /// (required when it is set); the directories are read at once, so previous data is
    /// queued before this returns. `settings.enabled` is the caller's business.
    ///
    /// Requires a tokio runtime. Does blocking file IO when `storage` is given.
    pub fn new(
        exporter: &str,
        settings: &QueueSettings,
        storage: Option<&FileStorageSettings>,
        next: Arc<dyn Consumer>,
        metrics: ExporterMetrics,
    ) -> Result<Arc<SendingQueue>, QueueError> {
        Self::with_options(
            exporter,
            settings,
            storage,
            next,
            metrics,
            QueueOptions::default(),
        )
    }

    /// [`SendingQueue::new`] with non-default [`QueueOptions`].
    pub fn with_options(
        exporter: &str,
        settings: &QueueSettings,
        storage: Option<&FileStorageSettings>,
        next: Arc<dyn Consumer>,
        metrics: ExporterMetrics,
        options: QueueOptions,
    ) -> Result<Arc<SendingQueue>, QueueError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| QueueError::NoRuntime {
            exporter: exporter.to_owned(),
        })?;
        let storage = match (storage, &settings.storage) {
            (Some(storage), _) => Some(storage),
            (None, Some(id)) => {
                return Err(QueueError::StorageNotProvided {
                    exporter: exporter.to_owned(),
                    storage: id.to_string(),
                });
            }
            (None, None) => None,
        };
        let root = storage.map(prepare_root).transpose()?;
        let exporter: Arc<str> = Arc::from(exporter);
        let build = |signal: Signal| -> Result<Arc<SignalQueue>, QueueError> {
            let (log, recovered) = match (&root, storage) {
                (Some(root), Some(storage)) => {
                    let dir = queue_dir(root, &exporter, signal);
                    create_queue_dir(&dir, storage)?;
                    let log_options = LogOptions {
                        fsync: storage.fsync,
                        segment_bytes: options.segment_bytes,
                    };
                    let (log, recovered) = SegmentLog::open(&dir, log_options)?;
                    (Some(log), recovered)
                }
                _ => (None, Vec::new()),
            };
            let queue = SignalQueue::new(
                exporter.clone(),
                signal,
                settings,
                options.keep,
                log,
                metrics.clone(),
            );
            queue.restore(recovered);
            Ok(Arc::new(queue))
        };
        let [traces, metrics_signal, logs] = Signal::ALL;
        let queues = [build(traces)?, build(metrics_signal)?, build(logs)?];

        let mut workers = JoinSet::new();
        for queue in &queues {
            for _ in 0..settings.num_consumers.max(1) {
                workers.spawn_on(worker::run(queue.clone(), next.clone()), &runtime);
            }
        }
        Ok(Arc::new(SendingQueue {
            exporter,
            queues,
            next,
            options,
            workers: Mutex::new(workers),
            shutting_down: AtomicBool::new(false),
        }))
    }

    fn queue(&self, signal: Signal) -> &SignalQueue {
        &self.queues[slot(signal)]
    }

    /// Whether requests are also kept on disk.
    pub fn is_persistent(&self) -> bool {
        self.queues[0].log().is_some()
    }

    /// Requests of `signal` held: waiting and being sent.
    pub fn held(&self, signal: Signal) -> usize {
        self.queue(signal).held()
    }

    /// Requests of `signal` waiting for a worker.
    pub fn waiting(&self, signal: Signal) -> usize {
        self.queue(signal).waiting()
    }
}

#[async_trait::async_trait]
impl Consumer for SendingQueue {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        let queue = &self.queues[slot(batch.payload.signal())];
        queue.enqueue(batch).await
    }

    fn wants(&self) -> Form {
        self.options.keep
    }

    async fn shutdown(&self) {
        if self.shutting_down.swap(true, Ordering::SeqCst) {
            return;
        }
        let grace = self.options.shutdown_grace;
        for queue in &self.queues {
            queue.close();
        }
        let deadline = tokio::time::Instant::now() + grace;
        if self.is_persistent() {
            // Nothing is lost by stopping now: what waits stays on disk, and shutting the
            // exporter down ends its retry waits, so requests in flight come back refused
            // (kept on disk too) instead of holding shutdown for the whole grace period.
            for queue in &self.queues {
                self.stop(queue);
            }
            self.next.shutdown().await;
            join_all(self.queues.iter().map(|q| q.quiesce(deadline))).await;
        } else {
            join_all(self.queues.iter().map(|q| q.quiesce(deadline))).await;
            for queue in &self.queues {
                self.stop(queue);
            }
            self.next.shutdown().await;
        }

        let mut workers = std::mem::take(&mut *self.workers.lock());
        let joined = tokio::time::timeout(grace, async {
            while workers.join_next().await.is_some() {}
        })
        .await;
        if joined.is_err() {
            tracing::warn!(
                exporter = %self.exporter,
                "the exporter did not return within {grace:?} of its shutdown; aborting the \
                 sending queue's workers"
            );
            workers.shutdown().await;
        }
        for queue in &self.queues {
            self.finish(queue).await;
        }
    }
}

impl SendingQueue {
    /// Stop the workers of one queue and account for what was still waiting.
    fn stop(&self, queue: &SignalQueue) {
        let left = queue.stop();
        if left.is_empty() {
            return;
        }
        let requests = left.len();
        let items: usize = left.iter().map(|e| e.items).sum();
        match queue.log() {
            Some(log) => tracing::info!(
                exporter = %self.exporter,
                data_type = %queue.signal(),
                requests,
                items,
                directory = %log.dir().display(),
                "requests not yet sent stay in the persistent sending queue for the next start"
            ),
            None => {
                queue.metrics().failed(queue.signal(), items);
                tracing::error!(
                    exporter = %self.exporter,
                    data_type = %queue.signal(),
                    requests,
                    items,
                    grace = ?self.options.shutdown_grace,
                    "the sending queue did not drain within the shutdown grace: the rest is \
                     lost (counted as failed)"
                );
            }
        }
    }

    /// After the workers ended: count requests lost with aborted workers (in memory) or
    /// release the directory (persistent).
    async fn finish(&self, queue: &SignalQueue) {
        match queue.log() {
            Some(log) => {
                let log = log.clone();
                if let Err(e) = tokio::task::spawn_blocking(move || log.close()).await {
                    tracing::warn!(error = %e, "could not close the persistent sending queue");
                }
            }
            None => {
                let items = queue.in_flight_items();
                if items > 0 {
                    queue.metrics().failed(queue.signal(), items);
                    tracing::error!(
                        exporter = %self.exporter,
                        data_type = %queue.signal(),
                        items,
                        "requests still being sent when the workers were aborted are lost \
                         (counted as failed)"
                    );
                }
            }
        }
    }
}

impl Drop for SendingQueue {
    fn drop(&mut self) {
        if self.shutting_down.load(Ordering::SeqCst) || self.is_persistent() {
            return;
        }
        for queue in &self.queues {
            let held = queue.held();
            if held > 0 {
                tracing::warn!(
                    exporter = %self.exporter,
                    data_type = %queue.signal(),
                    requests = held,
                    "sending queue dropped without shutdown: its requests are lost"
                );
            }
        }
        // The JoinSet aborts the workers when it is dropped.
    }
}

#[cfg(test)]
mod tests;
