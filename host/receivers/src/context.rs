//! Building the [`RequestContext`] of a batch from the connection, the authenticated principal
//! and the request headers.

use std::collections::BTreeMap;
use std::sync::Arc;

use http::HeaderMap;
use sluice_pipeline::{AuthInfo, RequestContext, Transport};

use crate::auth::Identity;
use crate::connection::ConnectionInfo;

/// Headers whose values are credentials: never copied into the metadata.
const SECRET_HEADERS: [&str; 4] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
];

/// The context of one request. The identity (`auth`) is always filled; the headers only with
/// `include_metadata`, and never the credential headers.
pub(crate) fn build(
    receiver: &Arc<str>,
    transport: Transport,
    connection: Option<&ConnectionInfo>,
    identity: Option<&Identity>,
    headers: &HeaderMap,
    include_metadata: bool,
) -> RequestContext {
    let cert = connection.and_then(|c| c.client_cert.as_deref());
    let auth = AuthInfo {
        username: identity.and_then(|i| i.username.clone()),
        token_name: identity.and_then(|i| i.token_name.clone()),
        client_subject: cert.map(|c| c.subject.clone()),
        client_cn: cert.and_then(|c| c.common_name.clone()),
        client_sans: cert.map(|c| c.sans.clone()).unwrap_or_default(),
    };
    let metadata = if include_metadata {
        metadata(
            headers,
            identity.and_then(|i| i.credential_header.as_deref()),
        )
    } else {
        BTreeMap::new()
    };
    RequestContext {
        receiver: receiver.clone(),
        transport: Some(transport),
        peer: connection.map(|c| c.peer),
        auth: Arc::new(auth),
        tenant: None,
        metadata: Arc::new(metadata),
    }
}

/// Request headers / gRPC metadata by lower-case name (as `http` stores them), without secrets.
/// `credential` is the authenticator's own header (a bearer token in `X-Api-Key`, say).
fn metadata(headers: &HeaderMap, credential: Option<&str>) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in headers {
        let name = name.as_str();
        if SECRET_HEADERS.contains(&name)
            || credential.is_some_and(|c| c.eq_ignore_ascii_case(name))
        {
            continue;
        }
        out.entry(name.to_owned())
            .or_default()
            .push(String::from_utf8_lossy(value.as_bytes()).into_owned());
    }
    out
}
