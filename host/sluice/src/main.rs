//! The `sluice` binary: parse arguments, set up logging, then hand over to the library.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use sluice::cli::{Cli, Command};

/// OTLP decoding is allocation-heavy (a String or Vec per attribute); mimalloc's thread-local
/// free lists make it markedly cheaper than glibc malloc (see bench/README.md).
#[global_allocator]
static ALLOCATOR: sluice_alloc::MiMalloc = sluice_alloc::MiMalloc;

fn main() -> ExitCode {
    // Both before any other thread exists (mimalloc's option setters are not thread-safe).
    sluice_alloc::tune();
    without_huge_pages();
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

/// mimalloc asks for transparent huge pages on its arenas, so the kernel zeroes a whole 2 MiB
/// page the first time any byte of it is touched. Sluice's heap is touched sparsely: with huge
/// pages, zeroing cost ~8% of the CPU at 10k spans/s and peak RSS was 172 MiB instead of 95 MiB
/// (bench/README.md). Off for the whole process, before anything allocates much; a kernel
/// without the setting keeps its own policy.
#[cfg(target_os = "linux")]
fn without_huge_pages() {
    let _ = rustix::thread::disable_transparent_huge_pages(true);
}

#[cfg(not(target_os = "linux"))]
fn without_huge_pages() {}
