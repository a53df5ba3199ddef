//! The `sluice` binary: parse arguments, set up logging, then hand over to the library.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use sluice::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Validate(args)) => sluice::commands::validate(&args.config),
        Some(Command::Certs(args)) => sluice::commands::certs(&args),
        None => sluice::commands::run(&cli.config, cli.log_format, cli.log_level.as_deref()),
    }
}
