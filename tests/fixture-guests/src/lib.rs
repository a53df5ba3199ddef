//! The WebAssembly runtime's fixture guests (`host/wasm/tests/fixtures`: `ok`, `ok2`, `panic`,
//! `spin`, `hog`, `garbage`, `reject-config`...), built once per test process into
//! `target/wasm-fixtures` (cargo makes it a no-op when nothing changed). The runtime's own
//! tests, the tenant chain tests and the end-to-end tests all take them from here.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The directory holding the fixtures' `.wasm` files, built on first use.
pub fn dir() -> Result<&'static Path, String> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match BUILT.get_or_init(build) {
        Ok(dir) => Ok(dir),
        Err(e) => Err(e.clone()),
    }
}

/// The component file of fixture `name` (`ok`, `panic`, `reject-config`...).
pub fn path(name: &str) -> Result<PathBuf, String> {
    let path = dir()?.join(format!("fixture_{}.wasm", name.replace('-', "_")));
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!("no fixture guest {}", path.display()))
    }
}

fn build() -> Result<PathBuf, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let fixtures = root.join("host/wasm/tests/fixtures");
    let target = root.join("target/wasm-fixtures");
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("wasm32-wasip2"))
        .unwrap_or(true);
    if !installed {
        let status = Command::new("rustup")
            .args(["target", "add", "wasm32-wasip2"])
            .status();
        if !status.is_ok_and(|s| s.success()) {
            return Err("`rustup target add wasm32-wasip2` failed".into());
        }
    }
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
