//! The `sluice` binary: parse arguments, set up logging, then hand over to the library.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use sluice::cli::{Cli, Command};

/// OTLP decoding is allocation-heavy (a String or Vec per attribute); mimalloc's thread-local
/// free lists make it markedly cheaper than glibc malloc (see bench/README.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let select = |files: &[std::path::PathBuf]| {
        sluice::commands::select(files, cli.env.as_deref(), &cli.config_dir)
    };
    match &cli.command {
        Some(Command::Validate(args)) => match select(&args.config) {
            Ok(selection) => sluice::commands::validate(&selection),
            Err(code) => code,
        },
        Some(Command::Certs(args)) => sluice::commands::certs(args),
        Some(Command::Health(args)) => sluice::commands::health(args),
        None => match select(&cli.config) {
            Ok(selection) => sluice::commands::run(
                &selection,
                cli.log_format,
                cli.log_output,
                cli.log_level.as_deref(),
            ),
            Err(code) => code,
        },
    }
}
