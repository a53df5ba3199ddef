//! `google.rpc.Status` with a `google.rpc.RetryInfo` detail: what receivers answer when they
//! refuse (the protobuf body of an OTLP/HTTP error, gRPC's `grpc-status-details-bin`) and what
//! exporters read from servers. Declared with prost's derive rather than pulling in
//! `tonic-types` for a few small messages.

use std::time::Duration;

use prost::Message;

/// `google.rpc.Status`.
#[derive(Clone, PartialEq, Message)]
pub struct Status {
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
    #[prost(message, repeated, tag = "3")]
    pub details: Vec<Any>,
}

/// `google.protobuf.Any`.
#[derive(Clone, PartialEq, Message)]
pub struct Any {
    #[prost(string, tag = "1")]
    pub type_url: String,
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
}

/// `google.rpc.RetryInfo`.
#[derive(Clone, PartialEq, Message)]
pub struct RetryInfo {
    #[prost(message, optional, tag = "1")]
    pub retry_delay: Option<ProtoDuration>,
}

/// `google.protobuf.Duration`.
#[derive(Clone, PartialEq, Message)]
pub struct ProtoDuration {
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

/// The type URL of [`RetryInfo`] inside an `Any`.
pub const RETRY_INFO_TYPE: &str = "type.googleapis.com/google.rpc.RetryInfo";

/// A status whose details hold one `RetryInfo` of `delay`.
pub fn with_retry_info(code: i32, message: String, delay: Duration) -> Status {
    let info = RetryInfo {
        retry_delay: Some(ProtoDuration {
            seconds: i64::try_from(delay.as_secs()).unwrap_or(i64::MAX),
            nanos: i32::try_from(delay.subsec_nanos()).unwrap_or(0),
        }),
    };
    Status {
        code,
        message,
        details: vec![Any {
            type_url: RETRY_INFO_TYPE.to_owned(),
            value: info.encode_to_vec(),
        }],
    }
}

/// The `RetryInfo.retry_delay` among the details of an encoded `google.rpc.Status`, if any.
/// A negative delay counts as zero.
pub fn retry_delay(status_bytes: &[u8]) -> Option<Duration> {
    let status = Status::decode(status_bytes).ok()?;
    status
        .details
        .iter()
        .filter(|any| any.type_url == RETRY_INFO_TYPE)
        .find_map(|any| RetryInfo::decode(any.value.as_slice()).ok())
        .and_then(|info| info.retry_delay)
        .map(|d| {
            let seconds = u64::try_from(d.seconds).unwrap_or(0);
            let nanos = u32::try_from(d.nanos).unwrap_or(0);
            Duration::new(seconds, 0).saturating_add(Duration::from_nanos(u64::from(nanos)))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_info_round_trips() {
        let status = with_retry_info(14, "busy".into(), Duration::from_millis(1500));
        assert_eq!(
            retry_delay(&status.encode_to_vec()),
            Some(Duration::from_millis(1500))
        );
        let plain = Status {
            code: 14,
            message: "busy".into(),
            details: vec![],
        }
        .encode_to_vec();
        assert_eq!(retry_delay(&plain), None);
        assert_eq!(retry_delay(b"\xff\xff garbage"), None);
    }
}
