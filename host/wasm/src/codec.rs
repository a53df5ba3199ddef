//! Emitted OTLP bytes as payloads, and the WIT types of signals and request contexts.

use prost::Message;
use sluice_pipeline::{Payload, RequestContext, Signal};

use crate::bindings;

/// Decodes `bytes` as the request message of `signal` (what a guest emits).
pub(crate) fn decode(signal: Signal, bytes: &[u8]) -> Result<Payload, prost::DecodeError> {
    Ok(match signal {
        Signal::Traces => Payload::Traces(Message::decode(bytes)?),
        Signal::Metrics => Payload::Metrics(Message::decode(bytes)?),
        Signal::Logs => Payload::Logs(Message::decode(bytes)?),
    })
}

pub(crate) fn signal_to_wit(signal: Signal) -> bindings::Signal {
    match signal {
        Signal::Traces => bindings::Signal::Traces,
        Signal::Metrics => bindings::Signal::Metrics,
        Signal::Logs => bindings::Signal::Logs,
    }
}

pub(crate) fn signal_from_wit(signal: bindings::Signal) -> Signal {
    match signal {
        bindings::Signal::Traces => Signal::Traces,
        bindings::Signal::Metrics => Signal::Metrics,
        bindings::Signal::Logs => Signal::Logs,
    }
}

pub(crate) fn signal_index(signal: Signal) -> usize {
    match signal {
        Signal::Traces => 0,
        Signal::Metrics => 1,
        Signal::Logs => 2,
    }
}

/// Header never passed to a guest, whatever the receiver was configured to include.
const HIDDEN_HEADER: &str = "authorization";

/// The WIT request context of a batch.
pub(crate) fn context_to_wit(
    context: &RequestContext,
    environment: Option<&str>,
) -> bindings::RequestContext {
    let headers = context
        .metadata
        .iter()
        .filter(|(name, _)| !name.eq_ignore_ascii_case(HIDDEN_HEADER))
        .flat_map(|(name, values)| {
            values
                .iter()
                .map(move |v| (name.to_ascii_lowercase(), v.clone()))
        })
        .collect();
    bindings::RequestContext {
        tenant: context.tenant.as_deref().map(str::to_owned),
        environment: environment.map(str::to_owned),
        receiver: context.receiver.to_string(),
        username: context.auth.username.clone(),
        client_subject: context.auth.client_subject.clone(),
        headers,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use sluice_pipeline::AuthInfo;

    use super::*;

    #[test]
    fn empty_requests_encode_to_nothing_and_decode_back() {
        for signal in Signal::ALL {
            let bytes = Payload::empty(signal).to_wire();
            assert!(bytes.is_empty());
            assert_eq!(decode(signal, &bytes).ok(), Some(Payload::empty(signal)));
            assert_eq!(signal_from_wit(signal_to_wit(signal)), signal);
        }
        assert!(decode(Signal::Traces, b"\xff\xff not otlp").is_err());
    }

    #[test]
    fn context_never_carries_the_authorization_header() {
        let mut metadata = BTreeMap::new();
        metadata.insert("authorization".to_owned(), vec!["Basic eDp5".to_owned()]);
        metadata.insert("x-team".to_owned(), vec!["a".to_owned(), "b".to_owned()]);
        let context = RequestContext {
            receiver: "otlp".into(),
            auth: Arc::new(AuthInfo {
                username: Some("alice".into()),
                ..AuthInfo::default()
            }),
            metadata: Arc::new(metadata),
            ..RequestContext::default()
        };
        let wit = context_to_wit(&context, Some("dev"));
        assert_eq!(wit.receiver, "otlp");
        assert_eq!(wit.username.as_deref(), Some("alice"));
        assert_eq!(wit.environment.as_deref(), Some("dev"));
        assert_eq!(
            wit.headers,
            vec![
                ("x-team".to_owned(), "a".to_owned()),
                ("x-team".to_owned(), "b".to_owned())
            ]
        );
    }
}
