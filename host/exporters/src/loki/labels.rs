//! Which attributes become Loki stream labels, and the `level` label.

use opentelemetry_proto::tonic::common::v1::KeyValue;
use sluice_config::LokiLabels;
use std::collections::BTreeMap;

use super::push::label_value;
use crate::ExporterError;

/// Attribute → label name rules of one exporter, checked at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LabelRules {
    resource: Vec<(String, String)>,
    attributes: Vec<(String, String)>,
    level: bool,
}

impl LabelRules {
    /// From `labels`: an empty label name is the attribute name made valid ([`sanitize`]); a
    /// given label name must already be valid.
    pub(crate) fn new(exporter: &str, labels: &LokiLabels) -> Result<Self, ExporterError> {
        let rules = |section: &str, map: &BTreeMap<String, String>| {
            map.iter()
                .map(|(attribute, label)| {
                    let label = if label.trim().is_empty() {
                        sanitize(attribute)
                    } else if is_valid(label) {
                        label.clone()
                    } else {
                        return Err(ExporterError::Label {
                            exporter: exporter.to_owned(),
                            field: format!("{section}.{attribute}"),
                            reason: format!(
                                "{label:?} is not a valid Loki label name; use letters, digits \
                                 and _, not starting with a digit nor with __ (or leave it empty \
                                 to use the attribute name)"
                            ),
                        });
                    };
                    if attribute.trim().is_empty() {
                        return Err(ExporterError::Label {
                            exporter: exporter.to_owned(),
                            field: section.to_owned(),
                            reason: "an attribute name is empty".into(),
                        });
                    }
                    Ok((attribute.clone(), label))
                })
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(LabelRules {
            resource: rules("resource", &labels.resource)?,
            attributes: rules("attributes", &labels.attributes)?,
            level: labels.level,
        })
    }

    /// Labels taken from resource attributes.
    pub(crate) fn resource_labels(&self, attributes: &[KeyValue]) -> BTreeMap<String, String> {
        let mut labels = BTreeMap::new();
        add(&mut labels, &self.resource, attributes);
        labels
    }

    /// Adds labels taken from a log record's attributes (they win over resource ones) and
    /// `level`.
    pub(crate) fn add_record_labels(
        &self,
        labels: &mut BTreeMap<String, String>,
        attributes: &[KeyValue],
        severity_number: i32,
        severity_text: &str,
    ) {
        add(labels, &self.attributes, attributes);
        if self.level {
            labels.insert("level".into(), level(severity_number, severity_text).into());
        }
    }
}

fn add(labels: &mut BTreeMap<String, String>, rules: &[(String, String)], attributes: &[KeyValue]) {
    for (attribute, label) in rules {
        let value = attributes
            .iter()
            .find(|kv| kv.key == *attribute)
            .and_then(|kv| kv.value.as_ref())
            .map(label_value);
        // Loki treats an empty value as no label.
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            labels.insert(label.clone(), value);
        }
    }
}

/// An attribute name as a label name: every character other than `[a-zA-Z0-9_]` becomes `_`
/// (`service.name` → `service_name`), and a leading digit gets a `_` in front.
pub(crate) fn sanitize(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) || out.is_empty() {
        out.insert(0, '_');
    }
    out
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__` (reserved for Loki's internal labels).
fn is_valid(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with("__")
}

/// The `level` label: from the severity number's range (OpenTelemetry's log data model), else
/// from a recognisable severity text, else `unknown` (as Loki's own level detection).
pub(crate) fn level(number: i32, text: &str) -> &'static str {
    match number {
        1..=4 => return "trace",
        5..=8 => return "debug",
        9..=12 => return "info",
        13..=16 => return "warn",
        17..=20 => return "error",
        21..=24 => return "fatal",
        _ => {}
    }
    match text.trim().to_ascii_lowercase().as_str() {
        "trace" => "trace",
        "debug" => "debug",
        "info" | "information" | "notice" => "info",
        "warn" | "warning" => "warn",
        "error" | "err" => "error",
        "fatal" | "critical" | "crit" | "panic" | "emergency" | "alert" => "fatal",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_makes_valid_label_names() {
        assert_eq!(sanitize("service.name"), "service_name");
        assert_eq!(sanitize("k8s.pod-name/x"), "k8s_pod_name_x");
        assert_eq!(sanitize("1st"), "_1st");
        assert!(is_valid(&sanitize("a.b-c")));
        assert!(!is_valid("1abc"));
        assert!(!is_valid("__name__"));
        assert!(!is_valid("a-b"));
        assert!(is_valid("_private"));
    }

    #[test]
    fn level_from_number_then_text() {
        assert_eq!(level(9, ""), "info");
        assert_eq!(level(13, "whatever"), "warn");
        assert_eq!(level(17, ""), "error");
        assert_eq!(level(24, ""), "fatal");
        assert_eq!(level(0, "WARNING"), "warn");
        assert_eq!(level(0, ""), "unknown");
    }

    #[test]
    fn invalid_explicit_label_names_are_refused() {
        let labels = LokiLabels {
            attributes: BTreeMap::from([("http.method".into(), "http-method".into())]),
            ..LokiLabels::default()
        };
        let err = LabelRules::new("loki", &labels).unwrap_err().to_string();
        assert!(
            err.starts_with("exporters.loki.labels.attributes.http.method: \"http-method\""),
            "{err}"
        );
    }
}
