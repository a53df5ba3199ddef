//! Merging and splitting OTLP requests by item count, for the batch processor.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

use crate::Payload;

/// Append `other` to `into`. Payloads of different signals are not merged: `other` comes back.
pub(crate) fn merge(into: &mut Payload, other: Payload) -> Result<(), Payload> {
    match (into, other) {
        (Payload::Traces(a), Payload::Traces(b)) => a.resource_spans.extend(b.resource_spans),
        (Payload::Metrics(a), Payload::Metrics(b)) => a.resource_metrics.extend(b.resource_metrics),
        (Payload::Logs(a), Payload::Logs(b)) => a.resource_logs.extend(b.resource_logs),
        (_, other) => return Err(other),
    }
    Ok(())
}

/// Move the first `max` items of `payload` into a new payload. Spans and log records are split
/// exactly; metrics are split between metrics (the data points of one metric stay together, so
/// a part may exceed `max` by the points of its last metric). Bytes are not cut: callers
/// decode first, and an `Encoded` payload moves whole.
pub(crate) fn split_off_front(payload: &mut Payload, max: usize) -> Payload {
    match payload {
        Payload::Traces(req) => Payload::Traces(split_traces(req, max)),
        Payload::Metrics(req) => Payload::Metrics(split_metrics(req, max)),
        Payload::Logs(req) => Payload::Logs(split_logs(req, max)),
        Payload::Encoded(e) => {
            let empty = Payload::empty(e.signal());
            std::mem::replace(payload, empty)
        }
    }
}

/// One split function per signal: walk resources, then scopes, moving whole item lists where they
/// fit and cutting the list where the budget ends. Items are moved, never cloned; only the
/// resource and scope envelopes are cloned (with their item lists emptied first).
macro_rules! splitter {
    ($name:ident, $request:ty, $resources:ident, $scopes:ident, $items:ident, $count:expr) => {
        fn $name(req: &mut $request, max: usize) -> $request {
            let mut out = <$request>::default();
            let mut budget = max;
            while budget > 0 && !req.$resources.is_empty() {
                let resource = &mut req.$resources[0];
                let scopes = std::mem::take(&mut resource.$scopes);
                let mut head = resource.clone();
                resource.$scopes = scopes;
                while budget > 0 && !resource.$scopes.is_empty() {
                    let scope = &mut resource.$scopes[0];
                    let mut items = std::mem::take(&mut scope.$items);
                    let mut head_scope = scope.clone();
                    let (mut cut, mut taken) = (0, 0);
                    while cut < items.len() && taken < budget {
                        taken += $count(&items[cut]);
                        cut += 1;
                    }
                    let rest = items.split_off(cut);
                    head_scope.$items = items;
                    head.$scopes.push(head_scope);
                    budget = budget.saturating_sub(taken);
                    if rest.is_empty() {
                        resource.$scopes.remove(0);
                    } else {
                        resource.$scopes[0].$items = rest;
                    }
                }
                out.$resources.push(head);
                if req.$resources[0].$scopes.is_empty() {
                    req.$resources.remove(0);
                }
            }
            out
        }
    };
}

splitter!(
    split_traces,
    ExportTraceServiceRequest,
    resource_spans,
    scope_spans,
    spans,
    |_| 1usize
);
splitter!(
    split_logs,
    ExportLogsServiceRequest,
    resource_logs,
    scope_logs,
    log_records,
    |_| 1usize
);
splitter!(
    split_metrics,
    ExportMetricsServiceRequest,
    resource_metrics,
    scope_metrics,
    metrics,
    crate::payload::data_point_count
);

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

    fn traces(shape: &[&[usize]]) -> Payload {
        Payload::Traces(ExportTraceServiceRequest {
            resource_spans: shape
                .iter()
                .map(|scopes| ResourceSpans {
                    scope_spans: scopes
                        .iter()
                        .map(|&n| ScopeSpans {
                            spans: (0..n)
                                .map(|i| Span {
                                    name: format!("s{i}"),
                                    ..Default::default()
                                })
                                .collect(),
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                })
                .collect(),
        })
    }

    #[test]
    fn splits_across_scopes_and_resources_without_losing_items() {
        let mut p = traces(&[&[3, 2], &[4]]);
        let head = split_off_front(&mut p, 4);
        assert_eq!(head.item_count(), 4);
        assert_eq!(p.item_count(), 5);
        let head2 = split_off_front(&mut p, 4);
        assert_eq!(head2.item_count(), 4);
        assert_eq!(p.item_count(), 1);
        let last = split_off_front(&mut p, 4);
        assert_eq!(last.item_count(), 1);
        assert_eq!(p.item_count(), 0);
        assert!(matches!(&p, Payload::Traces(r) if r.resource_spans.is_empty()));
    }

    #[test]
    fn merges_same_signal_only() {
        let mut a = traces(&[&[1]]);
        assert!(merge(&mut a, traces(&[&[2]])).is_ok());
        assert_eq!(a.item_count(), 3);
        assert!(merge(&mut a, Payload::empty(crate::Signal::Logs)).is_err());
    }
}
