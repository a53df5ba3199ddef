//! Where a queue's files live: `{file_storage.directory}/exporter_{exporter}_{signal}`.

use std::fs::DirBuilder;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use sluice_config::{FileStorageSettings, Signal};

use crate::queue::QueueError;

/// Mode of created directories when `directory_permissions` is not set (as the Collector).
const DEFAULT_MODE: u32 = 0o750;

/// The directory of one exporter's queue of one signal. Characters other than ASCII letters,
/// digits, `-`, `_` and `.` in the exporter id become `_` (`otlp/tempo` → `otlp_tempo`).
pub(crate) fn queue_dir(root: &Path, exporter: &str, signal: Signal) -> PathBuf {
    let name: String = exporter
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    root.join(format!("exporter_{name}_{signal}"))
}

/// Check the `file_storage` directory, creating it when `create_directory` is set.
pub(crate) fn prepare_root(settings: &FileStorageSettings) -> Result<PathBuf, QueueError> {
    let root = settings.directory.clone();
    let mode = mode(settings)?;
    match std::fs::metadata(&root) {
        Ok(meta) if meta.is_dir() => Ok(root),
        Ok(_) => Err(QueueError::io(
            "use as the file_storage directory",
            root,
            io::Error::new(io::ErrorKind::NotADirectory, "not a directory"),
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if !settings.create_directory {
                return Err(QueueError::MissingDirectory { path: root });
            }
            DirBuilder::new()
                .recursive(true)
                .mode(mode)
                .create(&root)
                .map_err(|e| QueueError::io("create", &root, e))?;
            tracing::info!(directory = %root.display(), "created the file_storage directory");
            Ok(root)
        }
        Err(e) => Err(QueueError::io("read", root, e)),
    }
}

/// Create a queue's own directory inside the root (nothing if it exists).
pub(crate) fn create_queue_dir(
    dir: &Path,
    settings: &FileStorageSettings,
) -> Result<(), QueueError> {
    match DirBuilder::new().mode(mode(settings)?).create(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(QueueError::io("create", dir, e)),
    }
}

fn mode(settings: &FileStorageSettings) -> Result<u32, QueueError> {
    let Some(text) = settings.directory_permissions.as_deref() else {
        return Ok(DEFAULT_MODE);
    };
    let digits = text.trim().trim_start_matches("0o");
    u32::from_str_radix(digits, 8)
        .ok()
        .filter(|m| *m <= 0o7777)
        .ok_or_else(|| QueueError::BadPermissions {
            value: text.to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exporter_ids_become_safe_directory_names() {
        let root = Path::new("/q");
        assert_eq!(
            queue_dir(root, "otlp/tempo", Signal::Traces),
            Path::new("/q/exporter_otlp_tempo_traces")
        );
        assert_eq!(
            queue_dir(root, "otlphttp/../../etc", Signal::Logs),
            Path::new("/q/exporter_otlphttp_.._.._etc_logs")
        );
    }

    #[test]
    fn permissions_are_octal() {
        let mut s = FileStorageSettings {
            directory_permissions: Some("0700".into()),
            ..Default::default()
        };
        assert_eq!(mode(&s).unwrap(), 0o700);
        s.directory_permissions = Some("rwx".into());
        assert!(matches!(mode(&s), Err(QueueError::BadPermissions { .. })));
        s.directory_permissions = None;
        assert_eq!(mode(&s).unwrap(), 0o750);
    }
}
