//! The OpenTelemetry Collector's `spanmetrics` connector as a Sluice WebAssembly guest:
//! Request, Error and Duration (R.E.D.) metrics from spans.
//!
//! The host runs it as a connector. Every traces batch goes through
//! [`process_traces`](Processor::process_traces), which records each span (a call, its
//! duration, optionally its events) under its resource and answers `unchanged`, so the traces
//! continue exactly as they arrived. On [`flush`](Processor::flush), which the host calls every
//! `metrics_flush_interval` (default 60s) and once more before it retires an instance (hot
//! swap, shutdown, recycling), the accumulated metrics go out as OTLP
//! `ExportMetricsServiceRequest`s of at most [`export::CHUNK_POINTS`] data points, written
//! directly as protobuf and sent with [`sluice_guest_sdk::emit_encoded`]:
//!
//! - `{namespace}.calls`: monotonic Sum of spans (no unit, as in the Collector),
//! - `{namespace}.duration`: Histogram or ExponentialHistogram of span durations, unit `ms` or
//!   `s`,
//! - `{namespace}.events`: monotonic Sum of span events, when `events.enabled`,
//!
//! one `ResourceMetrics` per resource with scope `spanmetricsconnector`; `namespace` defaults
//! to `traces.span.metrics`. Every data point has the attributes `service.name`, `span.name`,
//! `span.kind` (`SPAN_KIND_SERVER`...) and `status.code` (`STATUS_CODE_ERROR`...) plus the
//! configured dimensions. See `README.md` for the configuration and the differences from the
//! Collector.
//!
//! State lives as long as the instance. After a flush, cumulative state keeps its counts (and
//! start times) and delta state starts over. If the downstream pipeline is full (`busy`), what
//! the host did not take is kept and reported by the next flush.

pub mod adjusted_count;
pub mod aggregate;
pub mod config;
pub mod dimensions;
pub mod duration;
pub mod exponential;
pub mod export;
pub mod histogram;
pub mod proto;
pub mod resources;
pub mod series;
pub mod timestamps;

use sluice_guest_sdk::EmitError;
use sluice_guest_sdk::prelude::*;
use sluice_guest_sdk::runtime::Output;
use sluice_guest_sdk::wire::SpanDecoder;

use crate::aggregate::Accumulator;
use crate::config::Settings;
use crate::timestamps::{Clock, DeltaStarts};

/// The connector: its settings and what it accumulated since the last flush.
pub struct SpanMetrics {
    settings: Settings,
    accumulator: Accumulator,
    delta: DeltaStarts,
    clock: Clock,
    /// Decodes batches without the span fields no metric reads ([`unused_span_fields`]).
    spans: SpanDecoder,
    /// The last batch decoded, whose spans the next one is decoded into.
    decoded: ExportTraceServiceRequest,
}

impl SpanMetrics {
    /// Builds the connector from validated settings.
    pub fn new(settings: Settings) -> Self {
        let clock = Clock::System;
        Self {
            accumulator: Accumulator::new(&settings, clock.now()),
            delta: DeltaStarts::new(settings.timestamp_cache_size),
            spans: SpanDecoder::skipping(unused_span_fields(&settings)),
            decoded: ExportTraceServiceRequest::default(),
            settings,
            clock,
        }
    }

    /// The settings `init` validated.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Replaces the clock (tests drive time with [`Clock::Manual`]).
    pub fn set_clock(&mut self, clock: Clock) {
        self.clock = clock;
    }

    /// Resources currently held (evicted ones awaiting their last flush included).
    pub fn resource_count(&self) -> usize {
        self.accumulator.resources.len()
    }

    /// Records every span of `batch` at the clock's current time.
    pub fn record(&mut self, batch: &ExportTraceServiceRequest) {
        let now = self.clock.now();
        self.accumulator.add(&self.settings, batch, now);
    }

    /// Flushes through `emit` instead of the host ([`Processor::flush`] passes each batch to
    /// [`sluice_guest_sdk::emit_encoded`]): encoded `ExportMetricsServiceRequest`s of at most
    /// [`export::CHUNK_POINTS`] data points each. Nothing is sent when nothing was recorded.
    ///
    /// When the host is `busy`, what it did not take is kept for the next flush; any other
    /// refusal drops the rest of this flush (as the Collector does when its next consumer
    /// fails). Both are returned as errors for the host to log.
    pub fn flush_with(
        &mut self,
        emit: &mut dyn FnMut(Vec<u8>) -> Result<(), EmitError>,
    ) -> Result<(), Error> {
        let now = self.clock.now();
        let report = export::flush(
            &mut self.accumulator.resources,
            &mut self.delta,
            &self.settings,
            now,
            emit,
        );
        let unsent = report.points - report.sent;
        match report.refused {
            None => Ok(()),
            Some(EmitError::Busy) => Err(Error::new(format!(
                "the metrics pipeline is full: {unsent} span metrics data points kept for the next flush"
            ))),
            Some(e) => Err(Error::new(format!(
                "{unsent} span metrics data points dropped: {e}"
            ))),
        }
    }
}

impl Processor for SpanMetrics {
    fn init(config_json: &str) -> Result<Init<Self>, Vec<ConfigProblem>> {
        let (settings, warnings) = config::load(config_json)?;
        let interval = settings.flush_interval;
        Ok(Init::new(SpanMetrics::new(settings))
            .warnings(warnings)
            .flush_every(interval))
    }

    fn handles(&self, signal: Signal) -> bool {
        signal == Signal::Traces
    }

    fn process_encoded(
        &mut self,
        signal: Signal,
        batch: &[u8],
        _: &RequestContext,
    ) -> Option<Result<Output, Error>> {
        if signal != Signal::Traces {
            return None;
        }
        let mut decoded = std::mem::take(&mut self.decoded);
        let recorded = self.spans.decode_into(batch, &mut decoded);
        if recorded {
            self.record(&decoded);
        }
        self.decoded = decoded;
        recorded.then_some(Ok(Output::Unchanged))
    }

    fn process_traces(
        &mut self,
        batch: &mut ExportTraceServiceRequest,
        _: &RequestContext,
    ) -> Result<Outcome, Error> {
        self.record(batch);
        Ok(Outcome::Unchanged)
    }

    fn flush(&mut self) -> Result<(), Error> {
        self.flush_with(&mut |bytes| sluice_guest_sdk::emit_encoded(Signal::Metrics, bytes))
    }
}

/// Span fields (by number) that no metric of `settings` reads: parent_span_id (4) and links
/// (13) always; attributes (9) without dimensions; events (11) without event metrics.
pub fn unused_span_fields(settings: &Settings) -> Vec<u32> {
    let mut unused = vec![4, 13];
    if settings.exemplars.is_none() {
        // Trace and span ids are read for exemplars only.
        unused.extend([1, 2]);
    }
    let dimensions = !settings.dimensions.is_empty()
        || !settings.calls_dimensions.is_empty()
        || !settings.histogram_dimensions.is_empty();
    if settings.events.is_none() {
        unused.push(11);
        if !dimensions {
            unused.push(9);
        }
    }
    unused
}

sluice_guest_sdk::export_processor!(SpanMetrics);

#[cfg(test)]
mod tests;
