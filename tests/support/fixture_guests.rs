//! The runtime's fixture guests (`host/wasm/tests/fixtures`: `panic`, `spin`, `hog`, `ok`...),
//! built once per test run into `target/wasm-fixtures` (the runtime's own tests build the same
//! files there, so this is usually a no-op).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use anyhow::{Result, anyhow};

/// The component file of fixture `name` (`panic`, `spin`, `hog`, `ok`, `ok2`, `garbage`).
pub fn fixture_guest(name: &str) -> Result<PathBuf> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let dir = BUILT
        .get_or_init(build)
        .as_ref()
        .map_err(|e| anyhow!("{e}"))?;
    let path = dir.join(format!("fixture_{}.wasm", name.replace('-', "_")));
    if path.is_file() {
        Ok(path)
    } else {
        Err(anyhow!("no fixture guest {}", path.display()))
    }
}

fn build() -> Result<PathBuf, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let fixtures = root.join("host/wasm/tests/fixtures");
    let target = root.join("target/wasm-fixtures");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(&fixtures)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--workspace",
        ])
        .output()
        .map_err(|e| format!("cannot run cargo to build the fixture guests: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "building the fixture guests failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(target.join("wasm32-wasip2/release"))
}
