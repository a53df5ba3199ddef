//! Why a sending queue could not be built. Each message names the path and says what to do.

use std::path::PathBuf;

/// Building a [`SendingQueue`](super::SendingQueue) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueueError {
    /// `sending_queue.storage` names an extension, but no `file_storage` settings were passed.
    #[error(
        "exporter {exporter}: sending_queue.storage is \"{storage}\" but that file_storage \
         extension was not provided; declare it under extensions: and list it in \
         service.extensions"
    )]
    StorageNotProvided { exporter: String, storage: String },
    /// The `file_storage` directory does not exist and `create_directory` is off.
    #[error(
        "file_storage directory {} does not exist: create it (writable by the user Sluice runs \
         as) or set create_directory: true on the extension",
        path.display()
    )]
    MissingDirectory { path: PathBuf },
    /// `directory_permissions` is not an octal mode.
    #[error("file_storage directory_permissions {value:?} is not an octal mode: use e.g. \"0750\"")]
    BadPermissions { value: String },
    /// A file or directory of the queue could not be created, read or written.
    #[error(
        "cannot {action} {}: {source}; check that the file_storage directory is writable by the \
         user Sluice runs as and that the disk has space",
        path.display()
    )]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Another queue holds the directory's lock.
    #[error(
        "{} is in use by another sending queue (another Sluice process using the same \
         file_storage directory, or a previous instance of this exporter that was not shut \
         down): give every process its own directory",
        path.display()
    )]
    Locked { path: PathBuf },
    /// [`SendingQueue::new`](super::SendingQueue::new) was called outside a tokio runtime.
    #[error("the sending queue of exporter {exporter} must be built inside a tokio runtime")]
    NoRuntime { exporter: String },
}

impl QueueError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        QueueError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
