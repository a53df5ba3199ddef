//! What every network exporter shares, as the Collector's `exporterhelper`: `timeout`,
//! `retry_on_failure`, `sending_queue`, and the wire `compression`.

use std::time::Duration;

use serde::Deserialize;

use crate::id::ComponentId;

/// `retry_on_failure`: exponential back-off for retryable failures.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetrySettings {
    pub enabled: bool,
    /// First wait (default 5s).
    #[serde(with = "humantime_serde")]
    pub initial_interval: Duration,
    /// Each wait is randomised by ± this fraction (default 0.5).
    pub randomization_factor: f64,
    /// Growth of the wait per attempt (default 1.5).
    pub multiplier: f64,
    /// Longest wait (default 30s).
    #[serde(with = "humantime_serde")]
    pub max_interval: Duration,
    /// Give up after this long (default 300s; 0 = never).
    #[serde(with = "humantime_serde")]
    pub max_elapsed_time: Duration,
}

impl Default for RetrySettings {
    fn default() -> Self {
        RetrySettings {
            enabled: true,
            initial_interval: Duration::from_secs(5),
            randomization_factor: 0.5,
            multiplier: 1.5,
            max_interval: Duration::from_secs(30),
            max_elapsed_time: Duration::from_secs(300),
        }
    }
}

/// `sending_queue`: requests wait here for `num_consumers` senders.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueueSettings {
    pub enabled: bool,
    /// Concurrent senders (default 10).
    pub num_consumers: usize,
    /// Capacity in requests (default 1000).
    pub queue_size: usize,
    /// Capacity in protobuf bytes (Sluice; default 256 MiB). Whichever bound is hit first
    /// refuses new requests.
    pub queue_size_bytes: u64,
    /// A `file_storage` extension: the queue is written to disk before the receiver answers,
    /// and survives kill -9 and restarts.
    pub storage: Option<ComponentId>,
    /// Accepted for Collector compatibility: `requests` is the only sizer.
    pub sizer: Option<String>,
    /// Wait for space instead of refusing (default false: a full queue refuses, and the
    /// client retries).
    pub blocking: bool,
}

impl Default for QueueSettings {
    fn default() -> Self {
        QueueSettings {
            enabled: true,
            num_consumers: 10,
            queue_size: 1000,
            queue_size_bytes: 256 << 20,
            storage: None,
            sizer: None,
            blocking: false,
        }
    }
}

/// Wire compression of an exporter (`compression:`; default gzip).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Compression {
    #[default]
    Gzip,
    Zstd,
    None,
}

impl<'de> Deserialize<'de> for Compression {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = Option::<String>::deserialize(d)?.unwrap_or_default();
        match text.as_str() {
            "gzip" => Ok(Compression::Gzip),
            "zstd" => Ok(Compression::Zstd),
            "" | "none" => Ok(Compression::None),
            "snappy" | "deflate" | "zlib" | "lz4" => Err(serde::de::Error::custom(format!(
                "compression {text:?} is not supported by Sluice (use gzip, zstd or none)"
            ))),
            other => Err(serde::de::Error::custom(format!(
                "unknown compression {other:?} (use gzip, zstd or none)"
            ))),
        }
    }
}

/// `compression_params:` of an exporter, as the Collector's `configcompression`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompressionParams {
    /// gzip: 1 (fastest) to 9 (smallest), -1 or 0 for the default (6); zstd: its levels
    /// (0 for the default, 3). Unset is the default.
    #[serde(default)]
    pub level: i32,
}

impl CompressionParams {
    /// What is wrong with `level` for `compression`, as the Collector's `ValidateParams`
    /// (except gzip's -2, Huffman-only, which Sluice does not offer).
    pub fn problem(&self, compression: Compression) -> Option<String> {
        let level = self.level;
        match compression {
            Compression::Gzip if (-1..=9).contains(&level) => None,
            Compression::Gzip if level == -2 => Some(
                "gzip level -2 (Huffman only) is not supported by Sluice (use -1 or 0 to 9)".into(),
            ),
            Compression::Gzip => Some(format!(
                "unsupported gzip level {level} (use 1 for fastest to 9 for smallest, -1 for the default)"
            )),
            Compression::Zstd => None,
            Compression::None if level == 0 => None,
            Compression::None => Some(format!(
                "a level ({level}) needs a compression (gzip or zstd)"
            )),
        }
    }

    /// The gzip level to use: 6 unless a level from 1 to 9 was given.
    pub fn gzip_level(&self) -> u32 {
        u32::try_from(self.level)
            .ok()
            .filter(|level| (1..=9).contains(level))
            .unwrap_or(6)
    }

    /// The zstd level to use: the library's default (3) for 0.
    pub fn zstd_level(&self) -> i32 {
        self.level
    }
}

impl Compression {
    /// The `Content-Encoding` / `grpc-encoding` token, if any.
    pub fn encoding(self) -> Option<&'static str> {
        match self {
            Compression::Gzip => Some("gzip"),
            Compression::Zstd => Some("zstd"),
            Compression::None => None,
        }
    }
}
