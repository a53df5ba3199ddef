//! Logs on stderr, as text or JSON lines, filtered by `--log-level`, `RUST_LOG` or
//! `service.telemetry.logs.level`, in that order.

use std::io::IsTerminal;

use sluice_config::LogsTelemetry;
use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

pub fn init(format: Option<LogFormat>, level: Option<&str>, config: &LogsTelemetry) {
    let filter = level
        .map(EnvFilter::new)
        .or_else(|| EnvFilter::try_from_default_env().ok())
        .unwrap_or_else(|| EnvFilter::new(&config.level));
    let format = format.unwrap_or(match config.encoding.as_deref() {
        Some("json") => LogFormat::Json,
        _ => LogFormat::Text,
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    // `try_init` fails only if a subscriber is already set (tests): keep that one.
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
