//! OTLP metrics to Prometheus names, labels and series: the translation both exporters share.
//!
//! Sources read for this (opentelemetry-collector-contrib):
//! - `pkg/translator/prometheus/{normalize_name.go,normalize_unit.go,normalize_label.go,README.md}`:
//!   names, units, suffixes, label sanitising ([`naming`]).
//! - `pkg/translator/prometheusremotewrite/helper.go`: label sets (collisions joined with `;`,
//!   `job`/`instance`, external labels), histogram and summary series (`_bucket{le}` with
//!   cumulative counts and `+Inf`, `_sum` only when set, `_count`, `{quantile}`), `target_info`.
//! - `exporter/prometheusexporter/{collector.go,accumulator.go,utils.go}`: the scrape exporter's
//!   labels (`otel_scope_*`), `target_info` per `job`+`instance`, and accumulation.
//! - `pkg/resourcetotelemetry`: `resource_to_telemetry_conversion` copies resource attributes
//!   over the data point's (the resource wins).
//!
//! Rules, in the order a label set is built ([`Translator::labels`]):
//! 1. data point attributes (plus resource attributes with `resource_to_telemetry_conversion`),
//!    sorted by key, names sanitised ([`naming::label_name`]), colliding values joined with `;`;
//! 2. `otel_scope_name`, `otel_scope_version`, `otel_scope_schema_url`, `otel_scope_<attr>`
//!    (replace attributes of the same name);
//! 3. `job` (`service.namespace/service.name`) and `instance` (`service.instance.id`) from the
//!    resource (replace attributes);
//! 4. `const_labels` / `external_labels` (only where no label of that name exists yet).
//!
//! Metric names: [`naming::metric_name`]; counters are monotonic sums (`_total`); non-monotonic
//! sums are gauges; the exporters decide what they do with delta temporality.
//!
//! Not translated: exemplars (the text format 0.0.4 has none; remote write exemplars are not
//! written), `_created` series, the `prometheus.type` metadata hint for untyped gauges, and
//! `otel_scope_info`.

pub mod exponential;
pub mod float;
pub mod labels;
pub mod naming;

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::Metric;

pub use labels::Labels;

/// The name of the series carrying resource attributes.
pub const TARGET_INFO: &str = "target_info";

/// Name and label rules for one exporter.
#[derive(Debug, Clone, PartialEq)]
pub struct Translator {
    namespace: String,
    add_suffixes: bool,
    resource_to_telemetry: bool,
    /// `const_labels` or `external_labels`, names sanitised.
    extra: Vec<(String, String)>,
}

/// The labels a resource gives every series: `job` and `instance`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceLabels {
    pub job: Option<String>,
    pub instance: Option<String>,
}

impl ResourceLabels {
    pub fn of(resource: &[KeyValue]) -> ResourceLabels {
        ResourceLabels {
            job: labels::job(resource),
            instance: labels::instance(resource),
        }
    }
}

impl Translator {
    /// `namespace` is sanitised; `extra` are `const_labels`/`external_labels`, names sanitised
    /// as label names (so `__x` names are kept).
    pub fn new<'a>(
        namespace: &str,
        add_suffixes: bool,
        resource_to_telemetry: bool,
        extra: impl IntoIterator<Item = (&'a String, &'a String)>,
    ) -> Translator {
        let extra = extra
            .into_iter()
            .map(|(k, v)| (naming::label_name(k), v.clone()))
            .filter(|(k, v)| !k.is_empty() && !v.is_empty())
            .collect();
        Translator {
            namespace: naming::namespace(namespace),
            add_suffixes,
            resource_to_telemetry,
            extra,
        }
    }

    /// The Prometheus name of `metric` (without `_bucket`/`_sum`/`_count`); empty when the name
    /// has no usable characters.
    pub fn metric_name(&self, metric: &Metric) -> String {
        naming::metric_name(metric, &self.namespace, self.add_suffixes)
    }

    /// `target_info`, with the namespace.
    pub fn target_info_name(&self) -> String {
        if self.namespace.is_empty() {
            TARGET_INFO.to_owned()
        } else {
            format!("{}_{TARGET_INFO}", self.namespace)
        }
    }

    /// The label set of one data point (see the module docs for the order).
    pub fn labels(
        &self,
        resource: &[KeyValue],
        resource_labels: &ResourceLabels,
        scope: &[(String, String)],
        attributes: &[KeyValue],
    ) -> Labels {
        let mut map = if self.resource_to_telemetry {
            labels::sanitised(attributes.iter().chain(resource))
        } else {
            labels::sanitised(attributes)
        };
        for (k, v) in scope {
            map.insert(k.clone(), v.clone());
        }
        self.finish(map, resource_labels)
    }

    /// `job`, `instance`, then the extra labels where free.
    fn finish(&self, mut map: BTreeMap<String, String>, resource: &ResourceLabels) -> Labels {
        if let Some(job) = &resource.job {
            map.insert("job".to_owned(), job.clone());
        }
        if let Some(instance) = &resource.instance {
            map.insert("instance".to_owned(), instance.clone());
        }
        for (k, v) in &self.extra {
            map.entry(k.clone()).or_insert_with(|| v.clone());
        }
        Labels::from_map(map)
    }

    /// The labels of `target_info` for a resource: its attributes except `service.name`,
    /// `service.namespace` and `service.instance.id`, sanitised, plus `job` and `instance`;
    /// `with_extra` adds the extra labels (remote write's external labels; the scrape
    /// exporter's `target_info` has no const labels, as the Collector's).
    pub fn target_info_labels(&self, resource: &[KeyValue], with_extra: bool) -> Labels {
        let mut map = labels::sanitised(resource.iter().filter(|kv| {
            !matches!(
                kv.key.as_str(),
                labels::SERVICE_NAME | labels::SERVICE_NAMESPACE | labels::SERVICE_INSTANCE_ID
            )
        }));
        let resource_labels = ResourceLabels::of(resource);
        if let Some(job) = &resource_labels.job {
            map.insert("job".to_owned(), job.clone());
        }
        if let Some(instance) = &resource_labels.instance {
            map.insert("instance".to_owned(), instance.clone());
        }
        if with_extra {
            for (k, v) in &self.extra {
                map.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        Labels::from_map(map)
    }

    /// Whether a resource has attributes other than the `job`/`instance` ones (remote write
    /// sends `target_info` only then).
    pub fn has_info_attributes(resource: &[KeyValue]) -> bool {
        resource.iter().any(|kv| {
            !matches!(
                kv.key.as_str(),
                labels::SERVICE_NAME | labels::SERVICE_NAMESPACE | labels::SERVICE_INSTANCE_ID
            )
        })
    }
}

#[cfg(test)]
mod tests;
