//! The request handler: routing, authentication, body, decoding and the answer.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use http::{HeaderValue, Method, StatusCode, header, request};
use sluice_pipeline::ConsumeError;

use super::body::{self, BodyError, Encoding};
use super::codec::Codec;
use super::status::{self, code};
use crate::connection::ConnectionInfo;
use crate::ingest::{DeliverError, Received};
use crate::rpc_status;
use crate::tenancy::Refusal;

/// `Retry-After` when the pipeline did not say how long to wait.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);

pub(super) async fn handle(State(state): State<Arc<super::State>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let preflight = state.cors.as_ref().and_then(|c| c.preflight(&parts));
    let mut response = match preflight {
        Some(preflight) => preflight,
        None => {
            let mut response = export(&state, &parts, body).await;
            if let Some(cors) = &state.cors {
                cors.decorate(&parts.headers, &mut response);
            }
            response
        }
    };
    for (name, value) in &state.response_headers {
        response.headers_mut().append(name, value.clone());
    }
    response
}

async fn export(state: &super::State, parts: &request::Parts, body: Body) -> Response {
    let requested = Codec::from_content_type(parts.headers.get(header::CONTENT_TYPE));
    // Errors before the content type is known are answered in JSON.
    let answer_codec = requested.unwrap_or(Codec::Json);
    let connection = parts.extensions.get::<ConnectionInfo>();

    // Authentication comes first, as in the Collector: an unauthenticated client learns nothing
    // about paths or pipelines.
    let identity = match state
        .gate
        .check(&parts.headers, connection.map(|c| c.peer))
        .await
    {
        Ok(identity) => identity,
        Err(denied) => {
            let mut response = status::status(
                StatusCode::UNAUTHORIZED,
                code::UNAUTHENTICATED,
                denied.message,
                answer_codec,
            );
            if let Ok(challenge) = HeaderValue::from_str(denied.challenge) {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, challenge);
            }
            return response;
        }
    };

    let Some(signal) = state.signal_for(parts.uri.path()) else {
        return status::text(StatusCode::NOT_FOUND, "404 page not found");
    };
    if parts.method != Method::POST {
        let mut response = status::text(
            StatusCode::METHOD_NOT_ALLOWED,
            "405 method not allowed, supported: [POST]",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let Some(codec) = requested else {
        return status::text(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "415 unsupported media type, supported: [application/json, application/x-protobuf]",
        );
    };
    if !state.ingest.has_pipeline(signal) {
        let message = DeliverError::no_pipeline_message(state.ingest.receiver(), signal);
        return status::status(StatusCode::NOT_FOUND, code::NOT_FOUND, message, codec);
    }

    let (wire_bytes, raw) = match read_body(state, parts, body).await {
        Ok(read) => read,
        Err(error) => {
            let http = match error {
                BodyError::TooLarge { .. } | BodyError::DecompressedTooLarge { .. } => {
                    StatusCode::PAYLOAD_TOO_LARGE
                }
                _ => StatusCode::BAD_REQUEST,
            };
            return status::status(http, code::INVALID_ARGUMENT, error.to_string(), codec);
        }
    };
    let payload = match codec.read(signal, &raw, state.ingest.reads_bytes(signal)) {
        Ok(payload) => payload,
        Err(message) => {
            return status::status(
                StatusCode::BAD_REQUEST,
                code::INVALID_ARGUMENT,
                message,
                codec,
            );
        }
    };
    // A protobuf body travels on as it came, with its decoding; JSON is not OTLP protobuf.
    let protobuf = (codec == Codec::Protobuf).then_some(raw);

    let context = state
        .ingest
        .context(connection, identity.as_ref(), &parts.headers);
    let received = Received {
        headers: &parts.headers,
        wire_bytes,
        protobuf,
    };
    match state.ingest.deliver(payload, context, received).await {
        Ok(()) => {
            let mut response = Response::new(Body::from(codec.success()));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(codec.content_type()),
            );
            response
        }
        Err(error) => deliver_error(state, error, codec),
    }
}

/// The body's size on the wire and its decompressed bytes.
async fn read_body(
    state: &super::State,
    parts: &request::Parts,
    body: Body,
) -> Result<(usize, bytes::Bytes), BodyError> {
    let encoding = Encoding::from_headers(&parts.headers)?;
    let wire = body::read(body, &parts.headers, state.max_body).await?;
    let wire_bytes = wire.len();
    Ok((
        wire_bytes,
        body::decompress(wire, encoding, state.max_body)?,
    ))
}

fn deliver_error(state: &super::State, error: DeliverError, codec: Codec) -> Response {
    match error {
        DeliverError::NoPipeline(signal) => {
            let message = DeliverError::no_pipeline_message(state.ingest.receiver(), signal);
            status::status(StatusCode::NOT_FOUND, code::NOT_FOUND, message, codec)
        }
        DeliverError::Consume(ConsumeError::Refused {
            reason,
            retry_after,
        }) => {
            let mut response = status::status(
                StatusCode::SERVICE_UNAVAILABLE,
                code::UNAVAILABLE,
                format!("data refused, retry later: {reason}"),
                codec,
            );
            let seconds = rpc_status::retry_seconds(retry_after.unwrap_or(DEFAULT_RETRY_AFTER));
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            response
        }
        DeliverError::Tenancy(refusal) => tenancy_refusal(&refusal, codec),
        DeliverError::Consume(ConsumeError::Invalid(reason)) => status::status(
            StatusCode::BAD_REQUEST,
            code::INVALID_ARGUMENT,
            format!("invalid data: {reason}"),
            codec,
        ),
        DeliverError::Consume(ConsumeError::Internal(reason)) => status::status(
            StatusCode::INTERNAL_SERVER_ERROR,
            code::INTERNAL,
            format!("internal error: {reason}"),
            codec,
        ),
    }
}

/// 400 invalid tenant id, 401 no tenant, 429 over quota with `Retry-After` and a `RetryInfo`.
fn tenancy_refusal(refusal: &Refusal, codec: Codec) -> Response {
    let message = refusal.message();
    match refusal {
        Refusal::InvalidTenant { .. } => status::status(
            StatusCode::BAD_REQUEST,
            code::INVALID_ARGUMENT,
            message,
            codec,
        ),
        Refusal::Unidentified { .. } => status::status(
            StatusCode::UNAUTHORIZED,
            code::UNAUTHENTICATED,
            message,
            codec,
        ),
        Refusal::Quota(_) => {
            let seconds =
                rpc_status::retry_seconds(refusal.retry_after().unwrap_or(DEFAULT_RETRY_AFTER));
            let status = rpc_status::with_retry_info(
                code::RESOURCE_EXHAUSTED,
                message,
                Duration::from_secs(seconds),
            );
            let mut response = status::with_status(StatusCode::TOO_MANY_REQUESTS, status, codec);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            response
        }
    }
}
