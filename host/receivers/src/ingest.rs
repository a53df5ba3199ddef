//! The protocol-independent end of a request: the tenancy (who sent it, within which quota),
//! then the signal's pipeline, counting the items accepted or refused.

use std::sync::Arc;

use bytes::Bytes;
use http::HeaderMap;
use sluice_pipeline::metrics::ReceiverMetrics;
use sluice_pipeline::{
    Batch, ConsumeError, Encoded, Form, Payload, RequestContext, Signal, Transport,
};

use crate::SignalConsumers;
use crate::auth::Identity;
use crate::connection::ConnectionInfo;
use crate::tenancy::{Refusal, Tenancy};

/// Why a payload did not reach a pipeline.
#[derive(Debug)]
pub(crate) enum DeliverError {
    /// No pipeline of this receiver takes the signal.
    NoPipeline(Signal),
    /// The tenancy refused the request (invalid or missing tenant, over quota).
    Tenancy(Refusal),
    /// The pipeline refused or failed; its items were counted as refused.
    Consume(ConsumeError),
}

impl DeliverError {
    pub fn no_pipeline_message(receiver: &str, signal: Signal) -> String {
        format!("receiver {receiver} is not part of any {signal} pipeline")
    }
}

/// What a request looked like on the wire, besides its decoded payload.
pub(crate) struct Received<'a> {
    pub headers: &'a HeaderMap,
    /// Bytes as received (compressed, with gRPC framing), for `bytes_per_second`.
    pub wire_bytes: usize,
    /// The request message (decompressed, unframed) when it is protobuf: the payload is its
    /// decoding. A request delivered whole travels on with these bytes.
    pub protobuf: Option<Bytes>,
}

/// `payload` with the bytes it was decoded from, if any.
fn with_bytes(payload: Payload, protobuf: Option<Bytes>) -> Payload {
    match protobuf {
        Some(bytes) => Encoded::with_decoded(bytes, payload),
        None => payload,
    }
}

/// Everything a protocol handler needs to deliver payloads. Shared by all requests.
pub(crate) struct Ingest {
    receiver: Arc<str>,
    transport: Transport,
    consumers: SignalConsumers,
    metrics: ReceiverMetrics,
    include_metadata: bool,
    tenancy: Option<Arc<Tenancy>>,
}

impl Ingest {
    pub fn new(
        receiver: Arc<str>,
        transport: Transport,
        consumers: SignalConsumers,
        metrics: ReceiverMetrics,
        include_metadata: bool,
        tenancy: Option<Arc<Tenancy>>,
    ) -> Self {
        Ingest {
            receiver,
            transport,
            consumers,
            metrics,
            include_metadata,
            tenancy,
        }
    }

    pub fn receiver(&self) -> &str {
        &self.receiver
    }

    pub fn has_pipeline(&self, signal: Signal) -> bool {
        self.consumers.get(signal).is_some()
    }

    /// Whether requests of `signal` need only be checked, not decoded: every stage they reach
    /// first reads bytes ([`Form::Wire`]) and no tenancy looks inside them.
    pub fn reads_bytes(&self, signal: Signal) -> bool {
        self.tenancy.is_none()
            && self
                .consumers
                .get(signal)
                .is_some_and(|c| c.wants() == Form::Wire)
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

    /// Hand `payload` to its pipeline: one batch per tenant when a tenancy is configured. A
    /// request without items succeeds without reaching the pipeline, as in the Collector.
    pub async fn deliver(
        &self,
        payload: Payload,
        context: RequestContext,
        received: Received<'_>,
    ) -> Result<(), DeliverError> {
        let signal = payload.signal();
        let Some(consumer) = self.consumers.get(signal) else {
            return Err(DeliverError::NoPipeline(signal));
        };
        let Some(tenancy) = &self.tenancy else {
            if payload.item_count() == 0 {
                return Ok(());
            }
            let payload = with_bytes(payload, received.protobuf);
            return self.consume(consumer, payload, context, None).await;
        };
        let items = payload.item_count();
        let admitted = match tenancy.admit(payload, received.wire_bytes, &context, received.headers)
        {
            Ok(admitted) => admitted,
            Err(refusal) => {
                self.metrics.refused(signal, items);
                tracing::debug!(
                    receiver = %self.receiver,
                    transport = self.transport.as_str(),
                    %signal,
                    items,
                    reason = refusal.reason(),
                    "tenancy refused the request: {}",
                    refusal.message()
                );
                return Err(DeliverError::Tenancy(refusal));
            }
        };
        let mut parts = admitted.parts;
        if admitted.whole
            && let [(_, payload)] = parts.as_mut_slice()
        {
            let decoded = std::mem::replace(payload, Payload::empty(signal));
            *payload = with_bytes(decoded, received.protobuf);
        }
        let mut parts = parts.into_iter();
        while let Some((tenant, payload)) = parts.next() {
            let mut context = context.clone();
            context.tenant = Some(tenant.clone());
            let outcome = self
                .consume(consumer, payload, context, Some((tenancy, &tenant)))
                .await;
            if let Err(error) = outcome {
                // The client retries the whole request: the rest is not sent now.
                for (tenant, payload) in parts {
                    let items = payload.item_count();
                    self.metrics.refused(signal, items);
                    tenancy
                        .metrics()
                        .refused(&tenant, signal, items, consume_reason(&error));
                }
                return Err(error);
            }
        }
        drop(admitted.permits);
        Ok(())
    }

    async fn consume(
        &self,
        consumer: &Arc<dyn sluice_pipeline::Consumer>,
        payload: Payload,
        context: RequestContext,
        tenant: Option<(&Tenancy, &Arc<str>)>,
    ) -> Result<(), DeliverError> {
        let signal = payload.signal();
        let items = payload.item_count();
        match consumer.consume(Batch::new(payload, context)).await {
            Ok(()) => {
                self.metrics.accepted(signal, items);
                if let Some((tenancy, tenant)) = tenant {
                    tenancy.metrics().accepted(tenant, signal, items);
                }
                Ok(())
            }
            Err(error) => {
                self.metrics.refused(signal, items);
                tracing::debug!(
                    receiver = %self.receiver,
                    transport = self.transport.as_str(),
                    %signal,
                    items,
                    tenant = tenant.map(|(_, t)| &**t),
                    %error,
                    "pipeline did not take the request"
                );
                let error = DeliverError::Consume(error);
                if let Some((tenancy, tenant)) = tenant {
                    tenancy
                        .metrics()
                        .refused(tenant, signal, items, consume_reason(&error));
                }
                Err(error)
            }
        }
    }
}

/// The `reason` label of items the pipeline did not take.
fn consume_reason(error: &DeliverError) -> &'static str {
    match error {
        DeliverError::Consume(ConsumeError::Refused { .. }) => "downstream",
        DeliverError::Consume(ConsumeError::Invalid(_)) => "invalid_data",
        DeliverError::Consume(ConsumeError::Internal(_)) => "internal",
        DeliverError::Tenancy(refusal) => refusal.reason(),
        DeliverError::NoPipeline(_) => "no_pipeline",
    }
}
