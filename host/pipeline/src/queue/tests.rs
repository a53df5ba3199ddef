//! Behaviour of the sending queue against a fake exporter, with real files in temporary
//! directories. "Kill" means dropping the runtime and the queue without `shutdown`, as kill -9.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use parking_lot::Mutex;
use sluice_config::{ComponentId, FileStorageSettings, QueueSettings};
use tokio::sync::watch;

use super::*;
use crate::metrics::Metrics;
use crate::{AuthInfo, Payload, RequestContext};

const EXPORTER: &str = "otlp/test";

// ---------------------------------------------------------------------------------------------
// A fake exporter

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Deliver,
    /// `Refused`: not delivered, not counted (what an exporter shutting down answers).
    Refuse,
    /// `Internal`: the exporter counted and logged the loss.
    Fail,
}

#[derive(Clone, Copy, Debug)]
struct Gates {
    /// Calls wait while false.
    open: bool,
    /// Calls for labels starting with "stuck" wait while false.
    stuck_open: bool,
    /// The fake's `shutdown` ran: waiting calls return `Refused`.
    shut: bool,
}

struct Fake {
    delivered: Mutex<Vec<Batch>>,
    mode: Mutex<Mode>,
    gates: watch::Sender<Gates>,
    calls: AtomicUsize,
    /// Deliveries seen when `shutdown` was called.
    delivered_at_shutdown: Mutex<Option<usize>>,
}

impl Fake {
    fn new(open: bool) -> Arc<Fake> {
        Arc::new(Fake {
            delivered: Mutex::default(),
            mode: Mutex::new(Mode::Deliver),
            gates: watch::Sender::new(Gates {
                open,
                stuck_open: false,
                shut: false,
            }),
            calls: AtomicUsize::new(0),
            delivered_at_shutdown: Mutex::default(),
        })
    }

    fn open(&self) {
        self.gates.send_modify(|g| g.open = true);
    }

    fn release_stuck(&self) {
        self.gates.send_modify(|g| g.stuck_open = true);
    }

    fn set_mode(&self, mode: Mode) {
        *self.mode.lock() = mode;
    }

    fn labels(&self) -> Vec<String> {
        self.delivered.lock().iter().map(label).collect()
    }

    fn count(&self) -> usize {
        self.delivered.lock().len()
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl Consumer for Fake {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let stuck = label(&batch).starts_with("stuck");
        let mut rx = self.gates.subscribe();
        let gates = *rx
            .wait_for(|g| g.shut || (g.open && (!stuck || g.stuck_open)))
            .await
            .unwrap();
        if gates.shut && !(gates.open && (!stuck || gates.stuck_open)) {
            return Err(ConsumeError::refused("exporter is shutting down"));
        }
        let mode = *self.mode.lock();
        match mode {
            Mode::Deliver => {
                self.delivered.lock().push(batch);
                Ok(())
            }
            Mode::Refuse => Err(ConsumeError::refused("exporter is shutting down")),
            Mode::Fail => Err(ConsumeError::Internal("export failed".into())),
        }
    }

    async fn shutdown(&self) {
        *self.delivered_at_shutdown.lock() = Some(self.count());
        self.gates.send_modify(|g| g.shut = true);
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// The label of a request (restored requests come back as bytes).
fn label(batch: &Batch) -> String {
    match batch.payload.decoded().unwrap().as_ref() {
        Payload::Logs(r) => r.resource_logs[0].scope_logs[0].log_records[0]
            .severity_text
            .clone(),
        other => panic!("unexpected payload {other:?}"),
    }
}

/// A logs request of one record named `label`, from tenant `tenant-a`.
fn batch(label: &str) -> Batch {
    let record = LogRecord {
        severity_text: label.into(),
        ..Default::default()
    };
    let payload = Payload::Logs(ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: vec![record],
                ..Default::default()
            }],
            ..Default::default()
        }],
    });
    let context = RequestContext {
        receiver: Arc::from("otlp/in"),
        auth: Arc::new(AuthInfo {
            username: Some("tenant-a".into()),
            client_cn: Some("app".into()),
            ..Default::default()
        }),
        metadata: Arc::new(BTreeMap::from([(
            "x-scope-orgid".to_owned(),
            vec!["tenant-a".to_owned()],
        )])),
        ..Default::default()
    };
    Batch::new(payload, context)
}

fn labels(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i:03}")).collect()
}

fn settings(num_consumers: usize, queue_size: usize) -> QueueSettings {
    QueueSettings {
        num_consumers,
        queue_size,
        ..Default::default()
    }
}

fn storage(dir: &Path) -> FileStorageSettings {
    FileStorageSettings {
        directory: dir.to_owned(),
        ..Default::default()
    }
}

fn options(grace_ms: u64) -> QueueOptions {
    QueueOptions {
        shutdown_grace: Duration::from_millis(grace_ms),
        ..Default::default()
    }
}

fn queue(
    settings: &QueueSettings,
    storage: Option<&FileStorageSettings>,
    fake: &Arc<Fake>,
    metrics: &Metrics,
    options: QueueOptions,
) -> Arc<SendingQueue> {
    SendingQueue::with_options(
        EXPORTER,
        settings,
        storage,
        fake.clone(),
        metrics.exporter(EXPORTER),
        options,
    )
    .unwrap()
}

/// The value of a metric line `{name}{...exporter="otlp/test"...}`.
fn metric(metrics: &Metrics, name: &str) -> u64 {
    let text = metrics.encode();
    text.lines()
        .find(|l| {
            l.starts_with(&format!("{name}{{"))
                && l.contains(&format!("exporter=\"{EXPORTER}\""))
                && (!name.starts_with("otelcol_exporter_queue_")
                    || l.contains("data_type=\"logs\""))
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

const ENQUEUE_FAILED: &str = "otelcol_exporter_enqueue_failed_log_records_total";
const SEND_FAILED: &str = "otelcol_exporter_send_failed_log_records_total";
const QUEUE_SIZE: &str = "otelcol_exporter_queue_size";
const QUEUE_CAPACITY: &str = "otelcol_exporter_queue_capacity";

/// Wait (10 s at most) until `done` holds.
async fn eventually(what: &str, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn send_all(queue: &SendingQueue, labels: &[String]) {
    for l in labels {
        queue.consume(batch(l)).await.unwrap();
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// kill -9: the runtime's tasks vanish mid-await, nothing is shut down.
fn kill(runtime: tokio::runtime::Runtime, queue: Arc<SendingQueue>) {
    drop(runtime);
    drop(queue);
}

fn queue_dir_of(root: &Path) -> PathBuf {
    root.join("exporter_otlp_test_logs")
}

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    files.sort();
    files
}

fn refused_reason(result: Result<(), ConsumeError>) -> String {
    match result {
        Err(ConsumeError::Refused {
            reason,
            retry_after,
        }) => {
            assert!(retry_after.is_some(), "no retry_after in {reason:?}");
            reason
        }
        other => panic!("expected Refused, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// In memory

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivers_in_fifo_order_and_keeps_the_size_gauge() {
    let fake = Fake::new(false);
    let metrics = Metrics::new();
    let q = queue(&settings(1, 100), None, &fake, &metrics, options(1000));
    let sent = labels("r", 30);
    send_all(&q, &sent).await;
    assert_eq!(metric(&metrics, QUEUE_SIZE), 30);
    assert_eq!(metric(&metrics, QUEUE_CAPACITY), 100);
    assert_eq!(q.held(Signal::Logs), 30);
    fake.open();
    eventually("all delivered", || fake.count() == 30).await;
    assert_eq!(fake.labels(), sent);
    eventually("gauge at zero", || metric(&metrics, QUEUE_SIZE) == 0).await;
    assert_eq!(q.held(Signal::Logs), 0);
    q.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_with_bytes_and_decoded_form_are_held_in_one_form() {
    for keep in [crate::Form::Wire, crate::Form::Decoded] {
        let fake = Fake::new(true);
        let metrics = Metrics::new();
        let options = QueueOptions {
            keep,
            ..options(1000)
        };
        let q = queue(&settings(1, 100), None, &fake, &metrics, options);
        let mut request = batch("both");
        let decoded = request.payload.clone();
        request.payload = crate::Encoded::with_decoded(decoded.to_wire(), decoded.clone());
        q.consume(request).await.unwrap();
        eventually("delivered", || fake.count() == 1).await;
        let held = fake.delivered.lock()[0].payload.clone();
        match keep {
            crate::Form::Wire => {
                let Payload::Encoded(e) = &held else {
                    panic!("{held:?}")
                };
                assert!(e.known_decoded().is_none());
                assert_eq!(e.bytes(), &decoded.to_wire());
            }
            crate::Form::Decoded => assert_eq!(held, decoded),
        }
        q.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_refuses_and_counts_enqueue_failed() {
    let fake = Fake::new(false);
    let metrics = Metrics::new();
    let q = queue(&settings(1, 3), None, &fake, &metrics, options(1000));
    send_all(&q, &labels("r", 3)).await;
    let reason = refused_reason(q.consume(batch("extra")).await);
    assert!(
        reason.contains("sending queue of exporter otlp/test is full (3 requests /"),
        "{reason}"
    );
    assert_eq!(metric(&metrics, ENQUEUE_FAILED), 1);
    fake.open();
    eventually("the three delivered", || fake.count() == 3).await;
    // Room again.
    q.consume(batch("later")).await.unwrap();
    eventually("the later one delivered", || fake.count() == 4).await;
    assert_eq!(metric(&metrics, ENQUEUE_FAILED), 1);
    q.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_byte_bound_refuses_before_the_request_bound() {
    let fake = Fake::new(false);
    let metrics = Metrics::new();
    let one = batch("r000").payload.encoded_len() as u64;
    let mut s = settings(1, 100);
    s.queue_size_bytes = one * 5 / 2; // room for two requests
    let q = queue(&s, None, &fake, &metrics, options(1000));
    send_all(&q, &labels("r", 2)).await;
    let reason = refused_reason(q.consume(batch("r002")).await);
    assert!(
        reason.contains(&format!("(2 requests / {} bytes)", 2 * one)),
        "{reason}"
    );
    assert_eq!(metric(&metrics, ENQUEUE_FAILED), 1);
    fake.open();
    q.shutdown().await;
    assert_eq!(fake.count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_mode_waits_for_room_instead_of_refusing() {
    let fake = Fake::new(false);
    let metrics = Metrics::new();
    let mut s = settings(1, 1);
    s.blocking = true;
    let q = queue(&s, None, &fake, &metrics, options(1000));
    q.consume(batch("first")).await.unwrap();
    let waiting = tokio::spawn({
        let q = q.clone();
        async move { q.consume(batch("second")).await }
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(!waiting.is_finished(), "a full blocking queue must wait");
    fake.open();
    waiting.await.unwrap().unwrap();
    eventually("both delivered", || fake.count() == 2).await;
    assert_eq!(fake.labels(), ["first", "second"]);
    assert_eq!(metric(&metrics, ENQUEUE_FAILED), 0);
    q.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_refuses_a_blocked_producer_and_new_requests() {
    let fake = Fake::new(false);
    let metrics = Metrics::new();
    let mut s = settings(1, 1);
    s.blocking = true;
    let q = queue(&s, None, &fake, &metrics, options(200));
    q.consume(batch("first")).await.unwrap();
    let waiting = tokio::spawn({
        let q = q.clone();
        async move { q.consume(batch("second")).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    q.shutdown().await;
    let reason = refused_reason(waiting.await.unwrap());
    assert!(reason.contains("shutting down"), "{reason}");
    let reason = refused_reason(q.consume(batch("after")).await);
    assert!(reason.contains("shutting down"), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_request_does_not_stop_the_other_workers() {
    let fake = Fake::new(true);
    let metrics = Metrics::new();
    let q = queue(&settings(3, 100), None, &fake, &metrics, options(1000));
    q.consume(batch("stuck-1")).await.unwrap();
    eventually("the stuck request taken", || fake.calls() == 1).await;
    let others = labels("r", 20);
    send_all(&q, &others).await;
    eventually("the others delivered", || fake.count() == 20).await;
    // Two workers: taken in order, finished in any order.
    let mut got = fake.labels();
    got.sort();
    assert_eq!(got, others);
    assert_eq!(q.held(Signal::Logs), 1);
    fake.release_stuck();
    eventually("the stuck one delivered", || fake.count() == 21).await;
    q.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drains_the_in_memory_queue_before_shutting_the_exporter_down() {
    let fake = Fake::new(false);
    let metrics = Metrics::new();
    let q = queue(&settings(2, 100), None, &fake, &metrics, options(10_000));
    send_all(&q, &labels("r", 10)).await;
    let opener = tokio::spawn({
        let fake = fake.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            fake.open();
        }
    });
    q.shutdown().await;
    opener.await.unwrap();
    assert_eq!(fake.count(), 10);
    assert_eq!(*fake.delivered_at_shutdown.lock(), Some(10));
    assert_eq!(metric(&metrics, SEND_FAILED), 0);
    assert_eq!(metric(&metrics, QUEUE_SIZE), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_grace_bounds_the_drain_and_counts_the_rest_as_failed() {
    let fake = Fake::new(false);
    let metrics = Metrics::new();
    let q = queue(&settings(1, 100), None, &fake, &metrics, options(200));
    send_all(&q, &labels("r", 5)).await;
    let start = Instant::now();
    q.shutdown().await;
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    // Four never left the queue, one was refused by the exporter as it shut down.
    assert_eq!(metric(&metrics, SEND_FAILED), 5);
    assert_eq!(fake.count(), 0);
    assert_eq!(metric(&metrics, QUEUE_SIZE), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exporter_outcomes_in_memory() {
    let fake = Fake::new(true);
    let metrics = Metrics::new();
    let q = queue(&settings(1, 100), None, &fake, &metrics, options(1000));
    // Refused by the exporter: lost here, so the queue counts it.
    fake.set_mode(Mode::Refuse);
    send_all(&q, &labels("refused", 2)).await;
    eventually("refusals counted", || metric(&metrics, SEND_FAILED) == 2).await;
    // Failed: the exporter counted it, the queue does not count it again.
    fake.set_mode(Mode::Fail);
    send_all(&q, &labels("failed", 3)).await;
    eventually("failures settled", || {
        fake.calls() == 5 && q.held(Signal::Logs) == 0
    })
    .await;
    assert_eq!(metric(&metrics, SEND_FAILED), 2);
    q.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signals_have_their_own_queues() {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    let fake = Fake::new(false);
    let metrics = Metrics::new();
    let q = queue(&settings(1, 1), None, &fake, &metrics, options(200));
    q.consume(batch("logs")).await.unwrap();
    // The logs queue is full; traces still have room.
    let traces = Batch::new(
        Payload::Traces(ExportTraceServiceRequest::default()),
        RequestContext::default(),
    );
    q.consume(traces).await.unwrap();
    assert_eq!(q.held(Signal::Traces), 1);
    assert!(q.consume(batch("more logs")).await.is_err());
}

// ---------------------------------------------------------------------------------------------
// Persistent

#[test]
fn persistent_requests_survive_a_kill_with_their_context() {
    let dir = tempfile::tempdir().unwrap();
    let fs = storage(dir.path());
    let sent = labels("r", 25);

    let rt = runtime();
    let fake = Fake::new(false);
    let q = rt.block_on(async {
        let q = queue(
            &settings(1, 100),
            Some(&fs),
            &fake,
            &Metrics::new(),
            options(1000),
        );
        send_all(&q, &sent).await;
        eventually("one request in flight", || fake.calls() == 1).await;
        q
    });
    assert_eq!(fake.count(), 0);
    kill(rt, q);

    let rt = runtime();
    let fake = Fake::new(true);
    rt.block_on(async {
        let q = queue(
            &settings(1, 100),
            Some(&fs),
            &fake,
            &Metrics::new(),
            options(1000),
        );
        eventually("all redelivered", || fake.count() == 25).await;
        assert_eq!(fake.labels(), sent);
        let first = fake.delivered.lock()[0].clone();
        assert_eq!(first.context.auth.username.as_deref(), Some("tenant-a"));
        assert_eq!(first.context.auth.client_cn.as_deref(), Some("app"));
        assert_eq!(&*first.context.receiver, "otlp/in");
        assert_eq!(
            first.context.metadata_value("x-scope-orgid"),
            Some("tenant-a")
        );
        q.shutdown().await;
    });
}

#[test]
fn acknowledged_requests_are_not_redelivered() {
    let dir = tempfile::tempdir().unwrap();
    let fs = storage(dir.path());

    let rt = runtime();
    let fake = Fake::new(true);
    let q = rt.block_on(async {
        let q = queue(
            &settings(2, 100),
            Some(&fs),
            &fake,
            &Metrics::new(),
            options(1000),
        );
        send_all(&q, &labels("early", 10)).await;
        eventually("early ones delivered", || {
            fake.count() == 10 && q.held(Signal::Logs) == 0
        })
        .await;
        fake.gates.send_modify(|g| g.open = false);
        send_all(&q, &labels("late", 5)).await;
        q
    });
    kill(rt, q);

    let rt = runtime();
    let fake = Fake::new(true);
    rt.block_on(async {
        let q = queue(
            &settings(1, 100),
            Some(&fs),
            &fake,
            &Metrics::new(),
            options(1000),
        );
        eventually("late ones redelivered", || fake.count() == 5).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(fake.labels(), labels("late", 5));
        q.shutdown().await;
    });
}

#[test]
fn garbage_after_the_last_record_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let fs = storage(dir.path());
    let rt = runtime();
    let fake = Fake::new(false);
    let q = rt.block_on(async {
        let q = queue(
            &settings(1, 100),
            Some(&fs),
            &fake,
            &Metrics::new(),
            options(1000),
        );
        send_all(&q, &labels("r", 5)).await;
        q
    });
    kill(rt, q);

    let segments = files(&queue_dir_of(dir.path()), "seg");
    assert_eq!(segments.len(), 1);
    let good_len = std::fs::metadata(&segments[0]).unwrap().len();
    let mut data = std::fs::read(&segments[0]).unwrap();
    data.extend_from_slice(b"\x40\x00\x00\x00\x12\x34\x56\x78half a record");
    std::fs::write(&segments[0], &data).unwrap();

    let rt = runtime();
    let fake = Fake::new(false);
    rt.block_on(async {
        let q = queue(
            &settings(1, 100),
            Some(&fs),
            &fake,
            &Metrics::new(),
            options(1000),
        );
        assert_eq!(std::fs::metadata(&segments[0]).unwrap().len(), good_len);
        fake.open();
        eventually("the intact records redelivered", || fake.count() == 5).await;
        assert_eq!(fake.labels(), labels("r", 5));
        q.shutdown().await;
    });
}

#[test]
fn a_record_cut_short_is_dropped_and_the_rest_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let fs = storage(dir.path());
    let rt = runtime();
    let fake = Fake::new(false);
    let q = rt.block_on(async {
        let q = queue(
            &settings(1, 100),
            Some(&fs),
            &fake,
            &Metrics::new(),
            options(1000),
        );
        send_all(&q, &labels("r", 5)).await;
        q
    });
    kill(rt, q);

    let segment = files(&queue_dir_of(dir.path()), "seg").remove(0);
    let len = std::fs::metadata(&segment).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&segment)
        .unwrap()
        .set_len(len - 3)
        .unwrap();

    let rt = runtime();
    let fake = Fake::new(true);
    rt.block_on(async {
        let q = queue(
            &settings(1, 100),
            Some(&fs),
            &fake,
            &Metrics::new(),
            options(1000),
        );
        eventually("four redelivered", || fake.count() == 4).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(fake.labels(), labels("r", 4));
        q.shutdown().await;
    });
}

#[test]
fn undecodable_records_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let fs = storage(dir.path());
    let qdir = queue_dir_of(dir.path());
    std::fs::create_dir(&qdir).unwrap();
    {
        let (log, recovered) = SegmentLog::open(
            &qdir,
            LogOptions {
                fsync: false,
                segment_bytes: 1 << 20,
            },
        )
        .unwrap();
        assert!(recovered.is_empty());
        let frame = |record: Vec<u8>| {
            let mut f = vec![0; storage::FRAME_HEADER];
            f.extend(record);
            storage::seal_frame(&mut f).unwrap();
            f
        };
        log.append(&frame(record::encode(&batch("good-1"), 0).unwrap()))
            .unwrap();
        log.append(&frame(b"\xff\xffnot protobuf".to_vec()))
            .unwrap();
        log.append(&frame(record::encode(&batch("good-2"), 0).unwrap()))
            .unwrap();
    }

    let rt = runtime();
    let fake = Fake::new(true);
    rt.block_on(async {
        let q = queue(
            &settings(1, 100),
            Some(&fs),
            &fake,
            &Metrics::new(),
            options(1000),
        );
        eventually("the good ones delivered", || fake.count() == 2).await;
        assert_eq!(fake.labels(), ["good-1", "good-2"]);
        q.shutdown().await;
    });
    // Everything was delivered or skipped: nothing is left on disk.
    assert!(files(&qdir, "seg").is_empty());
}

#[test]
fn sealed_segments_are_deleted_once_every_record_is_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let fs = storage(dir.path());
    let qdir = queue_dir_of(dir.path());
    let rt = runtime();
    rt.block_on(async {
        let fake = Fake::new(false);
        let opts = QueueOptions {
            segment_bytes: 300,
            ..options(1000)
        };
        let q = queue(&settings(2, 100), Some(&fs), &fake, &Metrics::new(), opts);
        send_all(&q, &labels("r", 30)).await;
        let before = files(&qdir, "seg").len();
        assert!(before > 3, "expected several segments, got {before}");
        fake.open();
        eventually("all delivered", || {
            fake.count() == 30 && q.held(Signal::Logs) == 0
        })
        .await;
        // Only the active segment may remain.
        assert!(files(&qdir, "seg").len() <= 1, "{:?}", files(&qdir, "seg"));
        assert!(files(&qdir, "ack").len() <= 1, "{:?}", files(&qdir, "ack"));
        q.shutdown().await;
        // Closing seals the active segment, which is fully acknowledged.
        assert!(files(&qdir, "seg").is_empty(), "{:?}", files(&qdir, "seg"));
        assert!(files(&qdir, "ack").is_empty(), "{:?}", files(&qdir, "ack"));
    });
}

#[test]
fn requests_refused_by_the_exporter_stay_on_disk_for_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let fs = storage(dir.path());
    let rt = runtime();
    rt.block_on(async {
        let fake = Fake::new(true);
        fake.set_mode(Mode::Refuse);
        let metrics = Metrics::new();
        let q = queue(&settings(1, 100), Some(&fs), &fake, &metrics, options(1000));
        send_all(&q, &labels("r", 3)).await;
        eventually("all refused", || {
            fake.calls() == 3 && q.held(Signal::Logs) == 0
        })
        .await;
        q.shutdown().await;
        assert_eq!(metric(&metrics, SEND_FAILED), 0);
    });
    drop(rt);

    let rt = runtime();
    rt.block_on(async {
        let fake = Fake::new(true);
        let q = queue(
            &settings(1, 100),
            Some(&fs),
            &fake,
            &Metrics::new(),
            options(1000),
        );
        eventually("redelivered", || fake.count() == 3).await;
        assert_eq!(fake.labels(), labels("r", 3));
        q.shutdown().await;
    });
}

#[test]
fn persistent_shutdown_keeps_waiting_requests_and_releases_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let fs = storage(dir.path());
    let rt = runtime();
    rt.block_on(async {
        let fake = Fake::new(false);
        let metrics = Metrics::new();
        let q = queue(&settings(1, 100), Some(&fs), &fake, &metrics, options(200));
        send_all(&q, &labels("r", 5)).await;
        eventually("one in flight", || fake.calls() == 1).await;
        let start = Instant::now();
        q.shutdown().await;
        assert!(start.elapsed() < Duration::from_secs(3));
        assert_eq!(metric(&metrics, SEND_FAILED), 0);
        assert!(*fake.delivered_at_shutdown.lock() == Some(0));

        // Same process, same directory: the lock was released by shutdown.
        let fake = Fake::new(true);
        let q2 = queue(
            &settings(1, 100),
            Some(&fs),
            &fake,
            &Metrics::new(),
            options(1000),
        );
        eventually("all five redelivered", || fake.count() == 5).await;
        assert_eq!(fake.labels(), labels("r", 5));
        q2.shutdown().await;
        drop(q);
    });
}

#[test]
fn fsync_mode_holds_concurrent_writers_durably() {
    let dir = tempfile::tempdir().unwrap();
    let mut fs = storage(dir.path());
    fs.fsync = true;
    let rt = runtime();
    let fake = Fake::new(false);
    let q = rt.block_on(async {
        let q = queue(
            &settings(1, 100),
            Some(&fs),
            &fake,
            &Metrics::new(),
            options(1000),
        );
        let writers: Vec<_> = labels("r", 40)
            .into_iter()
            .map(|l| {
                let q = q.clone();
                tokio::spawn(async move { q.consume(batch(&l)).await })
            })
            .collect();
        for w in writers {
            w.await.unwrap().unwrap();
        }
        q
    });
    kill(rt, q);

    let rt = runtime();
    let fake = Fake::new(true);
    rt.block_on(async {
        let q = queue(
            &settings(1, 100),
            Some(&fs),
            &fake,
            &Metrics::new(),
            options(1000),
        );
        eventually("all redelivered", || fake.count() == 40).await;
        let mut got = fake.labels();
        got.sort();
        assert_eq!(got, labels("r", 40));
        q.shutdown().await;
    });
}

#[test]
fn more_recovered_than_capacity_refuses_new_requests_until_drained() {
    let dir = tempfile::tempdir().unwrap();
    let fs = storage(dir.path());
    let rt = runtime();
    let fake = Fake::new(false);
    let q = rt.block_on(async {
        let q = queue(
            &settings(1, 100),
            Some(&fs),
            &fake,
            &Metrics::new(),
            options(1000),
        );
        send_all(&q, &labels("r", 8)).await;
        q
    });
    kill(rt, q);

    let rt = runtime();
    let fake = Fake::new(false);
    rt.block_on(async {
        let metrics = Metrics::new();
        let q = queue(&settings(1, 5), Some(&fs), &fake, &metrics, options(1000));
        assert_eq!(q.held(Signal::Logs), 8);
        refused_reason(q.consume(batch("new")).await);
        fake.open();
        eventually("recovered ones delivered", || fake.count() == 8).await;
        eventually("room again", || q.held(Signal::Logs) == 0).await;
        q.consume(batch("new")).await.unwrap();
        eventually("new one delivered", || fake.count() == 9).await;
        q.shutdown().await;
    });
}

// ---------------------------------------------------------------------------------------------
// Errors

#[tokio::test]
async fn a_missing_directory_is_a_clear_error_unless_it_may_be_created() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("not-there");
    let fake = Fake::new(true);
    let mut fs = storage(&missing);
    let err = SendingQueue::new(
        EXPORTER,
        &settings(1, 10),
        Some(&fs),
        fake.clone(),
        Metrics::new().exporter(EXPORTER),
    )
    .err()
    .unwrap();
    assert!(
        matches!(err, QueueError::MissingDirectory { .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains(&missing.display().to_string()),
        "{message}"
    );
    assert!(message.contains("create_directory: true"), "{message}");
    assert!(!missing.exists());

    fs.create_directory = true;
    let q = SendingQueue::new(
        EXPORTER,
        &settings(1, 10),
        Some(&fs),
        fake,
        Metrics::new().exporter(EXPORTER),
    )
    .unwrap();
    assert!(q.is_persistent());
    assert!(queue_dir_of(&missing).is_dir());
    q.shutdown().await;
}

#[tokio::test]
async fn two_queues_cannot_share_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let fs = storage(dir.path());
    let fake = Fake::new(true);
    let metrics = Metrics::new();
    let first = queue(&settings(1, 10), Some(&fs), &fake, &metrics, options(1000));
    let err = SendingQueue::new(
        EXPORTER,
        &settings(1, 10),
        Some(&fs),
        fake.clone(),
        metrics.exporter(EXPORTER),
    )
    .err()
    .unwrap();
    assert!(matches!(err, QueueError::Locked { .. }), "{err:?}");
    assert!(err.to_string().contains("exporter_otlp_test_"), "{err}");
    first.shutdown().await;
}

#[tokio::test]
async fn a_storage_id_without_its_settings_is_an_error() {
    let mut s = settings(1, 10);
    s.storage = Some("file_storage/q".parse::<ComponentId>().unwrap());
    let err = SendingQueue::new(
        EXPORTER,
        &s,
        None,
        Fake::new(true),
        Metrics::new().exporter(EXPORTER),
    )
    .err()
    .unwrap();
    assert!(err.to_string().contains("file_storage/q"), "{err}");
}

#[test]
fn building_outside_a_runtime_is_an_error() {
    let err = SendingQueue::new(
        EXPORTER,
        &settings(1, 10),
        None,
        Fake::new(true),
        Metrics::new().exporter(EXPORTER),
    )
    .err()
    .unwrap();
    assert!(matches!(err, QueueError::NoRuntime { .. }), "{err:?}");
}
