//! OTLP/JSON decoding on top of `opentelemetry-proto`'s serde derives, with two repairs.
//!
//! 1. **Silent loss in metrics.** The crate marks three oneofs `#[serde(flatten)]`
//!    (`Metric.data`, `NumberDataPoint.value`, `Exemplar.value`); serde turns *any* error inside
//!    a flattened `Option` into `None`. A histogram with one bad field would be accepted as a
//!    metric without data, and `"asDouble": "x"` as a point without a value. After decoding
//!    metrics we therefore read the document a second time into [`shadow`] types that only
//!    note which of those oneof keys were present, and refuse the request (400) when a present
//!    key decoded to `None`.
//! 2. **What Go's protojson accepts and the crate does not**: `null` for a field (meaning the
//!    default) and enum values by name (`"kind": "SPAN_KIND_SERVER"`). The OTLP spec requires
//!    integer enums from exporters, so this is only a fallback: when the direct decode fails,
//!    the document is normalised (nulls dropped, known enum names turned into numbers) and
//!    decoded again; if that fails too the first error is reported.
//!
//! Not repaired: `"NaN"`/`"Infinity"` strings in double fields other than
//! `ValueAtQuantile.quantile` are refused with 400 (serde_json numbers cannot hold them).

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::logs::v1::SeverityNumber;
use opentelemetry_proto::tonic::metrics::v1::AggregationTemporality;
use opentelemetry_proto::tonic::trace::v1::{span, status};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Decode an OTLP/JSON document.
pub(crate) fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    decode_value(body).map(|(decoded, _)| decoded)
}

/// Decode an OTLP/JSON metrics document, refusing data the crate's decoder would drop.
pub(crate) fn decode_metrics(body: &[u8]) -> Result<ExportMetricsServiceRequest, String> {
    let (request, normalised) = decode_value::<ExportMetricsServiceRequest>(body)?;
    let checked = match &normalised {
        None => serde_json::from_slice(body).map_err(|e| e.to_string()),
        Some(value) => shadow::Request::deserialize(value).map_err(|e| e.to_string()),
    }
    .and_then(|shadow| shadow::check(&request, &shadow));
    let error = match checked {
        Ok(()) => return Ok(request),
        Err(error) if normalised.is_some() => return Err(error),
        Err(error) => error,
    };
    // An enum name inside a flattened oneof (`"aggregationTemporality": "…_DELTA"` in a sum)
    // does not fail the first decode, it loses the data: normalise and try once more.
    let Ok(mut value) = serde_json::from_slice::<Value>(body) else {
        return Err(error);
    };
    if !normalise(&mut value) {
        return Err(error);
    }
    let (Ok(request), Ok(shadow)) = (
        ExportMetricsServiceRequest::deserialize(&value),
        shadow::Request::deserialize(&value),
    ) else {
        return Err(error);
    };
    shadow::check(&request, &shadow).map_err(|_| error)?;
    Ok(request)
}

/// The decoded message, and the normalised document when the fallback was needed.
fn decode_value<T: DeserializeOwned>(body: &[u8]) -> Result<(T, Option<Value>), String> {
    let first = match serde_json::from_slice::<T>(body) {
        Ok(decoded) => return Ok((decoded, None)),
        Err(error) => error,
    };
    let Ok(mut value) = serde_json::from_slice::<Value>(body) else {
        return Err(first.to_string());
    };
    if !normalise(&mut value) {
        return Err(first.to_string());
    }
    match T::deserialize(&value) {
        Ok(decoded) => Ok((decoded, Some(value))),
        Err(_) => Err(first.to_string()),
    }
}

/// Drop `null` members and replace enum names by their numbers. True if anything changed.
fn normalise(value: &mut Value) -> bool {
    match value {
        Value::Object(members) => {
            let before = members.len();
            members.retain(|_, v| !v.is_null());
            let mut changed = members.len() != before;
            for (key, member) in members.iter_mut() {
                if let Value::String(name) = member {
                    if let Some(number) = enum_number(key, name) {
                        *member = Value::from(number);
                        changed = true;
                    }
                } else {
                    changed |= normalise(member);
                }
            }
            changed
        }
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |changed, item| normalise(item) | changed),
        _ => false,
    }
}

/// The number of an enum value written by name, for the OTLP enum fields.
fn enum_number(key: &str, name: &str) -> Option<i32> {
    match key {
        "kind" => span::SpanKind::from_str_name(name).map(|v| v as i32),
        "code" => status::StatusCode::from_str_name(name).map(|v| v as i32),
        "severityNumber" => SeverityNumber::from_str_name(name).map(|v| v as i32),
        "aggregationTemporality" => AggregationTemporality::from_str_name(name).map(|v| v as i32),
        _ => None,
    }
}

mod shadow;

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::metrics::v1::metric;

    use super::*;

    const METRIC: &str =
        r#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"m","DATA"}]}]}]}"#;

    fn metrics(data: &str) -> Result<ExportMetricsServiceRequest, String> {
        decode_metrics(METRIC.replace(r#""DATA""#, data).as_bytes())
    }

    #[test]
    fn a_histogram_with_a_bad_field_is_refused_not_emptied() {
        let error = metrics(r#""histogram":{"dataPoints":[{"count":"x"}]}"#).unwrap_err();
        assert_eq!(
            error,
            "resourceMetrics[0].scopeMetrics[0].metrics[0] (\"m\"): its data is not a valid gauge, \
             sum, histogram, exponentialHistogram or summary"
        );
    }

    #[test]
    fn a_point_with_a_bad_value_is_refused_not_emptied() {
        let error =
            metrics(r#""gauge":{"dataPoints":[{"asInt":"1"},{"asDouble":"x"}]}"#).unwrap_err();
        assert!(
            error.ends_with("gauge.dataPoints[1]: asDouble / asInt is not a valid number"),
            "{error}"
        );
        let error = metrics(r#""sum":{"dataPoints":[{"asInt":"1","exemplars":[{"asInt":"y"}]}]}"#)
            .unwrap_err();
        assert!(
            error.ends_with(
                "sum.dataPoints[0].exemplars[0]: asDouble / asInt is not a valid number"
            ),
            "{error}"
        );
    }

    #[test]
    fn valid_metrics_and_metrics_without_data_pass() {
        let ok = metrics(r#""sum":{"dataPoints":[{"asInt":"7","exemplars":[{"asDouble":1.5}]}]}"#)
            .unwrap();
        let data = ok.resource_metrics[0].scope_metrics[0].metrics[0]
            .data
            .clone();
        assert!(matches!(data, Some(metric::Data::Sum(_))));
        assert!(
            metrics(r#""unit":"1""#).unwrap().resource_metrics[0].scope_metrics[0].metrics[0]
                .data
                .is_none()
        );
    }

    #[test]
    fn nulls_and_enum_names_are_accepted_as_protojson_does() {
        use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
        let json = r#"{"resourceSpans":[{"resource":null,"scopeSpans":[{"spans":[
            {"name":"s","kind":"SPAN_KIND_CLIENT","parentSpanId":null,
             "status":{"code":"STATUS_CODE_ERROR"}}]}]}]}"#;
        let request: ExportTraceServiceRequest = decode(json.as_bytes()).unwrap();
        let span = &request.resource_spans[0].scope_spans[0].spans[0];
        assert_eq!(span.kind, span::SpanKind::Client as i32);
        assert_eq!(
            span.status.as_ref().unwrap().code,
            status::StatusCode::Error as i32
        );

        let error = decode::<ExportTraceServiceRequest>(
            br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"kind":"NOPE"}]}]}]}"#,
        )
        .unwrap_err();
        assert!(error.contains("invalid type: string \"NOPE\""), "{error}");
    }

    #[test]
    fn enum_names_inside_metric_data_are_accepted() {
        let ok = metrics(r#""sum":{"aggregationTemporality":"AGGREGATION_TEMPORALITY_DELTA","dataPoints":[{"asInt":"3"}]}"#)
            .unwrap();
        let Some(metric::Data::Sum(sum)) = &ok.resource_metrics[0].scope_metrics[0].metrics[0].data
        else {
            panic!("no sum: {ok:?}");
        };
        assert_eq!(
            sum.aggregation_temporality,
            AggregationTemporality::Delta as i32
        );
    }

    #[test]
    fn metrics_with_enum_names_and_a_bad_value_are_still_refused() {
        let error = metrics(r#""sum":{"aggregationTemporality":"AGGREGATION_TEMPORALITY_DELTA","dataPoints":[{"asDouble":"x"}]}"#)
            .unwrap_err();
        assert!(
            error.starts_with("resourceMetrics[0].scopeMetrics[0].metrics[0]"),
            "{error}"
        );
    }
}
