//! Re-loading the server certificate, key and client CA when their files change.
//!
//! A background task watches the files' parent directories with `notify` (tools replace files by
//! rename, Kubernetes swaps a `..data` symlink) and, when `reload_interval` is set, re-reads on a
//! timer too. It re-reads the files, and when their bytes changed builds a new `ServerConfig` and
//! swaps it in; a broken file is logged at WARN (once per distinct error) and the old config stays.
//! The task holds only a `Weak` to the shared state and ends when the last [`ServerTls`] clone is
//! dropped. The files are small and read inline on the runtime.

use std::collections::HashSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use notify::event::{AccessKind, AccessMode};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tokio::time::{Interval, MissedTickBehavior};

use crate::server::{Inner, Material, ServerTls};

/// Wait this long after a file event for the rest of a multi-file update before re-reading.
const SETTLE: Duration = Duration::from_millis(200);

impl ServerTls {
    /// Start re-loading: watch cert/key/client-CA files with `notify` (through their parent
    /// directories) and also re-read every `reload_interval` if set. New handshakes use the new
    /// files; open connections are untouched; a broken new file is logged at WARN naming the file
    /// and the old config stays. Call inside a tokio runtime (outside one it logs a WARN and does
    /// nothing); calling it again is a no-op. The background work ends when the last clone is
    /// dropped.
    pub fn start_reloading(&self) {
        let inner = &self.inner;
        let owner = inner.owner.as_str();
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(
                owner,
                "TLS reload not started: no tokio runtime; files are not re-read"
            );
            return;
        };
        if inner.reloading.swap(true, Ordering::SeqCst) {
            return;
        }
        let settings = &inner.settings;
        let files: Vec<PathBuf> = [
            &settings.cert_file,
            &settings.key_file,
            &settings.client_ca_file,
        ]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
        let interval = settings.reload_interval.filter(|d| !d.is_zero());
        if files.is_empty() && interval.is_none() {
            tracing::debug!(owner, "TLS material is inline: nothing to reload");
            return;
        }
        let (events, watcher) = if files.is_empty() {
            (None, None)
        } else {
            let (tx, rx) = mpsc::channel(1);
            match watch(&files, tx) {
                Ok(watcher) => (Some(rx), Some(watcher)),
                Err(e) => {
                    tracing::warn!(
                        owner,
                        error = %e,
                        "cannot watch TLS files for changes; relying on reload_interval only"
                    );
                    (None, None)
                }
            }
        };
        let task = Task {
            inner: Arc::downgrade(inner),
            last: inner.loaded.clone(),
            last_error: None,
        };
        let stop = inner.stop.subscribe();
        runtime.spawn(task.run(watcher, events, interval, stop));
    }
}

/// Watch the parent directory of every file; send a unit when something relevant changes.
fn watch(files: &[PathBuf], tx: mpsc::Sender<()>) -> notify::Result<RecommendedWatcher> {
    let names: HashSet<OsString> = files
        .iter()
        .filter_map(|f| f.file_name().map(|n| n.to_os_string()))
        .collect();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<Event>| {
        let relevant = match res {
            Ok(event) => is_relevant(&event, &names),
            // Overflow and similar: re-read to be safe.
            Err(_) => true,
        };
        if relevant {
            // Full means a re-read is already pending, which covers this event too.
            let _ = tx.try_send(());
        }
    })?;
    let dirs: HashSet<PathBuf> = files.iter().map(|f| parent_dir(f)).collect();
    for dir in dirs {
        watcher.watch(&dir, RecursiveMode::NonRecursive)?;
    }
    Ok(watcher)
}

fn parent_dir(file: &Path) -> PathBuf {
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A change to one of our files, or to a Kubernetes-style `..data` entry; not a mere read.
fn is_relevant(event: &Event, names: &HashSet<OsString>) -> bool {
    if let EventKind::Access(kind) = event.kind
        && kind != AccessKind::Close(AccessMode::Write)
    {
        return false;
    }
    event.paths.is_empty()
        || event.paths.iter().any(|p| {
            p.file_name()
                .is_some_and(|n| names.contains(n) || n.to_string_lossy().starts_with(".."))
        })
}

struct Task {
    inner: Weak<Inner>,
    /// The material the current config was built from.
    last: Material,
    /// The last failure logged, to warn once per distinct problem.
    last_error: Option<String>,
}

impl Task {
    async fn run(
        mut self,
        _watcher: Option<RecommendedWatcher>,
        mut events: Option<mpsc::Receiver<()>>,
        interval: Option<Duration>,
        mut stop: tokio::sync::watch::Receiver<()>,
    ) {
        let mut ticker = interval.map(|every| {
            let mut t = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            t.set_missed_tick_behavior(MissedTickBehavior::Delay);
            t
        });
        loop {
            tokio::select! {
                // Err once the sender (owned by the shared state) is dropped.
                _ = stop.changed() => break,
                got = next_event(&mut events) => {
                    if !got {
                        events = None;
                        continue;
                    }
                    tokio::time::sleep(SETTLE).await;
                    if let Some(rx) = events.as_mut() {
                        while rx.try_recv().is_ok() {}
                    }
                }
                _ = next_tick(&mut ticker) => {}
            }
            let Some(inner) = self.inner.upgrade() else {
                break;
            };
            self.reload(&inner);
        }
    }

    fn reload(&mut self, inner: &Inner) {
        let owner = inner.owner.as_str();
        let result = Material::read(&inner.settings, owner).and_then(|material| {
            if material == self.last {
                return Ok(None);
            }
            let config = material.build(&inner.settings, owner)?;
            Ok(Some((material, config)))
        });
        match result {
            Ok(None) => self.last_error = None,
            Ok(Some((material, config))) => {
                inner.current.store(config);
                self.last = material;
                self.last_error = None;
                inner.reloads.fetch_add(1, Ordering::Relaxed);
                tracing::info!(owner, "TLS files reloaded; new handshakes use them");
            }
            Err(e) => {
                inner.reload_failures.fetch_add(1, Ordering::Relaxed);
                let text = e.to_string();
                if self.last_error.as_ref() != Some(&text) {
                    tracing::warn!(
                        owner,
                        error = %text,
                        "TLS reload failed; keeping the previous certificate and key"
                    );
                    self.last_error = Some(text);
                }
            }
        }
    }
}

/// The next file event; false when the watcher is gone. Pends forever without a watcher.
async fn next_event(events: &mut Option<mpsc::Receiver<()>>) -> bool {
    match events {
        Some(rx) => rx.recv().await.is_some(),
        None => std::future::pending().await,
    }
}

async fn next_tick(ticker: &mut Option<Interval>) {
    match ticker {
        Some(t) => {
            t.tick().await;
        }
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, ModifyKind, RenameMode};

    fn names() -> HashSet<OsString> {
        ["server.crt", "server.key"]
            .into_iter()
            .map(OsString::from)
            .collect()
    }

    #[test]
    fn writes_and_renames_of_our_files_are_relevant() {
        let event = Event::new(EventKind::Modify(ModifyKind::Name(RenameMode::To)))
            .add_path(PathBuf::from("/etc/tls/server.key"));
        assert!(is_relevant(&event, &names()));
        let event = Event::new(EventKind::Access(AccessKind::Close(AccessMode::Write)))
            .add_path(PathBuf::from("/etc/tls/server.crt"));
        assert!(is_relevant(&event, &names()));
    }

    #[test]
    fn kubernetes_data_symlink_swap_is_relevant() {
        let event = Event::new(EventKind::Create(CreateKind::Any))
            .add_path(PathBuf::from("/etc/tls/..data_tmp"));
        assert!(is_relevant(&event, &names()));
    }

    #[test]
    fn reads_and_other_files_are_not() {
        let event = Event::new(EventKind::Access(AccessKind::Open(AccessMode::Read)))
            .add_path(PathBuf::from("/etc/tls/server.crt"));
        assert!(!is_relevant(&event, &names()));
        let event = Event::new(EventKind::Create(CreateKind::File))
            .add_path(PathBuf::from("/etc/tls/notes.txt"));
        assert!(!is_relevant(&event, &names()));
    }

    #[test]
    fn bare_file_names_are_watched_in_the_current_directory() {
        assert_eq!(parent_dir(Path::new("server.crt")), PathBuf::from("."));
        assert_eq!(parent_dir(Path::new("/a/b.crt")), PathBuf::from("/a"));
    }
}
