//! An OTLP logs request as a Loki push request (JSON).

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::AnyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use serde::Serialize;

use super::labels::LabelRules;

/// The body of `POST /loki/api/v1/push` with `Content-Type: application/json`.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub(crate) struct PushRequest {
    pub streams: Vec<Stream>,
}

/// One stream: its labels and its entries `[timestamp in ns as a string, line]`, oldest first.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub(crate) struct Stream {
    pub stream: BTreeMap<String, String>,
    pub values: Vec<[String; 2]>,
}

/// The label a stream gets when no rule produced any: Loki refuses a stream without labels.
/// The Collector's Loki exporter sends `exporter="OTLP"` too.
const FALLBACK_LABEL: (&str, &str) = ("exporter", "OTLP");

/// Groups the records by label set. Each entry's time is the record's `time_unix_nano`, else
/// its `observed_time_unix_nano`, else `now_ns`; the line is the body ([`line`]).
pub(crate) fn push_request(
    request: &ExportLogsServiceRequest,
    rules: &LabelRules,
    now_ns: u64,
) -> PushRequest {
    let mut streams: BTreeMap<BTreeMap<String, String>, Vec<(u64, String)>> = BTreeMap::new();
    for resource_logs in &request.resource_logs {
        let resource_attributes = resource_logs
            .resource
            .as_ref()
            .map_or(&[][..], |r| r.attributes.as_slice());
        let resource_labels = rules.resource_labels(resource_attributes);
        for record in resource_logs.scope_logs.iter().flat_map(|s| &s.log_records) {
            let mut labels = resource_labels.clone();
            rules.add_record_labels(
                &mut labels,
                &record.attributes,
                record.severity_number,
                &record.severity_text,
            );
            if labels.is_empty() {
                labels.insert(FALLBACK_LABEL.0.into(), FALLBACK_LABEL.1.into());
            }
            let time = [
                record.time_unix_nano,
                record.observed_time_unix_nano,
                now_ns,
            ]
            .into_iter()
            .find(|t| *t != 0)
            .unwrap_or(now_ns);
            streams
                .entry(labels)
                .or_default()
                .push((time, line(record.body.as_ref())));
        }
    }
    PushRequest {
        streams: streams
            .into_iter()
            .map(|(stream, mut entries)| {
                // Stable: records with the same time keep their order.
                entries.sort_by_key(|(time, _)| *time);
                Stream {
                    stream,
                    values: entries
                        .into_iter()
                        .map(|(time, line)| [time.to_string(), line])
                        .collect(),
                }
            })
            .collect(),
    }
}

/// The log line: a string body as is, any other body as JSON, no body as "".
pub(crate) fn line(body: Option<&AnyValue>) -> String {
    match body.and_then(|b| b.value.as_ref()) {
        None => String::new(),
        Some(Value::StringValue(s)) => s.clone(),
        Some(other) => to_json(Some(other)).to_string(),
    }
}

/// An attribute value as a label value: strings as is, scalars in their usual text form,
/// bytes as base64, arrays and maps as JSON.
pub(crate) fn label_value(value: &AnyValue) -> String {
    match value.value.as_ref() {
        None | Some(Value::StringValueStrindex(_)) => String::new(),
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::DoubleValue(d)) => d.to_string(),
        Some(Value::BytesValue(b)) => STANDARD.encode(b),
        Some(other) => to_json(Some(other)).to_string(),
    }
}

/// An OTLP value as plain JSON: maps become objects, arrays arrays, bytes base64 strings,
/// non-finite doubles strings (JSON has no NaN).
fn to_json(value: Option<&Value>) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        // A string-table index only means something inside a profiles request.
        None | Some(Value::StringValueStrindex(_)) => J::Null,
        Some(Value::StringValue(s)) => J::String(s.clone()),
        Some(Value::BoolValue(b)) => J::Bool(*b),
        Some(Value::IntValue(i)) => J::from(*i),
        Some(Value::DoubleValue(d)) => {
            serde_json::Number::from_f64(*d).map_or_else(|| J::String(d.to_string()), J::Number)
        }
        Some(Value::BytesValue(b)) => J::String(STANDARD.encode(b)),
        Some(Value::ArrayValue(a)) => {
            J::Array(a.values.iter().map(|v| to_json(v.value.as_ref())).collect())
        }
        Some(Value::KvlistValue(kv)) => J::Object(
            kv.values
                .iter()
                .map(|kv| {
                    let value = kv.value.as_ref().and_then(|v| v.value.as_ref());
                    (kv.key.clone(), to_json(value))
                })
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{kv, str_kv};
    use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValueList};
    use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use sluice_config::LokiLabels;

    fn record(time: u64, severity: i32, body: Value, attrs: Vec<(&str, &str)>) -> LogRecord {
        LogRecord {
            time_unix_nano: time,
            severity_number: severity,
            body: Some(AnyValue { value: Some(body) }),
            attributes: attrs.into_iter().map(|(k, v)| str_kv(k, v)).collect(),
            ..Default::default()
        }
    }

    fn request(service: &str, records: Vec<LogRecord>) -> ExportLogsServiceRequest {
        ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: Some(Resource {
                    attributes: vec![str_kv("service.name", service), str_kv("host", "h1")],
                    ..Default::default()
                }),
                scope_logs: vec![ScopeLogs {
                    log_records: records,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    #[test]
    fn records_group_into_streams_sorted_by_time() {
        let labels = LokiLabels {
            attributes: BTreeMap::from([("http.route".into(), String::new())]),
            ..LokiLabels::default()
        };
        let rules = LabelRules::new("loki", &labels).unwrap();
        let req = request(
            "api",
            vec![
                record(
                    30,
                    9,
                    Value::StringValue("third".into()),
                    vec![("http.route", "/a")],
                ),
                record(
                    10,
                    9,
                    Value::StringValue("first".into()),
                    vec![("http.route", "/a")],
                ),
                record(
                    20,
                    17,
                    Value::StringValue("boom".into()),
                    vec![("http.route", "/a")],
                ),
                record(0, 9, Value::StringValue("no time".into()), vec![]),
            ],
        );
        let push = push_request(&req, &rules, 99);
        let json = serde_json::to_value(&push).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"streams": [
                {"stream": {"http_route": "/a", "level": "error", "service_name": "api"},
                 "values": [["20", "boom"]]},
                {"stream": {"http_route": "/a", "level": "info", "service_name": "api"},
                 "values": [["10", "first"], ["30", "third"]]},
                {"stream": {"level": "info", "service_name": "api"},
                 "values": [["99", "no time"]]},
            ]})
        );
    }

    #[test]
    fn non_string_bodies_become_json_lines() {
        let map = Value::KvlistValue(KeyValueList {
            values: vec![
                str_kv("msg", "hi"),
                kv("n", Value::IntValue(3)),
                kv(
                    "list",
                    Value::ArrayValue(ArrayValue {
                        values: vec![AnyValue {
                            value: Some(Value::BoolValue(true)),
                        }],
                    }),
                ),
            ],
        });
        let body = AnyValue { value: Some(map) };
        assert_eq!(line(Some(&body)), r#"{"list":[true],"msg":"hi","n":3}"#);
        assert_eq!(line(None), "");
        let int = AnyValue {
            value: Some(Value::IntValue(42)),
        };
        assert_eq!(line(Some(&int)), "42");
    }

    #[test]
    fn a_stream_without_labels_gets_the_fallback_label() {
        let labels = LokiLabels {
            resource: BTreeMap::new(),
            attributes: BTreeMap::new(),
            level: false,
        };
        let rules = LabelRules::new("loki", &labels).unwrap();
        let push = push_request(
            &request(
                "api",
                vec![record(5, 0, Value::StringValue("x".into()), vec![])],
            ),
            &rules,
            1,
        );
        assert_eq!(
            push.streams[0].stream,
            BTreeMap::from([("exporter".to_owned(), "OTLP".to_owned())])
        );
    }
}
