//! `headers_setter`: request headers taken from each batch's context, as the Collector's
//! headers_setter extension does (an exporter names it in `auth.authenticator`). The usual use
//! is multi-tenancy: `{key: X-Scope-OrgID, from_attribute: tenant}` sends the tenant the
//! receiver resolved to Loki, Tempo or Mimir, one request per tenant.

use http::{HeaderMap, HeaderName, HeaderValue};
use sluice_config::{HeaderAction, HeaderSetting, HeadersSetterSettings};
use sluice_pipeline::RequestContext;

use crate::ExporterError;

/// The compiled `headers:` list.
#[derive(Debug)]
pub struct HeadersSetter {
    rules: Vec<Rule>,
}

#[derive(Debug)]
struct Rule {
    name: HeaderName,
    source: Source,
    default: Option<HeaderValue>,
    action: HeaderAction,
}

#[derive(Debug)]
enum Source {
    Value(HeaderValue),
    /// A request header / metadata key, lower case.
    Context(String),
    Attribute(Attribute),
    /// `action: delete` needs no value.
    Nothing,
}

#[derive(Debug, Clone, Copy)]
enum Attribute {
    Tenant,
    Username,
    TokenName,
    ClientCn,
    ClientSubject,
}

impl HeadersSetter {
    /// Compiles the settings of extension `owner` (`headers_setter/x`); errors name the header.
    pub fn new(owner: &str, settings: &HeadersSetterSettings) -> Result<Self, ExporterError> {
        let rules = settings
            .headers
            .iter()
            .map(|setting| rule(owner, setting))
            .collect::<Result<_, _>>()?;
        Ok(HeadersSetter { rules })
    }

    /// Sets, replaces or removes the configured headers for a batch with `context`. A value
    /// the context lacks (and no `default_value`) leaves the header alone; so does a value
    /// that a header cannot carry (logged at debug: it came from a client).
    pub(crate) fn apply(&self, headers: &mut HeaderMap, context: &RequestContext) {
        for rule in &self.rules {
            if rule.action == HeaderAction::Delete {
                headers.remove(&rule.name);
                continue;
            }
            let Some(value) = rule.value(context).or_else(|| rule.default.clone()) else {
                continue;
            };
            let present = headers.contains_key(&rule.name);
            let set = match rule.action {
                HeaderAction::Insert => !present,
                HeaderAction::Update => present,
                HeaderAction::Upsert | HeaderAction::Delete => true,
            };
            if set {
                headers.insert(rule.name.clone(), value);
            }
        }
    }
}

impl Rule {
    fn value(&self, context: &RequestContext) -> Option<HeaderValue> {
        let text = match &self.source {
            Source::Value(value) => return Some(value.clone()),
            Source::Nothing => return None,
            Source::Context(key) => context.metadata_value(key),
            Source::Attribute(attribute) => {
                let auth = &context.auth;
                match attribute {
                    Attribute::Tenant => context.tenant.as_deref(),
                    Attribute::Username => auth.username.as_deref(),
                    Attribute::TokenName => auth.token_name.as_deref(),
                    Attribute::ClientCn => auth.client_cn.as_deref(),
                    Attribute::ClientSubject => auth.client_subject.as_deref(),
                }
            }
        }?;
        match HeaderValue::from_str(text) {
            Ok(value) => Some(value),
            Err(_) => {
                tracing::debug!(header = %self.name, "value from the batch's context cannot be a header value; not set");
                None
            }
        }
    }
}

fn rule(owner: &str, setting: &HeaderSetting) -> Result<Rule, ExporterError> {
    let invalid = |reason: String| ExporterError::AuthUnusable {
        extension: owner.to_owned(),
        reason: format!("header {:?}: {reason}", setting.key),
    };
    let name = HeaderName::from_bytes(setting.key.trim().as_bytes())
        .map_err(|_| invalid("not a valid header name".into()))?;
    let value = |text: &str| {
        HeaderValue::from_str(text)
            .map_err(|_| invalid("the value has characters a header cannot carry".into()))
    };
    let source = match (
        &setting.value,
        &setting.from_context,
        &setting.from_attribute,
    ) {
        (Some(v), None, None) => Source::Value(value(v)?),
        (None, Some(key), None) => Source::Context(key.trim().to_ascii_lowercase()),
        (None, None, Some(attribute)) => Source::Attribute(match attribute.as_str() {
            "tenant" => Attribute::Tenant,
            "username" => Attribute::Username,
            "token_name" => Attribute::TokenName,
            "client_cn" => Attribute::ClientCn,
            "client_subject" => Attribute::ClientSubject,
            other => return Err(invalid(format!("{other:?} is not an identity attribute"))),
        }),
        (None, None, None) if setting.action == HeaderAction::Delete => Source::Nothing,
        _ => {
            return Err(invalid(
                "set exactly one of value, from_context and from_attribute".into(),
            ));
        }
    };
    let default = setting.default_value.as_deref().map(value).transpose()?;
    Ok(Rule {
        name,
        source,
        default,
        action: setting.action,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::*;

    fn setting(key: &str, action: HeaderAction) -> HeaderSetting {
        HeaderSetting {
            key: key.into(),
            action,
            ..HeaderSetting::default()
        }
    }

    fn setter(headers: Vec<HeaderSetting>) -> HeadersSetter {
        HeadersSetter::new("headers_setter", &HeadersSetterSettings { headers }).unwrap()
    }

    fn context(tenant: Option<&str>) -> RequestContext {
        RequestContext {
            tenant: tenant.map(Arc::from),
            metadata: Arc::new(BTreeMap::from([(
                "x-team".to_owned(),
                vec!["payments".to_owned()],
            )])),
            ..RequestContext::default()
        }
    }

    #[test]
    fn sets_the_tenant_a_context_header_and_a_fixed_value() {
        let s = setter(vec![
            HeaderSetting {
                from_attribute: Some("tenant".into()),
                ..setting("X-Scope-OrgID", HeaderAction::Upsert)
            },
            HeaderSetting {
                from_context: Some("X-Team".into()),
                ..setting("x-team", HeaderAction::Upsert)
            },
            HeaderSetting {
                value: Some("sluice".into()),
                ..setting("x-source", HeaderAction::Upsert)
            },
        ]);
        let mut headers = HeaderMap::new();
        s.apply(&mut headers, &context(Some("acme")));
        assert_eq!(headers["x-scope-orgid"], "acme");
        assert_eq!(headers["x-team"], "payments");
        assert_eq!(headers["x-source"], "sluice");
    }

    #[test]
    fn a_missing_value_uses_the_default_or_leaves_the_header_alone() {
        let tenant = |default: Option<&str>| HeaderSetting {
            from_attribute: Some("tenant".into()),
            default_value: default.map(str::to_owned),
            ..setting("x-scope-orgid", HeaderAction::Upsert)
        };
        let mut headers = HeaderMap::new();
        setter(vec![tenant(None)]).apply(&mut headers, &context(None));
        assert!(headers.is_empty());
        setter(vec![tenant(Some("anonymous"))]).apply(&mut headers, &context(None));
        assert_eq!(headers["x-scope-orgid"], "anonymous");
    }

    #[test]
    fn actions_follow_the_collector() {
        let fixed = |action| HeaderSetting {
            value: Some("new".into()),
            ..setting("x-h", action)
        };
        let run = |action, existing: Option<&str>| {
            let mut headers = HeaderMap::new();
            if let Some(v) = existing {
                headers.insert("x-h", HeaderValue::from_str(v).unwrap());
            }
            let rule = if action == HeaderAction::Delete {
                setting("x-h", action)
            } else {
                fixed(action)
            };
            setter(vec![rule]).apply(&mut headers, &context(None));
            headers.get("x-h").map(|v| v.to_str().unwrap().to_owned())
        };
        assert_eq!(run(HeaderAction::Insert, None).as_deref(), Some("new"));
        assert_eq!(
            run(HeaderAction::Insert, Some("old")).as_deref(),
            Some("old")
        );
        assert_eq!(run(HeaderAction::Update, None), None);
        assert_eq!(
            run(HeaderAction::Update, Some("old")).as_deref(),
            Some("new")
        );
        assert_eq!(
            run(HeaderAction::Upsert, Some("old")).as_deref(),
            Some("new")
        );
        assert_eq!(run(HeaderAction::Delete, Some("old")), None);
    }

    #[test]
    fn bad_settings_name_the_header() {
        let err = HeadersSetter::new(
            "headers_setter/x",
            &HeadersSetterSettings {
                headers: vec![HeaderSetting {
                    from_attribute: Some("password".into()),
                    ..setting("x-h", HeaderAction::Upsert)
                }],
            },
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("headers_setter/x"), "{err}");
        assert!(
            err.contains("\"password\" is not an identity attribute"),
            "{err}"
        );
    }
}
