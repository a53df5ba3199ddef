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
    match cli.command {
        Some(Command::Validate(args)) => sluice::commands::validate(&args.config),
        Some(Command::Certs(args)) => sluice::commands::certs(&args),
        None => sluice::commands::run(&cli.config, cli.log_format, cli.log_level.as_deref()),
    }
}
