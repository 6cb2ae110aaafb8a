//! The Raft log of the metadata quorum in `<log.dir>/__cluster_metadata-0/`, as openraft's
//! `RaftLogStorage`.
//!
//! - `log`: the entries, each a frame `[length u32][crc32c u32][JSON entry]`, appended and
//!   fsynced before openraft is told they are durable. A torn frame at the end (a crash mid
//!   write) is cut off on open.
//! - `state.json`: the vote and the last purged log id, replaced atomically.
//!
//! Truncation and purging rewrite the file; both are rare (a new leader's conflicting tail, and
//! the entries a snapshot covers) and the metadata log is small.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::ops::RangeBounds;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use openraft::storage::{LogFlushed, RaftLogStorage};
use openraft::{LogId, LogState, OptionalSend, RaftLogReader, StorageError, StorageIOError, Vote};
use serde::{Deserialize, Serialize};

use super::{Entry, NodeId, TypeConfig};

const LOG_FILE: &str = "log";
const STATE_FILE: &str = "state.json";

#[derive(Debug, Default, Serialize, Deserialize)]
struct PersistentState {
    vote: Option<Vote<NodeId>>,
    last_purged: Option<LogId<NodeId>>,
    /// The last committed entry, so that a restart applies the log up to it at once instead
    /// of waiting for a leader to commit again. A hint: a stale value only delays that.
    #[serde(default)]
    committed: Option<LogId<NodeId>>,
}

#[derive(Debug)]
struct Inner {
    dir: PathBuf,
    file: File,
    entries: BTreeMap<u64, Entry>,
    state: PersistentState,
}

/// The metadata log; cheap to clone (readers share it).
#[derive(Debug, Clone)]
pub(super) struct LogStore {
    inner: Arc<Mutex<Inner>>,
}

impl LogStore {
    /// Opens (creating) the log in `dir`.
    pub(super) fn open(dir: &Path) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        let state = match fs::read(dir.join(STATE_FILE)) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(io::Error::other)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => PersistentState::default(),
            Err(e) => return Err(e),
        };
        let path = dir.join(LOG_FILE);
        let (entries, valid_len) = read_entries(&path)?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(&path)?;
        if file.metadata()?.len() > valid_len {
            tracing::warn!(path = %path.display(), valid_len, "cutting a torn metadata log entry");
            file.set_len(valid_len)?;
            file.sync_all()?;
        }
        Ok(LogStore {
            inner: Arc::new(Mutex::new(Inner {
                dir: dir.to_path_buf(),
                file,
                entries,
                state,
            })),
        })
    }

    /// The offset known committed when the node stopped.
    pub(super) fn committed(&self) -> u64 {
        self.lock().state.committed.map_or(0, |c| c.index)
    }

    /// Whether nothing was ever written (a new node).
    pub(super) fn is_empty(&self) -> bool {
        let inner = self.lock();
        inner.entries.is_empty() && inner.state.last_purged.is_none()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn read_entries(path: &Path) -> io::Result<(BTreeMap<u64, Entry>, u64)> {
    let mut bytes = Vec::new();
    match File::open(path) {
        Ok(mut f) => {
            f.read_to_end(&mut bytes)?;
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((BTreeMap::new(), 0)),
        Err(e) => return Err(e),
    }
    let mut entries = BTreeMap::new();
    let mut pos = 0usize;
    while let Some(body) = frame_at(&bytes, pos) {
        let Ok(entry) = serde_json::from_slice::<Entry>(body) else {
            break;
        };
        entries.insert(entry.log_id.index, entry);
        pos += 8 + body.len();
    }
    Ok((entries, pos as u64))
}

/// The body of the frame at `pos`, if whole and its checksum holds.
fn frame_at(bytes: &[u8], pos: usize) -> Option<&[u8]> {
    let header = bytes.get(pos..pos + 8)?;
    let len = u32::from_be_bytes(header[..4].try_into().ok()?) as usize;
    let crc = u32::from_be_bytes(header[4..].try_into().ok()?);
    let body = bytes.get(pos + 8..pos + 8 + len)?;
    (crc32c::crc32c(body) == crc).then_some(body)
}

fn encode_frame(entry: &Entry, out: &mut Vec<u8>) -> io::Result<()> {
    let body = serde_json::to_vec(entry).map_err(io::Error::other)?;
    let len = u32::try_from(body.len()).map_err(io::Error::other)?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&crc32c::crc32c(&body).to_be_bytes());
    out.extend_from_slice(&body);
    Ok(())
}

impl Inner {
    fn save_state(&self) -> io::Result<()> {
        let bytes = serde_json::to_vec(&self.state).map_err(io::Error::other)?;
        write_atomically(&self.dir.join(STATE_FILE), &bytes)
    }

    /// Replaces the log file with the entries held in memory.
    fn rewrite(&mut self) -> io::Result<()> {
        let mut bytes = Vec::new();
        for entry in self.entries.values() {
            encode_frame(entry, &mut bytes)?;
        }
        let path = self.dir.join(LOG_FILE);
        write_atomically(&path, &bytes)?;
        self.file = OpenOptions::new().append(true).read(true).open(&path)?;
        Ok(())
    }
}

/// Writes `bytes` to `path` through a temporary file, fsync and rename, then fsyncs the
/// directory, so a crash leaves the old file or the new one.
pub(super) fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut file = File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

fn write_error(e: io::Error) -> StorageError<NodeId> {
    StorageIOError::write_logs(&e).into()
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError<NodeId>> {
        let inner = self.lock();
        Ok(inner.entries.range(range).map(|(_, e)| e.clone()).collect())
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError<NodeId>> {
        let inner = self.lock();
        let last_purged = inner.state.last_purged;
        let last = inner
            .entries
            .last_key_value()
            .map(|(_, e)| e.log_id)
            .or(last_purged);
        Ok(LogState {
            last_purged_log_id: last_purged,
            last_log_id: last,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), StorageError<NodeId>> {
        let mut inner = self.lock();
        inner.state.vote = Some(*vote);
        inner
            .save_state()
            .map_err(|e| StorageIOError::write_vote(&e).into())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, StorageError<NodeId>> {
        Ok(self.lock().state.vote)
    }

    async fn save_committed(
        &mut self,
        committed: Option<LogId<NodeId>>,
    ) -> Result<(), StorageError<NodeId>> {
        let mut inner = self.lock();
        if inner.state.committed == committed {
            return Ok(());
        }
        inner.state.committed = committed;
        inner.save_state().map_err(write_error)
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<NodeId>>, StorageError<NodeId>> {
        Ok(self.lock().state.committed)
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut inner = self.lock();
        let mut bytes = Vec::new();
        let entries: Vec<Entry> = entries.into_iter().collect();
        for entry in &entries {
            encode_frame(entry, &mut bytes).map_err(write_error)?;
        }
        let written = inner
            .file
            .write_all(&bytes)
            .and_then(|()| inner.file.sync_data());
        if let Err(e) = written {
            callback.log_io_completed(Err(io::Error::new(e.kind(), e.to_string())));
            return Err(write_error(e));
        }
        for entry in entries {
            inner.entries.insert(entry.log_id.index, entry);
        }
        callback.log_io_completed(Ok(()));
        Ok(())
    }

    async fn truncate(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        let mut inner = self.lock();
        let _dropped = inner.entries.split_off(&log_id.index);
        inner.rewrite().map_err(write_error)
    }

    async fn purge(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        let mut inner = self.lock();
        inner.state.last_purged = Some(log_id);
        inner.save_state().map_err(write_error)?;
        let kept = inner.entries.split_off(&(log_id.index + 1));
        inner.entries = kept;
        inner.rewrite().map_err(write_error)
    }
}
