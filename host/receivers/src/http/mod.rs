//! `protocols.http`: OTLP/HTTP as the Collector's receiver serves it.
//!
//! One handler owns the whole URL space, so the configured paths are matched exactly (no route
//! syntax to escape) and every answer follows the Collector: unknown path 404, wrong method 405
//! with `Allow: POST`, unknown content type 415, bad body 400 with a `google.rpc.Status`,
//! oversized body 413, refused 503 with `Retry-After`, no pipeline for the signal 404.

mod body;
pub(crate) mod codec;
mod cors;
mod otlp_json;
mod routes;
pub(crate) mod status;

use std::sync::Arc;

use http::{HeaderMap, HeaderName, HeaderValue};
use sluice_config::{HttpServerSettings, Signal};

use crate::auth::Gate;
use crate::error::ReceiverError;
use crate::ingest::Ingest;

/// What every request of one HTTP listener shares.
struct State {
    ingest: Ingest,
    gate: Gate,
    /// URL path of each signal.
    paths: Vec<(String, Signal)>,
    max_body: usize,
    response_headers: HeaderMap,
    cors: Option<cors::Cors>,
}

impl State {
    fn signal_for(&self, path: &str) -> Option<Signal> {
        self.paths.iter().find(|(p, _)| p == path).map(|(_, s)| *s)
    }
}

/// `max_request_body_size` in bytes; 0 means the default (20 MiB), as in the Collector.
fn max_body(configured: u64) -> usize {
    let bytes = if configured == 0 {
        HttpServerSettings::default().max_request_body_size
    } else {
        configured
    };
    usize::try_from(bytes).unwrap_or(usize::MAX)
}

/// The router of the HTTP listener of the protocol at `path` (`receivers.otlp.protocols.http`).
pub(crate) fn router(
    settings: &HttpServerSettings,
    ingest: Ingest,
    gate: Gate,
    path: &str,
) -> Result<axum::Router, ReceiverError> {
    let mut paths: Vec<(String, Signal)> = Vec::new();
    for (signal, field, value) in [
        (Signal::Traces, "traces_url_path", &settings.traces_url_path),
        (
            Signal::Metrics,
            "metrics_url_path",
            &settings.metrics_url_path,
        ),
        (Signal::Logs, "logs_url_path", &settings.logs_url_path),
    ] {
        let field = format!("{path}.{field}");
        if !value.starts_with('/') {
            return Err(ReceiverError::InvalidUrlPath {
                path: field,
                value: value.clone(),
            });
        }
        if let Some((_, other)) = paths.iter().find(|(p, _)| p == value) {
            return Err(ReceiverError::DuplicateUrlPath {
                path: field,
                value: value.clone(),
                other: other.to_string(),
            });
        }
        paths.push((value.clone(), signal));
    }
    let mut response_headers = HeaderMap::new();
    for (name, value) in &settings.response_headers {
        let invalid = |reason: String| ReceiverError::InvalidResponseHeader {
            path: format!("{path}.response_headers"),
            name: name.clone(),
            reason,
        };
        let header = HeaderName::try_from(name.as_str()).map_err(|e| invalid(e.to_string()))?;
        let value = HeaderValue::try_from(value.as_str()).map_err(|e| invalid(e.to_string()))?;
        response_headers.append(header, value);
    }
    let state = State {
        ingest,
        gate,
        paths,
        max_body: max_body(settings.max_request_body_size),
        response_headers,
        cors: cors::Cors::new(settings.cors.as_ref()),
    };
    Ok(axum::Router::new()
        .fallback(routes::handle)
        .with_state(Arc::new(state)))
}
