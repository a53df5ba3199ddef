//! Per-environment bundles: `--env NAME` (or `SLUICE_ENV`) names the environment Sluice runs
//! in and, without explicit `--config` files, selects `<config dir>/base.yaml` (when present)
//! layered with `<config dir>/NAME.yaml`.

use std::path::{Path, PathBuf};

/// The shared part of every environment, layered first.
pub const BASE: &str = "base";

/// The config files to load and the environment to run in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub files: Vec<PathBuf>,
    pub environment: Option<String>,
}

/// Why no config could be selected.
#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    #[error("no config given: pass --env NAME (a bundle in {dir}) or --config FILE (see --help)")]
    Nothing { dir: PathBuf },
    #[error(
        "invalid environment name {name:?}: use letters, digits, '-', '_' or '.', not starting with '.'"
    )]
    InvalidName { name: String },
    #[error("environment {name:?} not found: no {file} ({available})")]
    Unknown {
        name: String,
        file: PathBuf,
        available: String,
    },
}

/// Which files to load: explicit `files` win (`env` then only names the environment);
/// otherwise `env` selects its bundle in `dir`.
pub fn select(files: &[PathBuf], env: Option<&str>, dir: &Path) -> Result<Selection, SelectError> {
    let environment = env.filter(|e| !e.is_empty()).map(str::to_owned);
    if !files.is_empty() {
        return Ok(Selection {
            files: files.to_vec(),
            environment,
        });
    }
    let Some(name) = environment else {
        return Err(SelectError::Nothing {
            dir: dir.to_owned(),
        });
    };
    if !valid_name(&name) {
        return Err(SelectError::InvalidName { name });
    }
    let overlay = find(dir, &name).ok_or_else(|| SelectError::Unknown {
        file: dir.join(format!("{name}.yaml")),
        available: match available(dir) {
            Ok(names) if names.is_empty() => format!("no environments in {}", dir.display()),
            Ok(names) => format!("available: {}", names.join(", ")),
            Err(e) => format!("cannot list {}: {e}", dir.display()),
        },
        name: name.clone(),
    })?;
    let mut selected = Vec::new();
    if name != BASE
        && let Some(base) = find(dir, BASE)
    {
        selected.push(base);
    }
    selected.push(overlay);
    Ok(Selection {
        files: selected,
        environment: Some(name),
    })
}

/// The environments a directory offers: every `*.yaml` / `*.yml` but `base`, sorted.
pub fn available(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_file())
        .filter(|path| {
            path.extension()
                .is_some_and(|ext| ext == "yaml" || ext == "yml")
        })
        .filter_map(|path| path.file_stem()?.to_str().map(str::to_owned))
        .filter(|name| name != BASE && valid_name(name))
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}

fn find(dir: &Path, name: &str) -> Option<PathBuf> {
    ["yaml", "yml"]
        .iter()
        .map(|ext| dir.join(format!("{name}.{ext}")))
        .find(|path| path.is_file())
}

/// A file stem, never a path: no separators, no leading dot (`..`).
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A temporary directory holding empty `files`, removed on drop.
    struct Dir(PathBuf);

    impl Dir {
        fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn dir_with(files: &[&str]) -> Dir {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("sluice-env-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        for f in files {
            std::fs::write(dir.join(f), "{}").expect("write");
        }
        Dir(dir)
    }

    #[test]
    fn env_selects_base_then_overlay() {
        let dir = dir_with(&["base.yaml", "dev.yaml", "prod.yaml"]);
        let s = select(&[], Some("prod"), dir.path()).expect("selected");
        assert_eq!(
            s.files,
            vec![dir.path().join("base.yaml"), dir.path().join("prod.yaml")]
        );
        assert_eq!(s.environment.as_deref(), Some("prod"));
    }

    #[test]
    fn overlay_alone_without_base() {
        let dir = dir_with(&["dev.yml"]);
        let s = select(&[], Some("dev"), dir.path()).expect("selected");
        assert_eq!(s.files, vec![dir.path().join("dev.yml")]);
    }

    #[test]
    fn explicit_files_win_and_env_only_names() {
        let dir = dir_with(&["base.yaml", "dev.yaml"]);
        let files = vec![PathBuf::from("x.yaml")];
        let s = select(&files, Some("prod"), dir.path()).expect("selected");
        assert_eq!(s.files, files);
        assert_eq!(s.environment.as_deref(), Some("prod"));
    }

    #[test]
    fn unknown_env_lists_the_available_ones() {
        let dir = dir_with(&["base.yaml", "dev.yaml", "prod.yaml", "notes.txt"]);
        let e = select(&[], Some("qa"), dir.path())
            .expect_err("unknown")
            .to_string();
        assert!(e.contains("environment \"qa\" not found"), "{e}");
        assert!(e.contains("available: dev, prod"), "{e}");
    }

    #[test]
    fn names_are_not_paths() {
        let dir = dir_with(&["dev.yaml"]);
        for bad in ["../dev", "a/b", ".hidden", ".."] {
            let e = select(&[], Some(bad), dir.path()).expect_err(bad);
            assert!(matches!(e, SelectError::InvalidName { .. }), "{bad}: {e}");
        }
    }

    #[test]
    fn nothing_given_is_an_error() {
        let dir = dir_with(&[]);
        assert!(matches!(
            select(&[], None, dir.path()),
            Err(SelectError::Nothing { .. })
        ));
        assert!(matches!(
            select(&[], Some(""), dir.path()),
            Err(SelectError::Nothing { .. })
        ));
    }

    #[test]
    fn missing_dir_says_so() {
        let e = select(&[], Some("dev"), Path::new("/nonexistent/sluice-config"))
            .expect_err("missing")
            .to_string();
        assert!(e.contains("cannot list /nonexistent/sluice-config"), "{e}");
    }
}
