//! W3C `tracestate` with its OpenTelemetry `ot` entry (`rv`, `th`), parsed and serialized as
//! the Collector's `pkg/sampling` (`w3ctracestate.go`, `oteltracestate.go`, `common.go`) does.
//!
//! Serialization puts `ot` first (`rv`, then `th`, then other `ot` members), then the other
//! vendors' entries in arrival order, with optional whitespace and empty members dropped.

use crate::sampling::{Randomness, SamplingError, Threshold};

const HARD_MAX_NUM_PAIRS: usize = 32;
const HARD_MAX_W3C_LENGTH: usize = 1024;
const HARD_MAX_KEY_LENGTH: usize = 256;
const HARD_MAX_TENANT_LENGTH: usize = 241;
const HARD_MAX_SYSTEM_LENGTH: usize = 14;
const HARD_MAX_OTEL_LENGTH: usize = 256;

/// Why a tracestate was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceStateError {
    /// Too long, too many members, or a key over its size limit.
    Size,
    /// Not W3C / OTel tracestate syntax.
    Syntax,
    /// A bad `rv` or `th` value.
    Value(SamplingError),
}

impl std::fmt::Display for TraceStateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TraceStateError::Size => f.write_str("invalid tracestate size"),
            TraceStateError::Syntax => f.write_str("invalid syntax"),
            TraceStateError::Value(e) => e.fmt(f),
        }
    }
}

/// The `ot` entry's sampling fields and other members.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OTelTraceState {
    rnd: Option<(Randomness, String)>,
    th: Option<(Threshold, String)>,
    extra: Vec<(String, String)>,
}

/// A parsed W3C tracestate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct W3CTraceState {
    otel: OTelTraceState,
    extra: Vec<(String, String)>,
}

impl W3CTraceState {
    /// Parses a `tracestate` value (`NewW3CTraceState`). The empty string is valid and empty.
    pub fn parse(input: &str) -> Result<W3CTraceState, TraceStateError> {
        match W3CTraceState::parse_partial(input) {
            (w3c, None) => Ok(w3c),
            (_, Some(e)) => Err(e),
        }
    }

    /// Parses like [`W3CTraceState::parse`] but also returns what was parsed before an error,
    /// as the Collector's carrier keeps it.
    pub fn parse_partial(input: &str) -> (W3CTraceState, Option<TraceStateError>) {
        let mut w3c = W3CTraceState::default();
        if input.is_empty() {
            return (w3c, None);
        }
        if input.len() > HARD_MAX_W3C_LENGTH {
            return (w3c, Some(TraceStateError::Size));
        }
        if !is_valid_w3c(input) {
            return (w3c, Some(TraceStateError::Syntax));
        }
        let mut first_error = None;
        for (i, member) in input.split(',').enumerate() {
            // As the Collector's scanner: the 32nd member (empty ones count) is an error.
            if i + 1 >= HARD_MAX_NUM_PAIRS {
                return (w3c, Some(TraceStateError::Size));
            }
            let member = member.trim_matches([' ', '\t']);
            let Some((key, value)) = member.split_once('=') else {
                continue;
            };
            let error = if key.len() > HARD_MAX_KEY_LENGTH {
                Some(TraceStateError::Size)
            } else if let Some((tenant, system)) = key.split_once('@')
                && (tenant.len() > HARD_MAX_TENANT_LENGTH || system.len() > HARD_MAX_SYSTEM_LENGTH)
            {
                Some(TraceStateError::Size)
            } else if key == "ot" {
                let (ot, error) = OTelTraceState::parse_partial(value);
                w3c.otel = ot;
                error
            } else {
                w3c.extra.push((key.to_owned(), value.to_owned()));
                None
            };
            if let Some(e) = error {
                first_error.get_or_insert(e);
            }
        }
        (w3c, first_error)
    }

    /// The `ot` entry.
    pub fn otel(&self) -> &OTelTraceState {
        &self.otel
    }

    /// The `ot` entry, writable.
    pub fn otel_mut(&mut self) -> &mut OTelTraceState {
        &mut self.otel
    }

    /// Encodes the tracestate (`Serialize`).
    pub fn serialize(&self) -> String {
        let mut parts: Vec<String> = Vec::with_capacity(self.extra.len() + 1);
        if self.otel.has_any_value() {
            parts.push(format!("ot={}", self.otel.serialize()));
        }
        parts.extend(self.extra.iter().map(|(k, v)| format!("{k}={v}")));
        parts.join(",")
    }
}

impl OTelTraceState {
    /// Parses the value of the `ot` entry (`NewOpenTelemetryTraceState`), returning what was
    /// parsed and the first error.
    pub fn parse_partial(input: &str) -> (OTelTraceState, Option<TraceStateError>) {
        let mut ot = OTelTraceState::default();
        if input.len() > HARD_MAX_OTEL_LENGTH {
            return (ot, Some(TraceStateError::Size));
        }
        if !is_valid_otel(input) {
            return (ot, Some(TraceStateError::Syntax));
        }
        let mut first_error = None;
        for member in input.split(';') {
            let Some((key, value)) = member.split_once(':') else {
                continue;
            };
            match key {
                "rv" => match Randomness::from_rvalue(value) {
                    Ok(r) => ot.rnd = Some((r, value.to_owned())),
                    Err(e) => {
                        ot.rnd = None;
                        first_error.get_or_insert(TraceStateError::Value(e));
                    }
                },
                "th" => match Threshold::from_tvalue(value) {
                    Ok(t) => ot.th = Some((t, value.to_owned())),
                    Err(e) => {
                        ot.th = None;
                        first_error.get_or_insert(TraceStateError::Value(e));
                    }
                },
                _ => ot.extra.push((key.to_owned(), value.to_owned())),
            }
        }
        (ot, first_error)
    }

    /// The explicit randomness (`rv`), if present.
    pub fn randomness(&self) -> Option<Randomness> {
        self.rnd.as_ref().map(|(r, _)| *r)
    }

    /// The threshold (`th`), if present.
    pub fn threshold(&self) -> Option<Threshold> {
        self.th.as_ref().map(|(t, _)| *t)
    }

    /// The `th` text as it arrived or was last set.
    pub fn tvalue(&self) -> Option<&str> {
        self.th.as_ref().map(|(_, s)| s.as_str())
    }

    /// Sets `rv` (`SetRValue`).
    pub fn set_randomness(&mut self, rnd: Randomness) {
        self.rnd = Some((rnd, rnd.rvalue()));
    }

    /// Removes `th` (`ClearTValue`).
    pub fn clear_threshold(&mut self) {
        self.th = None;
    }

    /// Sets `th` unless that would raise the sampling probability of an existing `th`
    /// (`UpdateTValueWithSampling`); returns whether it was set. A never-sample threshold
    /// clears `th`.
    pub fn update_threshold(&mut self, threshold: Threshold) -> bool {
        if let Some(existing) = self.threshold()
            && existing > threshold
        {
            return false;
        }
        let tvalue = threshold.tvalue();
        self.th = (!tvalue.is_empty()).then_some((threshold, tvalue));
        true
    }

    fn has_any_value(&self) -> bool {
        self.rnd.is_some() || self.th.is_some() || !self.extra.is_empty()
    }

    fn serialize(&self) -> String {
        let mut parts: Vec<String> = Vec::with_capacity(self.extra.len() + 2);
        if let Some((_, rv)) = &self.rnd {
            parts.push(format!("rv:{rv}"));
        }
        if let Some((_, th)) = &self.th {
            parts.push(format!("th:{th}"));
        }
        parts.extend(self.extra.iter().map(|(k, v)| format!("{k}:{v}")));
        parts.join(";")
    }
}

/// `isValidW3CTraceState`: comma-separated `key=value` members with optional whitespace.
fn is_valid_w3c(input: &str) -> bool {
    input.split(',').all(|member| {
        let member = member.trim_matches([' ', '\t']);
        if member.is_empty() {
            return true;
        }
        match member.find('=') {
            Some(eq) if eq >= 1 => {
                is_valid_w3c_key(&member[..eq]) && is_valid_w3c_value(&member[eq + 1..])
            }
            _ => false,
        }
    })
}

fn is_lc_alpha(c: u8) -> bool {
    c.is_ascii_lowercase()
}

fn is_lc_alpha_num(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

fn is_key_char(c: u8) -> bool {
    is_lc_alpha_num(c) || matches!(c, b'_' | b'-' | b'*' | b'/')
}

fn is_valid_w3c_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    match key.find('@') {
        Some(at) => {
            let (tenant, system) = (&bytes[..at], &bytes[at + 1..]);
            match (tenant.first(), system.first()) {
                (Some(&t0), Some(&s0)) => {
                    is_lc_alpha_num(t0)
                        && is_lc_alpha(s0)
                        && tenant[1..].iter().all(|&c| is_key_char(c))
                        && system[1..].iter().all(|&c| is_key_char(c))
                }
                _ => false,
            }
        }
        None => match bytes.first() {
            Some(&c0) => is_lc_alpha(c0) && bytes[1..].iter().all(|&c| is_key_char(c)),
            None => false,
        },
    }
}

fn is_nonblank_value_char(c: u8) -> bool {
    matches!(c, 0x21..=0x2b | 0x2d..=0x3c | 0x3e..=0x7e)
}

fn is_valid_w3c_value(value: &str) -> bool {
    let bytes = value.as_bytes();
    match bytes.split_last() {
        Some((&last, rest)) if bytes.len() <= 256 => {
            is_nonblank_value_char(last)
                && rest.iter().all(|&c| c == 0x20 || is_nonblank_value_char(c))
        }
        _ => false,
    }
}

/// `isValidOTelTraceState`: `key:value` members separated by `;`, keys `[a-z][a-z0-9]*`,
/// values `[a-zA-Z0-9._-]*`.
fn is_valid_otel(input: &str) -> bool {
    if input.is_empty() || input.ends_with(';') {
        return false;
    }
    input.split(';').all(|member| match member.find(':') {
        Some(colon) if colon >= 1 => {
            let (key, value) = (&member.as_bytes()[..colon], &member.as_bytes()[colon + 1..]);
            is_lc_alpha(key[0])
                && key[1..].iter().all(|&c| is_lc_alpha_num(c))
                && value
                    .iter()
                    .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
        }
        _ => false,
    })
}
