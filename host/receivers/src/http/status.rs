//! Error answers: `google.rpc.Status` in the request's encoding, as the Collector sends them, and
//! the plain-text answers it gives before the encoding is known (404 unknown path, 405, 415).

use axum::body::Body;
use axum::response::Response;
use http::{HeaderValue, StatusCode, header};

use super::codec::Codec;

/// gRPC status codes used in HTTP error bodies.
pub(crate) mod code {
    pub const INVALID_ARGUMENT: i32 = 3;
    pub const NOT_FOUND: i32 = 5;
    pub const INTERNAL: i32 = 13;
    pub const UNAVAILABLE: i32 = 14;
    pub const UNAUTHENTICATED: i32 = 16;
}

/// `google.rpc.Status`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Status {
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
    #[prost(message, repeated, tag = "3")]
    pub details: Vec<Any>,
}

/// `google.protobuf.Any`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Any {
    #[prost(string, tag = "1")]
    pub type_url: String,
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
}

/// An error answer with a `google.rpc.Status` body in `codec`'s encoding.
pub(crate) fn status(
    http: StatusCode,
    code: i32,
    message: impl Into<String>,
    codec: Codec,
) -> Response {
    let status = Status {
        code,
        message: message.into(),
        details: Vec::new(),
    };
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
