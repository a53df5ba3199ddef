//! Turning spans into series: one call, one duration observation and (when enabled) one event
//! count per span event, under the span's resource.

use sluice_guest_sdk::otlp::{
    AnyValue, ExportTraceServiceRequest, InstrumentationScope, KeyValue, Resource, Span,
};
use sluice_guest_sdk::prost::Message;

use crate::adjusted_count::{Rng, WeightCache};
use crate::config::Settings;
use crate::dimensions::{self, AttrList, SERVICE_NAME, Sources};
use crate::histogram::Histogram;
use crate::resources::{ResourceState, Resources};

/// Everything accumulated between flushes, and scratch space reused across spans.
#[derive(Debug)]
pub struct Accumulator {
    pub resources: Resources,
    weights: WeightCache,
    rng: Rng,
    key: Vec<u8>,
    resource_key: Vec<u8>,
}

impl Accumulator {
    /// An empty accumulator; `seed` seeds the stochastic rounding of adjusted counts.
    pub fn new(settings: &Settings, seed: u64) -> Self {
        Self {
            resources: Resources::new(settings.resource_metrics_cache_size),
            weights: WeightCache::default(),
            rng: Rng::new(seed),
            key: Vec::with_capacity(256),
            resource_key: Vec::with_capacity(256),
        }
    }

    /// Adds every span of `batch`. Resources without a `service.name` attribute are skipped,
    /// as in the Collector.
    pub fn add(&mut self, settings: &Settings, batch: &ExportTraceServiceRequest, now: u64) {
        for rs in &batch.resource_spans {
            let resource_attrs: &[KeyValue] = rs.resource.as_ref().map_or(&[], |r| &r.attributes);
            let Some(service) = resource_attrs.iter().find(|kv| kv.key == SERVICE_NAME) else {
                continue;
            };
            if rs.scope_spans.iter().all(|ss| ss.spans.is_empty()) {
                continue;
            }
            // The Collector reads it with `Str()`: a non-string service.name reads as "".
            let service_name = service
                .value
                .as_ref()
                .and_then(AnyValue::as_str)
                .unwrap_or("");
            dimensions::resource_key(
                resource_attrs,
                settings.resource_metrics_key_attributes.as_deref(),
                &mut self.resource_key,
            );
            let Some(resource) = self
                .resources
                .get_or_create(&self.resource_key, now, || encode_resource(resource_attrs))
            else {
                continue;
            };
            for ss in &rs.scope_spans {
                for span in &ss.spans {
                    let count = self.weights.count(&span.trace_state, &mut self.rng);
                    let ctx = SpanContext {
                        settings,
                        service_name,
                        span,
                        scope: ss.scope.as_ref(),
                        resource_attrs,
                        now,
                        count,
                    };
                    ctx.record(resource, &mut self.key);
                }
            }
        }
    }
}

/// One span being recorded.
struct SpanContext<'a> {
    settings: &'a Settings,
    service_name: &'a str,
    span: &'a Span,
    scope: Option<&'a InstrumentationScope>,
    resource_attrs: &'a [KeyValue],
    now: u64,
    /// How many spans this one stands for (its adjusted count).
    count: u64,
}

impl<'a> SpanContext<'a> {
    /// The duration in the histogram's unit; an end before the start counts as 0.
    fn duration(&self) -> f64 {
        let (start, end) = (self.span.start_time_unix_nano, self.span.end_time_unix_nano);
        if end > start {
            (end - start) as f64 / self.settings.unit.nanos()
        } else {
            0.0
        }
    }

    fn base(&self, sources: &Sources<'a>) -> AttrList<'a> {
        let s = self.settings;
        let mut list = AttrList::base(
            s.defaults,
            self.service_name,
            self.span,
            self.scope,
            &s.include_instrumentation_scope,
        );
        list.add_dimensions(&s.dimensions, sources);
        list
    }

    fn record(&self, resource: &mut ResourceState, key: &mut Vec<u8>) {
        let s = self.settings;
        let limit = s.cardinality_limit;
        let duration = self.duration();
        let sources = Sources {
            span: &self.span.attributes,
            event: &[],
            resource: self.resource_attrs,
        };
        let common = self.base(&sources);

        if s.calls_dimensions.is_empty() {
            common.encode_key(key);
        } else {
            common.with(&s.calls_dimensions, &sources).encode_key(key);
        }
        let (series, overflow) = resource.calls.get_or_create(key, limit, self.now, || 0);
        if !overflow && let Some(max) = s.exemplars {
            series.add_exemplar(self.span, duration, max);
        }
        series.data = series.data.saturating_add(self.count);

        if let Some(kind) = &s.histogram {
            // Without per-metric dimensions the key is the one just used for calls.
            if !s.calls_dimensions.is_empty() || !s.histogram_dimensions.is_empty() {
                common
                    .with(&s.histogram_dimensions, &sources)
                    .encode_key(key);
            }
            let (series, overflow) = resource
                .durations
                .get_or_create(key, limit, self.now, || Histogram::new(kind));
            if !overflow && let Some(max) = s.exemplars {
                series.add_exemplar(self.span, duration, max);
            }
            series.data.observe(duration, self.count, kind);
        }

        if let Some(event_dimensions) = &s.events {
            for event in &self.span.events {
                let sources = Sources {
                    span: &self.span.attributes,
                    event: &event.attributes,
                    resource: self.resource_attrs,
                };
                self.base(&sources)
                    .with(event_dimensions, &sources)
                    .encode_key(key);
                let (series, overflow) = resource.events.get_or_create(key, limit, self.now, || 0);
                if !overflow && let Some(max) = s.exemplars {
                    series.add_exemplar(self.span, duration, max);
                }
                series.data = series.data.saturating_add(self.count);
            }
        }
    }
}

/// The `Resource` message of a `ResourceMetrics`: the span resource's attributes, encoded.
fn encode_resource(attributes: &[KeyValue]) -> Vec<u8> {
    Resource {
        attributes: attributes.to_vec(),
        ..Default::default()
    }
    .encode_to_vec()
}
