//! The `prometheusremotewrite` exporter's sender: Prometheus remote write 1.0
//! (<https://prometheus.io/docs/specs/prw/remote_write_spec/>) over the network exporters'
//! HTTP client.
//!
//! [`sluice_prometheus::RemoteWriteEncoder`] turns each metrics export into snappy-compressed
//! `prometheus.WriteRequest` bodies (split at `max_batch_size_bytes`, samples first, then
//! metadata with `send_metadata`) and the headers every request carries; this module sends
//! them.
//!
//! - **Where.** Every body is POSTed to `endpoint`. `https://` uses TLS from `tls`
//!   ([`sluice_tls::client_config`], ALPN `h2` and `http/1.1`, reloaded every
//!   `tls.reload_interval`); `http://` is plaintext HTTP/1.1.
//! - **Headers.** The encoder's: `Content-Encoding: snappy`, `Content-Type:
//!   application/x-protobuf`, `X-Prometheus-Remote-Write-Version: 0.1.0`, `User-Agent`, then the
//!   configured `headers` (a configured header that would replace one of the three required
//!   ones is ignored with a WARN at start), then the `auth` header (which replaces a configured
//!   one of the same name).
//! - **Order.** The bodies of one export are sent one at a time, in order; the next is sent
//!   only when the previous was accepted. A retry resumes at the body that failed: bodies the
//!   receiver already accepted are not sent again within the call.
//! - **Answers.** 2xx accepts a body. 5xx and 429 are retried as `retry_on_failure` says,
//!   honouring `Retry-After` (the specification's rule, [`is_retryable`]), as are transport
//!   failures and the `timeout` (per request). Any other status is permanent: 400 maps to
//!   [`ConsumeError::Invalid`], others (401, 403, 404, 413, …) to [`ConsumeError::Internal`],
//!   with the receiver's text in the ERROR line and the error. When an export has several
//!   bodies the message says which one failed and how many were accepted before it.
//! - **Counting.** As the other network exporters (the table in the crate docs), with the
//!   export's data points as the items: `sent` += points when every body was accepted; each
//!   retry counts the points as `retried`; a permanent failure or giving up counts them as
//!   `failed`, even when earlier bodies of the export were accepted (as the Collector, which
//!   fails the whole export). Points the encoder could not translate
//!   ([`Encoded::dropped_points`](sluice_prometheus::remote_write::Encoded::dropped_points):
//!   delta or unspecified temporality, no value, no usable name) are never sent: they count as
//!   `failed` (the rest of the export is still sent, and a fully delivered export returns
//!   `Ok`, like a partial success), with one WARN per exporter (the encoder also logs each
//!   metric's reason once).
//! - **Shutdown.** As `otlphttp`: a wait for a retry ends at once with
//!   [`ConsumeError::Refused`] and nothing counted (the dropped points neither: they are counted
//!   when the queue hands the batch over again); later calls are refused. The queue keeps a
//!   refused batch and sends it again whole, so bodies accepted before the refusal reach the
//!   receiver twice (remote-write receivers ignore a sample identical to one they hold).
//!
//! Only metrics are accepted: traces and logs fail with [`ConsumeError::Invalid`] (and count
//! as failed).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use bytes::Bytes;
use sluice_config::{ComponentId, RemoteWriteExporterSettings, Signal};
use sluice_pipeline::metrics::ExporterMetrics;
use sluice_pipeline::{Batch, ConsumeError, Consumer, Payload, RequestContext};
use sluice_prometheus::PromError;
use sluice_prometheus::RemoteWriteEncoder;
use sluice_prometheus::remote_write::is_retryable;

use crate::ExporterError;
use crate::client::auth::{self, ClientAuth};
use crate::client::http::HttpClient;
use crate::client::require_runtime;
use crate::client::tls::{ALPN_HTTP, TlsClient};
use crate::retry::{Delivered, Delivery, SendError};

/// How a remote-write endpoint is written, for errors.
const URL_EXAMPLE: &str = "https://prometheus:9090/api/v1/write";

/// `exporters.prometheusremotewrite[/name]`: sends metrics as Prometheus remote write 1.0.
/// See the [module docs](self) for the requests, answers and counting.
pub struct RemoteWriteExporter {
    delivery: Delivery,
    client: HttpClient,
    /// Bodies, the endpoint, and every header but `auth`'s.
    encoder: RemoteWriteEncoder,
    auth: Option<ClientAuth>,
    /// For the points the encoder dropped (the delivered and failed batches are counted by
    /// `delivery`).
    metrics: ExporterMetrics,
    /// Whether the WARN about dropped points was logged.
    warned_dropped: AtomicBool,
}

impl RemoteWriteExporter {
    /// Checks the settings (endpoint, headers, `translation_strategy`, TLS files) and builds the
    /// client; nothing is dialled until the first export. Must be called inside a tokio
    /// runtime. `auth` is the resolved `auth.authenticator` ([`ClientAuth::from_extension`]);
    /// it is required when the settings name one.
    pub fn new(
        id: &ComponentId,
        settings: &RemoteWriteExporterSettings,
        auth: Option<ClientAuth>,
        metrics: ExporterMetrics,
    ) -> Result<Arc<Self>, ExporterError> {
        let exporter = id.to_string();
        require_runtime(&exporter)?;
        let auth = auth::resolve(&exporter, settings.auth.as_ref(), auth)?;
        let encoder = RemoteWriteEncoder::new(&exporter, settings)
            .map_err(|error| encoder_error(&exporter, error))?;
        let tls = if encoder.endpoint().scheme_str() == Some("https") {
            Some(TlsClient::load(
                &settings.tls,
                &format!("exporters.{exporter}.tls"),
                ALPN_HTTP,
            )?)
        } else {
            crate::client::tls::warn_if_unused(&exporter, &settings.tls);
            None
        };
        let delivery = Delivery::start(
            &exporter,
            &settings.retry_on_failure,
            metrics.clone(),
            tls.as_ref(),
            auth.as_ref(),
        );
        Ok(Arc::new(RemoteWriteExporter {
            delivery,
            client: HttpClient::new(tls, settings.timeout),
            encoder,
            auth,
            metrics,
            warned_dropped: AtomicBool::new(false),
        }))
    }

    /// Sends the bodies from `next` on, one at a time, advancing `next` past each accepted
    /// one; a retry calls this again and resumes at the body that failed.
    async fn attempt(
        &self,
        bodies: &[Bytes],
        next: &AtomicUsize,
        context: &RequestContext,
    ) -> Result<Delivered, SendError> {
        loop {
            let index = next.load(Ordering::Acquire);
            let Some(body) = bodies.get(index) else {
                return Ok(Delivered::full());
            };
            self.post(body, context)
                .await
                .map_err(|error| in_context(error, index, bodies.len()))?;
            next.store(index + 1, Ordering::Release);
        }
    }

    /// One POST of one body.
    async fn post(&self, body: &Bytes, context: &RequestContext) -> Result<(), SendError> {
        let mut headers = self.encoder.headers().clone();
        if let Some(auth) = &self.auth {
            auth.apply(&mut headers, context);
        }
        let response = self
            .client
            .post(self.encoder.endpoint(), headers, body.clone())
            .await?;
        if response.status.is_success() {
            return Ok(());
        }
        Err(response.error(is_retryable(response.status), response.body_text()))
    }

    /// Counts the points the encoder dropped as failed; the first time, says so at WARN.
    fn count_dropped(&self, dropped: usize) {
        if dropped == 0 {
            return;
        }
        self.metrics.failed(Signal::Metrics, dropped);
        if !self.warned_dropped.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                exporter = self.delivery.exporter(),
                signal = %Signal::Metrics,
                items = dropped,
                "data points that remote write cannot carry were dropped and counted as failed \
                 (the reason is logged once per metric); later drops are counted without this \
                 message"
            );
        }
    }
}

/// The encoder's start-up errors as the other exporters word them (endpoint and headers);
/// anything else as is.
fn encoder_error(exporter: &str, error: PromError) -> ExporterError {
    match error {
        PromError::InvalidEndpoint {
            endpoint, reason, ..
        } => ExporterError::Endpoint {
            exporter: exporter.to_owned(),
            field: "endpoint".into(),
            value: endpoint,
            reason,
            example: URL_EXAMPLE,
        },
        PromError::InvalidHeader { name, reason, .. } => ExporterError::Header {
            exporter: exporter.to_owned(),
            name,
            reason,
        },
        other => ExporterError::RemoteWrite(other),
    }
}

/// `error` of body `index` (0-based) of `count`, saying which body failed when there are
/// several.
fn in_context(mut error: SendError, index: usize, count: usize) -> SendError {
    if count > 1 {
        let position = match index {
            0 => format!("request 1 of {count}"),
            1 => format!("request 2 of {count}; the one before it was accepted"),
            n => format!(
                "request {} of {count}; the {n} before it were accepted",
                n + 1
            ),
        };
        error.message = if error.message.is_empty() {
            position
        } else {
            format!("{} ({position})", error.message)
        };
    }
    error
}

#[async_trait::async_trait]
impl Consumer for RemoteWriteExporter {
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
        let Payload::Metrics(request) = &*decoded else {
            let error = SendError::permanent(
                "configuration",
                format!(
                    "the prometheusremotewrite exporter takes metrics only, not {signal}; \
                     remove it from the {signal} pipeline"
                ),
                true,
            );
            return Err(self.delivery.fail_now(signal, items, &error));
        };
        let encoded = match self.encoder.encode(request) {
            Ok(encoded) => encoded,
            Err(error) => {
                let error = SendError::permanent("encoding", error.to_string(), false);
                return Err(self.delivery.fail_now(signal, items, &error));
            }
        };
        let dropped = encoded.dropped_points.min(items);
        let bodies: Vec<Bytes> = encoded.bodies.into_iter().map(Bytes::from).collect();
        let next = AtomicUsize::new(0);
        // With no body (everything dropped, or an empty export) this still goes through
        // `deliver`, so that a call after shutdown is refused like any other.
        let result = self
            .delivery
            .deliver(signal, items - dropped, || {
                self.attempt(&bodies, &next, &batch.context)
            })
            .await;
        if !matches!(result, Err(ConsumeError::Refused { .. })) {
            self.count_dropped(dropped);
        }
        result
    }

    async fn shutdown(&self) {
        self.delivery.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_say_which_of_several_requests_failed() {
        let error = || SendError::permanent("HTTP 400 Bad Request", "out of order sample", true);
        assert_eq!(in_context(error(), 0, 1).message, "out of order sample");
        assert_eq!(
            in_context(error(), 0, 3).message,
            "out of order sample (request 1 of 3)"
        );
        assert_eq!(
            in_context(error(), 1, 3).message,
            "out of order sample (request 2 of 3; the one before it was accepted)"
        );
        assert_eq!(
            in_context(error(), 2, 3).message,
            "out of order sample (request 3 of 3; the 2 before it were accepted)"
        );
        let empty = SendError::retryable("HTTP 503 Service Unavailable", "", None);
        assert_eq!(
            in_context(empty, 1, 2).message,
            "request 2 of 2; the one before it was accepted"
        );
    }
}
