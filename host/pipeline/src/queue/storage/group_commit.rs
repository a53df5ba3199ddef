//! Group commit: writers that need their write on stable storage share one fsync.
//!
//! Every write gets a sequence number. A writer waiting for write `n` either finds it already
//! durable, waits for the fsync in progress (and then checks again), or starts the next fsync
//! itself. An fsync started after write `n` covers every write up to the newest one at its start,
//! so under load one fsync acknowledges many writers.

use std::io;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::Notify;

#[derive(Debug, Default)]
struct CommitState {
    /// Every write up to this one is durable.
    durable: u64,
    /// An fsync is running.
    syncing: bool,
    /// Writes up to this one were covered by a failed fsync: they may not be durable.
    failed_up_to: u64,
    last_error: Option<String>,
}

/// Shared by the writers of one log.
#[derive(Debug, Default)]
pub(crate) struct GroupCommit {
    state: Mutex<CommitState>,
    done: Notify,
}

impl GroupCommit {
    /// Wait until write `seq` is durable. `sync` runs on a blocking thread: it fsyncs and returns
    /// the newest write its fsync covered (read before the fsync started) with the outcome.
    ///
    /// The fsync runs detached from the caller: dropping this future does not stop it, and the
    /// other writers still see its result.
    pub(crate) async fn wait<F>(self: &Arc<Self>, seq: u64, sync: F) -> io::Result<()>
    where
        F: Fn() -> (u64, io::Result<()>) + Clone + Send + 'static,
    {
        loop {
            let notified = self.done.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let lead = {
                let mut state = self.state.lock();
                if seq <= state.failed_up_to {
                    let error = state.last_error.clone().unwrap_or_default();
                    return Err(io::Error::other(format!("fsync failed: {error}")));
                }
                if state.durable >= seq {
                    return Ok(());
                }
                !std::mem::replace(&mut state.syncing, true)
            };
            if lead {
                let commit = self.clone();
                let sync = sync.clone();
                tokio::task::spawn_blocking(move || {
                    let (covered, outcome) = sync();
                    commit.finish(covered, outcome);
                });
            }
            notified.await;
        }
    }

    fn finish(&self, covered: u64, outcome: io::Result<()>) {
        {
            let mut state = self.state.lock();
            state.syncing = false;
            match outcome {
                Ok(()) => state.durable = state.durable.max(covered),
                Err(e) => {
                    state.failed_up_to = state.failed_up_to.max(covered);
                    state.last_error = Some(e.to_string());
                }
            }
        }
        self.done.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writers_share_fsyncs() {
        let commit = Arc::new(GroupCommit::default());
        let written = Arc::new(AtomicU64::new(0));
        let syncs = Arc::new(AtomicU64::new(0));
        let sync = {
            let (written, syncs) = (written.clone(), syncs.clone());
            move || {
                let covered = written.load(Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(20));
                syncs.fetch_add(1, Ordering::SeqCst);
                (covered, Ok(()))
            }
        };
        let writers: Vec<_> = (0..50)
            .map(|_| {
                let seq = written.fetch_add(1, Ordering::SeqCst) + 1;
                let (commit, sync) = (commit.clone(), sync.clone());
                tokio::spawn(async move { commit.wait(seq, sync).await })
            })
            .collect();
        for w in writers {
            w.await.unwrap().unwrap();
        }
        let syncs = syncs.load(Ordering::SeqCst);
        assert!((1..=5).contains(&syncs), "{syncs} fsyncs for 50 writers");
    }

    #[tokio::test]
    async fn a_failed_fsync_fails_the_writes_it_covered() {
        let commit = Arc::new(GroupCommit::default());
        let err = commit
            .wait(3, || (3, Err(io::Error::other("disk on fire"))))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("disk on fire"), "{err}");
        // A later write, synced successfully, is durable.
        commit.wait(4, || (4, Ok(()))).await.unwrap();
        // An older write stays failed.
        assert!(commit.wait(2, || (4, Ok(()))).await.is_err());
    }
}
