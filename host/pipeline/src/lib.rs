//! The data plane contract of Sluice: what flows between stages ([`Batch`]: an OTLP payload and
//! the [`RequestContext`] it arrived with), how a stage accepts it ([`Consumer`]), and the stages
//! that need no plugin: batching, memory limiting, fan-out, the exporters' sending queue and the
//! buffering half of tail sampling.
//!
//! Acknowledgement rule: a receiver answers its client with success only after
//! [`Consumer::consume`] returned `Ok`. Every stage that returns `Ok` before the data has reached
//! an exporter (the batch processor, queues) owns that data from then on and must deliver it or
//! count it as lost, including on shutdown ([`Consumer::shutdown`]).
#![forbid(unsafe_code)]

mod batch;
mod context;
mod encoded;
mod fanout;
mod memory_limiter;
pub mod metrics;
mod payload;
pub mod queue;
pub mod rpc_status;
mod split;
pub mod tail_sampling;
pub mod wire;

use std::time::Duration;

pub use batch::BatchProcessor;
pub use context::{AuthInfo, RequestContext, Transport};
pub use encoded::{DecodeError, Encoded, FramingError};
pub use fanout::Fanout;
pub use memory_limiter::{MemoryLimiter, MemoryProbe, ProcessRss};
pub use payload::{Batch, Form, Payload, data_point_count};
pub use queue::{QueueError, QueueOptions, SendingQueue};
pub use sluice_config::Signal;
pub use tail_sampling::{TailSampler, TailSamplerOptions};

/// Why a stage did not take a batch. Receivers map it to the protocol's status.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ConsumeError {
    /// Temporarily refused (memory limit, full queue, draining): the client should retry.
    /// HTTP 503 with `Retry-After`, gRPC `Unavailable`.
    #[error("refused: {reason}")]
    Refused {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// The data itself is unacceptable; retrying will not help. HTTP 400, gRPC `InvalidArgument`.
    #[error("invalid data: {0}")]
    Invalid(String),
    /// A stage failed after accepting responsibility; the data is lost (already counted and
    /// logged by the stage). HTTP 500, gRPC `Internal`.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ConsumeError {
    pub fn refused(reason: impl Into<String>) -> Self {
        ConsumeError::Refused {
            reason: reason.into(),
            retry_after: None,
        }
    }
}

/// A stage that takes batches: a processor chain, a fan-out or an exporter.
///
/// Concurrency: `consume` is called from many receiver tasks at once. It may wait (for a bounded
/// time) but must not block a thread. `shutdown` is called once, after every producer stopped; it
/// flushes what the stage holds downstream and then shuts down the stages after it.
#[async_trait::async_trait]
pub trait Consumer: Send + Sync + 'static {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError>;

    /// Flush buffered data and release resources. Default: nothing held.
    async fn shutdown(&self) {}

    /// The form of a request this stage reads: a fan-out gives a request's decoded form to a
    /// stage that reads it decoded and only its bytes (a cheap copy) to the others, when the
    /// request travels as both. Default: decoded.
    fn wants(&self) -> Form {
        Form::Decoded
    }
}
