//! Flushes: cumulative versus delta across flushes, and what a refused emit does.

use sluice_guest_sdk::EmitError;

use super::*;

const CALLS: &str = "traces.span.metrics.calls";
const DURATION: &str = "traces.span.metrics.duration";

#[test]
fn cumulative_keeps_counting_from_a_fixed_start() {
    let mut h = harness("{}");
    send(&mut h, &service("api", vec![span("op", 1), span("op", 3)]));
    at(&mut h, T0 + 60 * SECOND);
    let first = flush(&mut h);
    let p = calls_for(metric(&first, 0, CALLS), "op");
    assert_eq!(
        (int_value(p), p.start_time_unix_nano, p.time_unix_nano),
        (2, T0, T0 + 60 * SECOND)
    );

    at(&mut h, T0 + 90 * SECOND);
    send(&mut h, &service("api", vec![span("op", 5)]));
    at(&mut h, T0 + 120 * SECOND);
    let second = flush(&mut h);
    let p = calls_for(metric(&second, 0, CALLS), "op");
    assert_eq!(
        (int_value(p), p.start_time_unix_nano, p.time_unix_nano),
        (3, T0, T0 + 120 * SECOND)
    );
    let d = &histogram_points(metric(&second, 0, DURATION))[0];
    assert_eq!((d.count, d.sum, d.start_time_unix_nano), (3, Some(9.0), T0));
    assert_eq!(temporality(metric(&second, 0, CALLS)), 2);
    assert_eq!(temporality(metric(&second, 0, DURATION)), 2);

    // Nothing new: the totals are reported again.
    at(&mut h, T0 + 180 * SECOND);
    let third = flush(&mut h);
    assert_eq!(int_value(calls_for(metric(&third, 0, CALLS), "op")), 3);
}

#[test]
fn delta_reports_each_interval_once_and_chains_start_times() {
    let mut h = harness(r#"{"aggregation_temporality": "AGGREGATION_TEMPORALITY_DELTA"}"#);
    send(&mut h, &service("api", vec![span("op", 1), span("op", 3)]));
    at(&mut h, T0 + 60 * SECOND);
    let first = flush(&mut h);
    let p = calls_for(metric(&first, 0, CALLS), "op");
    assert_eq!(
        (int_value(p), p.start_time_unix_nano, p.time_unix_nano),
        (2, T0, T0 + 60 * SECOND)
    );
    assert_eq!(temporality(metric(&first, 0, CALLS)), 1);
    assert_eq!(temporality(metric(&first, 0, DURATION)), 1);

    at(&mut h, T0 + 90 * SECOND);
    send(&mut h, &service("api", vec![span("op", 5)]));
    at(&mut h, T0 + 120 * SECOND);
    let second = flush(&mut h);
    let p = calls_for(metric(&second, 0, CALLS), "op");
    assert_eq!(
        (int_value(p), p.start_time_unix_nano, p.time_unix_nano),
        (1, T0 + 60 * SECOND, T0 + 120 * SECOND),
        "the second point starts where the first ended"
    );
    let d = &histogram_points(metric(&second, 0, DURATION))[0];
    assert_eq!(
        (d.count, d.sum, d.start_time_unix_nano),
        (1, Some(5.0), T0 + 60 * SECOND)
    );

    // An interval without spans has nothing to report.
    at(&mut h, T0 + 180 * SECOND);
    flush_nothing(&mut h);
}

#[test]
fn a_busy_pipeline_keeps_delta_counts_for_the_next_flush() {
    let mut h = harness(r#"{"aggregation_temporality": "AGGREGATION_TEMPORALITY_DELTA"}"#);
    send(&mut h, &service("api", vec![span("op", 1)]));
    let connector = h.processor().expect("initialised");
    connector.set_clock(Clock::Manual(T0 + 60 * SECOND));
    let err = connector
        .flush_with(&mut |_| Err(EmitError::Busy))
        .unwrap_err();
    assert!(err.message().contains("kept for the next flush"), "{err}");

    connector.set_clock(Clock::Manual(T0 + 90 * SECOND));
    send(&mut h, &service("api", vec![span("op", 1)]));
    at(&mut h, T0 + 120 * SECOND);
    let out = flush(&mut h);
    let p = calls_for(metric(&out, 0, CALLS), "op");
    assert_eq!(
        (int_value(p), p.start_time_unix_nano),
        (2, T0),
        "nothing was lost"
    );
}

#[test]
fn a_refused_emit_is_reported_and_the_interval_dropped() {
    let mut h = harness(r#"{"aggregation_temporality": "AGGREGATION_TEMPORALITY_DELTA"}"#);
    send(&mut h, &service("api", vec![span("op", 1)]));
    let connector = h.processor().expect("initialised");
    let err = connector
        .flush_with(&mut |_| Err(EmitError::NoRoute))
        .unwrap_err();
    assert!(
        err.message().contains("2 span metrics data points dropped"),
        "{err}"
    );
    assert_eq!(connector.resource_count(), 0);
    flush_nothing(&mut h);
}

#[test]
fn flush_sends_one_batch_with_everything() {
    let mut h = harness("{}");
    flush_nothing(&mut h);
    send(&mut h, &service("a", vec![span("op", 1)]));
    send(&mut h, &service("b", vec![span("op", 1), span("other", 1)]));
    let out = flush(&mut h);
    assert_eq!(out.resource_metrics.len(), 2);
    let points: usize = out
        .resource_metrics
        .iter()
        .flat_map(|rm| &rm.scope_metrics)
        .flat_map(|sm| &sm.metrics)
        .map(Metric::data_point_count)
        .sum();
    assert_eq!(points, 6);
}

#[test]
fn init_asks_for_the_flush_interval() {
    let h = harness("{}");
    assert_eq!(h.flush_interval_ms(), Some(60_000));
    let h = harness(r#"{"metrics_flush_interval": "15s"}"#);
    assert_eq!(h.flush_interval_ms(), Some(15_000));
}

/// Not a timed test: prints what recording and flushing many series costs natively.
/// `cargo test -p sluice-guest-spanmetrics --release -- --ignored --nocapture flush_cost`.
#[test]
#[ignore]
fn flush_cost() {
    for (series, exemplars) in [(5_000usize, false), (20_000, false), (20_000, true)] {
        let config = format!(r#"{{"exemplars": {{"enabled": {exemplars}}}}}"#);
        let mut h = harness(&config);
        let spans: Vec<Span> = (0..series).map(|i| span(&format!("op-{i}"), 3)).collect();
        let batch = service("api", spans);
        let connector = h.processor().expect("initialised");
        let t = std::time::Instant::now();
        connector.record(&batch);
        let record = t.elapsed();
        let t = std::time::Instant::now();
        let mut bytes = 0;
        connector
            .flush_with(&mut |batch| {
                bytes += batch.len();
                Ok(())
            })
            .expect("flushed");
        println!(
            "{series} series (exemplars {exemplars}): record {record:?}, flush {:?}, {bytes} bytes",
            t.elapsed()
        );
    }
}

/// Every batch emitted by one flush, decoded.
fn flush_all(h: &mut Harness<SpanMetrics>) -> Vec<ExportMetricsServiceRequest> {
    h.flush().expect("flush");
    take_emitted()
        .into_iter()
        .map(|(signal, bytes)| {
            assert_eq!(signal, Signal::Metrics);
            ExportMetricsServiceRequest::decode(bytes.as_slice()).expect("valid OTLP metrics")
        })
        .collect()
}

/// `(span.name, calls)` of every calls point in `batches`.
fn calls_by_name(batches: &[ExportMetricsServiceRequest]) -> Vec<(String, i64)> {
    batches
        .iter()
        .flat_map(|b| &b.resource_metrics)
        .flat_map(|rm| &rm.scope_metrics)
        .flat_map(|sm| &sm.metrics)
        .filter(|m| m.name == CALLS)
        .flat_map(sum_points)
        .map(|p| {
            let name = str_attr(&p.attributes, "span.name").unwrap_or_default();
            (name.to_owned(), int_value(p))
        })
        .collect()
}

#[test]
fn large_flushes_are_split_into_batches_of_whole_points() {
    use crate::export::CHUNK_POINTS;
    let mut h = harness("{}");
    let spans: Vec<Span> = (0..2500).map(|i| span(&format!("op-{i}"), 3)).collect();
    send(&mut h, &service("api", spans));
    let batches = flush_all(&mut h);
    let sizes: Vec<usize> = batches
        .iter()
        .map(|b| {
            b.resource_metrics
                .iter()
                .flat_map(|rm| &rm.scope_metrics)
                .flat_map(|sm| &sm.metrics)
                .map(Metric::data_point_count)
                .sum()
        })
        .collect();
    assert_eq!(sizes, [CHUNK_POINTS, CHUNK_POINTS, 5000 - 2 * CHUNK_POINTS]);
    // Every batch is a complete request: resource, scope, named metrics.
    for b in &batches {
        let rm = &b.resource_metrics[0];
        assert_eq!(
            str_attr(
                &rm.resource.as_ref().expect("resource").attributes,
                "service.name"
            ),
            Some("api")
        );
        for m in &rm.scope_metrics[0].metrics {
            assert!(
                m.name == CALLS || (m.name == DURATION && m.unit == "ms"),
                "{}",
                m.name
            );
        }
    }
    let calls = calls_by_name(&batches);
    assert_eq!(calls.len(), 2500);
    assert!(calls.iter().all(|(_, n)| *n == 1));
    assert_eq!(calls[2499].0, "op-2499", "creation order is kept");
}

#[test]
fn a_busy_pipeline_mid_flush_loses_and_repeats_nothing() {
    let mut h = harness(r#"{"aggregation_temporality": "AGGREGATION_TEMPORALITY_DELTA"}"#);
    let spans: Vec<Span> = (0..1500).map(|i| span(&format!("op-{i}"), 3)).collect();
    send(&mut h, &service("api", spans));
    // The host takes the first batch (2000 points: 1500 calls, 500 durations), then is full.
    let mut accepted = Vec::new();
    let connector = h.processor().expect("initialised");
    connector.set_clock(Clock::Manual(T0 + 60 * SECOND));
    let err = connector
        .flush_with(&mut |batch| {
            if accepted.is_empty() {
                accepted
                    .push(ExportMetricsServiceRequest::decode(batch.as_slice()).expect("valid"));
                Ok(())
            } else {
                Err(EmitError::Busy)
            }
        })
        .unwrap_err();
    assert!(
        err.message().contains("1000 span metrics data points kept"),
        "{err}"
    );
    assert_eq!(calls_by_name(&accepted).len(), 1500);

    at(&mut h, T0 + 120 * SECOND);
    let rest = flush_all(&mut h);
    assert!(
        calls_by_name(&rest).is_empty(),
        "calls were delivered already"
    );
    let durations: Vec<&HistogramDataPoint> = rest
        .iter()
        .flat_map(|b| &b.resource_metrics)
        .flat_map(|rm| &rm.scope_metrics)
        .flat_map(|sm| &sm.metrics)
        .flat_map(histogram_points)
        .collect();
    assert_eq!(durations.len(), 1000, "the durations the host did not take");
    assert!(
        durations
            .iter()
            .all(|p| p.count == 1 && p.start_time_unix_nano == T0)
    );
    flush_nothing(&mut h);
}
