//! What the component answers the host, driven through the same path as the exports.

use std::time::Duration;

use prost::Message;
use sluice_guest_sdk::prelude::*;
use sluice_guest_sdk::runtime::{self, Failure, Output};
use sluice_guest_sdk::testing::{Harness, Level, Processed, fixtures, take_emitted, take_logs};
use sluice_guest_sdk::{ConfigProblem, Signal};

/// Behaves according to the first span's name.
struct Scripted;

impl Processor for Scripted {
    fn init(config_json: &str) -> Result<Init<Self>, Vec<ConfigProblem>> {
        match config_json {
            "{}" => Ok(Init::new(Scripted)),
            "warn" => Ok(Init::new(Scripted)
                .warn(ConfigProblem::new("a", "deprecated"))
                .flush_every(Duration::from_secs(15))),
            _ => Err(vec![
                ConfigProblem::new("x", "bad"),
                ConfigProblem::new("y", "worse"),
            ]),
        }
    }

    fn handles(&self, signal: Signal) -> bool {
        signal != Signal::Logs
    }

    fn process_traces(
        &mut self,
        batch: &mut ExportTraceServiceRequest,
        ctx: &RequestContext,
    ) -> Result<Outcome, Error> {
        let span = &mut batch.resource_spans[0].scope_spans[0].spans[0];
        match span.name.as_str() {
            "edit-but-say-unchanged" => {
                span.name = "edited".into();
                Ok(Outcome::Unchanged)
            }
            "edit" => {
                span.set_attribute("tenant", ctx.tenant.clone().unwrap_or_default());
                Ok(Outcome::Modified)
            }
            "empty" => {
                batch.resource_spans[0].scope_spans[0].spans.clear();
                Ok(Outcome::Modified)
            }
            "drop" => Ok(Outcome::Dropped),
            "emit" => {
                sluice_guest_sdk::logs::info("emitting");
                sluice_guest_sdk::emit(&fixtures::metrics(
                    [],
                    [fixtures::gauge("g", [fixtures::int_point(1, [])])],
                ))
                .map_err(|e| Error::new(e.to_string()))?;
                Ok(Outcome::Unchanged)
            }
            other => Err(Error::new(format!("cannot handle {other}"))),
        }
    }

    fn flush(&mut self) -> Result<(), Error> {
        Err("nothing to flush".into())
    }
}

fn traces(name: &str) -> ExportTraceServiceRequest {
    fixtures::traces([], [fixtures::span(name, [])])
}

#[test]
fn unchanged_outcome_forwards_the_original_even_if_the_batch_was_edited() {
    let mut h = Harness::<Scripted>::new("{}").unwrap();
    assert_eq!(
        h.process(&traces("edit-but-say-unchanged")).unwrap(),
        Processed::Unchanged
    );
}

#[test]
fn modified_outcome_returns_the_re_encoded_batch_with_request_context() {
    let mut h = Harness::<Scripted>::new("{}").unwrap();
    h.context_mut().tenant = Some("acme".into());
    let out = h.process(&traces("edit")).unwrap().replaced().unwrap();
    assert_eq!(
        out.resource_spans[0].scope_spans[0].spans[0].str_attribute("tenant"),
        Some("acme")
    );
}

#[test]
fn modified_batch_left_empty_and_dropped_outcome_both_drop() {
    let mut h = Harness::<Scripted>::new("{}").unwrap();
    assert_eq!(h.process(&traces("empty")).unwrap(), Processed::Dropped);
    assert_eq!(h.process(&traces("drop")).unwrap(), Processed::Dropped);
}

#[test]
fn processor_errors_and_malformed_bytes_are_error_values() {
    let mut h = Harness::<Scripted>::new("{}").unwrap();
    assert_eq!(
        h.process(&traces("boom")).unwrap_err(),
        Failure::Failed("cannot handle boom".into())
    );
    let err = h.process_bytes(Signal::Traces, &[0x0a, 0xff]).unwrap_err();
    assert!(
        matches!(&err, Failure::Malformed(m) if m.starts_with("not an OTLP traces request")),
        "{err:?}"
    );
    assert_eq!(h.flush().unwrap_err(), "nothing to flush");
}

#[test]
fn signals_the_processor_does_not_handle_are_not_decoded() {
    let mut h = Harness::<Scripted>::new("{}").unwrap();
    assert_eq!(
        h.process_bytes(Signal::Logs, b"\xff\xff not protobuf")
            .unwrap(),
        Output::Unchanged
    );
    let metrics = fixtures::metrics([], []).encode_to_vec();
    assert_eq!(
        h.process_bytes(Signal::Metrics, &metrics).unwrap(),
        Output::Unchanged
    );
}

#[test]
fn init_reports_every_problem_and_leaves_no_processor_behind() {
    let problems = Harness::<Scripted>::new("nope").err().unwrap();
    assert_eq!(problems.len(), 2);
    let mut slot: Option<Scripted> = None;
    assert!(runtime::init(&mut slot, "nope").is_err());
    assert!(slot.is_none());
    let err =
        runtime::process(&mut slot, Signal::Traces, &RequestContext::default(), &[]).unwrap_err();
    assert!(matches!(err, Failure::Failed(m) if m.contains("before a successful init")));
}

#[test]
fn init_passes_warnings_and_flush_interval_to_the_host() {
    let h = Harness::<Scripted>::new("warn").unwrap();
    assert_eq!(h.warnings(), [ConfigProblem::new("a", "deprecated")]);
    assert_eq!(h.flush_interval_ms(), Some(15_000));
}

#[test]
fn logs_and_emitted_batches_are_captured_natively() {
    take_logs();
    take_emitted();
    let mut h = Harness::<Scripted>::new("{}").unwrap();
    assert_eq!(h.process(&traces("emit")).unwrap(), Processed::Unchanged);
    assert_eq!(take_logs(), [(Level::Info, "emitting".to_owned())]);
    let emitted = take_emitted();
    assert_eq!(emitted.len(), 1);
    assert_eq!(emitted[0].0, Signal::Metrics);
    let batch = ExportMetricsServiceRequest::decode(emitted[0].1.as_slice()).unwrap();
    assert_eq!(batch.item_count(), 1);
}
