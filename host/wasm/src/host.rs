//! What the host gives a guest: the `log` and `emit` imports, and the rate-limited log that
//! guest lines (imports, stdout, stderr) go to.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use sluice_pipeline::Payload;

use crate::bindings::{self, EmitError, Level, Signal};
use crate::codec;
use crate::wasi::MAX_LINE;

/// Guest log lines per second and processor; the rest are counted and reported.
const LINES_PER_SECOND: u32 = 200;
/// At most this many `emit` calls per `process` or `flush`, and this many bytes.
const MAX_EMITS_PER_CALL: usize = 1024;
const MAX_EMIT_BYTES_PER_CALL: usize = 64 << 20;

/// Where a guest line came from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum LineSource {
    Stdout,
    Stderr,
    Import(Level),
}

/// The host log of one processor, shared by all its instances.
pub(crate) struct GuestLog {
    processor: Arc<str>,
    tenant: Option<Arc<str>>,
    window: Mutex<Window>,
    logged: AtomicU64,
}

struct Window {
    started: Instant,
    used: u32,
    suppressed: u64,
}

impl GuestLog {
    pub(crate) fn new(processor: Arc<str>, tenant: Option<Arc<str>>) -> Self {
        GuestLog {
            processor,
            tenant,
            window: Mutex::new(Window {
                started: Instant::now(),
                used: 0,
                suppressed: 0,
            }),
            logged: AtomicU64::new(0),
        }
    }

    /// Whether one more line may be logged now (shared with the host's own error logs).
    pub(crate) fn admit(&self) -> bool {
        let mut w = self.window.lock();
        if w.started.elapsed() >= Duration::from_secs(1) {
            if w.suppressed > 0 {
                tracing::warn!(
                    processor = %self.processor,
                    tenant = self.tenant.as_deref(),
                    suppressed = w.suppressed,
                    "log lines of this processor were dropped by the rate limit ({LINES_PER_SECOND}/s)"
                );
            }
            *w = Window {
                started: Instant::now(),
                used: 0,
                suppressed: 0,
            };
        }
        if w.used >= LINES_PER_SECOND {
            w.suppressed += 1;
            return false;
        }
        w.used += 1;
        true
    }

    /// Logs one guest line under the processor's name.
    pub(crate) fn line(&self, source: LineSource, text: &str) {
        if !self.admit() {
            return;
        }
        self.logged.fetch_add(1, Ordering::Relaxed);
        let p = &*self.processor;
        let t = self.tenant.as_deref();
        match source {
            LineSource::Stdout => {
                tracing::info!(processor = p, tenant = t, stream = "stdout", "{text}")
            }
            LineSource::Stderr => {
                tracing::warn!(processor = p, tenant = t, stream = "stderr", "{text}")
            }
            LineSource::Import(level) => match level {
                Level::Trace => tracing::trace!(processor = p, tenant = t, "{text}"),
                Level::Debug => tracing::debug!(processor = p, tenant = t, "{text}"),
                Level::Info => tracing::info!(processor = p, tenant = t, "{text}"),
                Level::Warn => tracing::warn!(processor = p, tenant = t, "{text}"),
                Level::Error => tracing::error!(processor = p, tenant = t, "{text}"),
            },
        }
    }

    #[cfg(test)]
    pub(crate) fn lines_logged(&self) -> u64 {
        self.logged.load(Ordering::Relaxed)
    }
}

/// Per-store state behind the `host` interface.
pub(crate) struct HostState {
    log: Arc<GuestLog>,
    /// `emit` is accepted only while a `process` or `flush` call is open.
    open: bool,
    routable: [bool; 3],
    emitted: Vec<Payload>,
    emitted_bytes: usize,
}

impl HostState {
    pub(crate) fn new(log: Arc<GuestLog>) -> Self {
        HostState {
            log,
            open: false,
            routable: [false; 3],
            emitted: Vec::new(),
            emitted_bytes: 0,
        }
    }

    /// Opens a call: `routable[i]` says whether signal `i` has somewhere to go.
    pub(crate) fn begin_call(&mut self, routable: [bool; 3]) {
        self.open = true;
        self.routable = routable;
        self.emitted.clear();
        self.emitted_bytes = 0;
    }

    /// Closes the call and hands over what the guest emitted (the caller discards it when
    /// the call trapped).
    pub(crate) fn end_call(&mut self) -> Vec<Payload> {
        self.open = false;
        self.emitted_bytes = 0;
        std::mem::take(&mut self.emitted)
    }
}

impl bindings::sluice::processor::types::Host for HostState {}

impl bindings::sluice::processor::host::Host for HostState {
    fn log(&mut self, level: Level, message: String) {
        let mut end = message.len().min(MAX_LINE);
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        self.log.line(LineSource::Import(level), &message[..end]);
    }

    fn emit(&mut self, signal: Signal, batch: Vec<u8>) -> Result<(), EmitError> {
        let signal = codec::signal_from_wit(signal);
        if !self.open || !self.routable[codec::signal_index(signal)] {
            return Err(EmitError::NoRoute);
        }
        if self.emitted.len() >= MAX_EMITS_PER_CALL
            || self.emitted_bytes.saturating_add(batch.len()) > MAX_EMIT_BYTES_PER_CALL
        {
            return Err(EmitError::Busy);
        }
        let payload =
            codec::decode(signal, &batch).map_err(|e| EmitError::Malformed(e.to_string()))?;
        self.emitted_bytes += batch.len();
        self.emitted.push(payload);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::sluice::processor::host::Host;

    #[test]
    fn rate_limit_admits_a_bounded_number_of_lines_per_second() {
        let log = GuestLog::new("p".into(), None);
        let admitted = (0..1000).filter(|_| log.admit()).count();
        assert_eq!(admitted, LINES_PER_SECOND as usize);
    }

    #[test]
    fn emit_needs_an_open_call_a_route_and_valid_bytes() {
        let mut host = HostState::new(Arc::new(GuestLog::new("p".into(), None)));
        assert!(matches!(
            host.emit(Signal::Logs, Vec::new()),
            Err(EmitError::NoRoute)
        ));
        host.begin_call([false, false, true]);
        assert!(matches!(
            host.emit(Signal::Metrics, Vec::new()),
            Err(EmitError::NoRoute)
        ));
        assert!(matches!(
            host.emit(Signal::Logs, b"\xff\xff".to_vec()),
            Err(EmitError::Malformed(_))
        ));
        assert!(host.emit(Signal::Logs, Vec::new()).is_ok());
        let emitted = host.end_call();
        assert_eq!(emitted.len(), 1);
        assert!(matches!(
            host.emit(Signal::Logs, Vec::new()),
            Err(EmitError::NoRoute)
        ));
    }
}
