//! Command-line interface.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Sluice: a secure OpenTelemetry pipeline host. Reads OpenTelemetry Collector configs.
#[derive(Debug, Parser)]
#[command(
    name = "sluice",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// Config file; repeat to layer files (later files override earlier keys, lists are replaced).
    #[arg(
        long = "config",
        short = 'c',
        value_name = "FILE",
        env = "SLUICE_CONFIG",
        value_delimiter = ','
    )]
    pub config: Vec<PathBuf>,

    /// Log format on stderr [default: service.telemetry.logs.encoding, else text].
    #[arg(long, value_enum, global = true)]
    pub log_format: Option<LogFormat>,

    /// Log filter (`info`, `debug`, `sluice=debug,warn`); default from service.telemetry.logs.level
    /// or RUST_LOG.
    #[arg(long, global = true)]
    pub log_level: Option<String>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check config files and print every problem; exit 64 if invalid, 0 if valid.
    Validate(ValidateArgs),
    /// Generate a development CA, a server certificate and a client certificate.
    Certs(CertsArgs),
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Config file(s), merged as when running.
    #[arg(long = "config", short = 'c', value_name = "FILE", required = true, num_args = 1..)]
    pub config: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CertsArgs {
    /// Directory to write ca.crt, ca.key, server.crt, server.key, client.crt, client.key into.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Names and addresses the server certificate is valid for (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "localhost,127.0.0.1")]
    pub hosts: Vec<String>,
    /// Validity in days.
    #[arg(long, default_value_t = 365)]
    pub days: u32,
    /// Common name of the client certificate.
    #[arg(long, default_value = "sluice-client")]
    pub client_cn: String,
    /// Overwrite existing files.
    #[arg(long)]
    pub force: bool,
}
