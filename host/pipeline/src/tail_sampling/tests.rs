//! The processor against a fake decider that keeps the traces with an error span (as a
//! `status_code: ERROR` policy would) and a fake `next`, on a paused clock.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use sluice_config::TailSamplingSettings;
use tokio::sync::Semaphore;

use super::*;
use crate::metrics::Metrics;
use crate::{Payload, RequestContext};

const WAIT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------------
// Data

/// A span of trace `trace` named `name`; `error` sets status ERROR (what the fake keeps).
fn span(trace: u8, name: &str, error: bool) -> Span {
    Span {
        trace_id: vec![trace; 16],
        span_id: name.as_bytes().to_vec(),
        name: name.into(),
        status: error.then(|| Status {
            code: StatusCode::Error as i32,
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A request with one resource per `(service, spans)`.
fn request(resources: Vec<(&str, Vec<Span>)>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: resources
            .into_iter()
            .map(|(service, spans)| ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![KeyValue {
                        key: "service.name".into(),
                        value: Some(AnyValue {
                            value: Some(any_value::Value::StringValue(service.into())),
                        }),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            })
            .collect(),
    }
}

fn traces(request: ExportTraceServiceRequest) -> Batch {
    Batch::new(Payload::Traces(request), RequestContext::default())
}

/// `(service, span name)` of every span in `request`, in order.
fn spans_of(request: &ExportTraceServiceRequest) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for rs in &request.resource_spans {
        let service = rs
            .resource
            .as_ref()
            .and_then(|r| r.attributes.first())
            .and_then(|kv| kv.value.as_ref())
            .and_then(|v| match &v.value {
                Some(any_value::Value::StringValue(s)) => Some(s.clone()),
                _ => None,
            })
            .unwrap_or_default();
        for ss in &rs.scope_spans {
            for s in &ss.spans {
                out.push((service.clone(), s.name.clone()));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Fakes

/// The end of the pipeline: records what arrives; refuses the next `refuse` calls.
#[derive(Default)]
struct Sink {
    batches: parking_lot::Mutex<Vec<Batch>>,
    refuse: AtomicUsize,
    shutdowns: AtomicUsize,
}

impl Sink {
    /// Names of the spans delivered, sorted.
    fn span_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .batches
            .lock()
            .iter()
            .filter_map(|b| match b.payload.decoded().ok()?.as_ref() {
                Payload::Traces(r) => Some(spans_of(r)),
                _ => None,
            })
            .flatten()
            .map(|(_, name)| name)
            .collect();
        names.sort();
        names
    }

    fn all_spans(&self) -> Vec<(String, String)> {
        self.batches
            .lock()
            .iter()
            .filter_map(|b| match b.payload.decoded().ok()?.as_ref() {
                Payload::Traces(r) => Some(spans_of(r)),
                _ => None,
            })
            .flatten()
            .collect()
    }
}

#[async_trait::async_trait]
impl Consumer for Sink {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        let refuse = self
            .refuse
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if refuse.is_ok() {
            return Err(ConsumeError::refused("sink full"));
        }
        // What the evaluator returns as bytes arrives as bytes: decoded here, as by an
        // exporter.
        let payload = batch.payload.into_decoded()?;
        self.batches.lock().push(Batch::new(payload, batch.context));
        Ok(())
    }

    async fn shutdown(&self) {
        self.shutdowns.fetch_add(1, Ordering::SeqCst);
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Behaviour {
    /// Pass on the spans of traces with an error span.
    KeepErrors,
    /// Fail without passing anything on.
    Fail,
    /// Refuse (as a processor shutting down).
    Refuse,
}

/// The policy evaluator: behaves as the guest wrapped in a processor whose `next` is the
/// recorder.
struct FakeDecider {
    next: Arc<dyn Consumer>,
    behaviour: parking_lot::Mutex<Behaviour>,
    /// Per call: spans per trace (by the trace id's first byte).
    calls: parking_lot::Mutex<Vec<BTreeMap<u8, usize>>>,
    /// When set, each call waits for a permit.
    gate: Option<Semaphore>,
    shutdowns: AtomicUsize,
}

impl FakeDecider {
    fn calls(&self) -> Vec<BTreeMap<u8, usize>> {
        self.calls.lock().clone()
    }

    fn set(&self, behaviour: Behaviour) {
        *self.behaviour.lock() = behaviour;
    }
}

#[async_trait::async_trait]
impl Consumer for FakeDecider {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        let Batch { payload, context } = batch;
        // The tail sampler hands the decider an encoded copy, as the guest reads bytes.
        let original = payload.clone();
        let Payload::Traces(mut request) = payload.into_decoded()? else {
            return self.next.consume(Batch::new(original, context)).await;
        };
        let mut seen = BTreeMap::new();
        for s in request
            .resource_spans
            .iter()
            .flat_map(|rs| &rs.scope_spans)
            .flat_map(|ss| &ss.spans)
        {
            *seen.entry(s.trace_id[0]).or_insert(0) += 1;
        }
        self.calls.lock().push(seen);
        if let Some(gate) = &self.gate {
            let _permit = gate.acquire().await;
        }
        let behaviour = *self.behaviour.lock();
        match behaviour {
            Behaviour::Fail => Err(ConsumeError::Internal("guest worker died".into())),
            Behaviour::Refuse => Err(ConsumeError::refused("processor is shut down")),
            Behaviour::KeepErrors => {
                let before: usize = request
                    .resource_spans
                    .iter()
                    .flat_map(|rs| &rs.scope_spans)
                    .map(|ss| ss.spans.len())
                    .sum();
                let keep: Vec<Vec<u8>> = request
                    .resource_spans
                    .iter()
                    .flat_map(|rs| &rs.scope_spans)
                    .flat_map(|ss| &ss.spans)
                    .filter(|s| s.status.as_ref().is_some_and(|st| st.code == 2))
                    .map(|s| s.trace_id.clone())
                    .collect();
                for rs in &mut request.resource_spans {
                    for ss in &mut rs.scope_spans {
                        ss.spans.retain(|s| keep.contains(&s.trace_id));
                    }
                    rs.scope_spans.retain(|ss| !ss.spans.is_empty());
                }
                request
                    .resource_spans
                    .retain(|rs| !rs.scope_spans.is_empty());
                if request.resource_spans.is_empty() {
                    return Ok(());
                }
                let kept = Payload::Traces(request);
                // As a guest in a processor: what it keeps whole comes back unchanged (decoded),
                // what it changed comes back as the bytes it wrote.
                let out = if kept.item_count() == before {
                    original
                } else {
                    crate::Encoded::from_guest(Signal::Traces, kept.to_wire(), "decider".into())
                        .map_err(|e| ConsumeError::Invalid(e.to_string()))?
                };
                self.next.consume(Batch::new(out, context)).await
            }
        }
    }

    async fn shutdown(&self) {
        self.shutdowns.fetch_add(1, Ordering::SeqCst);
        self.next.shutdown().await;
    }
}

struct Setup {
    sampler: Arc<TailSampler>,
    decider: Arc<FakeDecider>,
    sink: Arc<Sink>,
    metrics: TailSamplingMetrics,
}

fn settings(num_traces: usize) -> TailSamplingSettings {
    TailSamplingSettings {
        decision_wait: WAIT,
        num_traces,
        ..TailSamplingSettings::default()
    }
}

fn setup_with(
    settings: TailSamplingSettings,
    options: TailSamplerOptions,
    gate: Option<Semaphore>,
) -> Setup {
    let sink = Arc::new(Sink::default());
    let metrics = Metrics::new().tail_sampling("tail_sampling");
    let mut decider = None;
    let sampler = TailSampler::with_options(
        &settings,
        options,
        sink.clone(),
        metrics.clone(),
        |recorder| {
            let fake = Arc::new(FakeDecider {
                next: recorder,
                behaviour: parking_lot::Mutex::new(Behaviour::KeepErrors),
                calls: parking_lot::Mutex::default(),
                gate,
                shutdowns: AtomicUsize::new(0),
            });
            decider = Some(fake.clone());
            Ok::<_, Infallible>(fake as Arc<dyn Consumer>)
        },
    )
    .unwrap();
    Setup {
        sampler,
        decider: decider.unwrap(),
        sink,
        metrics,
    }
}

fn setup(num_traces: usize) -> Setup {
    setup_with(settings(num_traces), TailSamplerOptions::default(), None)
}

async fn sleep(d: Duration) {
    tokio::time::sleep(d).await;
}

// ---------------------------------------------------------------------------------------------
// Tests

#[tokio::test(start_paused = true)]
async fn a_trace_spread_over_batches_and_resources_is_decided_once_with_all_its_spans() {
    let t = setup(100);
    // Trace 1 (kept: one error span) arrives child first, over three requests and two
    // services, mixed with trace 2 (not kept).
    let batches = [
        request(vec![(
            "api",
            vec![span(1, "1-child", false), span(2, "2-root", false)],
        )]),
        request(vec![
            ("db", vec![span(1, "1-query", true)]),
            ("api", vec![span(2, "2-child", false)]),
        ]),
        request(vec![("api", vec![span(1, "1-root", false)])]),
    ];
    for b in batches {
        t.sampler.consume(traces(b)).await.unwrap();
        sleep(Duration::from_secs(1)).await;
    }
    assert!(t.decider.calls().is_empty(), "decided before decision_wait");
    sleep(WAIT).await;

    let calls = t.decider.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0], BTreeMap::from([(1, 3), (2, 2)]));
    let mut delivered = t.sink.all_spans();
    delivered.sort();
    assert_eq!(
        delivered,
        [("api", "1-child"), ("api", "1-root"), ("db", "1-query")]
            .map(|(s, n)| (s.to_owned(), n.to_owned()))
    );
    assert_eq!(t.metrics.decided_count(true), 1);
    assert_eq!(t.metrics.decided_count(false), 1);
    assert_eq!(t.metrics.new_traces_count(), 2);
    assert_eq!(t.metrics.traces_on_memory(), 0);
    assert_eq!(t.metrics.spans_on_memory(), 0);

    // Decided once: more ticks do not call the decider again.
    sleep(WAIT * 2).await;
    assert_eq!(t.decider.calls().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn decides_once_decision_wait_has_passed_and_not_before() {
    let t = setup(100);
    let start = Instant::now();
    t.sampler
        .consume(traces(request(vec![("api", vec![span(7, "7", true)])])))
        .await
        .unwrap();
    assert_eq!(t.metrics.traces_on_memory(), 1);
    assert_eq!(t.metrics.spans_on_memory(), 1);

    sleep(WAIT - Duration::from_millis(100)).await;
    assert!(t.decider.calls().is_empty());
    assert!(t.sink.span_names().is_empty());

    while t.sink.span_names().is_empty() {
        sleep(Duration::from_millis(10)).await;
        assert!(start.elapsed() < WAIT * 2, "never decided");
    }
    let waited = start.elapsed();
    assert!(waited >= WAIT, "decided after {waited:?}");
    assert!(
        waited <= WAIT + t.sampler.tick(),
        "decided after {waited:?}"
    );
    assert_eq!(t.metrics.traces_on_memory(), 0);
}

#[test]
fn ticks_stretch_when_little_is_due_and_not_beyond_a_second() {
    let (short, long) = (Duration::from_millis(200), Duration::from_secs(1));
    let target = 8_000;
    // Nothing due: wait the longest.
    assert_eq!(next_tick(short, long, short, 0, target), long);
    // A quarter of the target in 200 ms: wait 800 ms, and stay there.
    let stretched = next_tick(short, long, short, 2_000, target);
    assert_eq!(stretched, Duration::from_millis(800));
    assert_eq!(next_tick(short, long, stretched, 8_000, target), stretched);
    // Under load: back to the shortest, never below it.
    assert_eq!(next_tick(short, long, stretched, 40_000, target), short);
    assert_eq!(next_tick(short, long, short, 1_000_000, target), short);
    // A single span: at most the longest.
    assert_eq!(next_tick(short, long, long, 1, target), long);
    // A tick longer than a second (never configured today) is never shortened below itself.
    let slow = Duration::from_secs(2);
    assert_eq!(next_tick(slow, slow.max(long), slow, 0, target), slow);
}

/// With a short `decision_wait`, an idle sampler ticks once a second; a trace arriving then
/// is still decided within `decision_wait` + 1 s, never before `decision_wait`.
#[tokio::test(start_paused = true)]
async fn a_quiet_sampler_decides_within_a_second_of_the_wait() {
    let wait = Duration::from_secs(2);
    let t = setup_with(
        TailSamplingSettings {
            decision_wait: wait,
            num_traces: 100,
            ..TailSamplingSettings::default()
        },
        TailSamplerOptions::default(),
        None,
    );
    assert_eq!(t.sampler.tick(), Duration::from_millis(200));
    assert_eq!(t.sampler.longest_tick(), Duration::from_secs(1));
    // Idle for a while: the ticks have stretched to a second.
    sleep(Duration::from_millis(3_500)).await;
    for n in 0..3u8 {
        let start = Instant::now();
        t.sampler
            .consume(traces(request(vec![("api", vec![span(n, "x", true)])])))
            .await
            .unwrap();
        while t.sink.span_names().len() <= usize::from(n) {
            sleep(Duration::from_millis(10)).await;
            assert!(start.elapsed() < wait * 3, "never decided");
        }
        let waited = start.elapsed();
        assert!(waited >= wait, "decided after {waited:?}");
        assert!(
            waited <= wait + t.sampler.longest_tick() + Duration::from_millis(20),
            "decided after {waited:?}"
        );
        sleep(Duration::from_millis(300 * u64::from(n))).await;
    }
}

#[tokio::test(start_paused = true)]
async fn late_spans_follow_the_cached_decision() {
    let t = setup(100);
    t.sampler
        .consume(traces(request(vec![(
            "api",
            vec![span(1, "1-a", true), span(2, "2-a", false)],
        )])))
        .await
        .unwrap();
    sleep(WAIT + Duration::from_secs(2)).await;
    assert_eq!(t.sink.span_names(), ["1-a"]);

    // No time passes: sampled late spans are delivered inside `consume`, the others dropped.
    t.sampler
        .consume(traces(request(vec![(
            "late",
            vec![span(1, "1-late", false), span(2, "2-late", true)],
        )])))
        .await
        .unwrap();
    assert_eq!(t.sink.span_names(), ["1-a", "1-late"]);
    assert_eq!(t.metrics.late_spans_count(true), 1);
    assert_eq!(t.metrics.late_spans_count(false), 1);
    assert_eq!(t.metrics.traces_on_memory(), 0);

    sleep(WAIT * 2).await;
    assert_eq!(t.decider.calls().len(), 1, "late spans were decided again");
    assert_eq!(t.sink.span_names(), ["1-a", "1-late"]);
}

#[tokio::test(start_paused = true)]
async fn a_forgotten_decision_starts_a_new_trace() {
    let mut s = settings(100);
    s.decision_cache.sampled_cache_size = 1;
    let t = setup_with(s, TailSamplerOptions::default(), None);
    for trace in [1, 2] {
        let name = format!("{trace}-a");
        t.sampler
            .consume(traces(request(vec![(
                "api",
                vec![span(trace, &name, true)],
            )])))
            .await
            .unwrap();
        sleep(Duration::from_secs(1)).await;
    }
    sleep(WAIT + Duration::from_secs(2)).await;
    assert_eq!(t.metrics.decided_count(true), 2);

    // The cache holds one id: trace 1 was forgotten when trace 2 was decided.
    t.sampler
        .consume(traces(request(vec![(
            "api",
            vec![span(1, "1-late", false)],
        )])))
        .await
        .unwrap();
    assert_eq!(t.metrics.traces_on_memory(), 1);
    assert_eq!(t.metrics.new_traces_count(), 3);
    assert_eq!(t.sink.span_names(), ["1-a", "2-a"]);
    sleep(WAIT + Duration::from_secs(2)).await;
    // Decided again on its own: no error span this time.
    assert_eq!(t.decider.calls().last(), Some(&BTreeMap::from([(1, 1)])));
    assert_eq!(t.sink.span_names(), ["1-a", "2-a"]);
}

#[tokio::test(start_paused = true)]
async fn a_full_buffer_decides_the_oldest_trace_early() {
    let t = setup(2);
    for trace in 1..=3 {
        let name = format!("{trace}");
        t.sampler
            .consume(traces(request(vec![(
                "api",
                vec![span(trace, &name, true)],
            )])))
            .await
            .unwrap();
        sleep(Duration::from_millis(100)).await;
    }
    // The third trace pushed the first out, decided (not dropped) inside that consume.
    assert_eq!(t.decider.calls(), [BTreeMap::from([(1, 1)])]);
    assert_eq!(t.sink.span_names(), ["1"]);
    assert_eq!(t.metrics.decided_too_early_count(), 1);
    assert_eq!(t.metrics.traces_on_memory(), 2);

    sleep(WAIT + Duration::from_secs(1)).await;
    assert_eq!(t.sink.span_names(), ["1", "2", "3"]);
    assert_eq!(t.metrics.decided_too_early_count(), 1);
}

#[tokio::test(start_paused = true)]
async fn span_bounds_hold_memory_and_decide_early() {
    let options = TailSamplerOptions {
        max_spans: 10,
        max_trace_spans: 4,
        ..TailSamplerOptions::default()
    };
    let t = setup_with(settings(1000), options, None);
    for trace in 0..60u8 {
        let spans = (0..3).map(|i| span(trace, &format!("{trace}-{i}"), trace % 2 == 0));
        t.sampler
            .consume(traces(request(vec![("api", spans.collect())])))
            .await
            .unwrap();
        assert!(
            t.metrics.spans_on_memory() <= 10,
            "{}",
            t.metrics.spans_on_memory()
        );
        assert!(t.metrics.traces_on_memory() <= 4);
    }
    assert!(t.metrics.decided_too_early_count() >= 56);
    assert!(t.decider.calls().len() >= 56);

    // One trace above max_trace_spans is decided at once; its later spans follow.
    let big = (0..5)
        .map(|i| span(200, &format!("big-{i}"), i == 0))
        .collect();
    t.sampler
        .consume(traces(request(vec![("api", big)])))
        .await
        .unwrap();
    let last = t.decider.calls().last().cloned().unwrap_or_default();
    assert_eq!(last.get(&200), Some(&5), "{last:?}");
    t.sampler
        .consume(traces(request(vec![(
            "api",
            vec![span(200, "big-late", false)],
        )])))
        .await
        .unwrap();
    let names = t.sink.span_names();
    assert_eq!(names.iter().filter(|n| n.starts_with("big")).count(), 6);

    // Nothing is lost: every kept (even) trace arrives in full after the wait.
    sleep(WAIT * 2).await;
    let names = t.sink.span_names();
    assert_eq!(names.len(), 30 * 3 + 6, "{names:?}");
}

#[tokio::test(start_paused = true)]
async fn shutdown_decides_everything_and_shuts_next_down_once() {
    let t = setup(100);
    for trace in 1..=5u8 {
        let spans = vec![
            span(trace, &format!("{trace}-a"), trace == 3),
            span(trace, &format!("{trace}-b"), false),
        ];
        t.sampler
            .consume(traces(request(vec![("api", spans)])))
            .await
            .unwrap();
    }
    sleep(Duration::from_secs(1)).await;
    assert!(t.decider.calls().is_empty());

    t.sampler.shutdown().await;
    let decided: usize = t.decider.calls().iter().map(|c| c.len()).sum();
    assert_eq!(decided, 5);
    assert_eq!(t.sink.span_names(), ["3-a", "3-b"]);
    assert_eq!(t.metrics.decided_count(false), 4);
    assert_eq!(t.metrics.traces_on_memory(), 0);
    assert_eq!(t.decider.shutdowns.load(Ordering::SeqCst), 1);
    assert_eq!(t.sink.shutdowns.load(Ordering::SeqCst), 1);

    // A second shutdown does nothing; a late request passes through.
    t.sampler.shutdown().await;
    assert_eq!(t.sink.shutdowns.load(Ordering::SeqCst), 1);
    t.sampler
        .consume(traces(request(vec![(
            "api",
            vec![span(9, "9-after", false)],
        )])))
        .await
        .unwrap();
    assert!(t.sink.span_names().contains(&"9-after".to_owned()));
}

#[tokio::test(start_paused = true)]
async fn a_failing_decider_sends_the_traces_on_as_sampled() {
    let t = setup(100);
    t.decider.set(Behaviour::Fail);
    t.sampler
        .consume(traces(request(vec![(
            "api",
            vec![span(1, "1", true), span(2, "2", false)],
        )])))
        .await
        .unwrap();
    sleep(WAIT + Duration::from_secs(2)).await;
    assert_eq!(t.sink.span_names(), ["1", "2"]);
    assert_eq!(t.metrics.decider_errors_count(), 1);
    assert_eq!(t.metrics.decided_count(true), 2);
    assert_eq!(t.metrics.lost_count(), 0);

    // Both are now remembered as sampled.
    t.sampler
        .consume(traces(request(vec![(
            "api",
            vec![span(2, "2-late", false)],
        )])))
        .await
        .unwrap();
    assert_eq!(t.sink.span_names(), ["1", "2", "2-late"]);
}

#[tokio::test(start_paused = true)]
async fn a_refusing_decider_is_asked_again_then_bypassed() {
    let t = setup(100);
    t.decider.set(Behaviour::Refuse);
    t.sampler
        .consume(traces(request(vec![(
            "api",
            vec![span(1, "1", true), span(2, "2", false)],
        )])))
        .await
        .unwrap();
    sleep(WAIT + Duration::from_millis(1500)).await;
    assert_eq!(t.decider.calls().len(), 2, "retried on the next tick");
    assert!(t.sink.span_names().is_empty());
    assert_eq!(t.metrics.traces_on_memory(), 1 + 1);

    // The decider recovers: a normal decision.
    t.decider.set(Behaviour::KeepErrors);
    sleep(Duration::from_secs(1)).await;
    assert_eq!(t.decider.calls().len(), 3);
    assert_eq!(t.sink.span_names(), ["1"]);

    // A decider that keeps refusing is bypassed after three tries: sampled.
    t.decider.set(Behaviour::Refuse);
    t.sampler
        .consume(traces(request(vec![("api", vec![span(5, "5", false)])])))
        .await
        .unwrap();
    sleep(WAIT + Duration::from_secs(5)).await;
    assert_eq!(t.decider.calls().len(), 3 + 3);
    assert_eq!(t.sink.span_names(), ["1", "5"]);
    assert_eq!(t.metrics.decider_errors_count(), 2 + 3);
}

#[tokio::test(start_paused = true)]
async fn sampled_spans_refused_by_next_are_kept_and_delivered_later() {
    let t = setup(100);
    t.sampler
        .consume(traces(request(vec![(
            "api",
            vec![span(1, "1", true), span(2, "2", false)],
        )])))
        .await
        .unwrap();
    t.sink.refuse.store(3, Ordering::SeqCst);
    sleep(WAIT + Duration::from_millis(1500)).await;
    // Decided once; the refused delivery is retried on the following ticks.
    assert_eq!(t.decider.calls().len(), 1);
    assert!(t.sink.span_names().is_empty());
    assert_eq!(t.metrics.decider_errors_count(), 0);
    sleep(Duration::from_secs(3)).await;
    assert_eq!(t.sink.span_names(), ["1"]);
    assert_eq!(t.decider.calls().len(), 1);
    assert_eq!(t.metrics.decided_count(true), 1);
    assert_eq!(t.metrics.lost_count(), 0);
}

#[tokio::test(start_paused = true)]
async fn late_sampled_spans_refused_by_next_are_refused_to_the_client_and_nothing_is_kept() {
    let t = setup(100);
    t.sampler
        .consume(traces(request(vec![("api", vec![span(1, "1", true)])])))
        .await
        .unwrap();
    sleep(WAIT + Duration::from_secs(2)).await;
    assert_eq!(t.sink.span_names(), ["1"]);

    t.sink.refuse.store(1, Ordering::SeqCst);
    let late = request(vec![(
        "api",
        vec![span(1, "1-late", false), span(4, "4-new", false)],
    )]);
    let refused = t.sampler.consume(traces(late.clone())).await;
    assert!(
        matches!(refused, Err(ConsumeError::Refused { .. })),
        "{refused:?}"
    );
    assert_eq!(t.metrics.traces_on_memory(), 0, "trace 4 was buffered");

    // The client's retry goes through, without duplicates.
    t.sampler.consume(traces(late)).await.unwrap();
    assert_eq!(t.metrics.traces_on_memory(), 1);
    sleep(WAIT + Duration::from_secs(2)).await;
    assert_eq!(t.decider.calls().last(), Some(&BTreeMap::from([(4, 1)])));
    assert_eq!(t.sink.span_names(), ["1", "1-late"]);
}

#[tokio::test(start_paused = true)]
async fn spans_arriving_during_the_decision_wait_for_it() {
    let t = setup_with(
        settings(100),
        TailSamplerOptions::default(),
        Some(Semaphore::new(0)),
    );
    t.sampler
        .consume(traces(request(vec![(
            "api",
            vec![span(1, "1", true), span(2, "2", false)],
        )])))
        .await
        .unwrap();
    sleep(WAIT + Duration::from_secs(2)).await;
    assert_eq!(t.decider.calls().len(), 1, "the call is in progress");

    t.sampler
        .consume(traces(request(vec![(
            "late",
            vec![span(1, "1-during", false), span(2, "2-during", false)],
        )])))
        .await
        .unwrap();
    assert!(t.sink.span_names().is_empty());
    assert_eq!(t.metrics.traces_on_memory(), 2, "no new trace was started");

    if let Some(gate) = &t.decider.gate {
        gate.add_permits(10);
    }
    sleep(Duration::from_secs(1)).await;
    assert_eq!(t.sink.span_names(), ["1", "1-during"]);
    assert_eq!(t.metrics.late_spans_count(false), 1);
    assert_eq!(t.metrics.traces_on_memory(), 0);
    assert_eq!(t.decider.calls().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn other_signals_pass_through_unchanged() {
    let t = setup(100);
    let logs = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord {
                    severity_text: "WARN".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    t.sampler
        .consume(Batch::new(
            Payload::Logs(logs.clone()),
            RequestContext::default(),
        ))
        .await
        .unwrap();
    let delivered = t.sink.batches.lock();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].payload, Payload::Logs(logs));
    assert!(t.decider.calls().is_empty());
    assert_eq!(t.metrics.traces_on_memory(), 0);
}
