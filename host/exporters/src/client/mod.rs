//! What the network exporters share: client TLS with reload ([`tls`]), the TCP/TLS connector
//! ([`connector`]), the HTTP client ([`http`]), client authentication ([`auth`]), headers from
//! each batch's context ([`headers_setter`]) and the
//! `google.rpc` messages servers answer with ([`rpc_status`]).

pub(crate) mod auth;
pub(crate) mod compression;
pub(crate) mod connector;
pub(crate) mod headers_setter;
pub(crate) mod http;
pub(crate) mod rpc_status;
pub(crate) mod tls;

use std::collections::BTreeMap;

use ::http::{HeaderMap, HeaderName, HeaderValue};

use crate::ExporterError;

/// The configured `headers` as a header map (names lower-cased). Errors name the header.
pub(crate) fn header_map(
    exporter: &str,
    headers: &BTreeMap<String, String>,
) -> Result<HeaderMap, ExporterError> {
    let mut map = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let invalid = |reason: &str| ExporterError::Header {
            exporter: exporter.to_owned(),
            name: name.clone(),
            reason: reason.to_owned(),
        };
        let header = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
            invalid("not a valid header name (use letters, digits and '-', no spaces)")
        })?;
        let value = HeaderValue::from_str(value)
            .map_err(|_| invalid("the value has characters a header cannot carry (newlines?)"))?;
        map.insert(header, value);
    }
    Ok(map)
}

/// Is there a tokio runtime to run background work on?
pub(crate) fn require_runtime(exporter: &str) -> Result<(), ExporterError> {
    tokio::runtime::Handle::try_current()
        .map(|_| ())
        .map_err(|_| ExporterError::NoRuntime {
            exporter: exporter.to_owned(),
        })
}
