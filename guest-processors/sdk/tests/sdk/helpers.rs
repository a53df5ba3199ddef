//! Attribute helpers, data point access and batch visitors.

use sluice_guest_sdk::otlp::metrics::{Histogram, HistogramDataPoint, metric::Data};
use sluice_guest_sdk::prelude::*;
use sluice_guest_sdk::testing::fixtures;

#[test]
fn set_attribute_replaces_in_place_and_appends_new_keys() {
    let mut span = fixtures::span("s", fixtures::attrs([("a", "1"), ("b", "2")]));
    span.set_attribute("a", 7i64);
    span.set_attribute("c", 1.5);
    let keys: Vec<&str> = span.attributes().iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(keys, ["a", "b", "c"]);
    assert_eq!(span.attribute("a").and_then(AnyValue::as_int), Some(7));
    assert_eq!(span.attribute("c").and_then(AnyValue::as_double), Some(1.5));
    assert_eq!(span.str_attribute("a"), None, "not a string");
}

#[test]
fn remove_attribute_removes_duplicates_and_returns_the_first() {
    let mut attrs = fixtures::attrs([("k", "first"), ("x", "y"), ("k", "second")]);
    assert_eq!(attrs.remove_attribute("k"), Some(AnyValue::string("first")));
    assert_eq!(attrs, fixtures::attrs([("x", "y")]));
    assert_eq!(attrs.remove_attribute("k"), None);
}

#[test]
fn every_attribute_owner_has_the_helpers() {
    let mut resource = Resource::default();
    resource.set_attribute("service.name", "api");
    let mut scope = InstrumentationScope::default();
    scope.set_attribute("lib", true);
    let mut event = SpanEvent::default();
    event.set_attribute("e", "x");
    let mut record = fixtures::log_record("body", []);
    record.set_attribute("user", "ann");
    record.retain_attributes(|kv| kv.key != "user");
    assert_eq!(resource.str_attribute("service.name"), Some("api"));
    assert_eq!(
        scope.attribute("lib").and_then(AnyValue::as_bool),
        Some(true)
    );
    assert_eq!(event.str_attribute("e"), Some("x"));
    assert!(record.attributes().is_empty());
}

#[test]
fn data_points_of_every_type_are_reached_alike() {
    let mut metric = Metric {
        name: "h".into(),
        data: Some(Data::Histogram(Histogram {
            data_points: vec![HistogramDataPoint::default(); 2],
            aggregation_temporality: 2,
        })),
        ..Default::default()
    };
    assert_eq!(metric.data_point_count(), 2);
    metric.for_each_data_point_mut(|mut dp| dp.set_attribute("env", "dev"));
    if let Some(mut dp) = metric.data_point_mut(1) {
        *dp.time_unix_nano_mut() = 5;
    }
    assert_eq!(
        metric.data_point(0).unwrap().attributes(),
        fixtures::attrs([("env", "dev")])
    );
    assert_eq!(metric.data_point(1).unwrap().time_unix_nano(), 5);
    assert!(metric.data_point(2).is_none());
    assert_eq!(Metric::default().data_point_count(), 0);
}

#[test]
fn batches_count_items_and_visit_every_attribute_list() {
    let mut span = fixtures::span("s", fixtures::attrs([("a", "1")]));
    span.events.push(SpanEvent::default());
    span.links.push(SpanLink::default());
    let mut batch = fixtures::traces(
        fixtures::attrs([("r", "1")]),
        [span, fixtures::span("t", [])],
    );
    assert_eq!(batch.item_count(), 2);
    let mut owners = Vec::new();
    batch.for_each_attributes_mut(&mut |owner, _| owners.push(owner));
    assert_eq!(
        owners,
        [
            Owner::Resource,
            Owner::Scope,
            Owner::Span,
            Owner::SpanEvent,
            Owner::SpanLink,
            Owner::Span
        ]
    );

    let mut metrics = fixtures::metrics(
        [],
        [fixtures::gauge(
            "g",
            [fixtures::int_point(1, []), fixtures::int_point(2, [])],
        )],
    );
    assert_eq!(metrics.item_count(), 2);
    let mut points = 0;
    metrics
        .for_each_attributes_mut(&mut |owner, _| points += usize::from(owner == Owner::DataPoint));
    assert_eq!(points, 2);
}

#[test]
fn request_context_headers_are_case_insensitive() {
    let ctx = RequestContext {
        headers: vec![("x-team".into(), "payments".into())],
        ..Default::default()
    };
    assert_eq!(ctx.header("X-Team"), Some("payments"));
    assert_eq!(ctx.header("missing"), None);
}
