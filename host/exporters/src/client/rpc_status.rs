//! `google.rpc.Status` and `google.rpc.RetryInfo`, the well-known messages the exporters read
//! from servers (gRPC's `grpc-status-details-bin` trailer, the protobuf body of an OTLP/HTTP
//! error response); shared with the receivers in [`sluice_pipeline::rpc_status`].

pub(crate) use sluice_pipeline::rpc_status::{Status as RpcStatus, retry_delay};

/// An encoded `google.rpc.Status` carrying a `RetryInfo` of `delay` (for tests' servers).
#[cfg(test)]
pub(crate) fn status_with_retry_info(
    code: i32,
    message: &str,
    delay: std::time::Duration,
) -> Vec<u8> {
    use prost::Message;
    sluice_pipeline::rpc_status::with_retry_info(code, message.to_owned(), delay).encode_to_vec()
}
