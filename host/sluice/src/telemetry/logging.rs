//! Logs on stderr (or stdout), as text or JSON lines, filtered by `--log-level`, `RUST_LOG` or
//! `service.telemetry.logs.level`, in that order.

use std::io::IsTerminal;

use sluice_config::LogsTelemetry;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::BoxMakeWriter;

use crate::cli::{LogFormat, LogOutput};

pub fn init(
    format: Option<LogFormat>,
    output: LogOutput,
    level: Option<&str>,
    config: &LogsTelemetry,
) {
    let filter = level
        .map(EnvFilter::new)
        .or_else(|| EnvFilter::try_from_default_env().ok())
        .unwrap_or_else(|| EnvFilter::new(&config.level));
    let format = format.unwrap_or(match config.encoding.as_deref() {
        Some("json") => LogFormat::Json,
        _ => LogFormat::Text,
    });
    let (writer, terminal) = match output {
        LogOutput::Stderr => (
            BoxMakeWriter::new(std::io::stderr),
            std::io::stderr().is_terminal(),
        ),
        LogOutput::Stdout => (
            BoxMakeWriter::new(std::io::stdout),
            std::io::stdout().is_terminal(),
        ),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(terminal && format != LogFormat::Json)
        .with_writer(writer);
    // `try_init` fails only if a subscriber is already set (tests): keep that one.
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
