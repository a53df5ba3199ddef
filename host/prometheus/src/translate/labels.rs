//! Label sets: attribute values as strings, sanitised names with collisions joined, `job` and
//! `instance` from the resource, `otel_scope_*` from the instrumentation scope.
//!
//! As the Collector (`createAttributes` in `pkg/translator/prometheusremotewrite/helper.go`,
//! `getMetricMetadata` and `extractJob`/`extractInstance` in `exporter/prometheusexporter`).

use std::collections::BTreeMap;

use base64::Engine;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};

use super::float;
use super::naming::label_name;

/// `service.name`, `service.namespace`, `service.instance.id`: what `job` and `instance` come
/// from (and what `target_info` leaves out).
pub const SERVICE_NAME: &str = "service.name";
pub const SERVICE_NAMESPACE: &str = "service.namespace";
pub const SERVICE_INSTANCE_ID: &str = "service.instance.id";

/// A label set: names unique, sorted by name (byte order, as remote write requires), no empty
/// values.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Labels(Vec<(String, String)>);

impl Labels {
    /// From `name → value`, dropping empty names and values.
    pub fn from_map(map: BTreeMap<String, String>) -> Labels {
        Labels(
            map.into_iter()
                .filter(|(k, v)| !k.is_empty() && !v.is_empty())
                .collect(),
        )
    }

    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(k, _)| k.as_str().cmp(name))
            .ok()
            .map(|i| self.0[i].1.as_str())
    }

    /// `(name, value)` pairs in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A copy with `name=value` set (replacing an existing `name`); an empty value removes it.
    pub fn with(&self, name: &str, value: &str) -> Labels {
        let mut pairs = self.0.clone();
        match pairs.binary_search_by(|(k, _)| k.as_str().cmp(name)) {
            Ok(i) if value.is_empty() => {
                pairs.remove(i);
            }
            Ok(i) => pairs[i].1 = value.to_owned(),
            Err(_) if value.is_empty() || name.is_empty() => {}
            Err(i) => pairs.insert(i, (name.to_owned(), value.to_owned())),
        }
        Labels(pairs)
    }
}

/// An attribute value as a label value, as pdata's `Value.AsString`: strings as they are,
/// numbers and booleans in decimal, bytes in base64, arrays and maps as JSON.
pub fn value_string(value: Option<&AnyValue>) -> String {
    match value.and_then(|v| v.value.as_ref()) {
        None => String::new(),
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::DoubleValue(d)) => float::attribute(*d),
        Some(Value::BytesValue(b)) => base64::engine::general_purpose::STANDARD.encode(b),
        Some(other) => json(Some(other)).to_string(),
    }
}

fn json(value: Option<&Value>) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        None | Some(Value::StringValueStrindex(_)) => J::Null,
        Some(Value::StringValue(s)) => J::String(s.clone()),
        Some(Value::BoolValue(b)) => J::Bool(*b),
        Some(Value::IntValue(i)) => J::from(*i),
        Some(Value::DoubleValue(d)) => serde_json::Number::from_f64(*d).map_or(J::Null, J::Number),
        Some(Value::BytesValue(b)) => {
            J::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        Some(Value::ArrayValue(a)) => {
            J::Array(a.values.iter().map(|v| json(v.value.as_ref())).collect())
        }
        Some(Value::KvlistValue(kv)) => J::Object(
            kv.values
                .iter()
                .map(|kv| {
                    (
                        kv.key.clone(),
                        json(kv.value.as_ref().and_then(|v| v.value.as_ref())),
                    )
                })
                .collect(),
        ),
    }
}

fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a KeyValue> {
    attributes.iter().rev().find(|kv| kv.key == key)
}

/// `job`: `service.namespace/service.name`, or `service.name` alone; none without
/// `service.name`.
pub fn job(resource: &[KeyValue]) -> Option<String> {
    let name = value_string(attribute(resource, SERVICE_NAME)?.value.as_ref());
    Some(match attribute(resource, SERVICE_NAMESPACE) {
        Some(ns) => format!("{}/{name}", value_string(ns.value.as_ref())),
        None => name,
    })
}

/// `instance`: `service.instance.id`.
pub fn instance(resource: &[KeyValue]) -> Option<String> {
    Some(value_string(
        attribute(resource, SERVICE_INSTANCE_ID)?.value.as_ref(),
    ))
}

/// Sanitised labels from attributes: sorted by original key, names sanitised, values of names
/// that collide joined with `;`. A repeated key keeps its last value.
pub fn sanitised<'a>(
    attributes: impl IntoIterator<Item = &'a KeyValue>,
) -> BTreeMap<String, String> {
    let by_key: BTreeMap<&str, String> = attributes
        .into_iter()
        .map(|kv| (kv.key.as_str(), value_string(kv.value.as_ref())))
        .collect();
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for (key, value) in by_key {
        let name = label_name(key);
        if name.is_empty() {
            continue;
        }
        match out.get_mut(&name) {
            Some(existing) => {
                existing.push(';');
                existing.push_str(&value);
            }
            None => {
                out.insert(name, value);
            }
        }
    }
    out
}

/// The `otel_scope_*` labels of an instrumentation scope: `otel_scope_name`,
/// `otel_scope_version`, `otel_scope_schema_url` and `otel_scope_<attribute>` (empty ones
/// left out).
pub fn scope_labels(
    scope: Option<&InstrumentationScope>,
    schema_url: &str,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(scope) = scope {
        for kv in &scope.attributes {
            out.push((
                label_name(&format!("otel_scope_{}", kv.key)),
                value_string(kv.value.as_ref()),
            ));
        }
        out.push(("otel_scope_name".to_owned(), scope.name.clone()));
        out.push(("otel_scope_version".to_owned(), scope.version.clone()));
    }
    out.push(("otel_scope_schema_url".to_owned(), schema_url.to_owned()));
    out.retain(|(_, v)| !v.is_empty());
    out
}
