//! Error answers: `google.rpc.Status` in the request's encoding, as the Collector sends them, and
//! the plain-text answers it gives before the encoding is known (404 unknown path, 405, 415).

use axum::body::Body;
use axum::response::Response;
use http::{HeaderValue, StatusCode, header};

use super::codec::Codec;

pub(crate) use crate::rpc_status::{Status, code};

/// An error answer with a `google.rpc.Status` body in `codec`'s encoding.
pub(crate) fn status(
    http: StatusCode,
    code: i32,
    message: impl Into<String>,
    codec: Codec,
) -> Response {
    with_status(
        http,
        Status {
            code,
            message: message.into(),
            details: Vec::new(),
        },
        codec,
    )
}

/// An error answer carrying `status` (its details only in protobuf: OTLP/JSON clients get the
/// code and message).
pub(crate) fn with_status(http: StatusCode, status: Status, codec: Codec) -> Response {
    let body = match codec {
        Codec::Protobuf => prost::Message::encode_to_vec(&status),
        Codec::Json => serde_json::json!({ "code": status.code, "message": status.message })
            .to_string()
            .into_bytes(),
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = http;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(codec.content_type()),
    );
    response
}

/// A plain-text answer.
pub(crate) fn text(http: StatusCode, text: &'static str) -> Response {
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = http;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
