//! The `loki` exporter: logs to Loki's push API as JSON, for Loki versions without the native
//! OTLP endpoint.
//!
//! The request follows Loki's documented push format (Loki HTTP API, "Ingest logs",
//! <https://grafana.com/docs/loki/latest/reference/loki-http-api/#ingest-logs>):
//! `POST /loki/api/v1/push`, `Content-Type: application/json`, body
//! `{"streams":[{"stream":{"label":"value",...},"values":[["<unix epoch in ns, as a string>","<log line>"],...]}]}`,
//! optionally gzipped with `Content-Encoding: gzip`, and the tenant in `X-Scope-OrgID`.
//!
//! - **Streams.** Labels come from the resource attributes in `labels.resource` and the record
//!   attributes in `labels.attributes` (attribute → label name; an empty name is the attribute
//!   name with every character outside `[a-zA-Z0-9_]` replaced by `_`), plus `level` from the
//!   severity when `labels.level` is on (`trace`, `debug`, `info`, `warn`, `error`, `fatal`,
//!   `unknown`). A record attribute wins over a resource attribute mapped to the same label;
//!   an absent or empty attribute adds no label; a record left with no label at all gets
//!   `exporter="OTLP"` (Loki refuses label-less streams; the Collector's Loki exporter used
//!   the same label).
//! - **Entries.** The line is the body: a string as is, any other value as JSON. The time is
//!   `time_unix_nano`, else `observed_time_unix_nano`, else now. Entries are sorted by time
//!   within each stream. Structured metadata (the optional third element) is not sent: Loki
//!   before 3.0 refuses it unless `allow_structured_metadata` is enabled, and those are the
//!   versions this exporter is for.
//! - **Compression.** `gzip` (the default) is what Loki documents; `zstd` is sent as
//!   configured but Loki may not accept it (a WARN at start-up says so); `none` sends plain JSON.
//! - **Answers.** 2xx delivers. 429 and every 5xx are retried (honouring `Retry-After`), as are
//!   transport failures and the `timeout`; other statuses are permanent (400, e.g. "entry too
//!   far behind", maps to [`sluice_pipeline::ConsumeError::Invalid`]) with Loki's text in the
//!   log.

mod labels;
mod push;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{CONTENT_ENCODING, CONTENT_TYPE, USER_AGENT as USER_AGENT_HEADER};
use http::{HeaderMap, HeaderName, HeaderValue, Uri};
use sluice_config::{ComponentId, Compression, CompressionParams, LokiExporterSettings, Signal};
use sluice_pipeline::metrics::ExporterMetrics;
use sluice_pipeline::{Batch, ConsumeError, Consumer, Payload, RequestContext};

use crate::ExporterError;
use crate::client::auth::{self, ClientAuth};
use crate::client::compression::Compressor;
use crate::client::http::{HttpClient, USER_AGENT, compress};
use crate::client::tls::{ALPN_HTTP, TlsClient};
use crate::client::{header_map, require_runtime};
use crate::otlp::http::parse_url;
use crate::retry::{Delivered, Delivery, SendError};

/// `X-Scope-OrgID`: Loki's tenant header.
const TENANT_HEADER: HeaderName = HeaderName::from_static("x-scope-orgid");

/// `exporters.loki[/name]`.
pub struct LokiExporter {
    delivery: Delivery,
    client: HttpClient,
    url: Uri,
    /// Configured headers, `Content-Type`, `User-Agent`, `X-Scope-OrgID`, `Content-Encoding`.
    headers: HeaderMap,
    auth: Option<ClientAuth>,
    rules: labels::LabelRules,
    compressor: Compressor,
}

impl LokiExporter {
    /// Checks the settings (URL, label names, headers, TLS files) and builds the client;
    /// nothing is dialled until the first export. Must be called inside a tokio runtime.
    /// `auth` is the resolved `auth.authenticator` ([`ClientAuth::from_extension`]); it is
    /// required when the settings name one.
    pub fn new(
        id: &ComponentId,
        settings: &LokiExporterSettings,
        auth: Option<ClientAuth>,
        metrics: ExporterMetrics,
    ) -> Result<Arc<Self>, ExporterError> {
        let exporter = id.to_string();
        require_runtime(&exporter)?;
        let auth = auth::resolve(&exporter, settings.auth.as_ref(), auth)?;
        let url = parse_url(&settings.endpoint).map_err(|reason| ExporterError::Endpoint {
            exporter: exporter.clone(),
            field: "endpoint".into(),
            value: settings.endpoint.clone(),
            reason,
            example: "https://loki:3100/loki/api/v1/push",
        })?;
        if !url.path().ends_with("/push") {
            tracing::warn!(
                exporter = exporter.as_str(),
                endpoint = settings.endpoint.as_str(),
                "the Loki endpoint does not end in /push; Loki's push API is /loki/api/v1/push"
            );
        }
        let rules = labels::LabelRules::new(&exporter, &settings.labels)?;
        let tls = if url.scheme_str() == Some("https") {
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
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(USER_AGENT_HEADER, HeaderValue::from_static(USER_AGENT));
        if let Some(tenant) = settings.tenant_id.as_deref().filter(|t| !t.is_empty()) {
            let value = HeaderValue::from_str(tenant).map_err(|_| ExporterError::Header {
                exporter: exporter.clone(),
                name: "X-Scope-OrgID (tenant_id)".into(),
                reason: "the tenant id has characters a header cannot carry".into(),
            })?;
            headers.insert(TENANT_HEADER, value);
        }
        if let Some(encoding) = settings.compression.encoding() {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static(encoding));
        }
        if settings.compression == Compression::Zstd {
            tracing::warn!(
                exporter = exporter.as_str(),
                "compression: zstd is not documented for Loki's push API; use gzip if Loki \
                 answers 400 or 415"
            );
        }
        let delivery = Delivery::start(
            &exporter,
            &settings.retry_on_failure,
            metrics,
            tls.as_ref(),
            auth.as_ref(),
        );
        Ok(Arc::new(LokiExporter {
            delivery,
            client: HttpClient::new(tls, settings.timeout),
            url,
            headers,
            auth,
            rules,
            compressor: Compressor::new(settings.compression, &CompressionParams::default()),
        }))
    }

    async fn attempt(
        &self,
        body: &Bytes,
        context: &RequestContext,
    ) -> Result<Delivered, SendError> {
        let mut headers = self.headers.clone();
        if let Some(auth) = &self.auth {
            auth.apply(&mut headers, context);
        }
        let response = self.client.post(&self.url, headers, body.clone()).await?;
        if response.status.is_success() {
            return Ok(Delivered::full());
        }
        let status = response.status.as_u16();
        let retryable = status == 429 || response.status.is_server_error();
        Err(response.error(retryable, response.body_text()))
    }
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

#[async_trait::async_trait]
impl Consumer for LokiExporter {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        let payload = &batch.payload;
        let (signal, items) = (payload.signal(), payload.item_count());
        let decoded = match payload.decoded() {
            Ok(decoded) => decoded,
            Err(e) => {
                let error = SendError::permanent("decoding", e.to_string(), true);
                return Err(self.delivery.fail_now(signal, items, &error));
            }
        };
        let Payload::Logs(request) = &*decoded else {
            let error = SendError::permanent(
                "configuration",
                format!("the loki exporter takes logs only, not {signal}"),
                true,
            );
            return Err(self.delivery.fail_now(signal, items, &error));
        };
        if items == 0 {
            return Ok(());
        }
        let push = push::push_request(request, &self.rules, now_ns());
        let body = serde_json::to_vec(&push)
            .map_err(|e| format!("cannot encode the push request: {e}"))
            .and_then(|json| {
                compress(&self.compressor, json.into())
                    .map(|(body, _)| body)
                    .map_err(|e| format!("cannot compress the push request: {e}"))
            });
        let body = match body {
            Ok(body) => body,
            Err(message) => {
                let error = SendError::permanent("encoding", message, false);
                return Err(self.delivery.fail_now(Signal::Logs, items, &error));
            }
        };
        self.delivery
            .deliver(Signal::Logs, items, || self.attempt(&body, &batch.context))
            .await
    }

    async fn shutdown(&self) {
        self.delivery.shutdown();
    }
}
