//! `status_code` (the Collector's `status_code.go`): sampled when any span has one of the
//! listed status codes.

use sluice_guest_sdk::otlp::trace::status::StatusCode as Code;

use crate::decision::Decision;
use crate::trace_view::TraceRef;

/// `status_code` policy settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCodes {
    /// The codes (`UNSET` = 0, `OK` = 1, `ERROR` = 2).
    pub codes: Vec<i32>,
}

impl StatusCodes {
    /// Parses `OK`, `ERROR`, `UNSET` (exact spelling).
    pub fn parse_code(name: &str) -> Option<i32> {
        match name {
            "OK" => Some(Code::Ok as i32),
            "ERROR" => Some(Code::Error as i32),
            "UNSET" => Some(Code::Unset as i32),
            _ => None,
        }
    }

    /// Sampled when a span's status code (unset when there is no status) is listed.
    pub fn evaluate(&self, trace: &TraceRef<'_>) -> Decision {
        trace.has_span(|span| {
            let code = span.status.as_ref().map_or(0, |s| s.code);
            self.codes.contains(&code)
        })
    }
}
