//! Splitting a payload into one payload per tenant (resource by resource), and writing the
//! tenant id into every resource (`set_resource_attribute`).

use std::collections::HashMap;
use std::sync::Arc;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::ResourceLogs;
use opentelemetry_proto::tonic::metrics::v1::ResourceMetrics;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::ResourceSpans;
use sluice_pipeline::Payload;

/// `ResourceSpans`, `ResourceMetrics`, `ResourceLogs`.
trait HasResource {
    fn resource(&self) -> Option<&Resource>;
    fn resource_mut(&mut self) -> &mut Option<Resource>;
}

macro_rules! has_resource {
    ($($t:ty),*) => {$(
        impl HasResource for $t {
            fn resource(&self) -> Option<&Resource> {
                self.resource.as_ref()
            }
            fn resource_mut(&mut self) -> &mut Option<Resource> {
                &mut self.resource
            }
        }
    )*};
}

has_resource!(ResourceSpans, ResourceMetrics, ResourceLogs);

/// Payloads (or resource lists) by tenant, in the order tenants first appear.
type ByTenant<T> = Vec<(Arc<str>, T)>;

/// Group `payload`'s resources by `tenant_of(resource)`, keeping their order; tenants in the
/// order they first appear.
pub(crate) fn by_tenant<E>(
    payload: Payload,
    tenant_of: impl FnMut(Option<&Resource>) -> Result<Arc<str>, E>,
) -> Result<ByTenant<Payload>, E> {
    Ok(match payload {
        Payload::Traces(r) => group(r.resource_spans, tenant_of)?
            .into_iter()
            .map(|(t, resource_spans)| {
                (
                    t,
                    Payload::Traces(ExportTraceServiceRequest { resource_spans }),
                )
            })
            .collect(),
        Payload::Metrics(r) => group(r.resource_metrics, tenant_of)?
            .into_iter()
            .map(|(t, resource_metrics)| {
                (
                    t,
                    Payload::Metrics(ExportMetricsServiceRequest { resource_metrics }),
                )
            })
            .collect(),
        Payload::Logs(r) => group(r.resource_logs, tenant_of)?
            .into_iter()
            .map(|(t, resource_logs)| {
                (t, Payload::Logs(ExportLogsServiceRequest { resource_logs }))
            })
            .collect(),
        // Receivers name tenants before their requests become bytes; should bytes come here
        // anyway, they are split decoded, or go whole as a request without a resource.
        Payload::Encoded(_) => match payload.decoded() {
            Ok(decoded) => by_tenant(decoded.into_owned(), tenant_of)?,
            Err(_) => {
                let mut tenant_of = tenant_of;
                vec![(tenant_of(None)?, payload)]
            }
        },
    })
}

fn group<R: HasResource, E>(
    resources: Vec<R>,
    mut tenant_of: impl FnMut(Option<&Resource>) -> Result<Arc<str>, E>,
) -> Result<ByTenant<Vec<R>>, E> {
    let mut groups: ByTenant<Vec<R>> = Vec::new();
    let mut position: HashMap<Arc<str>, usize> = HashMap::new();
    for resource in resources {
        let tenant = tenant_of(resource.resource())?;
        match position.get(&tenant) {
            Some(&i) => groups[i].1.push(resource),
            None => {
                position.insert(tenant.clone(), groups.len());
                groups.push((tenant, vec![resource]));
            }
        }
    }
    Ok(groups)
}

/// Upsert the string attribute `key` = `tenant` on every resource of `payload`.
pub(crate) fn set_attribute(payload: &mut Payload, key: &str, tenant: &str) {
    match payload {
        Payload::Traces(r) => upsert_all(&mut r.resource_spans, key, tenant),
        Payload::Metrics(r) => upsert_all(&mut r.resource_metrics, key, tenant),
        Payload::Logs(r) => upsert_all(&mut r.resource_logs, key, tenant),
        // Changed decoded, so the bytes are never stale (bytes that do not decode stay as
        // they are; receivers never bring bytes here).
        Payload::Encoded(_) => {
            if let Ok(decoded) = payload.decoded() {
                let mut decoded = decoded.into_owned();
                set_attribute(&mut decoded, key, tenant);
                *payload = decoded;
            }
        }
    }
}

fn upsert_all<R: HasResource>(resources: &mut [R], key: &str, tenant: &str) {
    for resource in resources {
        let attributes = &mut resource
            .resource_mut()
            .get_or_insert_with(Resource::default)
            .attributes;
        let value = Some(AnyValue {
            value: Some(Value::StringValue(tenant.to_owned())),
        });
        match attributes.iter_mut().find(|kv| kv.key == key) {
            Some(kv) => kv.value = value,
            None => attributes.push(KeyValue {
                key: key.to_owned(),
                value,
                ..Default::default()
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::trace::v1::{ScopeSpans, Span};

    fn rs(tenant: Option<&str>, spans: usize) -> ResourceSpans {
        ResourceSpans {
            resource: tenant.map(|t| Resource {
                attributes: vec![KeyValue {
                    key: "tenant.id".into(),
                    value: Some(AnyValue {
                        value: Some(Value::StringValue(t.into())),
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans: vec![Span::default(); spans],
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn tenant_of(resource: Option<&Resource>) -> Result<Arc<str>, ()> {
        let value = resource
            .and_then(|r| r.attributes.first())
            .and_then(|kv| kv.value.as_ref())
            .and_then(|v| v.value.as_ref());
        Ok(match value {
            Some(Value::StringValue(s)) => Arc::from(s.as_str()),
            _ => Arc::from("default"),
        })
    }

    #[test]
    fn resources_are_grouped_by_tenant_in_order() {
        let payload = Payload::Traces(ExportTraceServiceRequest {
            resource_spans: vec![
                rs(Some("a"), 1),
                rs(None, 2),
                rs(Some("b"), 3),
                rs(Some("a"), 4),
            ],
        });
        let groups = by_tenant(payload, tenant_of).unwrap();
        let summary: Vec<(&str, usize)> =
            groups.iter().map(|(t, p)| (&**t, p.item_count())).collect();
        assert_eq!(summary, [("a", 5), ("default", 2), ("b", 3)]);
    }

    #[test]
    fn set_attribute_upserts_on_every_resource() {
        let mut payload = Payload::Traces(ExportTraceServiceRequest {
            resource_spans: vec![rs(Some("old"), 1), rs(None, 1)],
        });
        set_attribute(&mut payload, "tenant.id", "new");
        let groups = by_tenant(payload, tenant_of).unwrap();
        assert_eq!(groups.len(), 1);
        assert_eq!(&*groups[0].0, "new");
        let Payload::Traces(r) = &groups[0].1 else {
            unreachable!()
        };
        assert!(
            r.resource_spans
                .iter()
                .all(|rs| rs.resource.as_ref().unwrap().attributes.len() == 1)
        );
    }
}
