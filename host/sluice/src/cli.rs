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

    /// Environment name (`dev`, `staging`, `prod`): guests see it in their request context.
    /// Without --config, selects `<config dir>/base.yaml` (if present) + `<config dir>/NAME.yaml`.
    #[arg(long = "env", value_name = "NAME", env = "SLUICE_ENV", global = true)]
    pub env: Option<String>,

    /// Where --env looks for `base.yaml` and `NAME.yaml`.
    #[arg(
        long,
        value_name = "DIR",
        env = "SLUICE_CONFIG_DIR",
        default_value = "config",
        global = true
    )]
    pub config_dir: PathBuf,

    /// Log format [default: service.telemetry.logs.encoding, else text].
    #[arg(long, value_enum, env = "SLUICE_LOG_FORMAT", global = true)]
    pub log_format: Option<LogFormat>,

    /// Where logs (and the debug exporter's output) go.
    #[arg(
        long,
        value_enum,
        env = "SLUICE_LOG_OUTPUT",
        default_value = "stderr",
        global = true
    )]
    pub log_output: LogOutput,

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogOutput {
    Stderr,
    Stdout,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check config files and print every problem; exit 64 if invalid, 0 if valid.
    Validate(ValidateArgs),
    /// Generate a development CA, a server certificate and a client certificate.
    Certs(CertsArgs),
    /// Ask a running Sluice's health_check extension; exit 0 when it answers 200, 1 otherwise.
    Health(HealthArgs),
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Config file(s), merged as when running; or none with --env.
    #[arg(long = "config", short = 'c', value_name = "FILE", num_args = 1..)]
    pub config: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct HealthArgs {
    /// The health_check extension's URL (plain HTTP) [default: http://$SLUICE_HEALTH_ENDPOINT/
    /// when set (0.0.0.0 meaning localhost), else http://localhost:13133/].
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Give up after this long (`2s`, `500ms`).
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = humantime::parse_duration)]
    pub timeout: std::time::Duration,
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
