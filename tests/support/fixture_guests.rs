//! The runtime's fixture guests (`host/wasm/tests/fixtures`: `panic`, `spin`, `hog`, `ok`...),
//! built on first use by `sluice-fixture-guests` (shared with the runtime's own tests).

use std::path::PathBuf;

use anyhow::{Result, anyhow};

/// The component file of fixture `name` (`panic`, `spin`, `hog`, `ok`, `ok2`, `garbage`).
pub fn fixture_guest(name: &str) -> Result<PathBuf> {
    sluice_fixture_guests::path(name).map_err(|e| anyhow!(e))
}
