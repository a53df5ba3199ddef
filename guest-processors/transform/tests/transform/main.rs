//! The transform guest, natively: the Collector's documented examples as golden tests,
//! config forms and errors, OTTL functions, error modes.

mod config;
mod error_mode;
mod functions;
mod readme;
mod support;
