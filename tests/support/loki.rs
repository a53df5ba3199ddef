//! A stand-in for Grafana Loki (which cannot be installed on these machines): a [`Backend`] that
//! checks every request against Loki's documented HTTP API and answers as Loki does.
//!
//! - Push API (`POST /loki/api/v1/push`, <https://grafana.com/docs/loki/latest/reference/loki-http-api/#ingest-logs>):
//!   `Content-Type: application/json` (optionally gzip-encoded), body
//!   `{"streams":[{"stream":{"label":"value"},"values":[["<unix ns>","<line>",{metadata}?]]}]}`.
//!   Every stream needs at least one label; label names match `[a-zA-Z_][a-zA-Z0-9_]*`;
//!   timestamps are nanosecond integers written as strings; the optional third element is
//!   structured metadata (string → string). Success is `204 No Content`; a malformed push is
//!   `400` with the reason.
//! - Native OTLP (`POST /otlp/v1/logs`, Loki 3.0+): OTLP/HTTP protobuf or JSON; `204` as well.
//! - `X-Scope-OrgID` selects the tenant when Loki runs multi-tenant; [`Loki::start`] can require it.

use anyhow::{Result, anyhow, bail};
use bytes::Bytes;
use http::StatusCode;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use prost::Message;
use serde_json::Value;

use crate::backend::{Backend, Recorded};

/// One stream of a validated push: its labels and `(ns, line)` entries in arrival order.
#[derive(Debug, Clone, PartialEq)]
pub struct Stream {
    pub labels: std::collections::BTreeMap<String, String>,
    pub entries: Vec<(u128, String)>,
}

/// A Loki stand-in. `require_tenant`: refuse pushes without `X-Scope-OrgID` (401, as Loki's
/// `auth_enabled: true` does).
pub struct Loki {
    pub backend: Backend,
}

impl Loki {
    pub async fn start(require_tenant: bool) -> Result<Loki> {
        let backend = Backend::start().await?;
        Loki::answer_like_loki(&backend, require_tenant);
        Ok(Loki { backend })
    }

    pub async fn start_tls(
        cert: &std::path::Path,
        key: &std::path::Path,
        require_tenant: bool,
    ) -> Result<Loki> {
        let backend = Backend::start_tls(cert, key).await?;
        Loki::answer_like_loki(&backend, require_tenant);
        Ok(Loki { backend })
    }

    fn answer_like_loki(backend: &Backend, require_tenant: bool) {
        backend.respond(move |request| {
            if require_tenant && request.header("x-scope-orgid").is_none() {
                return (
                    StatusCode::UNAUTHORIZED,
                    Vec::new(),
                    Bytes::from("no org id\n"),
                );
            }
            let checked = match request.path.as_str() {
                "/loki/api/v1/push" => check_push(request).map(drop),
                "/otlp/v1/logs" => check_otlp(request).map(drop),
                other => Err(anyhow!("404 page not found: {other}")),
            };
            match checked {
                Ok(()) => (StatusCode::NO_CONTENT, Vec::new(), Bytes::new()),
                Err(e) if e.to_string().starts_with("404") => (
                    StatusCode::NOT_FOUND,
                    Vec::new(),
                    Bytes::from(e.to_string()),
                ),
                Err(e) => (
                    StatusCode::BAD_REQUEST,
                    Vec::new(),
                    Bytes::from(format!("{e:#}\n")),
                ),
            }
        });
    }

    /// Every valid push so far, flattened into streams (one per push and label set).
    pub fn streams(&self) -> Vec<Stream> {
        self.backend
            .requests()
            .iter()
            .filter(|r| r.path == "/loki/api/v1/push")
            .filter_map(|r| check_push(r).ok())
            .flatten()
            .collect()
    }
}

/// Validate a push request as Loki would and return its streams.
pub fn check_push(request: &Recorded) -> Result<Vec<Stream>> {
    if request.method != http::Method::POST {
        bail!("push must be POST, got {}", request.method);
    }
    let content_type = request.header("content-type").unwrap_or_default();
    if !content_type.starts_with("application/json") {
        bail!("this stand-in checks JSON pushes; got Content-Type {content_type:?}");
    }
    let body: Value =
        serde_json::from_slice(&request.body).map_err(|e| anyhow!("body is not JSON: {e}"))?;
    let streams = body
        .get("streams")
        .and_then(Value::as_array)
        .ok_or_else(|| anyhow!("missing \"streams\" array"))?;
    streams.iter().map(check_stream).collect()
}

fn check_stream(stream: &Value) -> Result<Stream> {
    let labels = stream
        .get("stream")
        .and_then(Value::as_object)
        .ok_or_else(|| anyhow!("stream without a \"stream\" label object"))?;
    if labels.is_empty() {
        bail!("error at least one label pair is required per stream");
    }
    let mut out = Stream {
        labels: Default::default(),
        entries: Vec::new(),
    };
    for (name, value) in labels {
        let valid = name
            .chars()
            .enumerate()
            .all(|(i, c)| c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()));
        if name.is_empty() || !valid {
            bail!("invalid label name {name:?}");
        }
        let value = value
            .as_str()
            .ok_or_else(|| anyhow!("label {name:?} has a non-string value"))?;
        out.labels.insert(name.clone(), value.to_owned());
    }
    let values = stream
        .get("values")
        .and_then(Value::as_array)
        .ok_or_else(|| anyhow!("stream without a \"values\" array"))?;
    for entry in values {
        let parts = entry
            .as_array()
            .ok_or_else(|| anyhow!("an entry is not an array"))?;
        if !(2..=3).contains(&parts.len()) {
            bail!(
                "an entry has {} elements, expected [ts, line] or [ts, line, metadata]",
                parts.len()
            );
        }
        let ts = parts[0]
            .as_str()
            .ok_or_else(|| anyhow!("timestamp must be a string of nanoseconds"))?
            .parse::<u128>()
            .map_err(|e| anyhow!("timestamp is not an integer: {e}"))?;
        let line = parts[1]
            .as_str()
            .ok_or_else(|| anyhow!("log line must be a string"))?;
        if let Some(metadata) = parts.get(2) {
            let metadata = metadata
                .as_object()
                .ok_or_else(|| anyhow!("structured metadata must be an object"))?;
            if metadata.values().any(|v| !v.is_string()) {
                bail!("structured metadata values must be strings");
            }
        }
        out.entries.push((ts, line.to_owned()));
    }
    Ok(out)
}

/// Validate an OTLP logs request to Loki's native endpoint.
pub fn check_otlp(request: &Recorded) -> Result<ExportLogsServiceRequest> {
    let content_type = request.header("content-type").unwrap_or_default();
    match content_type {
        "application/x-protobuf" => Ok(ExportLogsServiceRequest::decode(&request.body[..])?),
        "application/json" => Ok(serde_json::from_slice(&request.body)?),
        other => bail!("unsupported Content-Type {other:?}"),
    }
}
