//! The persistent part of a sending queue: a segment log in one directory per exporter and
//! signal. Records are appended to the active segment file; a delivered record's index is
//! appended to its segment's acknowledgement file; a sealed segment whose records are all
//! acknowledged is deleted. Start-up replays every record not acknowledged.
//!
//! All methods do blocking file IO: call them from `spawn_blocking` (or at start-up).

mod directory;
mod group_commit;
mod segment;

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

pub(crate) use directory::{create_queue_dir, prepare_root, queue_dir};
use group_commit::GroupCommit;
pub(crate) use segment::{FRAME_HEADER, seal_frame};
use segment::{FileKind, MAGIC, Scan, ack_name, parse_acks, parse_name, scan, segment_name};

use crate::queue::QueueError;

/// Name of the lock file that keeps two queues out of one directory.
const LOCK_FILE: &str = "LOCK";

/// Where a record is: its segment and its index in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct RecordId {
    pub segment: u64,
    pub index: u32,
}

/// A record found unacknowledged at start-up.
pub(crate) struct Recovered {
    pub id: RecordId,
    pub bytes: Vec<u8>,
}

/// How a log writes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LogOptions {
    /// fsync before a write counts as done (group commit).
    pub fsync: bool,
    /// Start a new segment once the active one is this large.
    pub segment_bytes: u64,
}

struct Active {
    seq: u64,
    file: Arc<File>,
    len: u64,
}

#[derive(Default)]
struct SegmentMeta {
    records: u32,
    acked: u32,
    sealed: bool,
    ack_file: Option<File>,
}

struct LogState {
    /// The directory lock; `None` once closed.
    lock: Option<File>,
    next_seq: u64,
    active: Option<Active>,
    segments: BTreeMap<u64, SegmentMeta>,
    /// Appends so far: the sequence number of the newest write, for group commit.
    written: u64,
}

/// The segment log of one queue directory.
pub(crate) struct SegmentLog {
    dir: PathBuf,
    options: LogOptions,
    state: Mutex<LogState>,
    commit: Arc<GroupCommit>,
}

impl SegmentLog {
    /// Lock `dir` (which must exist) and read what a previous run left: the records not
    /// acknowledged, in order. Damaged tails are cut off with a warning; fully acknowledged
    /// segments are deleted.
    pub(crate) fn open(
        dir: &Path,
        options: LogOptions,
    ) -> Result<(Arc<SegmentLog>, Vec<Recovered>), QueueError> {
        let lock_path = dir.join(LOCK_FILE);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| QueueError::io("open", &lock_path, e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(QueueError::Locked { path: dir.into() }),
            Err(TryLockError::Error(e)) => return Err(QueueError::io("lock", lock_path, e)),
        }

        let mut segments = BTreeSet::new();
        let mut ack_files = BTreeSet::new();
        let entries = std::fs::read_dir(dir).map_err(|e| QueueError::io("list", dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| QueueError::io("list", dir, e))?;
            match entry.file_name().to_str().and_then(parse_name) {
                Some(FileKind::Segment(seq)) => {
                    segments.insert(seq);
                }
                Some(FileKind::Acks(seq)) => {
                    ack_files.insert(seq);
                }
                None => {}
            }
        }

        let mut state = LogState {
            lock: Some(lock),
            next_seq: segments.iter().chain(&ack_files).max().map_or(1, |s| s + 1),
            active: None,
            segments: BTreeMap::new(),
            written: 0,
        };
        let mut recovered = Vec::new();
        for &seq in &segments {
            if let Some(meta) = load_segment(dir, seq, &mut recovered)? {
                state.segments.insert(seq, meta);
            }
        }
        for seq in ack_files.difference(&segments) {
            remove_file(&dir.join(ack_name(*seq)));
        }
        let log = SegmentLog {
            dir: dir.to_owned(),
            options,
            state: Mutex::new(state),
            commit: Arc::default(),
        };
        Ok((Arc::new(log), recovered))
    }

    /// The directory of this log.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether writes are fsynced before they count.
    pub(crate) fn fsync(&self) -> bool {
        self.options.fsync
    }

    /// Append one frame (see [`seal_frame`]). Returns where the record is and the write's
    /// sequence number (for [`SegmentLog::durable`]). The data is in the OS page cache when this
    /// returns; it survives kill -9, not a power loss.
    pub(crate) fn append(&self, frame: &[u8]) -> io::Result<(RecordId, u64)> {
        let mut state = self.state.lock();
        if state.lock.is_none() {
            return Err(io::Error::other("the queue is closed"));
        }
        let rotate = match &state.active {
            None => true,
            Some(active) => {
                active.len > MAGIC.len() as u64
                    && active.len + frame.len() as u64 > self.options.segment_bytes
            }
        };
        if rotate {
            self.seal_active(&mut state);
            self.start_segment(&mut state)?;
        }
        let LogState {
            active, segments, ..
        } = &mut *state;
        let Some(active) = active else {
            return Err(io::Error::other("no active segment"));
        };
        let meta = segments.entry(active.seq).or_default();
        if let Err(e) = (&*active.file).write_all(frame) {
            // Do not append after a partial frame: cut it off if possible, and start a new
            // segment for the next record either way (replay stops at a damaged frame).
            let _ = active.file.set_len(active.len);
            self.seal_active(&mut state);
            return Err(e);
        }
        let id = RecordId {
            segment: active.seq,
            index: meta.records,
        };
        meta.records += 1;
        active.len += frame.len() as u64;
        state.written += 1;
        Ok((id, state.written))
    }

    /// Wait until write `seq` (from [`SegmentLog::append`]) is on stable storage, sharing fsyncs
    /// with concurrent writers.
    pub(crate) async fn durable(self: &Arc<Self>, seq: u64) -> io::Result<()> {
        let log = self.clone();
        self.commit.wait(seq, move || log.sync_active()).await
    }

    /// fsync the active segment; returns the newest write that fsync covers. Older segments
    /// were fsynced when they were sealed.
    fn sync_active(&self) -> (u64, io::Result<()>) {
        let (covered, file) = {
            let state = self.state.lock();
            (state.written, state.active.as_ref().map(|a| a.file.clone()))
        };
        (covered, file.map_or(Ok(()), |f| f.sync_data()))
    }

    /// Record that `id` was delivered (or given up). Not fsynced: a crash may redeliver it.
    /// Deletes its segment once the segment is sealed and every record is acknowledged. Does
    /// nothing once the log is closed (the record is then delivered again by the next run).
    pub(crate) fn ack(&self, id: RecordId) -> io::Result<()> {
        let mut state = self.state.lock();
        if state.lock.is_none() {
            return Ok(());
        }
        let Some(meta) = state.segments.get_mut(&id.segment) else {
            return Ok(());
        };
        let ack_file = match &mut meta.ack_file {
            Some(file) => file,
            slot @ None => slot.insert(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(self.dir.join(ack_name(id.segment)))?,
            ),
        };
        ack_file.write_all(&id.index.to_le_bytes())?;
        meta.acked += 1;
        if meta.sealed && meta.acked >= meta.records {
            state.segments.remove(&id.segment);
            self.delete_segment(id.segment);
        }
        Ok(())
    }

    /// Stop writing: seal the active segment (deleting it if everything in it was delivered)
    /// and release the directory lock. Later appends fail and acknowledgements are ignored.
    pub(crate) fn close(&self) {
        let mut state = self.state.lock();
        if state.lock.is_none() {
            return;
        }
        self.seal_active(&mut state);
        state.segments.clear();
        state.lock = None;
    }

    /// Seal the active segment, if any; fsync it when writes are fsynced (so the group commit
    /// only has to fsync the active one) and delete it if it is fully acknowledged.
    fn seal_active(&self, state: &mut LogState) {
        let Some(active) = state.active.take() else {
            return;
        };
        if self.options.fsync
            && let Err(e) = active.file.sync_data()
        {
            tracing::warn!(
                file = %self.dir.join(segment_name(active.seq)).display(),
                error = %e,
                "could not fsync a sealed queue segment"
            );
        }
        let done = match state.segments.get_mut(&active.seq) {
            Some(meta) => {
                meta.sealed = true;
                meta.acked >= meta.records
            }
            None => true,
        };
        if done {
            state.segments.remove(&active.seq);
            self.delete_segment(active.seq);
        }
    }

    fn start_segment(&self, state: &mut LogState) -> io::Result<()> {
        let seq = state.next_seq;
        let path = self.dir.join(segment_name(seq));
        let mut file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)?;
        state.next_seq += 1;
        if let Err(e) = file.write_all(&MAGIC) {
            drop(file);
            remove_file(&path);
            return Err(e);
        }
        if self.options.fsync {
            // Make the new file's directory entry durable too.
            File::open(&self.dir).and_then(|d| d.sync_all())?;
        }
        state.segments.insert(seq, SegmentMeta::default());
        state.active = Some(Active {
            seq,
            file: Arc::new(file),
            len: MAGIC.len() as u64,
        });
        Ok(())
    }

    fn delete_segment(&self, seq: u64) {
        remove_file(&self.dir.join(segment_name(seq)));
        remove_file(&self.dir.join(ack_name(seq)));
    }
}

/// Read segment `seq` and its acknowledgements; push its unacknowledged records. Returns its
/// bookkeeping, or `None` if nothing in it is left to deliver (it is then deleted) or it is not
/// a segment of this format (it is then left alone).
fn load_segment(
    dir: &Path,
    seq: u64,
    recovered: &mut Vec<Recovered>,
) -> Result<Option<SegmentMeta>, QueueError> {
    let path = dir.join(segment_name(seq));
    let data = std::fs::read(&path).map_err(|e| QueueError::io("read", &path, e))?;
    let (records, valid_len, torn) = match scan(&data) {
        Scan::Foreign => {
            tracing::warn!(
                file = %path.display(),
                "not a sending queue segment of this Sluice version (unknown header); left in \
                 place and not replayed"
            );
            return Ok(None);
        }
        Scan::Records {
            records,
            valid_len,
            torn,
        } => (records, valid_len, torn),
    };
    if let Some(reason) = torn {
        tracing::warn!(
            file = %path.display(),
            records = records.len(),
            valid_bytes = valid_len,
            ignored_bytes = data.len() - valid_len,
            reason,
            "sending queue segment ends in a damaged record (a write cut short by a crash?); \
             the damaged tail is cut off, the records before it are replayed"
        );
        if let Err(e) = OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_len(valid_len as u64))
        {
            tracing::warn!(file = %path.display(), error = %e, "could not cut off the damaged tail");
        }
    }

    let ack_path = dir.join(ack_name(seq));
    let acked: BTreeSet<u32> = match std::fs::read(&ack_path) {
        Ok(bytes) => {
            let (indices, valid) = parse_acks(&bytes);
            if valid < bytes.len()
                && let Err(e) = OpenOptions::new()
                    .write(true)
                    .open(&ack_path)
                    .and_then(|f| f.set_len(valid as u64))
            {
                return Err(QueueError::io("repair", ack_path, e));
            }
            indices
                .into_iter()
                .filter(|i| (*i as usize) < records.len())
                .collect()
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => BTreeSet::new(),
        Err(e) => return Err(QueueError::io("read", ack_path, e)),
    };

    let count = u32::try_from(records.len()).unwrap_or(u32::MAX);
    if acked.len() >= records.len() {
        remove_file(&path);
        remove_file(&ack_path);
        return Ok(None);
    }
    for (index, bytes) in (0..count).zip(records) {
        if !acked.contains(&index) {
            recovered.push(Recovered {
                id: RecordId {
                    segment: seq,
                    index,
                },
                bytes: bytes.to_vec(),
            });
        }
    }
    Ok(Some(SegmentMeta {
        records: count,
        acked: acked.len() as u32,
        sealed: true,
        ack_file: None,
    }))
}

fn remove_file(path: &Path) {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::warn!(file = %path.display(), error = %e, "could not delete a sending queue file");
        }
    }
}
