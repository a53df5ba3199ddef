//! Re-reading a credentials file when it changes, without a restart.
//!
//! Two triggers feed one background task: a notify watch on the file's parent directory
//! (secrets are usually replaced by rename, which a watch on the file itself would miss) and
//! a periodic stat of the file (modification time, length, inode) for file systems where
//! notify says nothing. The task holds only a `Weak` to its authenticator and stops when the
//! authenticator (which owns the [`Reloader`]) is dropped.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};

use notify::event::{AccessKind, AccessMode};
use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use parking_lot::Mutex;
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;

/// How often the file is stat-ed when notify is silent.
pub(crate) const DEFAULT_POLL: Duration = Duration::from_secs(5);
/// Pause after a notify event so that a writer can finish before the file is read.
const SETTLE: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, Copy)]
pub(crate) struct Options {
    pub(crate) poll: Duration,
    pub(crate) notify: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            poll: DEFAULT_POLL,
            notify: true,
        }
    }
}

/// Owned by an authenticator: dropping it stops the background task.
#[derive(Default)]
pub(crate) struct Reloader {
    stop: Mutex<Option<oneshot::Sender<()>>>,
}

impl std::fmt::Debug for Reloader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.stop.lock().is_some() {
            "Reloader(running)"
        } else {
            "Reloader(idle)"
        })
    }
}

impl Reloader {
    /// Starts watching `path`, calling `on_change` (on the blocking pool) once at start and
    /// whenever the file may have changed. `on_change` must compare content itself: it is
    /// also called for unrelated events and touches. Does nothing if already started, and
    /// logs a warning outside a tokio runtime.
    pub(crate) fn start<T, F>(
        &self,
        path: PathBuf,
        target: Weak<T>,
        on_change: F,
        options: Options,
    ) -> Option<JoinHandle<()>>
    where
        T: Send + Sync + 'static,
        F: Fn(&T) + Send + Sync + 'static,
    {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(
                path = %path.display(),
                "not watching for changes: start_reloading was called outside a tokio runtime"
            );
            return None;
        };
        let mut stop = self.stop.lock();
        if stop.is_some() {
            return None;
        }
        let (stop_tx, stop_rx) = oneshot::channel();
        *stop = Some(stop_tx);
        let wake = Arc::new(Notify::new());
        let watcher = if options.notify {
            watch_parent(&path, wake.clone())
        } else {
            None
        };
        let on_change = Arc::new(on_change);
        let task = async move {
            // Keep the watcher alive exactly as long as the task.
            let _watcher = watcher;
            run(path, target, on_change, options.poll, wake, stop_rx).await;
        };
        Some(runtime.spawn(task))
    }
}

async fn run<T, F>(
    path: PathBuf,
    target: Weak<T>,
    on_change: Arc<F>,
    poll: Duration,
    wake: Arc<Notify>,
    mut stop: oneshot::Receiver<()>,
) where
    T: Send + Sync + 'static,
    F: Fn(&T) + Send + Sync + 'static,
{
    let mut tick = tokio::time::interval(poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    let mut last = stamp(&path).await;
    // The file may have changed between load() and now: check once at start.
    let mut forced = true;
    loop {
        if !forced {
            tokio::select! {
                _ = &mut stop => return,
                _ = wake.notified() => {
                    forced = true;
                    tokio::time::sleep(SETTLE).await;
                }
                _ = tick.tick() => {}
            }
        }
        let now = stamp(&path).await;
        if !forced && now == last {
            continue;
        }
        forced = false;
        last = now;
        let Some(target) = target.upgrade() else {
            return;
        };
        let f = on_change.clone();
        if let Err(e) = tokio::task::spawn_blocking(move || f(&target)).await {
            tracing::warn!(path = %path.display(), error = %e, "credentials reload task failed");
        }
    }
}

/// What the stat fallback compares; `None` when the file cannot be stat-ed.
#[derive(Debug, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

async fn stamp(path: &Path) -> Option<Stamp> {
    let meta = tokio::fs::metadata(path).await.ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let inode = 0;
    Some(Stamp {
        modified: meta.modified().ok(),
        len: meta.len(),
        inode,
    })
}

/// A notify watch on the parent directory that wakes the task for events naming the file, or
/// Kubernetes' `..data` symlink swap. `None` (with a warning) if it cannot be set up: the stat
/// fallback still works.
fn watch_parent(path: &Path, wake: Arc<Notify>) -> Option<RecommendedWatcher> {
    let name = path.file_name()?.to_owned();
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let handler = move |res: notify::Result<notify::Event>| {
        let Ok(event) = res else { return };
        if !may_change_content(event.kind) {
            return;
        }
        let relevant = event.paths.iter().any(|p| {
            p.file_name()
                .is_some_and(|n| n == name || n.to_string_lossy().starts_with(".."))
        });
        if relevant {
            wake.notify_one();
        }
    };
    let result = notify::recommended_watcher(handler)
        .and_then(|mut w| w.watch(&dir, RecursiveMode::NonRecursive).map(|()| w));
    match result {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::warn!(
                dir = %dir.display(),
                error = %e,
                "cannot watch directory for changes; falling back to polling"
            );
            None
        }
    }
}

/// Whether an event may mean new content: anything but an open, a read or a close after
/// reading. The reload reads the file itself, so a watch woken by reads would reload for ever.
fn may_change_content(kind: EventKind) -> bool {
    match kind {
        EventKind::Access(access) => access == AccessKind::Close(AccessMode::Write),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Default)]
    struct Counter(AtomicUsize);

    async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
        for _ in 0..200 {
            if cond() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("timed out waiting for {what}");
    }

    /// Starts watching `path`; each reload reads the file, as the authenticators' do, and
    /// counts itself.
    fn start(
        reloader: &Reloader,
        path: &Path,
        counter: &Arc<Counter>,
        options: Options,
    ) -> JoinHandle<()> {
        let read = path.to_owned();
        reloader
            .start(
                path.to_owned(),
                Arc::downgrade(counter),
                move |c: &Counter| {
                    let _ = std::fs::read(&read);
                    c.0.fetch_add(1, Ordering::SeqCst);
                },
                options,
            )
            .unwrap()
    }

    /// A watched file `creds` (content "one") in its own directory, past the start-up check.
    struct Watched {
        dir: tempfile::TempDir,
        path: PathBuf,
        counter: Arc<Counter>,
        _reloader: Reloader,
        _task: JoinHandle<()>,
    }

    impl Watched {
        async fn start(options: Options) -> Watched {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("creds");
            std::fs::write(&path, "one").unwrap();
            let counter = Arc::new(Counter::default());
            let reloader = Reloader::default();
            let task = start(&reloader, &path, &counter, options);
            let watched = Watched {
                dir,
                path,
                counter,
                _reloader: reloader,
                _task: task,
            };
            watched.wait("the start-up check", |n| n == 1).await;
            watched
        }

        fn reloads(&self) -> usize {
            self.counter.0.load(Ordering::SeqCst)
        }

        /// Waits until the number of reloads so far satisfies `cond`.
        async fn wait(&self, what: &str, cond: impl Fn(usize) -> bool) {
            wait_for(what, || cond(self.reloads())).await;
        }
    }

    fn notify_only() -> Options {
        Options {
            poll: Duration::from_secs(3600),
            notify: true,
        }
    }

    #[tokio::test]
    async fn notify_sees_a_file_replaced_by_rename() {
        let w = Watched::start(notify_only()).await;
        let tmp = w.dir.path().join(".creds.tmp");
        std::fs::write(&tmp, "two").unwrap();
        std::fs::rename(&tmp, &w.path).unwrap();
        w.wait("a notify-triggered reload", |n| n >= 2).await;
    }

    #[tokio::test]
    async fn reading_the_file_is_not_a_change() {
        let w = Watched::start(notify_only()).await;
        // Neither the reload's own read nor anyone else's wakes the watch (each wake costs a
        // settle pause and a reload: a read that did would reload for ever).
        let _ = std::fs::read(&w.path);
        tokio::time::sleep(SETTLE * 5).await;
        assert_eq!(w.reloads(), 1, "reloaded after reads");
        std::fs::write(&w.path, "two").unwrap();
        w.wait("a notify-triggered reload", |n| n >= 2).await;
    }

    #[tokio::test]
    async fn stat_fallback_sees_a_change_without_notify() {
        let w = Watched::start(Options {
            poll: Duration::from_millis(20),
            notify: false,
        })
        .await;
        // Unchanged file: polling alone must not call on_change again.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(w.reloads(), 1);
        std::fs::write(&w.path, "longer content").unwrap();
        w.wait("a poll-triggered reload", |n| n == 2).await;
    }

    #[tokio::test]
    async fn task_stops_when_the_owner_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("creds");
        let counter = Arc::new(Counter::default());
        let reloader = Reloader::default();
        let task = start(&reloader, &path, &counter, Options::default());
        assert!(
            reloader
                .start(
                    path.clone(),
                    Arc::downgrade(&counter),
                    |_| {},
                    Options::default()
                )
                .is_none(),
            "a second start is a no-op"
        );
        drop(reloader);
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("task did not stop")
            .unwrap();
    }

    #[tokio::test]
    async fn task_stops_when_the_target_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("creds");
        std::fs::write(&path, "one").unwrap();
        let counter = Arc::new(Counter::default());
        let reloader = Reloader::default();
        let options = Options {
            poll: Duration::from_millis(20),
            notify: false,
        };
        let task = start(&reloader, &path, &counter, options);
        drop(counter);
        std::fs::write(&path, "changed!").unwrap();
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("task did not stop")
            .unwrap();
    }

    #[test]
    fn start_outside_a_runtime_is_refused() {
        let counter = Arc::new(Counter::default());
        let started = Reloader::default().start(
            PathBuf::from("/nonexistent"),
            Arc::downgrade(&counter),
            |_| {},
            Options::default(),
        );
        assert!(started.is_none());
    }
}
