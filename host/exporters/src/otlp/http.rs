//! The `otlphttp` exporter (also `otlp_http`): OTLP over HTTP, as the Collector's
//! `otlphttpexporter`.
//!
//! - **Where.** Each signal is POSTed to its URL (`traces_endpoint`, …, else `endpoint` +
//!   `/v1/traces`, …). `https://` uses TLS with [`sluice_tls::client_config`] (ALPN `h2` and
//!   `http/1.1`: HTTP/2 when the server offers it); `http://` is plaintext HTTP/1.1.
//! - **Body.** Protobuf (`Content-Type: application/x-protobuf`) or, with `encoding: json`,
//!   OTLP/JSON (`application/json`); compressed as `compression` says (gzip by default,
//!   zstd, none) with `Content-Encoding`. The body is encoded and compressed once per batch,
//!   not per attempt; a protobuf body is the bytes the batch travels as when it has them.
//! - **Answers.** 2xx delivers (a partial success in the body is logged at WARN and its
//!   rejected items count as failed). 429, 502, 503 and 504 are retried, honouring
//!   `Retry-After`; transport failures and the `timeout` are retried too. Any other status is
//!   permanent (400 maps to [`sluice_pipeline::ConsumeError::Invalid`]); the server's message
//!   is taken from a `google.rpc.Status` body (protobuf or JSON) or the body text.

use std::sync::Arc;

use bytes::Bytes;
use http::header::{CONTENT_ENCODING, CONTENT_TYPE, USER_AGENT as USER_AGENT_HEADER};
use http::{HeaderMap, HeaderValue, Uri};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;
use sluice_config::{ComponentId, HttpEncoding, OtlpHttpExporterSettings, Signal};
use sluice_pipeline::metrics::ExporterMetrics;
use sluice_pipeline::{Batch, ConsumeError, Consumer, Form, Payload, RequestContext};

use crate::ExporterError;
use crate::client::auth::{self, ClientAuth};
use crate::client::compression::Compressor;
use crate::client::http::{HttpClient, HttpResponse, USER_AGENT, compress, truncate};
use crate::client::rpc_status::RpcStatus;
use crate::client::tls::{ALPN_HTTP, TlsClient};
use crate::client::{header_map, require_runtime};
use crate::retry::{Delivered, Delivery, SendError};

const URL_EXAMPLE: &str = "https://collector:4318 (endpoint) or https://collector:4318/v1/traces";

/// `exporters.otlphttp[/name]`.
pub struct OtlpHttpExporter {
    delivery: Delivery,
    client: HttpClient,
    /// Per signal (traces, metrics, logs); `None` when neither `endpoint` nor the signal's own
    /// URL is set.
    urls: [Option<Uri>; 3],
    /// Configured headers, `Content-Type`, `Content-Encoding` and `User-Agent`.
    headers: HeaderMap,
    auth: Option<ClientAuth>,
    encoding: HttpEncoding,
    compressor: Compressor,
}

fn index(signal: Signal) -> usize {
    match signal {
        Signal::Traces => 0,
        Signal::Metrics => 1,
        Signal::Logs => 2,
    }
}

/// An `http://` or `https://` URL with a host.
pub(crate) fn parse_url(url: &str) -> Result<Uri, String> {
    let uri: Uri = url.trim().parse().map_err(|e| format!("not a URL ({e})"))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        Some(other) => return Err(format!("the {other}:// scheme is not supported")),
        None => return Err("no scheme (http:// or https://)".into()),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err("no host".into());
    }
    Ok(uri)
}

impl OtlpHttpExporter {
    /// Checks the settings and builds the client; nothing is dialled until the first export.
    /// Must be called inside a tokio runtime. `auth` is the resolved `auth.authenticator`
    /// ([`ClientAuth::from_extension`]); it is required when the settings name one.
    pub fn new(
        id: &ComponentId,
        settings: &OtlpHttpExporterSettings,
        auth: Option<ClientAuth>,
        metrics: ExporterMetrics,
    ) -> Result<Arc<Self>, ExporterError> {
        let exporter = id.to_string();
        require_runtime(&exporter)?;
        let auth = auth::resolve(&exporter, settings.auth.as_ref(), auth)?;
        let mut urls: [Option<Uri>; 3] = [None, None, None];
        for signal in Signal::ALL {
            let Some(url) = settings.url(signal) else {
                continue;
            };
            let explicit = match signal {
                Signal::Traces => settings.traces_endpoint.is_some(),
                Signal::Metrics => settings.metrics_endpoint.is_some(),
                Signal::Logs => settings.logs_endpoint.is_some(),
            };
            let field = if explicit {
                format!("{signal}_endpoint")
            } else {
                "endpoint".to_owned()
            };
            urls[index(signal)] =
                Some(parse_url(&url).map_err(|reason| ExporterError::Endpoint {
                    exporter: exporter.clone(),
                    field,
                    value: url.clone(),
                    reason,
                    example: URL_EXAMPLE,
                })?);
        }
        if urls.iter().all(Option::is_none) {
            return Err(ExporterError::Endpoint {
                exporter,
                field: "endpoint".into(),
                value: String::new(),
                reason: "no URL is set".into(),
                example: URL_EXAMPLE,
            });
        }
        let needs_tls = urls
            .iter()
            .flatten()
            .any(|u| u.scheme_str() == Some("https"));
        let tls = if needs_tls {
            Some(TlsClient::load(
                &settings.tls,
                &format!("exporters.{exporter}.tls"),
                ALPN_HTTP,
            )?)
        } else {
            crate::client::tls::warn_if_unused(&exporter, &settings.tls);
            None
        };
        let mut headers = header_map(&exporter, &settings.headers)?;
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static(match settings.encoding {
                HttpEncoding::Proto => "application/x-protobuf",
                HttpEncoding::Json => "application/json",
            }),
        );
        headers.insert(USER_AGENT_HEADER, HeaderValue::from_static(USER_AGENT));
        let delivery = Delivery::start(
            &exporter,
            &settings.retry_on_failure,
            metrics,
            tls.as_ref(),
            auth.as_ref(),
        );
        Ok(Arc::new(OtlpHttpExporter {
            delivery,
            client: HttpClient::new(tls, settings.timeout),
            urls,
            headers,
            auth,
            encoding: settings.encoding,
            compressor: Compressor::new(settings.compression, &settings.compression_params),
        }))
    }

    /// The request body, encoded and compressed, and its `Content-Encoding`. A protobuf body
    /// is the bytes the payload travels as when it has them (not decoded and encoded again).
    fn body(&self, payload: &Payload) -> Result<(Bytes, Option<HeaderValue>), SendError> {
        let raw = match self.encoding {
            HttpEncoding::Proto => payload.to_wire(),
            HttpEncoding::Json => {
                let decoded = payload
                    .decoded()
                    .map_err(|e| SendError::permanent("decoding", e.to_string(), true))?;
                crate::file::to_otlp_json(&decoded)
                    .map_err(|e| {
                        SendError::permanent(
                            "encoding",
                            format!("cannot encode the request as OTLP/JSON: {e}"),
                            false,
                        )
                    })?
                    .into()
            }
        };
        compress(&self.compressor, raw).map_err(|e| {
            SendError::permanent(
                "encoding",
                format!("cannot compress the request: {e}"),
                false,
            )
        })
    }

    async fn attempt(
        &self,
        signal: Signal,
        url: &Uri,
        body: &Bytes,
        encoding: Option<&HeaderValue>,
        context: &RequestContext,
    ) -> Result<Delivered, SendError> {
        let mut headers = self.headers.clone();
        if let Some(encoding) = encoding {
            headers.insert(CONTENT_ENCODING, encoding.clone());
        }
        if let Some(auth) = &self.auth {
            auth.apply(&mut headers, context);
        }
        let response = self.client.post(url, headers, body.clone()).await?;
        if response.status.is_success() {
            return Ok(partial_success(signal, &response));
        }
        let retryable = matches!(response.status.as_u16(), 429 | 502 | 503 | 504);
        Err(response.error(retryable, server_message(&response)))
    }
}

/// The message of an error answer: `google.rpc.Status.message` from a protobuf or JSON body,
/// else the body text.
fn server_message(response: &HttpResponse) -> String {
    if response.content_type_is("application/x-protobuf")
        || response.content_type_is("application/protobuf")
    {
        if let Ok(status) = RpcStatus::decode(response.body.as_ref())
            && !status.message.is_empty()
        {
            return truncate(&status.message);
        }
    } else if response.content_type_is("application/json") {
        let message = serde_json::from_slice::<serde_json::Value>(&response.body)
            .ok()
            .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned));
        if let Some(message) = message.filter(|m| !m.is_empty()) {
            return truncate(&message);
        }
    }
    response.body_text()
}

/// The partial success of a 2xx answer, from a protobuf or JSON `Export*ServiceResponse`.
/// An empty or unreadable body is a full success.
fn partial_success(signal: Signal, response: &HttpResponse) -> Delivered {
    if response.body.is_empty() {
        return Delivered::full();
    }
    if response.content_type_is("application/json") {
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(&response.body) else {
            return Delivered::full();
        };
        let Some(partial) = value.get("partialSuccess").filter(|p| p.is_object()) else {
            return Delivered::full();
        };
        let field = match signal {
            Signal::Traces => "rejectedSpans",
            Signal::Metrics => "rejectedDataPoints",
            Signal::Logs => "rejectedLogRecords",
        };
        // int64 is a string in OTLP/JSON, but accept a number too.
        let rejected = match partial.get(field) {
            Some(serde_json::Value::Number(n)) => n.as_i64().unwrap_or(0),
            Some(serde_json::Value::String(s)) => s.parse().unwrap_or(0),
            _ => 0,
        };
        let message = partial
            .get("errorMessage")
            .and_then(|m| m.as_str())
            .unwrap_or_default();
        return Delivered::partial(rejected, truncate(message));
    }
    let body = response.body.as_ref();
    let partial = match signal {
        Signal::Traces => ExportTraceServiceResponse::decode(body)
            .ok()
            .and_then(|r| r.partial_success)
            .map(|p| (p.rejected_spans, p.error_message)),
        Signal::Metrics => ExportMetricsServiceResponse::decode(body)
            .ok()
            .and_then(|r| r.partial_success)
            .map(|p| (p.rejected_data_points, p.error_message)),
        Signal::Logs => ExportLogsServiceResponse::decode(body)
            .ok()
            .and_then(|r| r.partial_success)
            .map(|p| (p.rejected_log_records, p.error_message)),
    };
    partial.map_or_else(Delivered::full, |(rejected, message)| {
        Delivered::partial(rejected, truncate(&message))
    })
}

#[async_trait::async_trait]
impl Consumer for OtlpHttpExporter {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        let payload = &batch.payload;
        let (signal, items) = (payload.signal(), payload.item_count());
        let Some(url) = &self.urls[index(signal)] else {
            let error = SendError::permanent(
                "configuration",
                format!("no URL for {signal}: set endpoint or {signal}_endpoint"),
                false,
            );
            return Err(self.delivery.fail_now(signal, items, &error));
        };
        let (body, encoding) = match self.body(payload) {
            Ok(body) => body,
            Err(error) => return Err(self.delivery.fail_now(signal, items, &error)),
        };
        self.delivery
            .deliver(signal, items, || {
                self.attempt(signal, url, &body, encoding.as_ref(), &batch.context)
            })
            .await
    }

    /// A protobuf body is a request's bytes as they are; JSON is written from the decoded form.
    fn wants(&self) -> Form {
        match self.encoding {
            HttpEncoding::Proto => Form::Wire,
            HttpEncoding::Json => Form::Decoded,
        }
    }

    async fn shutdown(&self) {
        self.delivery.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;

    fn response(status: u16, content_type: &str, body: Vec<u8>) -> HttpResponse {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_str(content_type).unwrap());
        HttpResponse {
            status: StatusCode::from_u16(status).unwrap(),
            headers,
            body: body.into(),
        }
    }

    #[test]
    fn partial_success_from_protobuf_and_json() {
        use opentelemetry_proto::tonic::collector::trace::v1::ExportTracePartialSuccess;
        let proto = ExportTraceServiceResponse {
            partial_success: Some(ExportTracePartialSuccess {
                rejected_spans: 2,
                error_message: "two bad spans".into(),
            }),
        }
        .encode_to_vec();
        let got = partial_success(
            Signal::Traces,
            &response(200, "application/x-protobuf", proto),
        );
        assert_eq!(got, Delivered::partial(2, "two bad spans".into()));
        let json = br#"{"partialSuccess":{"rejectedLogRecords":"3","errorMessage":"m"}}"#;
        let got = partial_success(
            Signal::Logs,
            &response(200, "application/json", json.to_vec()),
        );
        assert_eq!(got, Delivered::partial(3, "m".into()));
        let got = partial_success(
            Signal::Logs,
            &response(200, "application/json", b"{}".to_vec()),
        );
        assert_eq!(got, Delivered::full());
    }

    #[test]
    fn server_message_reads_rpc_status_bodies() {
        let status = RpcStatus {
            code: 3,
            message: "bad span id".into(),
            details: vec![],
        }
        .encode_to_vec();
        assert_eq!(
            server_message(&response(400, "application/x-protobuf", status)),
            "bad span id"
        );
        let json = br#"{"code":3,"message":"bad trace id"}"#.to_vec();
        assert_eq!(
            server_message(&response(400, "application/json", json)),
            "bad trace id"
        );
        assert_eq!(
            server_message(&response(400, "text/plain", b" nope \n".to_vec())),
            "nope"
        );
    }

    #[test]
    fn urls_need_http_or_https_and_a_host() {
        assert!(parse_url("https://collector:4318/v1/traces").is_ok());
        assert!(parse_url("http://127.0.0.1:4318").is_ok());
        assert!(parse_url("collector:4318").is_err());
        assert!(parse_url("ftp://collector/x").is_err());
        assert!(parse_url("not a url").is_err());
    }
}
