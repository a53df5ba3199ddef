//! The task that owns the file: it takes encoded records from a bounded channel and writes them
//! in order on tokio's blocking pool, so a slow disk never blocks an async thread and records
//! from concurrent `consume` calls never interleave.

use std::fs::File;
use std::io::{self, Write as _};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

/// Records waiting to be written; `consume` waits when the writer is this far behind.
const QUEUE: usize = 64;
/// Most records written in one trip to the blocking pool.
const MAX_BATCH: usize = 32;

enum Command {
    /// Append one whole record; answered once `write_all` returned.
    Write {
        record: Vec<u8>,
        done: oneshot::Sender<io::Result<()>>,
    },
    /// Write everything queued before, fsync, close the file; answered with the fsync result.
    Shutdown {
        done: oneshot::Sender<io::Result<()>>,
    },
}

/// The sending side; cheap to share between `consume` calls.
pub(super) struct Writer {
    tx: mpsc::Sender<Command>,
}

/// What a caller sees when the writer cannot take or finish a record.
fn closed() -> io::Error {
    io::Error::other("the file exporter is shut down")
}

impl Writer {
    /// Start the writer task on `runtime`. With `sync_interval`, written data is also fsynced
    /// that often (the OS page cache holds it otherwise until shutdown).
    pub(super) fn spawn(
        runtime: &tokio::runtime::Handle,
        file: File,
        sync_interval: Option<Duration>,
    ) -> Writer {
        let (tx, rx) = mpsc::channel(QUEUE);
        runtime.spawn(run(file, rx, sync_interval));
        Writer { tx }
    }

    /// Append `record`; returns once it was handed to the OS in full.
    pub(super) async fn write(&self, record: Vec<u8>) -> io::Result<()> {
        let (done, answer) = oneshot::channel();
        self.tx
            .send(Command::Write { record, done })
            .await
            .map_err(|_| closed())?;
        answer.await.unwrap_or_else(|_| Err(closed()))
    }

    /// Write what is queued, fsync and close. Later calls do nothing.
    pub(super) async fn shutdown(&self) -> io::Result<()> {
        let (done, answer) = oneshot::channel();
        if self.tx.send(Command::Shutdown { done }).await.is_err() {
            return Ok(());
        }
        answer.await.unwrap_or_else(|_| Err(closed()))
    }
}

async fn run(file: File, mut rx: mpsc::Receiver<Command>, sync_interval: Option<Duration>) {
    let mut file = Some(file);
    let mut dirty = false;
    let mut ticker = sync_interval.map(|period| {
        let mut t = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        t
    });
    loop {
        let tick = async {
            match ticker.as_mut() {
                Some(t) => {
                    t.tick().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        let first = tokio::select! {
            command = rx.recv() => command,
            () = tick => {
                if dirty {
                    dirty = false;
                    // A failed periodic sync is retried by the next one and by shutdown.
                    let _ = blocking(&mut file, |f| f.sync_data()).await;
                }
                continue;
            }
        };
        let Some(first) = first else {
            // Every sender is gone without a shutdown: sync what we wrote and stop.
            let _ = blocking(&mut file, |f| f.sync_all()).await;
            return;
        };

        // Take whatever else is already queued, up to a shutdown.
        let mut writes = Vec::new();
        let mut shutdown = None;
        let mut next = Some(first);
        while let Some(command) = next.take() {
            match command {
                Command::Write { record, done } => writes.push((record, done)),
                Command::Shutdown { done } => {
                    shutdown = Some(done);
                    break;
                }
            }
            if writes.len() < MAX_BATCH {
                next = rx.try_recv().ok();
            }
        }

        if !writes.is_empty() {
            let records: Vec<Vec<u8>> = writes.iter_mut().map(|(r, _)| std::mem::take(r)).collect();
            let results = blocking(&mut file, move |f| Ok(append_all(f, &records))).await;
            match results {
                Ok(results) => {
                    for ((_, done), result) in writes.into_iter().zip(results) {
                        let _ = done.send(result);
                    }
                }
                Err(e) => {
                    for (_, done) in writes {
                        let _ = done.send(Err(io::Error::new(e.kind(), e.to_string())));
                    }
                }
            }
            dirty = true;
        }

        if let Some(done) = shutdown {
            let result = blocking(&mut file, |f| f.sync_all()).await;
            let _ = done.send(result);
            // Dropping the receiver fails every later `write` and `shutdown` as shut down.
            return;
        }
    }
}

/// Append each record in full. A record that fails part-way is cut off again, so the file
/// never holds a partial record that the next one would be glued to.
fn append_all(file: &mut File, records: &[Vec<u8>]) -> Vec<io::Result<()>> {
    let mut end = file.metadata().ok().map(|m| m.len());
    records
        .iter()
        .map(|record| match file.write_all(record) {
            Ok(()) => {
                end = end.map(|len| len + record.len() as u64);
                Ok(())
            }
            Err(e) => {
                if let Some(len) = end {
                    // Best effort: a file that cannot be truncated keeps the partial record.
                    let _ = file.set_len(len);
                }
                Err(e)
            }
        })
        .collect()
}

/// Run `op` on the file on the blocking pool and put the file back. The file is lost only if
/// `op` panicked; later operations then fail.
async fn blocking<T: Send + 'static>(
    slot: &mut Option<File>,
    op: impl FnOnce(&mut File) -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    let Some(mut file) = slot.take() else {
        return Err(io::Error::other(
            "the file was closed after an earlier writer failure",
        ));
    };
    match tokio::task::spawn_blocking(move || {
        let result = op(&mut file);
        (file, result)
    })
    .await
    {
        Ok((file, result)) => {
            *slot = Some(file);
            result
        }
        Err(e) => Err(io::Error::other(format!("file writer failed: {e}"))),
    }
}
