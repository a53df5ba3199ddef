//! `error_mode`: ignore logs and continues, silent continues, propagate fails the batch.

use serde_json::json;
use sluice_guest_sdk::prelude::*;
use sluice_guest_sdk::runtime::Failure;
use sluice_guest_sdk::testing::{Level, fixtures, take_logs};

use crate::support::{changed, harness};

fn config(mode: &str) -> serde_json::Value {
    json!({
        "error_mode": mode,
        "log_statements": [
            r#"set(log.attributes["hash"], SHA256(log.attributes["user"]))"#,
            r#"set(log.attributes["seen"], true)"#,
        ]
    })
}

/// Two records without a `user` attribute (SHA256 of nil fails) and one with.
fn batch() -> ExportLogsServiceRequest {
    fixtures::logs(
        [],
        [
            fixtures::log_record("a", []),
            fixtures::log_record("b", [KeyValue::new("user", "ann")]),
            fixtures::log_record("c", []),
        ],
    )
}

#[test]
fn ignore_skips_the_failing_statement_and_logs_one_line_per_statement() {
    take_logs();
    let mut h = harness(config("ignore"));
    let out = changed(&mut h, &batch());
    let recs = &out.resource_logs[0].scope_logs[0].log_records;
    assert!(recs.iter().all(|r| r.attribute("seen").is_some()));
    assert!(recs[1].str_attribute("hash").is_some());
    let logs = take_logs();
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert_eq!(logs[0].0, Level::Warn);
    assert!(
        logs[0]
            .1
            .starts_with("log_statements[0]: statement failed on 2 item(s)"),
        "{}",
        logs[0].1
    );
    assert!(
        logs[0].1.contains("SHA256 expects a string, got nil"),
        "{}",
        logs[0].1
    );
}

#[test]
fn silent_skips_without_logging() {
    take_logs();
    let mut h = harness(config("silent"));
    let out = changed(&mut h, &batch());
    assert!(
        out.resource_logs[0].scope_logs[0]
            .log_records
            .iter()
            .all(|r| r.attribute("seen").is_some())
    );
    assert!(take_logs().is_empty());
}

#[test]
fn propagate_fails_the_whole_batch_naming_the_statement() {
    let mut h = harness(config("propagate"));
    let err = h.process(&batch()).unwrap_err();
    let Failure::Failed(message) = err else {
        panic!("{err:?}")
    };
    assert!(
        message.starts_with("log_statements[0]: SHA256 expects a string, got nil"),
        "{message}"
    );
    // The instance stays usable: a batch without failures goes through.
    let ok = fixtures::logs(
        [],
        [fixtures::log_record("b", [KeyValue::new("user", "ann")])],
    );
    changed(&mut h, &ok);
}

#[test]
fn group_error_mode_overrides_the_top_level_one() {
    let mut h = harness(json!({
        "error_mode": "propagate",
        "log_statements": [{"error_mode": "silent", "statements": [r#"set(log.attributes["hash"], SHA256(log.attributes["user"]))"#]}]
    }));
    assert!(h.process(&batch()).is_ok());
}
