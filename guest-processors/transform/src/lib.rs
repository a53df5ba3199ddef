//! Sluice's built-in transform processor as a WebAssembly guest: the Collector's `transform`
//! config (`trace_statements`, `metric_statements`, `log_statements`, `error_mode`, flat and
//! grouped forms) running a subset of OTTL. See `README.md` for what is supported.
//!
//! Statements are parsed and compiled once, in `init`; a config error names the statement
//! (`metric_statements[0].statements[2]`) and the column. A batch no statement changed is
//! answered `unchanged`, so the host forwards its bytes without re-encoding. Attribute edits
//! simple enough run on the batch's bytes without decoding it ([`wire`]).

pub mod config;
pub mod exec;
pub mod ottl;
pub mod wire;

use sluice_guest_sdk::prelude::*;
use sluice_guest_sdk::runtime::Output;

use crate::config::Program;
use crate::exec::Report;

pub struct Transform {
    program: Program,
    plans: wire::Plans,
    buffers: wire::Buffers,
}

fn finish(result: Result<bool, exec::Failure>, report: &Report) -> Result<Outcome, Error> {
    for line in report.lines() {
        sluice_guest_sdk::logs::warn(&line);
    }
    match result {
        Ok(true) => Ok(Outcome::Modified),
        Ok(false) => Ok(Outcome::Unchanged),
        Err(failure) => Err(Error::new(failure)),
    }
}

impl Processor for Transform {
    fn init(config_json: &str) -> Result<Init<Self>, Vec<ConfigProblem>> {
        let (program, warnings) = config::load(config_json)?;
        let plans = wire::Plans::new(&program);
        let transform = Transform {
            program,
            plans,
            buffers: wire::Buffers::default(),
        };
        Ok(Init::new(transform).warnings(warnings))
    }

    fn handles(&self, signal: Signal) -> bool {
        !match signal {
            Signal::Traces => &self.program.traces,
            Signal::Metrics => &self.program.metrics,
            Signal::Logs => &self.program.logs,
        }
        .is_empty()
    }

    fn process_encoded(
        &mut self,
        signal: Signal,
        batch: &[u8],
        _: &RequestContext,
    ) -> Option<Result<Output, Error>> {
        let plan = self.plans.get(signal)?;
        match wire::run(plan, batch, &mut self.buffers) {
            Ok(Some(bytes)) => Some(Ok(Output::Replaced(bytes))),
            Ok(None) => Some(Ok(Output::Unchanged)),
            // The decoded path reports what is wrong with the batch.
            Err(wire::Malformed) => None,
        }
    }

    fn process_traces(
        &mut self,
        batch: &mut ExportTraceServiceRequest,
        _: &RequestContext,
    ) -> Result<Outcome, Error> {
        let mut report = Report::default();
        let result = exec::traces(&self.program.traces, batch, &mut report);
        finish(result, &report)
    }

    fn process_metrics(
        &mut self,
        batch: &mut ExportMetricsServiceRequest,
        _: &RequestContext,
    ) -> Result<Outcome, Error> {
        let mut report = Report::default();
        let result = exec::metrics(&self.program.metrics, batch, &mut report);
        finish(result, &report)
    }

    fn process_logs(
        &mut self,
        batch: &mut ExportLogsServiceRequest,
        _: &RequestContext,
    ) -> Result<Outcome, Error> {
        let mut report = Report::default();
        let result = exec::logs(&self.program.logs, batch, &mut report);
        finish(result, &report)
    }
}

sluice_guest_sdk::export_processor!(Transform);
