//! Naming the tenant of a request (or of each resource) from the configured sources, in order:
//! the first source that yields a value wins. Values are checked against the tenant id rule;
//! an empty value counts as absent.

use std::sync::Arc;

use http::HeaderMap;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::resource::v1::Resource;
use sluice_config::{CertificateField, TenantSource};
use sluice_pipeline::AuthInfo;

use super::refusal::Refusal;

/// What the request-level sources can look at.
pub(crate) struct RequestFacts<'a> {
    pub auth: &'a AuthInfo,
    pub headers: &'a HeaderMap,
}

/// Walks the sources for one request, remembering the request-level values so a request with
/// many resources looks at each header or certificate once.
pub(crate) struct Resolver<'a> {
    sources: &'a [TenantSource],
    facts: RequestFacts<'a>,
    /// Per source: not looked at yet (`None`), or its value.
    request_values: Vec<Option<Option<Arc<str>>>>,
}

impl<'a> Resolver<'a> {
    pub fn new(sources: &'a [TenantSource], facts: RequestFacts<'a>) -> Self {
        Resolver {
            sources,
            facts,
            request_values: vec![None; sources.len()],
        }
    }

    /// Whether some source looks at resources (the request may carry several tenants).
    pub fn per_resource(&self) -> bool {
        self.sources
            .iter()
            .any(|s| matches!(s, TenantSource::ResourceAttribute(_)))
    }

    /// The tenant named by the first source with a value, for `resource` (or for the whole
    /// request when `None`); `Ok(None)` when no source names one.
    pub fn tenant(&mut self, resource: Option<&Resource>) -> Result<Option<Arc<str>>, Refusal> {
        for (i, source) in self.sources.iter().enumerate() {
            let value = match source {
                TenantSource::ResourceAttribute(key) => resource_value(source, key, resource)?,
                _ => match &self.request_values[i] {
                    Some(value) => value.clone(),
                    None => {
                        let value = request_value(source, &self.facts)?;
                        self.request_values[i] = Some(value.clone());
                        value
                    }
                },
            };
            if value.is_some() {
                return Ok(value);
            }
        }
        Ok(None)
    }
}

/// How a source is named in messages.
pub(crate) fn describe(source: &TenantSource) -> String {
    match source {
        TenantSource::BasicAuth => "basic_auth".to_owned(),
        TenantSource::BearerToken => "bearer_token".to_owned(),
        TenantSource::ClientCertificate(CertificateField::Cn) => {
            "client_certificate: cn".to_owned()
        }
        TenantSource::ClientCertificate(CertificateField::San) => {
            "client_certificate: san".to_owned()
        }
        TenantSource::Header(name) => format!("header {name}"),
        TenantSource::ResourceAttribute(key) => format!("resource_attribute {key}"),
    }
}

fn request_value(
    source: &TenantSource,
    facts: &RequestFacts<'_>,
) -> Result<Option<Arc<str>>, Refusal> {
    let auth = facts.auth;
    let value: Option<&str> = match source {
        TenantSource::BasicAuth => auth.username.as_deref(),
        TenantSource::BearerToken => auth.token_name.as_deref(),
        TenantSource::ClientCertificate(CertificateField::Cn) => auth.client_cn.as_deref(),
        TenantSource::ClientCertificate(CertificateField::San) => first_san(&auth.client_sans),
        TenantSource::Header(name) => match facts.headers.get(name.as_str()) {
            None => None,
            Some(value) => match value.to_str() {
                Ok(text) => Some(text),
                Err(_) => {
                    return Err(Refusal::invalid_tenant(
                        source,
                        &value.as_bytes().escape_ascii().to_string(),
                    ));
                }
            },
        },
        TenantSource::ResourceAttribute(_) => None,
    };
    checked(source, value)
}

/// The first DNS or URI name: e-mail names (with `@` and no `:`) are skipped.
fn first_san(sans: &[String]) -> Option<&str> {
    sans.iter()
        .map(String::as_str)
        .find(|san| san.contains(':') || !san.contains('@'))
}

fn resource_value(
    source: &TenantSource,
    key: &str,
    resource: Option<&Resource>,
) -> Result<Option<Arc<str>>, Refusal> {
    let Some(attribute) = resource.and_then(|r| r.attributes.iter().find(|kv| kv.key == key))
    else {
        return Ok(None);
    };
    match attribute.value.as_ref().and_then(|v| v.value.as_ref()) {
        None => Ok(None),
        Some(Value::StringValue(s)) => checked(source, Some(s)),
        Some(Value::IntValue(i)) => checked(source, Some(&i.to_string())),
        Some(_) => Err(Refusal::InvalidTenant {
            message: format!(
                "the tenant id from {} must be a string or an integer",
                describe(source)
            ),
        }),
    }
}

/// `value` trimmed, `None` when empty, refused when it is not a tenant id.
fn checked(source: &TenantSource, value: Option<&str>) -> Result<Option<Arc<str>>, Refusal> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(id) if sluice_config::is_tenant_id(id) => Ok(Some(Arc::from(id))),
        Some(id) => Err(Refusal::invalid_tenant(source, id)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};

    fn resource(key: &str, value: Value) -> Resource {
        Resource {
            attributes: vec![KeyValue {
                key: key.into(),
                value: Some(AnyValue { value: Some(value) }),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn the_first_source_with_a_value_wins_and_empty_values_count_as_absent() {
        let sources = [
            TenantSource::Header("x-scope-orgid".into()),
            TenantSource::BasicAuth,
            TenantSource::ResourceAttribute("tenant.id".into()),
        ];
        let auth = AuthInfo {
            username: Some("alice".into()),
            ..Default::default()
        };
        let mut headers = HeaderMap::new();
        headers.insert("x-scope-orgid", " ".parse().unwrap());
        let mut resolver = Resolver::new(
            &sources,
            RequestFacts {
                auth: &auth,
                headers: &headers,
            },
        );
        assert!(resolver.per_resource());
        assert_eq!(resolver.tenant(None).unwrap().as_deref(), Some("alice"));

        let anonymous = AuthInfo::default();
        let mut resolver = Resolver::new(
            &sources,
            RequestFacts {
                auth: &anonymous,
                headers: &headers,
            },
        );
        let r = resource("tenant.id", Value::IntValue(42));
        assert_eq!(resolver.tenant(Some(&r)).unwrap().as_deref(), Some("42"));
        assert_eq!(resolver.tenant(None).unwrap(), None);
        let bad = resource("tenant.id", Value::BoolValue(true));
        assert!(matches!(
            resolver.tenant(Some(&bad)),
            Err(Refusal::InvalidTenant { .. })
        ));
    }

    #[test]
    fn an_invalid_id_is_refused_with_a_short_message() {
        let sources = [TenantSource::Header("x-scope-orgid".into())];
        let auth = AuthInfo::default();
        let mut headers = HeaderMap::new();
        let long = format!("a/{}", "b".repeat(10_000));
        headers.insert("x-scope-orgid", long.parse().unwrap());
        let mut resolver = Resolver::new(
            &sources,
            RequestFacts {
                auth: &auth,
                headers: &headers,
            },
        );
        let Err(Refusal::InvalidTenant { message }) = resolver.tenant(None) else {
            panic!("expected an invalid tenant");
        };
        assert!(message.starts_with("tenant id \"a/bbb"), "{message}");
        assert!(message.contains("from header x-scope-orgid"), "{message}");
        assert!(message.len() < 400, "{message}");
    }

    #[test]
    fn san_skips_email_names() {
        let sans = [
            "ops@example.com".to_owned(),
            "team-a.example.com".to_owned(),
        ];
        assert_eq!(first_san(&sans), Some("team-a.example.com"));
        assert_eq!(first_san(&[]), None);
    }
}
