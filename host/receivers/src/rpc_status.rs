//! What refusals carry: gRPC status codes for HTTP error bodies, `Retry-After` seconds, and
//! `google.rpc.Status` with a `RetryInfo` detail (shared with the exporters, in
//! [`sluice_pipeline::rpc_status`]).

use std::time::Duration;

/// gRPC status codes used in HTTP error bodies.
pub(crate) mod code {
    pub const INVALID_ARGUMENT: i32 = 3;
    pub const NOT_FOUND: i32 = 5;
    pub const RESOURCE_EXHAUSTED: i32 = 8;
    pub const INTERNAL: i32 = 13;
    pub const UNAVAILABLE: i32 = 14;
    pub const UNAUTHENTICATED: i32 = 16;
}

#[cfg(test)]
pub(crate) use sluice_pipeline::rpc_status::retry_delay;
pub(crate) use sluice_pipeline::rpc_status::{Status, with_retry_info};

/// Whole seconds, rounded up, at least 1: `Retry-After` and the messages that quote it.
pub(crate) fn retry_seconds(after: Duration) -> u64 {
    let seconds = after.as_secs() + u64::from(after.subsec_nanos() > 0);
    seconds.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_seconds(Duration::ZERO), 1);
        assert_eq!(retry_seconds(Duration::from_millis(1500)), 2);
        assert_eq!(retry_seconds(Duration::from_secs(30)), 30);
    }
}
