//! The exponential histogram and the disabled histogram.

use super::*;

const DURATION: &str = "traces.span.metrics.duration";

#[test]
fn exponential_histogram_buckets_durations() {
    let mut h = harness(r#"{"histogram": {"exponential": {"max_size": 160}}}"#);
    let mut backwards = span("op", 0);
    backwards.end_time_unix_nano = T0 - 1;
    send(
        &mut h,
        &service(
            "api",
            vec![span("op", 1), span("op", 2), span("op", 4), backwards],
        ),
    );
    let out = flush(&mut h);
    let m = metric(&out, 0, DURATION);
    assert_eq!(m.unit, "ms");
    assert_eq!(temporality(m), 2);
    let p = &exponential_points(m)[0];
    assert_eq!((p.count, p.sum, p.zero_count), (4, Some(7.0), 1));
    assert_eq!((p.min, p.max), (Some(0.0), Some(4.0)));
    // 1, 2 and 4 are exact powers of two: indices -1, 2^s - 1, 2^(s+1) - 1 at scale s; the
    // finest scale where they fit in 160 buckets is 6.
    assert_eq!(p.scale, 6);
    let positive = p.positive.as_ref().expect("positive buckets");
    assert_eq!(positive.offset, -1);
    assert_eq!(positive.bucket_counts.len(), 129);
    assert_eq!(positive.bucket_counts.iter().sum::<u64>(), 3);
    for index in [0, 64, 128] {
        assert_eq!(positive.bucket_counts[index], 1, "bucket {index}");
    }
    assert_eq!(p.negative.as_ref().map(|n| n.bucket_counts.len()), Some(0));
}

#[test]
fn exponential_histogram_respects_max_size() {
    let mut h = harness(r#"{"histogram": {"exponential": {"max_size": 4}}}"#);
    let spans = [1, 3, 10, 100, 1000, 60_000]
        .iter()
        .map(|d| span("op", *d))
        .collect();
    send(&mut h, &service("api", spans));
    let out = flush(&mut h);
    let p = &exponential_points(metric(&out, 0, DURATION))[0];
    let positive = p.positive.as_ref().expect("positive buckets");
    assert!(positive.bucket_counts.len() <= 4, "{p:?}");
    assert_eq!(positive.bucket_counts.iter().sum::<u64>(), 6);
    for v in [1.0, 3.0, 10.0, 100.0, 1000.0, 60_000.0] {
        let index = crate::exponential::map_to_index(v, p.scale);
        let slot = (index - positive.offset) as usize;
        assert!(
            positive.bucket_counts[slot] > 0,
            "{v} falls in a counted bucket"
        );
    }
}

#[test]
fn a_disabled_histogram_emits_calls_only() {
    let mut h = harness(r#"{"histogram": {"disable": true}}"#);
    send(&mut h, &service("api", vec![span("op", 1)]));
    let out = flush(&mut h);
    assert_eq!(metric_names(&out, 0), ["traces.span.metrics.calls"]);
}
