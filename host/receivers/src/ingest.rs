//! The protocol-independent end of a request: hand the decoded payload to the signal's
//! pipeline and count the items accepted or refused.

use std::sync::Arc;

use http::HeaderMap;
use sluice_pipeline::metrics::ReceiverMetrics;
use sluice_pipeline::{Batch, ConsumeError, Payload, RequestContext, Signal, Transport};

use crate::SignalConsumers;
use crate::auth::Identity;
use crate::connection::ConnectionInfo;

/// Why a payload did not reach a pipeline.
#[derive(Debug)]
pub(crate) enum DeliverError {
    /// No pipeline of this receiver takes the signal.
    NoPipeline(Signal),
    /// The pipeline refused or failed; its items were counted as refused.
    Consume(ConsumeError),
}

impl DeliverError {
    pub fn no_pipeline_message(receiver: &str, signal: Signal) -> String {
        format!("receiver {receiver} is not part of any {signal} pipeline")
    }
}

/// Everything a protocol handler needs to deliver payloads. Shared by all requests.
pub(crate) struct Ingest {
    receiver: Arc<str>,
    transport: Transport,
    consumers: SignalConsumers,
    metrics: ReceiverMetrics,
    include_metadata: bool,
}

impl Ingest {
    pub fn new(
        receiver: Arc<str>,
        transport: Transport,
        consumers: SignalConsumers,
        metrics: ReceiverMetrics,
        include_metadata: bool,
    ) -> Self {
        Ingest {
            receiver,
            transport,
            consumers,
            metrics,
            include_metadata,
        }
    }

    pub fn receiver(&self) -> &str {
        &self.receiver
    }

    pub fn has_pipeline(&self, signal: Signal) -> bool {
        self.consumers.get(signal).is_some()
    }

    pub fn context(
        &self,
        connection: Option<&ConnectionInfo>,
        identity: Option<&Identity>,
        headers: &HeaderMap,
    ) -> RequestContext {
        crate::context::build(
            &self.receiver,
            self.transport,
            connection,
            identity,
            headers,
            self.include_metadata,
        )
    }

    /// Hand `payload` to its pipeline. A request without items succeeds without reaching the
    /// pipeline, as in the Collector.
    pub async fn deliver(
        &self,
        payload: Payload,
        context: RequestContext,
    ) -> Result<(), DeliverError> {
        let signal = payload.signal();
        let Some(consumer) = self.consumers.get(signal) else {
            return Err(DeliverError::NoPipeline(signal));
        };
        let items = payload.item_count();
        if items == 0 {
            return Ok(());
        }
        match consumer.consume(Batch::new(payload, context)).await {
            Ok(()) => {
                self.metrics.accepted(signal, items);
                Ok(())
            }
            Err(error) => {
                self.metrics.refused(signal, items);
                tracing::debug!(
                    receiver = %self.receiver,
                    transport = self.transport.as_str(),
                    %signal,
                    items,
                    %error,
                    "pipeline did not take the request"
                );
                Err(DeliverError::Consume(error))
            }
        }
    }
}
