//! Conversions between the generated WIT types and the SDK's, used by
//! [`export_processor!`](crate::export_processor). Not public API.

use crate::bindings::sluice::processor::types;
use crate::config::ConfigProblem;
use crate::runtime::{self, Failure, Output};
use crate::{Processor, RequestContext, Signal};

#[cfg(target_arch = "wasm32")]
pub(crate) fn signal_to_wit(signal: Signal) -> types::Signal {
    match signal {
        Signal::Traces => types::Signal::Traces,
        Signal::Metrics => types::Signal::Metrics,
        Signal::Logs => types::Signal::Logs,
    }
}

fn problem_to_wit(p: ConfigProblem) -> types::ConfigProblem {
    types::ConfigProblem {
        path: p.path,
        message: p.message,
    }
}

pub fn init<P: Processor>(
    slot: &mut Option<P>,
    config_json: &str,
) -> Result<types::Ready, Vec<types::ConfigProblem>> {
    match runtime::init(slot, config_json) {
        Ok(ready) => Ok(types::Ready {
            warnings: ready.warnings.into_iter().map(problem_to_wit).collect(),
            flush_interval_ms: ready.flush_interval_ms,
        }),
        Err(problems) => Err(problems.into_iter().map(problem_to_wit).collect()),
    }
}

pub fn process<P: Processor>(
    slot: &mut Option<P>,
    signal: types::Signal,
    context: types::RequestContext,
    batch: &[u8],
) -> Result<types::Outcome, types::ProcessError> {
    let signal = match signal {
        types::Signal::Traces => Signal::Traces,
        types::Signal::Metrics => Signal::Metrics,
        types::Signal::Logs => Signal::Logs,
    };
    let context = RequestContext {
        tenant: context.tenant,
        environment: context.environment,
        receiver: context.receiver,
        username: context.username,
        client_subject: context.client_subject,
        headers: context.headers,
    };
    match runtime::process(slot, signal, &context, batch) {
        Ok(Output::Replaced(bytes)) => Ok(types::Outcome::Replaced(bytes)),
        Ok(Output::Unchanged) => Ok(types::Outcome::Unchanged),
        Ok(Output::Dropped) => Ok(types::Outcome::Dropped),
        Err(Failure::Malformed(m)) => Err(types::ProcessError::Malformed(m)),
        Err(Failure::Failed(m)) => Err(types::ProcessError::Failed(m)),
    }
}

pub fn flush<P: Processor>(slot: &mut Option<P>) -> Result<(), String> {
    runtime::flush(slot)
}
