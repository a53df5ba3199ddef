//! The `otlp` exporter (also `otlp_grpc`): OTLP over gRPC with tonic, as the Collector's
//! `otlpexporter`.
//!
//! - **Endpoint.** `host:port` uses TLS unless `tls.insecure: true`; `https://host:port` always
//!   uses TLS; `http://host:port` is plaintext HTTP/2 (h2c). Without a port, 443 (TLS) or 80.
//!   Other schemes (`dns:///`, `unix://`) are refused at start-up.
//! - **TLS.** rustls from [`sluice_tls::client_config`] with ALPN `h2`: `ca_file` (else the
//!   system roots), `cert_file`/`key_file` for mTLS, `insecure_skip_verify`,
//!   `server_name_override`, `min_version`/`max_version`, and `reload_interval` (new
//!   connections use re-read files).
//! - **Connection.** Made lazily on the first export and re-made after a failure, so an
//!   unreachable backend at start-up only shows as retried exports.
//! - **Calls.** The request is sent as the protobuf bytes the batch travels as (encoded once
//!   per batch when it travels decoded), never re-encoded per attempt. `headers` and the
//!   `auth` header travel as metadata; `compression` (gzip by default, zstd, none) and
//!   `compression_params.level` compress requests (by Sluice, see [`super::grpc_compression`]:
//!   tonic's gzip has a fixed level); `timeout` is each call's deadline (also sent as
//!   `grpc-timeout`); `authority` overrides `:authority`.
//! - **Answers.** Retryable codes as the Collector and the OTLP specification: `Cancelled`,
//!   `DeadlineExceeded`, `Aborted`, `OutOfRange`, `Unavailable`, `DataLoss`, and
//!   `ResourceExhausted` only when the server sent `google.rpc.RetryInfo` (without it the
//!   condition is not expected to pass, e.g. a message over the server's size limit). A
//!   `RetryInfo` delay is honoured (see [`crate::retry`]). Every other code is permanent;
//!   `InvalidArgument` maps to [`sluice_pipeline::ConsumeError::Invalid`]. A partial success
//!   is logged at WARN and its rejected items count as failed.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;
use http::uri::{Authority, PathAndQuery, Uri};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use sluice_config::{ComponentId, OtlpGrpcExporterSettings, Signal};
use sluice_pipeline::metrics::ExporterMetrics;
use sluice_pipeline::{Batch, ConsumeError, Consumer, Form, RequestContext};
use tonic::GrpcMethod;
use tonic::client::Grpc;
use tonic::codec::CompressionEncoding;
use tonic::metadata::MetadataMap;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};

use super::grpc_compression::Compressing;
use super::raw::RawCodec;
use crate::ExporterError;
use crate::client::auth::{self, ClientAuth};
use crate::client::compression::Compressor;
use crate::client::connector::{Connector, TlsMode};
use crate::client::http::{USER_AGENT, error_chain};
use crate::client::rpc_status::retry_delay;
use crate::client::tls::{ALPN_H2, TlsClient};
use crate::client::{header_map, require_runtime};
use crate::retry::{Delivered, Delivery, SendError};

const ENDPOINT_EXAMPLE: &str = "collector:4317, https://collector:4317 or http://collector:4317";

/// `exporters.otlp[/name]`.
pub struct OtlpGrpcExporter {
    delivery: Delivery,
    channel: Channel,
    /// `https://host:port` or `http://host:port`, for messages.
    target: String,
    metadata: HeaderMap,
    auth: Option<ClientAuth>,
    compressor: Arc<Compressor>,
    timeout: Duration,
}

/// Where and how to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    tls: bool,
    /// `host:port` (IPv6 hosts in brackets).
    authority: String,
}

/// The Collector's rule: a scheme decides; without one, TLS unless `insecure`.
fn parse_endpoint(endpoint: &str, insecure: bool) -> Result<Target, String> {
    let endpoint = endpoint.trim();
    let (scheme_tls, rest) = if let Some(rest) = endpoint.strip_prefix("https://") {
        (Some(true), rest)
    } else if let Some(rest) = endpoint.strip_prefix("http://") {
        (Some(false), rest)
    } else if let Some((scheme, _)) = endpoint.split_once("://") {
        return Err(format!(
            "the {scheme}:// scheme is not supported (only http:// and https://)"
        ));
    } else {
        (None, endpoint)
    };
    let rest = rest.trim_end_matches('/');
    if rest.is_empty() {
        return Err("no host given".into());
    }
    if rest.contains('/') {
        return Err("a gRPC endpoint has no path".into());
    }
    if rest.contains('@') {
        return Err("credentials in the endpoint are not supported (use auth)".into());
    }
    let authority: Authority = rest.parse().map_err(|_| "not a host:port".to_owned())?;
    let tls = scheme_tls.unwrap_or(!insecure);
    let port = authority.port_u16().unwrap_or(if tls { 443 } else { 80 });
    Ok(Target {
        tls,
        authority: format!("{}:{port}", authority.host()),
    })
}

impl OtlpGrpcExporter {
    /// Checks the settings and prepares a lazy channel; nothing is dialled until the first
    /// export, so an unreachable backend is not an error here. Must be called inside a tokio
    /// runtime (TLS `reload_interval` and bearer token files are re-read in the background).
    /// `auth` is the resolved `auth.authenticator` ([`ClientAuth::from_extension`]); it is
    /// required when the settings name one.
    pub fn new(
        id: &ComponentId,
        settings: &OtlpGrpcExporterSettings,
        auth: Option<ClientAuth>,
        metrics: ExporterMetrics,
    ) -> Result<Arc<Self>, ExporterError> {
        let exporter = id.to_string();
        require_runtime(&exporter)?;
        let auth = auth::resolve(&exporter, settings.auth.as_ref(), auth)?;
        let endpoint_error = |field: &str, value: &str, reason: String| ExporterError::Endpoint {
            exporter: exporter.clone(),
            field: field.to_owned(),
            value: value.to_owned(),
            reason,
            example: ENDPOINT_EXAMPLE,
        };
        let target = parse_endpoint(&settings.endpoint, settings.tls.insecure)
            .map_err(|reason| endpoint_error("endpoint", &settings.endpoint, reason))?;
        let tls = if target.tls {
            Some(TlsClient::load(
                &settings.tls,
                &format!("exporters.{exporter}.tls"),
                ALPN_H2,
            )?)
        } else {
            crate::client::tls::warn_if_unused(&exporter, &settings.tls);
            None
        };
        let scheme = if target.tls { "https" } else { "http" };
        let origin_authority = settings
            .authority
            .as_deref()
            .filter(|a| !a.is_empty())
            .unwrap_or(&target.authority);
        let origin: Uri = format!("{scheme}://{origin_authority}")
            .parse()
            .map_err(|_| ExporterError::Endpoint {
                exporter: exporter.clone(),
                field: "authority".into(),
                value: origin_authority.to_owned(),
                reason: "not a valid :authority".into(),
                example: "collector.example.com:4317",
            })?;
        // The channel's own URI is always http://: the connector decides about TLS, and tonic
        // must not try TLS of its own. `origin` sets the :scheme and :authority of requests.
        let channel = Endpoint::from_shared(format!("http://{}", target.authority))
            .and_then(|e| e.user_agent(USER_AGENT))
            .map_err(|e| endpoint_error("endpoint", &settings.endpoint, e.to_string()))?
            .origin(origin)
            .connect_with_connector_lazy(Connector::new(
                tls.clone(),
                if target.tls {
                    TlsMode::Always
                } else {
                    TlsMode::Never
                },
                settings.timeout,
            ));
        let metadata = header_map(&exporter, &settings.headers)?;
        let delivery = Delivery::start(
            &exporter,
            &settings.retry_on_failure,
            metrics,
            tls.as_ref(),
            auth.as_ref(),
        );
        Ok(Arc::new(OtlpGrpcExporter {
            delivery,
            channel,
            target: format!("{scheme}://{}", target.authority),
            metadata,
            auth,
            compressor: Arc::new(Compressor::new(
                settings.compression,
                &settings.compression_params,
            )),
            timeout: settings.timeout,
        }))
    }

    /// The request with the configured metadata, the auth header and the deadline.
    fn request<T>(&self, message: T, context: &RequestContext) -> tonic::Request<T> {
        let mut headers = self.metadata.clone();
        if let Some(auth) = &self.auth {
            auth.apply(&mut headers, context);
        }
        let mut request = tonic::Request::from_parts(
            MetadataMap::from_headers(headers),
            tonic::Extensions::default(),
            message,
        );
        request.set_timeout(self.timeout);
        request
    }

    /// One `Export` call sending `body`, the request of `signal` as protobuf.
    async fn attempt(
        &self,
        signal: Signal,
        body: &Bytes,
        context: &RequestContext,
    ) -> Result<Delivered, SendError> {
        let call = async {
            let delivered = match signal {
                Signal::Traces => {
                    let answer: ExportTraceServiceResponse =
                        self.export(signal, body, context).await?;
                    answer.partial_success.map_or_else(Delivered::full, |p| {
                        Delivered::partial(p.rejected_spans, p.error_message)
                    })
                }
                Signal::Metrics => {
                    let answer: ExportMetricsServiceResponse =
                        self.export(signal, body, context).await?;
                    answer.partial_success.map_or_else(Delivered::full, |p| {
                        Delivered::partial(p.rejected_data_points, p.error_message)
                    })
                }
                Signal::Logs => {
                    let answer: ExportLogsServiceResponse =
                        self.export(signal, body, context).await?;
                    answer.partial_success.map_or_else(Delivered::full, |p| {
                        Delivered::partial(p.rejected_log_records, p.error_message)
                    })
                }
            };
            Ok::<_, Status>(delivered)
        };
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(delivered)) => Ok(delivered),
            Ok(Err(status)) => Err(classify(&status, &self.target)),
            Err(_) => Err(SendError::retryable(
                "gRPC DeadlineExceeded",
                format!(
                    "no answer from {} within {} (timeout)",
                    self.target,
                    humantime::format_duration(self.timeout)
                ),
                None,
            )),
        }
    }
}

impl OtlpGrpcExporter {
    /// The unary `Export` call of `signal` with the request bytes, as the generated clients
    /// make it, answered by an `R`.
    async fn export<R>(
        &self,
        signal: Signal,
        body: &Bytes,
        context: &RequestContext,
    ) -> Result<R, Status>
    where
        R: prost::Message + Default + Send + Sync + 'static,
    {
        let channel = Compressing::new(self.channel.clone(), self.compressor.clone());
        let mut grpc = Grpc::new(channel)
            .accept_compressed(CompressionEncoding::Gzip)
            .accept_compressed(CompressionEncoding::Zstd);
        grpc.ready()
            .await
            .map_err(|e| Status::unknown(format!("Service was not ready: {e}")))?;
        let (service, method) = service_method(signal);
        let mut request = self.request(body.clone(), context);
        request
            .extensions_mut()
            .insert(GrpcMethod::new(service, method));
        let path = PathAndQuery::from_static(path(signal));
        let answer = grpc.unary(request, path, RawCodec::<R>::default()).await?;
        Ok(answer.into_inner())
    }
}

/// The gRPC path of a signal's `Export` method.
fn path(signal: Signal) -> &'static str {
    match signal {
        Signal::Traces => "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        Signal::Metrics => "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
        Signal::Logs => "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
    }
}

fn service_method(signal: Signal) -> (&'static str, &'static str) {
    let service = match signal {
        Signal::Traces => "opentelemetry.proto.collector.trace.v1.TraceService",
        Signal::Metrics => "opentelemetry.proto.collector.metrics.v1.MetricsService",
        Signal::Logs => "opentelemetry.proto.collector.logs.v1.LogsService",
    };
    (service, "Export")
}

/// Retryable or permanent, as the Collector's `otlpexporter` (`shouldRetry`).
///
/// A status made on this side from a transport failure (it has a source error: a reset
/// connection, a TLS alert after the handshake) is `Unavailable`, whatever code tonic gave it,
/// as grpc-go reports such failures; a status the server sent has no source.
fn classify(status: &Status, target: &str) -> SendError {
    use std::error::Error as _;
    let (code, message) = match status.source() {
        Some(source) => {
            let chain = error_chain(source);
            let chain = chain
                .strip_prefix("transport error: ")
                .map_or(chain.clone(), str::to_owned);
            let own = status.message();
            let message = if own.is_empty() || own == "transport error" || chain.contains(own) {
                chain
            } else {
                format!("{own}: {chain}")
            };
            let code = match status.code() {
                Code::Unknown | Code::Internal => Code::Unavailable,
                code => code,
            };
            (code, message)
        }
        None => (status.code(), status.message().to_owned()),
    };
    let hint = retry_delay(status.details());
    let name = format!("gRPC {code:?}");
    let message = if code == Code::Unavailable && !message.contains(target) {
        format!("{target}: {message}")
    } else {
        message
    };
    match code {
        Code::Cancelled
        | Code::DeadlineExceeded
        | Code::Aborted
        | Code::OutOfRange
        | Code::Unavailable
        | Code::DataLoss => SendError::retryable(name, message, hint),
        Code::ResourceExhausted if hint.is_some() => SendError::retryable(name, message, hint),
        Code::InvalidArgument => SendError::permanent(name, message, true),
        _ => SendError::permanent(name, message, false),
    }
}

#[async_trait::async_trait]
impl Consumer for OtlpGrpcExporter {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        let payload = &batch.payload;
        let (signal, items) = (payload.signal(), payload.item_count());
        // Once per batch, not per attempt: the bytes it travels as, or its encoding.
        let body = payload.to_wire();
        self.delivery
            .deliver(signal, items, || {
                self.attempt(signal, &body, &batch.context)
            })
            .await
    }

    /// Sends a request's bytes as they are.
    fn wants(&self) -> Form {
        Form::Wire
    }

    async fn shutdown(&self) {
        self.delivery.shutdown();
        tracing::debug!(
            exporter = self.delivery.exporter(),
            "exporter shut down; retry waits ended"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_follows_the_collector_rule() {
        let t = |e: &str, insecure: bool| parse_endpoint(e, insecure).unwrap();
        assert_eq!(
            t("collector:4317", false),
            Target {
                tls: true,
                authority: "collector:4317".into()
            }
        );
        assert!(!t("collector:4317", true).tls);
        assert!(t("https://collector:4317", true).tls);
        assert!(!t("http://collector:4317", false).tls);
        assert_eq!(t("https://collector", false).authority, "collector:443");
        assert_eq!(t("http://[::1]:4317/", false).authority, "[::1]:4317");
        for bad in [
            "dns:///collector:4317",
            "unix:///tmp/s",
            "",
            "http://",
            "host:4317/v1",
        ] {
            assert!(parse_endpoint(bad, false).is_err(), "{bad}");
        }
    }

    #[test]
    fn resource_exhausted_is_retried_only_with_retry_info() {
        let plain = Status::resource_exhausted("too big");
        assert!(matches!(
            classify(&plain, "x").verdict,
            crate::retry::Verdict::Permanent { invalid: false }
        ));
        let details = crate::client::rpc_status::status_with_retry_info(
            8,
            "slow down",
            Duration::from_secs(2),
        );
        let hinted = Status::with_details(Code::ResourceExhausted, "slow down", details.into());
        assert_eq!(
            classify(&hinted, "x").verdict,
            crate::retry::Verdict::Retryable {
                after: Some(Duration::from_secs(2))
            }
        );
        assert!(matches!(
            classify(&Status::invalid_argument("bad"), "x").verdict,
            crate::retry::Verdict::Permanent { invalid: true }
        ));
    }
}
