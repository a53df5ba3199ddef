//! Finding the built-in guests (`transform`) without configuration: the normal build puts them
//! in `target/wasm32-wasip2/release/`, an installed Sluice next to its binary under `guests/`,
//! and `SLUICE_GUEST_DIR` overrides both.

use std::path::{Path, PathBuf};

/// Where a built-in guest is looked for, in order.
pub fn search_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::var_os("SLUICE_GUEST_DIR") {
        dirs.push(PathBuf::from(dir));
    }
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        dirs.push(exe_dir.join("guests"));
        // target/{debug,release}/sluice and target/debug/deps/<test binary>
        for up in [exe_dir.parent(), exe_dir.parent().and_then(Path::parent)]
            .into_iter()
            .flatten()
        {
            dirs.push(up.join("wasm32-wasip2/release"));
        }
    }
    dirs.push(PathBuf::from("/usr/lib/sluice/guests"));
    dirs
}

/// The component file of built-in guest `name` (`transform`), or an error that says where it
/// was looked for and how to build it.
pub fn builtin(name: &str) -> Result<PathBuf, String> {
    let files = [format!("{name}.wasm"), format!("sluice_guest_{name}.wasm")];
    let dirs = search_dirs();
    for dir in &dirs {
        for file in &files {
            let path = dir.join(file);
            if path.is_file() {
                return Ok(path);
            }
        }
    }
    Err(not_found(name, &files, &dirs))
}

/// Where built-in guest `name` was looked for, and how to build it.
fn not_found(name: &str, files: &[String], dirs: &[PathBuf]) -> String {
    format!(
        "built-in guest {name:?} not found (looked for {} in {}); build it with \
         `cargo build --release --target wasm32-wasip2 -p sluice-guest-{}` (or bash .ci/build-guests) \
         or set SLUICE_GUEST_DIR",
        files.join(" or "),
        dirs.iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        name.replace('_', "-"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_guest_says_where_it_was_looked_for_and_how_to_build_it() {
        let files = [
            "tail_sampling.wasm".to_owned(),
            "sluice_guest_tail_sampling.wasm".to_owned(),
        ];
        let dirs = [PathBuf::from("/a"), PathBuf::from("/b/release")];
        let message = not_found("tail_sampling", &files, &dirs);
        assert!(
            message.contains(
                "looked for tail_sampling.wasm or sluice_guest_tail_sampling.wasm in /a, /b/release"
            ),
            "{message}"
        );
        assert!(
            message.contains("-p sluice-guest-tail-sampling`"),
            "{message}"
        );
    }
}
