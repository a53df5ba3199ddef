//! Sampling end to end: the `tail_sampling` processor (spans buffered by trace natively, the
//! policies evaluated by the built-in guest) and the `probabilistic_sampler` (built-in guest),
//! fed over OTLP/gRPC and OTLP/HTTP, checked in the `file` exporter's output and the
//! processor's own counters. Every span has a unique name, so "exactly these spans, each once"
//! is checkable. Needs the built-in guests (`bash .ci/build-guests`).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;
use serde_json::{Value, json};
use sluice_tests::fake::{Trace, failed, ok, spans_request};
use sluice_tests::{PATIENCE, Protocol, Setup, Sluice, Via, poll};

const PROCESSOR: &str = "tail_sampling";

fn errors_policy() -> Value {
    json!({ "name": "errors", "type": "status_code", "status_code": { "status_codes": ["ERROR"] } })
}

fn slow_policy() -> Value {
    json!({ "name": "slow", "type": "latency", "latency": { "threshold_ms": 500 } })
}

/// A Sluice with `tail_sampling` in its traces pipeline, and the config it runs (to reload).
async fn start(decision_wait: &str, policies: Value) -> Result<(Sluice, Value)> {
    let mut setup = Setup::new()?;
    setup.traces_processor(
        PROCESSOR,
        json!({ "decision_wait": decision_wait, "policies": policies }),
    );
    let config = setup.config.clone();
    Ok((setup.start().await?, config))
}

/// The tail sampling processor's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Counts {
    sampled: u64,
    not_sampled: u64,
    new_traces: u64,
    traces_on_memory: i64,
    spans_on_memory: i64,
    late_sampled: u64,
    late_dropped: u64,
    decider_errors: u64,
}

impl Counts {
    fn of(sluice: &Sluice) -> Counts {
        let m = sluice.app().metrics().tail_sampling(PROCESSOR);
        Counts {
            sampled: m.decided_count(true),
            not_sampled: m.decided_count(false),
            new_traces: m.new_traces_count(),
            traces_on_memory: m.traces_on_memory(),
            spans_on_memory: m.spans_on_memory(),
            late_sampled: m.late_spans_count(true),
            late_dropped: m.late_spans_count(false),
            decider_errors: m.decider_errors_count(),
        }
    }

    fn decided(&self) -> u64 {
        self.sampled + self.not_sampled
    }
}

/// Wait (bounded) until `traces` traces are decided.
async fn decided(sluice: &Sluice, traces: u64) -> Result<Counts> {
    let counts = poll(PATIENCE * 2, || async {
        let counts = Counts::of(sluice);
        (counts.decided() >= traces).then_some(counts)
    })
    .await;
    counts.with_context(|| {
        format!(
            "{traces} traces were not decided in time: {:?}",
            Counts::of(sluice)
        )
    })
}

/// The output holds exactly `wanted`, each once, and no other span.
fn exactly(have: Vec<String>, wanted: &[String]) -> Result<()> {
    let mut copies: BTreeMap<String, usize> = BTreeMap::new();
    for name in have {
        *copies.entry(name).or_default() += 1;
    }
    let wanted_set: BTreeSet<&String> = wanted.iter().collect();
    let missing: Vec<&&String> = wanted_set
        .iter()
        .filter(|w| !copies.contains_key(**w))
        .collect();
    let duplicated: Vec<(&String, &usize)> = copies.iter().filter(|(_, n)| **n > 1).collect();
    let unexpected: Vec<&String> = copies
        .keys()
        .filter(|name| !wanted_set.contains(name))
        .collect();
    ensure!(
        missing.is_empty() && duplicated.is_empty() && unexpected.is_empty(),
        "output differs from the {} spans expected: missing {missing:?}, duplicated {duplicated:?}, unexpected {unexpected:?}",
        wanted.len()
    );
    Ok(())
}

fn names(spans: &[Span]) -> Vec<String> {
    spans.iter().map(|s| s.name.clone()).collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Error,
    Slow,
    Normal,
}

/// One trace's spans by the request they are sent in: first (gRPC), second (HTTP), late
/// (gRPC, some time after the other two, within `decision_wait`).
struct Laid {
    kind: Kind,
    requests: [Vec<Span>; 3],
}

impl Laid {
    fn new(kind: Kind, first: Vec<Span>, second: Vec<Span>, late: Vec<Span>) -> Laid {
        Laid {
            kind,
            requests: [first, second, late],
        }
    }

    fn spans(&self) -> impl Iterator<Item = &Span> {
        self.requests.iter().flatten()
    }
}

/// Nine traces with offsets and durations in ms (threshold 500 ms). The decisive span of the
/// second error trace and of both slow traces comes only in the late request, and children
/// come before their root.
fn lay_out() -> Vec<Laid> {
    let t: Vec<Trace> = (0..9).map(|_| Trace::new("tail")).collect();
    vec![
        // A failing child first, its root later over HTTP.
        Laid::new(
            Kind::Error,
            vec![failed(t[0].child("db", 20, 30))],
            vec![t[0].root(0, 120), t[0].child("cache", 60, 10)],
            vec![],
        ),
        // The only error is in the late request.
        Laid::new(
            Kind::Error,
            vec![t[1].child("auth", 10, 20)],
            vec![t[1].root(0, 150)],
            vec![failed(t[1].child("payment", 60, 40))],
        ),
        // A failing root after its children.
        Laid::new(
            Kind::Error,
            vec![t[2].child("a", 10, 20), t[2].child("b", 40, 20)],
            vec![failed(t[2].root(0, 100))],
            vec![],
        ),
        // Fast children; the 800 ms root comes late.
        Laid::new(
            Kind::Slow,
            vec![t[3].child("a", 0, 20)],
            vec![t[3].child("b", 30, 20)],
            vec![t[3].root(0, 800)],
        ),
        // No slow span: 0 to 750 ms only once the late child is in.
        Laid::new(
            Kind::Slow,
            vec![t[4].root(0, 100)],
            vec![t[4].child("mid", 200, 50)],
            vec![t[4].child("tail", 650, 100)],
        ),
        Laid::new(
            Kind::Normal,
            vec![t[5].child("a", 10, 30)],
            vec![t[5].root(0, 200)],
            vec![],
        ),
        Laid::new(
            Kind::Normal,
            vec![ok(t[6].root(0, 150))],
            vec![t[6].child("a", 20, 40)],
            vec![t[6].child("b", 100, 40)],
        ),
        Laid::new(
            Kind::Normal,
            vec![],
            vec![t[7].child("a", 0, 50)],
            vec![t[7].root(0, 300)],
        ),
        // 450 ms, just under the threshold, explicitly OK.
        Laid::new(
            Kind::Normal,
            vec![ok(t[8].child("a", 0, 100))],
            vec![],
            vec![ok(t[8].root(0, 450))],
        ),
    ]
}

/// Request `n` of every trace: children in a `backend` resource before the roots in a
/// `frontend` resource, so each trace spans two resources and children come first.
fn request(traces: &[Laid], n: usize) -> ExportTraceServiceRequest {
    let (roots, children): (Vec<Span>, Vec<Span>) = traces
        .iter()
        .flat_map(|t| t.requests[n].iter().cloned())
        .partition(|s| s.parent_span_id.is_empty());
    spans_request(vec![("backend", children), ("frontend", roots)])
}

#[tokio::test(flavor = "multi_thread")]
async fn tail_sampling_keeps_error_and_slow_traces_and_drops_the_rest() -> Result<()> {
    let wait = Duration::from_secs(1);
    let (sluice, _) = start("1s", json!([errors_policy(), slow_policy()])).await?;
    let traces: Vec<Laid> = (0..8).flat_map(|_| lay_out()).collect();
    let total_traces = traces.len() as u64;
    let total_spans = traces.iter().map(|t| t.spans().count()).sum::<usize>() as i64;
    let (grpc, http) = (
        Via::plaintext(Protocol::Grpc),
        Via::plaintext(Protocol::Http),
    );

    let first_sent = Instant::now();
    grpc.traces(&sluice, &request(&traces, 0)).await?;
    http.traces(&sluice, &request(&traces, 1)).await?;
    tokio::time::sleep(Duration::from_millis(250)).await;
    grpc.traces(&sluice, &request(&traces, 2)).await?;
    let late_in = first_sent.elapsed();

    // Every span is buffered and each trace counted once, across three requests, both
    // protocols and two resources; nothing is decided before the late request is in.
    let counts = Counts::of(&sluice);
    ensure!(
        counts.decided() == 0,
        "traces decided before the late request was in ({late_in:?} after the first, decision_wait {wait:?}): {counts:?}"
    );
    ensure!(
        counts.new_traces == total_traces
            && counts.traces_on_memory == total_traces as i64
            && counts.spans_on_memory == total_spans,
        "expected {total_traces} traces and {total_spans} spans buffered: {counts:?}"
    );

    let counts = decided(&sluice, total_traces).await?;
    let count = |kinds: &[Kind]| traces.iter().filter(|t| kinds.contains(&t.kind)).count() as u64;
    ensure!(
        counts.sampled == count(&[Kind::Error, Kind::Slow])
            && counts.not_sampled == count(&[Kind::Normal])
            && counts.traces_on_memory == 0
            && counts.spans_on_memory == 0
            && counts.decider_errors == 0,
        "wrong decisions: {counts:?}"
    );
    let kept: Vec<String> = traces
        .iter()
        .filter(|t| t.kind != Kind::Normal)
        .flat_map(|t| t.spans().map(|s| s.name.clone()))
        .collect();
    let output = sluice.wait_for_spans(&kept).await?;
    exactly(output.span_names(), &kept)?;
    sluice.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn late_spans_follow_the_cached_decision() -> Result<()> {
    let wait = Duration::from_millis(500);
    let (sluice, _) = start("500ms", json!([errors_policy()])).await?;
    let (grpc, http) = (
        Via::plaintext(Protocol::Grpc),
        Via::plaintext(Protocol::Http),
    );
    let (kept, dropped) = (Trace::new("kept"), Trace::new("dropped"));
    let kept_first = vec![failed(kept.child("db", 10, 20)), kept.root(0, 100)];
    let dropped_first = [dropped.child("db", 10, 20), dropped.root(0, 100)];
    grpc.traces(
        &sluice,
        &spans_request(vec![
            (
                "backend",
                vec![kept_first[0].clone(), dropped_first[0].clone()],
            ),
            (
                "frontend",
                vec![kept_first[1].clone(), dropped_first[1].clone()],
            ),
        ]),
    )
    .await?;
    let counts = decided(&sluice, 2).await?;
    ensure!(counts.sampled == 1 && counts.not_sampled == 1, "{counts:?}");
    let output = sluice.wait_for_spans(&names(&kept_first)).await?;
    exactly(output.span_names(), &names(&kept_first))?;

    // Late spans, over both protocols and mixed in the same requests. The dropped trace's
    // are errors: judged as a new trace they would be sampled.
    let kept_late = vec![
        kept.child("late-http", 200, 10),
        kept.child("late-grpc", 300, 10),
    ];
    let dropped_late = [
        failed(dropped.child("late-http", 200, 10)),
        failed(dropped.child("late-grpc", 300, 10)),
    ];
    http.traces(
        &sluice,
        &spans_request(vec![(
            "backend",
            vec![dropped_late[0].clone(), kept_late[0].clone()],
        )]),
    )
    .await?;
    grpc.traces(
        &sluice,
        &spans_request(vec![
            ("backend", vec![kept_late[1].clone()]),
            ("frontend", vec![dropped_late[1].clone()]),
        ]),
    )
    .await?;

    // Decided at once from the caches, inside the calls: the sampled ones are already written,
    // the others dropped, and neither was buffered as a new trace.
    let all_kept: Vec<String> = names(&kept_first)
        .into_iter()
        .chain(names(&kept_late))
        .collect();
    exactly(sluice.output()?.span_names(), &all_kept)?;
    let expected = Counts {
        late_sampled: 2,
        late_dropped: 2,
        ..counts
    };
    let counts = Counts::of(&sluice);
    ensure!(
        counts == expected && counts.new_traces == 2 && counts.traces_on_memory == 0,
        "late spans did not follow the cached decisions: {counts:?}"
    );

    // Nothing of the dropped trace turns up later either.
    tokio::time::sleep(wait + Duration::from_millis(300)).await;
    exactly(sluice.output()?.span_names(), &all_kept)?;
    ensure!(Counts::of(&sluice) == expected, "{:?}", Counts::of(&sluice));
    sluice.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn swapping_the_policy_while_traces_are_buffered_loses_none_of_them() -> Result<()> {
    let (mut sluice, mut config) = start("3s", json!([errors_policy()])).await?;
    let (grpc, http) = (
        Via::plaintext(Protocol::Grpc),
        Via::plaintext(Protocol::Http),
    );
    // 30 traces, a third with an error: the running policy keeps 10 of them.
    let traces: Vec<(Trace, bool)> = (0..30).map(|i| (Trace::new("swap"), i % 3 == 0)).collect();
    let children: Vec<Span> = traces
        .iter()
        .map(|(t, error)| match error {
            true => failed(t.child("a", 10, 20)),
            false => t.child("a", 10, 20),
        })
        .collect();
    let roots: Vec<Span> = traces.iter().map(|(t, _)| t.root(0, 100)).collect();
    grpc.traces(&sluice, &spans_request(vec![("backend", children.clone())]))
        .await?;
    http.traces(&sluice, &spans_request(vec![("frontend", roots.clone())]))
        .await?;
    let counts = Counts::of(&sluice);
    ensure!(
        counts.traces_on_memory == 30 && counts.spans_on_memory == 60 && counts.decided() == 0,
        "expected 30 traces buffered, none decided: {counts:?}"
    );

    // Swap: add an always_sample policy.
    config["processors"][PROCESSOR]["policies"] =
        json!([errors_policy(), { "name": "everything", "type": "always_sample" }]);
    let reload = Instant::now();
    let swapped = sluice.reload(&config)?;
    let reload_took = reload.elapsed();
    ensure!(
        swapped == [PROCESSOR],
        "expected {PROCESSOR} to be swapped: {swapped:?}"
    );
    // The buffer was kept: still 30 traces waiting, none decided during the swap
    // (otherwise the old policy decided some: the machine is too slow for this wait).
    let counts = Counts::of(&sluice);
    ensure!(
        counts.traces_on_memory == 30 && counts.spans_on_memory == 60 && counts.decided() == 0,
        "after the swap (reload took {reload_took:?}): {counts:?}"
    );
    // Spans arriving after the swap join their buffered traces.
    let after: Vec<Span> = traces
        .iter()
        .map(|(t, _)| t.child("after-swap", 50, 10))
        .collect();
    grpc.traces(&sluice, &spans_request(vec![("backend", after.clone())]))
        .await?;
    let counts = Counts::of(&sluice);
    ensure!(
        counts.new_traces == 30 && counts.traces_on_memory == 30 && counts.spans_on_memory == 90,
        "spans after the swap did not join their buffered traces: {counts:?}"
    );

    // Every trace is decided by the new policies: all kept, each span once.
    let counts = decided(&sluice, 30).await?;
    ensure!(
        counts.sampled == 30 && counts.not_sampled == 0 && counts.decider_errors == 0,
        "not every buffered trace was decided by the new policy: {counts:?}"
    );
    let all: Vec<String> = [children, roots, after]
        .iter()
        .flat_map(|s| names(s))
        .collect();
    let output = sluice.wait_for_spans(&all).await?;
    exactly(output.span_names(), &all)?;
    sluice.stop().await;
    Ok(())
}

/// FNV-1a 32 over the seed's little-endian bytes and the trace id: the Collector's
/// `hash_seed` hash, independent of Sluice's code.
fn fnv1a32(seed: u32, trace_id: &[u8]) -> u32 {
    seed.to_le_bytes()
        .iter()
        .chain(trace_id)
        .fold(0x811c_9dc5, |hash: u32, byte| {
            (hash ^ u32::from(*byte)).wrapping_mul(0x0100_0193)
        })
}

/// Send one root span per trace, 1000 per request, alternating gRPC and HTTP.
async fn send_roots(sluice: &Sluice, traces: &[Trace]) -> Result<()> {
    for (i, chunk) in traces.chunks(1000).enumerate() {
        let protocol = [Protocol::Grpc, Protocol::Http][i % 2];
        let spans = chunk.iter().map(|t| t.root(0, 10)).collect();
        Via::plaintext(protocol)
            .traces(sluice, &spans_request(vec![("sampled", spans)]))
            .await?;
    }
    Ok(())
}

/// Indices of `traces` whose root span is in the output.
fn kept(sluice: &Sluice, traces: &[Trace]) -> Result<BTreeSet<usize>> {
    let have: BTreeSet<String> = sluice.output()?.span_names().into_iter().collect();
    Ok(traces
        .iter()
        .enumerate()
        .filter(|(_, t)| have.contains(&format!("{}-root", t.name)))
        .map(|(i, _)| i)
        .collect())
}

#[tokio::test(flavor = "multi_thread")]
async fn probabilistic_sampler_keeps_about_the_configured_share_and_agrees_on_trace_ids()
-> Result<()> {
    const TRACES: usize = 4000;
    let mut setup = Setup::new()?;
    setup.traces_processor(
        "probabilistic_sampler",
        json!({ "sampling_percentage": 25, "hash_seed": 22 }),
    );
    let sluice = setup.start().await?;

    // Stateless and synchronous: once a request is acknowledged its kept spans are written.
    let first: Vec<Trace> = (0..TRACES).map(|_| Trace::new("prob")).collect();
    send_roots(&sluice, &first).await?;
    let kept_first = kept(&sluice, &first)?;
    let n = kept_first.len() as f64;
    let (mean, sigma) = (TRACES as f64 * 0.25, (TRACES as f64 * 0.25 * 0.75).sqrt());
    ensure!(
        (n - mean).abs() <= 4.0 * sigma,
        "kept {n} of {TRACES} traces, expected {mean} ± {:.0} (4σ)",
        4.0 * sigma
    );
    // Exactly the traces the Collector's rule keeps: hash & 0x3fff < 25% of 0x4000.
    let reference: BTreeSet<usize> = first
        .iter()
        .enumerate()
        .filter(|(_, t)| fnv1a32(22, &t.trace_id) & 0x3fff < 0x1000)
        .map(|(i, _)| i)
        .collect();
    ensure!(
        kept_first == reference,
        "kept set differs from the FNV-1a reference: only kept {:?}, only in the reference {:?}",
        kept_first.difference(&reference).collect::<Vec<_>>(),
        reference.difference(&kept_first).collect::<Vec<_>>()
    );

    // The same trace ids again (new span names): exactly the same traces are kept.
    let second: Vec<Trace> = first
        .iter()
        .map(|t| Trace::with_trace_id("prob-again", t.trace_id.clone()))
        .collect();
    send_roots(&sluice, &second).await?;
    let kept_second = kept(&sluice, &second)?;
    ensure!(
        kept_second == kept_first,
        "the same trace ids were sampled differently: only the first time {:?}, only the second {:?}",
        kept_first.difference(&kept_second).collect::<Vec<_>>(),
        kept_second.difference(&kept_first).collect::<Vec<_>>()
    );
    let wanted: Vec<String> = [(&first, &kept_first), (&second, &kept_second)]
        .iter()
        .flat_map(|(traces, kept)| kept.iter().map(|i| format!("{}-root", traces[*i].name)))
        .collect();
    exactly(sluice.output()?.span_names(), &wanted)?;
    sluice.stop().await;
    Ok(())
}
