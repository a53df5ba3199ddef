//! Batch processor, memory limiter and fan-out, driven through the `Consumer` contract.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use parking_lot::Mutex;
use sluice_config::{BatchSettings, MemoryLimiterSettings};
use sluice_pipeline::metrics::Metrics;
use sluice_pipeline::{
    AuthInfo, Batch, BatchProcessor, ConsumeError, Consumer, Encoded, Fanout, Form, MemoryLimiter,
    MemoryProbe, Payload, RequestContext, Signal,
};

#[derive(Default)]
struct Recorder {
    batches: Mutex<Vec<Batch>>,
    refuse: std::sync::atomic::AtomicBool,
    /// Reads requests as bytes ([`Consumer::wants`]).
    wire: bool,
}

impl Recorder {
    fn items(&self) -> Vec<usize> {
        self.batches
            .lock()
            .iter()
            .map(|b| b.payload.item_count())
            .collect()
    }
}

#[async_trait::async_trait]
impl Consumer for Recorder {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        if self.refuse.load(Ordering::Relaxed) {
            return Err(ConsumeError::refused("test says no"));
        }
        self.batches.lock().push(batch);
        Ok(())
    }

    fn wants(&self) -> Form {
        if self.wire { Form::Wire } else { Form::Decoded }
    }
}

fn spans(n: usize) -> Payload {
    Payload::Traces(ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: (0..n)
                    .map(|i| Span {
                        name: format!("span-{i}"),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    })
}

fn batch(n: usize, user: &str) -> Batch {
    let context = RequestContext {
        receiver: "otlp".into(),
        auth: Arc::new(AuthInfo {
            username: Some(user.into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    Batch::new(spans(n), context)
}

fn settings(size: usize, max: usize, timeout_ms: u64) -> BatchSettings {
    BatchSettings {
        send_batch_size: size,
        send_batch_max_size: max,
        timeout: Duration::from_millis(timeout_ms),
        ..Default::default()
    }
}

#[tokio::test]
async fn batch_sends_when_full_and_splits_above_max() {
    let out = Arc::new(Recorder::default());
    let batcher = BatchProcessor::new(&settings(10, 15, 60_000), out.clone());
    for _ in 0..3 {
        batcher.consume(batch(4, "a")).await.unwrap();
    }
    assert_eq!(out.items(), vec![12]);
    batcher.consume(batch(40, "a")).await.unwrap();
    assert_eq!(out.items(), vec![12, 15, 15, 10]);
}

#[tokio::test]
async fn batch_joins_bytes_by_concatenation_and_decodes_only_to_cut() {
    let bytes = |n: usize| {
        Encoded::from_guest(Signal::Traces, spans(n).to_wire(), "wasm/t".into()).unwrap()
    };
    let with_payload = |payload: Payload| Batch::new(payload, batch(0, "a").context);
    let out = Arc::new(Recorder::default());
    let batcher = BatchProcessor::new(&settings(6, 0, 60_000), out.clone());
    batcher.consume(with_payload(bytes(2))).await.unwrap();
    batcher.consume(with_payload(spans(1))).await.unwrap();
    batcher.consume(with_payload(bytes(3))).await.unwrap();
    {
        let sent = out.batches.lock();
        assert_eq!(sent.len(), 1);
        let joined = &sent[0].payload;
        let Payload::Encoded(e) = joined else {
            panic!("bytes were decoded: {joined:?}")
        };
        assert!(e.known_decoded().is_none());
        let mut expected = spans(2).to_wire().to_vec();
        expected.extend_from_slice(&spans(1).to_wire());
        expected.extend_from_slice(&spans(3).to_wire());
        assert_eq!(e.bytes().as_ref(), expected.as_slice());
        assert_eq!(joined.item_count(), 6);
        assert_eq!(joined.clone().into_decoded().unwrap().item_count(), 6);
    }

    // Above send_batch_max_size: decoded and cut.
    let out = Arc::new(Recorder::default());
    let batcher = BatchProcessor::new(&settings(6, 4, 60_000), out.clone());
    batcher.consume(with_payload(bytes(3))).await.unwrap();
    batcher.consume(with_payload(bytes(3))).await.unwrap();
    assert_eq!(out.items(), vec![4, 2]);
    assert!(
        out.batches
            .lock()
            .iter()
            .all(|b| b.payload.wire().is_none())
    );
}

#[tokio::test]
async fn batch_flushes_after_timeout_and_on_shutdown() {
    let out = Arc::new(Recorder::default());
    let batcher = BatchProcessor::new(&settings(1000, 0, 50), out.clone());
    batcher.consume(batch(3, "a")).await.unwrap();
    for _ in 0..100 {
        if !out.items().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(out.items(), vec![3]);

    let slow = BatchProcessor::new(&settings(1000, 0, 3_600_000), out.clone());
    slow.consume(batch(5, "a")).await.unwrap();
    slow.shutdown().await;
    assert_eq!(
        out.items(),
        vec![3, 5],
        "shutdown must flush what was acknowledged"
    );
}

#[tokio::test]
async fn batch_keeps_senders_apart() {
    let out = Arc::new(Recorder::default());
    let batcher = BatchProcessor::new(&settings(4, 0, 3_600_000), out.clone());
    batcher.consume(batch(2, "alice")).await.unwrap();
    batcher.consume(batch(2, "bob")).await.unwrap();
    assert!(out.items().is_empty());
    batcher.consume(batch(2, "alice")).await.unwrap();
    let sent = out.batches.lock();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].context.auth.username.as_deref(), Some("alice"));
}

/// Memory in use, of which `held` is freed but kept by the allocator until `reclaim`.
#[derive(Default)]
struct Memory {
    used: AtomicU64,
    held: AtomicU64,
    reclaims: AtomicU64,
}

struct Probe(Arc<Memory>);

impl MemoryProbe for Probe {
    fn used_bytes(&self) -> Option<u64> {
        Some(self.0.used.load(Ordering::Relaxed))
    }

    fn reclaim(&self) {
        let held = self.0.held.swap(0, Ordering::Relaxed);
        self.0.used.fetch_sub(held, Ordering::Relaxed);
        self.0.reclaims.fetch_add(1, Ordering::Relaxed);
    }
}

/// A limiter of 100 MiB with a 20 MiB spike allowance (soft limit 80 MiB) over `memory`, which
/// measures only when a test calls `check`.
fn limiter(memory: &Arc<Memory>, out: &Arc<Recorder>, metrics: &Metrics) -> Arc<MemoryLimiter> {
    let settings = MemoryLimiterSettings {
        limit_mib: 100,
        spike_limit_mib: Some(20),
        check_interval: Duration::from_secs(3600),
        ..Default::default()
    };
    MemoryLimiter::new(
        &settings,
        out.clone(),
        Box::new(Probe(memory.clone())),
        metrics.processor("memory_limiter"),
    )
}

#[tokio::test]
async fn memory_limiter_refuses_above_soft_limit_and_recovers() {
    let memory = Arc::new(Memory::default());
    memory.used.store(10 << 20, Ordering::Relaxed);
    let out = Arc::new(Recorder::default());
    let metrics = Metrics::new();
    let limiter = limiter(&memory, &out, &metrics);
    limiter.consume(batch(1, "a")).await.unwrap();
    memory.used.store(81 << 20, Ordering::Relaxed);
    limiter.check();
    let err = limiter.consume(batch(1, "a")).await.unwrap_err();
    assert!(
        matches!(
            err,
            ConsumeError::Refused {
                retry_after: Some(_),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        metrics
            .encode()
            .contains("otelcol_memory_limiter_refusing{processor=\"memory_limiter\"} 1")
    );
    memory.used.store(50 << 20, Ordering::Relaxed);
    limiter.check();
    limiter.consume(batch(1, "a")).await.unwrap();
    assert_eq!(out.items(), vec![1, 1]);
}

#[tokio::test]
async fn memory_limiter_gives_freed_memory_back_before_it_refuses() {
    let memory = Arc::new(Memory::default());
    memory.used.store(10 << 20, Ordering::Relaxed);
    let out = Arc::new(Recorder::default());
    let limiter = limiter(&memory, &out, &Metrics::new());
    assert_eq!(
        memory.reclaims.load(Ordering::Relaxed),
        0,
        "below the limit"
    );

    // 90 MiB resident, 30 of them freed but held: given back, 60 MiB is below the soft limit.
    memory.used.store(90 << 20, Ordering::Relaxed);
    memory.held.store(30 << 20, Ordering::Relaxed);
    limiter.check();
    assert_eq!(memory.reclaims.load(Ordering::Relaxed), 1);
    assert!(
        !limiter.is_refusing(),
        "held memory made the limiter refuse"
    );
    limiter.consume(batch(1, "a")).await.unwrap();

    // 90 MiB really in use: given back (nothing is held), still above: refuse.
    memory.used.store(90 << 20, Ordering::Relaxed);
    limiter.check();
    assert_eq!(memory.reclaims.load(Ordering::Relaxed), 2);
    assert!(limiter.is_refusing());
    assert!(limiter.consume(batch(1, "a")).await.is_err());
    assert_eq!(out.items(), vec![1]);
}

#[tokio::test]
async fn fanout_gives_the_decoded_form_to_one_reader_of_it_and_bytes_to_the_others() {
    let bytes_first = Arc::new(Recorder {
        wire: true,
        ..Recorder::default()
    });
    let decoded = Arc::new(Recorder::default());
    let bytes_last = Arc::new(Recorder {
        wire: true,
        ..Recorder::default()
    });
    let fan = Fanout::new(vec![
        bytes_first.clone(),
        decoded.clone(),
        bytes_last.clone(),
    ]);
    assert_eq!(fan.wants(), Form::Decoded);
    let payload = spans(3);
    let both = Encoded::with_decoded(payload.to_wire(), payload);
    let Batch { payload, context } = batch(3, "x");
    drop(payload);
    fan.consume(Batch::new(both.clone(), context))
        .await
        .unwrap();
    let got = |r: &Recorder| r.batches.lock().pop().expect("a batch").payload;
    for (recorder, known) in [
        (&bytes_first, false),
        (&decoded, true),
        (&bytes_last, false),
    ] {
        let Payload::Encoded(e) = got(recorder) else {
            panic!("the bytes were lost")
        };
        assert_eq!(e.known_decoded().is_some(), known);
        assert_eq!(Payload::Encoded(e), both, "same bytes everywhere");
    }

    // Nobody reads decoded: the last consumer gets the request as it is.
    let fan = Fanout::new(vec![bytes_first.clone(), bytes_last.clone()]);
    assert_eq!(fan.wants(), Form::Wire);
    fan.consume(Batch::new(both, RequestContext::default()))
        .await
        .unwrap();
    assert!(matches!(got(&bytes_last), Payload::Encoded(e) if e.known_decoded().is_some()));
    assert!(matches!(got(&bytes_first), Payload::Encoded(e) if e.known_decoded().is_none()));
}

#[tokio::test]
async fn fanout_delivers_to_all_and_reports_a_refusal() {
    let a = Arc::new(Recorder::default());
    let b = Arc::new(Recorder::default());
    let fan = Fanout::new(vec![a.clone(), b.clone()]);
    fan.consume(batch(2, "x")).await.unwrap();
    assert_eq!((a.items(), b.items()), (vec![2], vec![2]));
    b.refuse.store(true, Ordering::Relaxed);
    assert!(matches!(
        fan.consume(batch(1, "x")).await,
        Err(ConsumeError::Refused { .. })
    ));
}
