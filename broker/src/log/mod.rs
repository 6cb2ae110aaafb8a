//! The partition log: Kafka's on-disk layout for one partition directory (`<log.dir>/topic-N`),
//! as in Kafka's `UnifiedLog`/`LocalLog` (Kafka's documentation, Implementation → Log, and
//! → Message Format for the batches it stores).
//!
//! `PartitionLog` owns the ordered list of segments, offset assignment on append (patching each
//! batch's base offset and leader epoch in place, never re-encoding), rolling, reads of whole
//! batches by offset, timestamp lookups, the log start offset (DeleteRecords and retention),
//! and flushing. It stores bytes exactly as the producer sent them and never decodes records.
//! It does not validate CRCs on append (the produce path does that with [`batch`]), keep a
//! high watermark or leader-epoch cache, or schedule anything: retention and time-based
//! flushing run when the caller calls them.
//!
//! Files: `batch.rs` (v2 header), `segment.rs` (one segment), `index.rs` (sparse indexes),
//! `scan.rs` (buffered header walks), `recovery.rs` (open and repair), `retention.rs`
//! (deleting old segments), `checkpoint.rs` (small durable files), `file_name.rs` (names).

pub mod batch;
mod checkpoint;

mod cleaner;
pub mod control;
mod decode;
pub mod encode;
mod epochs;
mod file_name;
mod index;
pub mod records;
mod recovery;
mod replication;
mod retention;
mod scan;
mod segment;
#[cfg(test)]
pub(crate) mod test_util;
pub mod txn_index;

use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use bytes::Bytes;

use batch::{patch, split_headers, BatchError, BatchHeader, BATCH_HEADER_BYTES};
pub(crate) use checkpoint::write_atomically;
pub use cleaner::CleanStats;
use control::Marker;
pub use epochs::EpochCache;
use segment::{BatchMeta, PendingAppend, Segment, SEGMENT_BYTES_MAX};
use txn_index::{AbortedTxn, TxnIndex};

/// Kafka's `log.segment.bytes` default: 1 GiB.
pub const SEGMENT_BYTES_DEFAULT: u64 = 1024 * 1024 * 1024;
/// Smallest accepted `segment.bytes`: room for one empty batch header.
pub const SEGMENT_BYTES_MIN: u64 = BATCH_HEADER_BYTES as u64;
/// Kafka's `delete.retention.ms` default: one day.
pub const DELETE_RETENTION_MS_DEFAULT: i64 = 86_400_000;
/// Kafka's `log.roll.ms` default: 7 days.
pub const SEGMENT_MS_DEFAULT: i64 = 7 * 24 * 60 * 60 * 1000;
/// Kafka's `log.retention.ms` default: 7 days.
pub const RETENTION_MS_DEFAULT: i64 = 7 * 24 * 60 * 60 * 1000;
/// Kafka's `log.retention.bytes` default: unlimited.
pub const RETENTION_BYTES_DEFAULT: i64 = -1;
/// Kafka's `log.index.interval.bytes` default.
pub const INDEX_INTERVAL_BYTES_DEFAULT: u32 = 4096;
/// Kafka's `log.flush.interval.messages` default: never flush by count.
pub const FLUSH_INTERVAL_MESSAGES_DEFAULT: u64 = i64::MAX as u64;
/// Kafka's `log.flush.interval.ms` default: never flush by time.
pub const FLUSH_INTERVAL_MS_DEFAULT: i64 = i64::MAX;

const _: () = assert!(SEGMENT_BYTES_DEFAULT <= SEGMENT_BYTES_MAX);
const _: () = assert!(SEGMENT_BYTES_MIN <= SEGMENT_BYTES_DEFAULT);

/// Per-partition log settings (topic configs overriding broker defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// `segment.bytes`; clamped to `SEGMENT_BYTES_MIN..=2 GiB - 1`.
    pub segment_bytes: u64,
    /// `segment.ms`.
    pub segment_ms: i64,
    /// `retention.ms`; -1 keeps segments forever.
    pub retention_ms: i64,
    /// `retention.bytes`; -1 means unlimited.
    pub retention_bytes: i64,
    /// `index.interval.bytes`.
    pub index_interval_bytes: u32,
    /// `flush.messages`: fsync after this many appended offsets.
    pub flush_interval_messages: u64,
    /// `flush.ms`: fsync when `flush_if_due` finds this much time passed since the last flush.
    pub flush_interval_ms: i64,
    /// `cleanup.policy` includes `compact`.
    pub compact: bool,
    /// `delete.retention.ms`: how long a compacted log keeps tombstones.
    pub delete_retention_ms: i64,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            segment_bytes: SEGMENT_BYTES_DEFAULT,
            segment_ms: SEGMENT_MS_DEFAULT,
            retention_ms: RETENTION_MS_DEFAULT,
            retention_bytes: RETENTION_BYTES_DEFAULT,
            index_interval_bytes: INDEX_INTERVAL_BYTES_DEFAULT,
            flush_interval_messages: FLUSH_INTERVAL_MESSAGES_DEFAULT,
            flush_interval_ms: FLUSH_INTERVAL_MS_DEFAULT,
            compact: false,
            delete_retention_ms: DELETE_RETENTION_MS_DEFAULT,
        }
    }
}

impl LogConfig {
    fn sanitized(mut self) -> Self {
        self.segment_bytes = self
            .segment_bytes
            .clamp(SEGMENT_BYTES_MIN, SEGMENT_BYTES_MAX);
        self
    }
}

/// Errors from the partition log.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("I/O error on \"{}\": {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("offset {offset} is outside the log's range {log_start_offset}..={log_end_offset}")]
    OffsetOutOfRange {
        offset: i64,
        log_start_offset: i64,
        log_end_offset: i64,
    },
    #[error("invalid record batch: {0}")]
    InvalidBatch(#[from] BatchError),
    #[error("the append holds no record batch")]
    EmptyAppend,
    #[error("record batch data of {bytes} bytes is larger than the segment size {limit}; raise \"segment.bytes\" or send smaller batches")]
    BatchTooLarge { bytes: u64, limit: u64 },
    #[error("log segment \"{}\" is corrupt at byte {position}: {reason}", path.display())]
    Corrupt {
        path: PathBuf,
        position: u64,
        reason: String,
    },
    #[error("checkpoint file \"{}\" is unreadable: {reason}; remove it to reset the log start offset", path.display())]
    BadCheckpoint { path: PathBuf, reason: String },
}

/// The result of one append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendInfo {
    pub base_offset: i64,
    pub last_offset: i64,
    /// The broker time stamped into LogAppendTime batches, or -1 for CreateTime batches.
    pub log_append_time: i64,
    pub log_start_offset: i64,
}

/// One partition's log. See the module docs.
#[derive(Debug)]
pub struct PartitionLog {
    dir: PathBuf,
    config: LogConfig,
    /// Sorted by base offset and never empty; the last one is the active segment that appends
    /// go to. Closed segments are immutable until retention deletes them whole.
    segments: Vec<Segment>,
    /// First offset visible to readers; only moves forward.
    log_start_offset: i64,
    /// Offsets appended since the last flush, compared with `flush_interval_messages`.
    unflushed_messages: u64,
    /// When the last flush happened (or `flush_if_due` first ran); `None` before that.
    last_flush_ms: Option<i64>,
    /// A segment file was created since the last flush, so the directory needs an fsync too.
    dir_dirty: bool,
    /// What the cleaner remembers of this log: the first dirty offset, truncations (see
    /// `cleaner.rs`).
    cleaner: cleaner::CleanerState,
    /// Fsync of the most recently rolled segment, on its own thread so the append that rolled
    /// does not wait for a whole segment to reach the disk. At most one runs at a time.
    roll_sync: Option<JoinHandle<()>>,
    /// Where each leader epoch starts (`leader-epoch-checkpoint`).
    epochs: EpochCache,
    /// Aborted transactions, per segment (`.txnindex`).
    txn_index: TxnIndex,
    /// When the log was last read or written (ms since the epoch), so that the broker can close
    /// the files of the least recently used logs when too many are open.
    last_used_ms: std::sync::atomic::AtomicI64,
}

impl PartitionLog {
    /// Opens (creating if needed) the partition directory `dir` (e.g. `<log.dir>/orders-0`) and
    /// recovers it.
    pub fn open(dir: &Path, config: LogConfig) -> Result<PartitionLog, LogError> {
        let config = config.sanitized();
        std::fs::create_dir_all(dir).map_err(|source| LogError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let mut segments = recovery::load_segments(dir, config.index_interval_bytes)?;
        let persisted_start = checkpoint::read_log_start_offset(dir)?;
        if segments.is_empty() {
            segments.push(Segment::create(dir, persisted_start.unwrap_or(0), None)?);
        }
        let first_base = segments[0].base_offset();
        let log_end_offset = segments[segments.len() - 1].next_offset();
        let mut log_start_offset = persisted_start.unwrap_or(first_base).max(first_base);
        if log_start_offset > log_end_offset {
            tracing::warn!(dir = %dir.display(), log_start_offset, log_end_offset, "log start offset beyond the recovered log end; lowering it");
            log_start_offset = log_end_offset;
        }
        let epochs = EpochCache::load(dir, &segments, log_end_offset)?;
        let bases: Vec<i64> = segments.iter().map(|s| s.base_offset()).collect();
        let mut txn_index = TxnIndex::load(dir, &bases)?;
        // Entries past a recovered log end describe batches that are gone.
        txn_index.truncate_to(log_end_offset)?;
        let sealed = segments.len() - 1;
        for segment in &mut segments[..sealed] {
            segment.release_index_files();
        }
        let log = PartitionLog {
            dir: dir.to_path_buf(),
            config,
            segments,
            log_start_offset,
            unflushed_messages: 0,
            last_flush_ms: None,
            dir_dirty: true,
            cleaner: cleaner::CleanerState::default(),
            roll_sync: None,
            epochs,
            txn_index,
            last_used_ms: std::sync::atomic::AtomicI64::new(0),
        };
        log.check_invariants();
        Ok(log)
    }

    /// Applies changed topic configs; they take effect from the next append or retention run.
    pub fn set_config(&mut self, config: LogConfig) {
        self.config = config.sanitized();
    }

    pub fn config(&self) -> &LogConfig {
        &self.config
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn log_start_offset(&self) -> i64 {
        self.log_start_offset
    }

    /// The next offset to be assigned.
    pub fn log_end_offset(&self) -> i64 {
        self.active().next_offset()
    }

    pub fn size_bytes(&self) -> u64 {
        self.segments.iter().map(Segment::size).sum()
    }

    /// File handles the log holds open: at most the active segment's three and one per sealed
    /// segment; none after [`Self::release_files`] until it is used again.
    pub fn open_files(&self) -> usize {
        self.segments.iter().map(Segment::open_files).sum()
    }

    /// Closes every file of the log after making what was written durable; reads and appends
    /// open what they need again.
    pub fn release_files(&mut self) -> Result<(), LogError> {
        self.flush()?;
        for segment in &mut self.segments {
            segment.release_files()?;
        }
        Ok(())
    }

    /// When the log was last read or written (ms since the epoch; 0 never).
    pub fn last_used_ms(&self) -> i64 {
        self.last_used_ms.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn touch(&self) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        self.last_used_ms
            .store(now, std::sync::atomic::Ordering::Relaxed);
    }

    /// Number of segments, the active one included.
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    fn active(&self) -> &Segment {
        let last = self.segments.len() - 1;
        &self.segments[last]
    }

    fn active_mut(&mut self) -> &mut Segment {
        let last = self.segments.len() - 1;
        &mut self.segments[last]
    }

    /// Appends the given bytes, which hold one or more complete, already validated v2 batches.
    /// Assigns consecutive offsets from the log end offset by patching each batch's base offset
    /// and partition leader epoch in place (no re-encoding, no CRC change), rolls first if
    /// needed, writes all batches with one write, and flushes if `flush_interval_messages`
    /// offsets are unflushed.
    pub fn append(
        &mut self,
        batches: &mut [u8],
        leader_epoch: i32,
        now_ms: i64,
    ) -> Result<AppendInfo, LogError> {
        self.touch();
        let log_end_offset = self.log_end_offset();
        let (metas, log_append) = self.assign_offsets(batches, log_end_offset)?;
        let mut position = 0usize;
        for meta in &metas {
            patch(&mut batches[position..], meta.base_offset, leader_epoch);
            position += meta.bytes as usize;
        }
        let mut info = self.write_batches(batches, &metas, now_ms)?;
        info.log_append_time = if log_append { now_ms } else { -1 };
        self.note_epoch(leader_epoch, info.base_offset)?;
        Ok(info)
    }

    /// Records that `epoch` starts at `offset` when it is new, in the checkpoint too.
    fn note_epoch(&mut self, epoch: i32, offset: i64) -> Result<(), LogError> {
        if self.epochs.assign(epoch, offset) {
            self.epochs.save(&self.dir)?;
        }
        Ok(())
    }

    /// Records an aborted transaction whose ABORT marker is at `txn.last_offset`, in the
    /// index of the segment holding the marker; a marker already recorded is not recorded
    /// twice (recovery replays markers).
    pub fn record_aborted(&mut self, txn: AbortedTxn) -> Result<(), LogError> {
        if self.txn_index.contains(txn.producer_id, txn.last_offset) {
            return Ok(());
        }
        let base = self
            .segments
            .iter()
            .rev()
            .find(|s| s.base_offset() <= txn.last_offset)
            .map_or(self.segments[0].base_offset(), |s| s.base_offset());
        self.txn_index.append(base, txn)
    }

    /// The aborted transactions (`.txnindex`).
    pub fn txn_index(&self) -> &TxnIndex {
        &self.txn_index
    }

    /// The leader epoch cache.
    pub fn epochs(&self) -> &EpochCache {
        &self.epochs
    }

    /// The largest epoch at most `epoch` and the offset where it ended (OffsetForLeaderEpoch).
    pub fn end_offset_for_epoch(&self, epoch: i32) -> (i32, i64) {
        self.epochs.end_offset_for(epoch, self.log_end_offset())
    }

    /// Writes batches whose offsets are already set (rolling first if needed) and flushes if
    /// `flush_interval_messages` offsets are unflushed. `metas` are the batches' facts, first
    /// to last, and must be non-empty.
    fn write_batches(
        &mut self,
        batches: &[u8],
        metas: &[BatchMeta],
        now_ms: i64,
    ) -> Result<AppendInfo, LogError> {
        let (Some(first), Some(last)) = (metas.first().copied(), metas.last().copied()) else {
            return Err(LogError::EmptyAppend);
        };
        let pending = PendingAppend {
            bytes: batches.len() as u64,
            last_offset: last.last_offset,
            max_timestamp: metas.iter().map(|m| m.max_timestamp).max().unwrap_or(-1),
            now_ms,
        };
        self.active_mut().start_clock(now_ms);
        if self.active().should_roll(&pending, &self.config) {
            self.roll(now_ms)?;
        }
        let interval = self.config.index_interval_bytes;
        self.active_mut().append(batches, metas, interval)?;
        assert_eq!(
            self.log_end_offset(),
            last.last_offset + 1,
            "log end offset must follow the append"
        );
        self.unflushed_messages = self
            .unflushed_messages
            .saturating_add((last.last_offset - first.base_offset + 1) as u64);
        if self.unflushed_messages >= self.config.flush_interval_messages {
            self.flush_at(now_ms)?;
        }
        Ok(AppendInfo {
            base_offset: first.base_offset,
            last_offset: last.last_offset,
            log_append_time: -1,
            log_start_offset: self.log_start_offset,
        })
    }

    /// Walks the batches of an append, checking their structure and sizes, and returns each
    /// batch's facts with the offsets it will get, plus whether any batch is LogAppendTime.
    fn assign_offsets(
        &self,
        batches: &[u8],
        mut next_offset: i64,
    ) -> Result<(Vec<BatchMeta>, bool), LogError> {
        let limit = self.config.segment_bytes;
        if batches.len() as u64 > SEGMENT_BYTES_MAX {
            return Err(LogError::BatchTooLarge {
                bytes: batches.len() as u64,
                limit: SEGMENT_BYTES_MAX,
            });
        }
        let mut metas = Vec::new();
        let mut log_append = false;
        for item in split_headers(batches) {
            let (header, range) = item?;
            if range.len() as u64 > limit {
                return Err(LogError::BatchTooLarge {
                    bytes: range.len() as u64,
                    limit,
                });
            }
            let mut meta = BatchMeta::of(&header);
            meta.base_offset = next_offset;
            meta.last_offset = next_offset + i64::from(header.last_offset_delta);
            next_offset = meta.last_offset + 1;
            log_append |= header.timestamp_type_log_append();
            metas.push(meta);
        }
        Ok((metas, log_append))
    }

    /// Closes the active segment and starts a new one at the log end offset.
    fn roll(&mut self, now_ms: i64) -> Result<(), LogError> {
        let next_base = self.log_end_offset();
        let active = self.active_mut();
        assert!(!active.is_empty(), "an empty segment never rolls");
        active.seal()?;
        let handles = active.sync_handles()?;
        if self.sync_in_background(handles) {
            self.active_mut().mark_synced();
        } else {
            self.active_mut().flush()?;
        }
        // The fsync thread holds its own handles; the sealed segment needs none on its indexes.
        self.active_mut().release_index_files();
        let segment = Segment::create(&self.dir, next_base, Some(now_ms))?;
        self.segments.push(segment);
        self.dir_dirty = true;
        tracing::debug!(dir = %self.dir.display(), base_offset = next_base, "rolled log segment");
        Ok(())
    }

    /// Starts fsyncing `files` on a thread after waiting for the previous one; false if no
    /// thread could be started.
    fn sync_in_background(&mut self, files: Vec<std::fs::File>) -> bool {
        self.join_roll_sync();
        let task = move || {
            for file in files {
                if let Err(err) = file.sync_data() {
                    tracing::warn!(error = %err, "fsync of a rolled log segment failed");
                }
            }
        };
        match std::thread::Builder::new()
            .name("log-roll-sync".into())
            .spawn(task)
        {
            Ok(handle) => {
                self.roll_sync = Some(handle);
                true
            }
            Err(err) => {
                tracing::warn!(error = %err, "could not start the roll fsync thread; syncing inline");
                false
            }
        }
    }

    fn join_roll_sync(&mut self) {
        if let Some(handle) = self.roll_sync.take() {
            if handle.join().is_err() {
                tracing::warn!("the roll fsync thread panicked");
            }
        }
    }

    /// Reads whole batches starting at the batch that contains `offset`, at most `max_bytes`
    /// bytes, except that the first batch is returned whatever its size when `min_one` is true
    /// (KIP-74). Returns the stored bytes unchanged. An offset below the log start offset or
    /// above the log end offset is `OffsetOutOfRange`; the log end offset gives empty bytes.
    pub fn read(&self, offset: i64, max_bytes: usize, min_one: bool) -> Result<Bytes, LogError> {
        self.read_bounded(offset, max_bytes, min_one, self.log_end_offset())
    }

    /// Like [`read`](Self::read) but only returns batches whose last offset is below
    /// `upper_bound` (a high watermark or last stable offset).
    pub fn read_bounded(
        &self,
        offset: i64,
        max_bytes: usize,
        min_one: bool,
        upper_bound: i64,
    ) -> Result<Bytes, LogError> {
        self.check_in_range(offset)?;
        let upper_bound = upper_bound.min(self.log_end_offset());
        if offset >= upper_bound {
            return Ok(Bytes::new());
        }
        self.touch();
        let first = self.segments.partition_point(|s| s.base_offset() <= offset);
        assert!(first > 0, "offset {offset} lies below the first segment");
        let mut out: Vec<u8> = Vec::new();
        for (i, segment) in self.segments.iter().enumerate().skip(first - 1) {
            let start = if i == first - 1 {
                segment.position_of(offset)?
            } else {
                Some(0)
            };
            let Some(position) = start else {
                continue;
            };
            let budget = max_bytes.saturating_sub(out.len());
            let chunk =
                segment.read_from(position, budget, min_one && out.is_empty(), upper_bound)?;
            let reached_end = position + chunk.len() as u64 == segment.size();
            if out.is_empty() {
                out = chunk;
            } else {
                out.extend_from_slice(&chunk);
            }
            if !reached_end {
                break;
            }
        }
        Ok(Bytes::from(out))
    }

    fn check_in_range(&self, offset: i64) -> Result<(), LogError> {
        let log_end_offset = self.log_end_offset();
        if offset < self.log_start_offset || offset > log_end_offset {
            return Err(LogError::OffsetOutOfRange {
                offset,
                log_start_offset: self.log_start_offset,
                log_end_offset,
            });
        }
        Ok(())
    }

    /// The headers of the batches from `offset` on (whole batches: the one holding `offset`
    /// too), oldest first, read without their records except for markers. The partition
    /// rebuilds its producer state from them.
    pub fn batches_since(
        &self,
        offset: i64,
    ) -> Result<Vec<(BatchHeader, Option<Marker>)>, LogError> {
        let mut out = Vec::new();
        for (i, segment) in self.segments.iter().enumerate() {
            let next_base = self.segments.get(i + 1).map(|s| s.base_offset());
            if next_base.is_some_and(|next| next <= offset) {
                continue;
            }
            out.extend(segment.batch_summaries(offset)?);
        }
        Ok(out)
    }

    /// Base offset of the newest `segments` segments (where a replay without a snapshot starts).
    pub fn base_of_recent_segments(&self, segments: usize) -> i64 {
        let skip = self.segments.len().saturating_sub(segments.max(1));
        self.segments[skip].base_offset()
    }

    /// ListOffsets by timestamp (Kafka's `fetchOffsetByTimestamp`): the offset and timestamp of
    /// the first record at or after the log start offset whose timestamp is at least `ts`.
    pub fn offset_for_timestamp(&self, ts: i64) -> Result<Option<(i64, i64)>, LogError> {
        for segment in &self.segments {
            if segment.next_offset() <= self.log_start_offset || segment.max_timestamp() < ts {
                continue;
            }
            if let Some(found) = segment.offset_for_timestamp(ts, self.log_start_offset)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// ListOffsets MAX_TIMESTAMP: (offset, timestamp) of the first record carrying the largest
    /// timestamp of the log. `None` when no batch has a timestamp.
    pub fn max_timestamp_offset(&self) -> Result<Option<(i64, i64)>, LogError> {
        let mut best: Option<&Segment> = None;
        for segment in &self.segments {
            let ahead = best.is_none_or(|b| segment.max_timestamp() > b.max_timestamp());
            if segment.offset_of_max_timestamp() >= 0 && ahead {
                best = Some(segment);
            }
        }
        match best {
            Some(segment) => segment.max_timestamp_record(),
            None => Ok(None),
        }
    }

    /// Fsyncs the `.log` and index files of every segment written since the last flush.
    pub fn flush(&mut self) -> Result<(), LogError> {
        self.join_roll_sync();
        let sealed = self.segments.len() - 1;
        for (i, segment) in self.segments.iter_mut().enumerate() {
            if segment.is_dirty() {
                segment.flush()?;
            }
            if i < sealed {
                segment.release_index_files();
            }
        }
        if self.dir_dirty {
            recovery::sync_dir(&self.dir)?;
            self.dir_dirty = false;
        }
        self.unflushed_messages = 0;
        Ok(())
    }

    fn flush_at(&mut self, now_ms: i64) -> Result<(), LogError> {
        self.flush()?;
        self.last_flush_ms = Some(now_ms);
        Ok(())
    }

    /// Flushes when `flush_interval_ms` passed since the last flush. The first call only
    /// starts the clock.
    pub fn flush_if_due(&mut self, now_ms: i64) -> Result<(), LogError> {
        match self.last_flush_ms {
            None => {
                self.last_flush_ms = Some(now_ms);
                Ok(())
            }
            Some(last) if now_ms.saturating_sub(last) >= self.config.flush_interval_ms => {
                self.flush_at(now_ms)
            }
            Some(_) => Ok(()),
        }
    }

    /// Flushes everything and marks the directory cleanly shut down, so the next `open` trusts
    /// the active segment's indexes instead of scanning it.
    pub fn close(mut self) -> Result<(), LogError> {
        self.flush()?;
        self.txn_index.sync()?;
        checkpoint::write_clean_marker(&self.dir)
    }

    /// Removes the whole partition directory (topic deleted).
    pub fn delete(mut self) -> Result<(), LogError> {
        self.join_roll_sync();
        let dir = self.dir.clone();
        drop(self);
        std::fs::remove_dir_all(&dir).map_err(|source| LogError::Io { path: dir, source })
    }

    /// Asserts the structural invariants: segments sorted without overlap, and
    /// `first base <= log start offset <= log end offset`.
    fn check_invariants(&self) {
        assert!(
            !self.segments.is_empty(),
            "a log always has an active segment"
        );
        for pair in self.segments.windows(2) {
            assert!(
                pair[0].base_offset() < pair[1].base_offset(),
                "segments out of order"
            );
            assert!(
                pair[0].next_offset() <= pair[1].base_offset(),
                "segments overlap"
            );
        }
        assert!(self.segments[0].base_offset() <= self.log_start_offset);
        assert!(self.log_start_offset <= self.log_end_offset());
    }
}

#[cfg(test)]
mod tests {
    use super::batch::{parse_header, split_batches};
    use super::test_util::{batch, file_names, small_config};
    use super::*;

    const NOW: i64 = 1_700_000_000_000;

    /// The broker shares logs between tasks behind a lock.
    #[test]
    fn partition_log_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<PartitionLog>();
    }

    fn open(dir: &Path, config: LogConfig) -> PartitionLog {
        PartitionLog::open(dir, config).expect("open log")
    }

    /// An idle log closes every file and opens them again when read or appended to.
    #[test]
    fn released_files_open_again_on_use() {
        let dir = tempfile::tempdir().expect("dir");
        let mut log = open(dir.path(), small_config(1024));
        for _ in 0..20 {
            let mut b = batch(3, NOW, 40);
            let _ = log.append(&mut b, 0, NOW).expect("append");
        }
        assert!(log.segment_count() > 1);
        let before = log.read(0, usize::MAX, true).expect("read");
        assert!(log.open_files() > 0);
        log.release_files().expect("release");
        assert_eq!(log.open_files(), 0);
        assert_eq!(log.read(0, usize::MAX, true).expect("read again"), before);
        let mut b = batch(3, NOW, 40);
        let info = log.append(&mut b, 0, NOW).expect("append again");
        assert_eq!(info.base_offset, 60);
        assert!(log.last_used_ms() > 0);
        drop(log);
        assert_eq!(open(dir.path(), small_config(1024)).log_end_offset(), 63);
    }

    /// Appends `bytes` and returns the info plus the bytes as stored (offsets patched).
    fn append(log: &mut PartitionLog, mut bytes: Vec<u8>) -> (AppendInfo, Vec<u8>) {
        let info = log.append(&mut bytes, 3, NOW).expect("append");
        (info, bytes)
    }

    fn read_all(log: &PartitionLog) -> Bytes {
        log.read(log.log_start_offset(), usize::MAX, false)
            .expect("read")
    }

    #[test]
    fn append_read_round_trip_is_byte_exact() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut log = open(dir.path(), LogConfig::default());
        let mut expected = Vec::new();
        let mut ranges = Vec::new();
        for (records, ts) in [(3usize, 1_000i64), (1, 2_000), (5, 3_000)] {
            let (info, stored) = append(&mut log, batch(records, ts, 20));
            ranges.push((info.base_offset, info.last_offset));
            assert_eq!(info.log_append_time, -1);
            assert_eq!(info.log_start_offset, 0);
            expected.extend_from_slice(&stored);
        }
        assert_eq!(ranges, vec![(0, 2), (3, 3), (4, 8)]);
        assert_eq!(log.log_end_offset(), 9);
        assert_eq!(log.size_bytes(), expected.len() as u64);
        let read = read_all(&log);
        assert_eq!(&read[..], &expected[..]);
        let headers: Vec<_> = split_batches(&read)
            .map(|item| item.expect("valid crc").0)
            .collect();
        assert_eq!(
            headers.iter().map(|h| h.base_offset).collect::<Vec<_>>(),
            vec![0, 3, 4]
        );
        assert!(headers.iter().all(|h| h.partition_leader_epoch == 3));
    }

    #[test]
    fn one_append_may_hold_several_batches() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut log = open(dir.path(), LogConfig::default());
        append(&mut log, batch(2, 10, 5));
        let mut bytes = batch(3, 20, 5);
        bytes.extend_from_slice(&batch(4, 30, 5));
        let (info, stored) = append(&mut log, bytes);
        assert_eq!((info.base_offset, info.last_offset), (2, 8));
        let headers: Vec<_> = split_batches(&stored)
            .map(|item| item.expect("valid").0)
            .collect();
        assert_eq!(headers[0].base_offset, 2);
        assert_eq!(headers[1].base_offset, 5);
        assert_eq!(
            &log.read(2, usize::MAX, false).expect("read")[..],
            &stored[..]
        );
    }

    #[test]
    fn read_inside_a_batch_returns_the_whole_batch() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut log = open(dir.path(), LogConfig::default());
        let stored: Vec<Vec<u8>> = (0..3)
            .map(|i| append(&mut log, batch(5, i, 10)).1)
            .collect();
        for offset in 5..10 {
            let read = log.read(offset, stored[1].len(), false).expect("read");
            assert_eq!(&read[..], &stored[1][..], "offset {offset}");
        }
        let rest = log.read(7, usize::MAX, false).expect("read");
        assert_eq!(
            &rest[..],
            &[stored[1].clone(), stored[2].clone()].concat()[..]
        );
    }

    #[test]
    fn max_bytes_and_min_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut log = open(dir.path(), LogConfig::default());
        let first = append(&mut log, batch(1, 0, 100)).1;
        let second = append(&mut log, batch(1, 0, 100)).1;
        let size = first.len();
        assert!(log.read(0, size - 1, false).expect("read").is_empty());
        assert_eq!(&log.read(0, size - 1, true).expect("read")[..], &first[..]);
        assert_eq!(&log.read(0, 0, true).expect("read")[..], &first[..]);
        assert_eq!(
            &log.read(0, 2 * size - 1, false).expect("read")[..],
            &first[..]
        );
        assert_eq!(
            &log.read(0, 2 * size - 1, true).expect("read")[..],
            &first[..]
        );
        assert_eq!(log.read(0, 2 * size, false).expect("read").len(), 2 * size);
        assert_eq!(&log.read(1, 0, true).expect("read")[..], &second[..]);
    }

    #[test]
    fn read_bounds() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut log = open(dir.path(), LogConfig::default());
        assert!(log.read(0, 100, true).expect("empty log").is_empty());
        let first = append(&mut log, batch(2, 0, 1)).1;
        append(&mut log, batch(2, 0, 1));
        assert!(log.read(4, 100, true).expect("at log end").is_empty());
        assert!(matches!(
            log.read(5, 100, true),
            Err(LogError::OffsetOutOfRange { offset: 5, .. })
        ));
        assert!(matches!(
            log.read(-1, 100, true),
            Err(LogError::OffsetOutOfRange { .. })
        ));
        assert_eq!(
            &log.read_bounded(0, 1 << 20, true, 2).expect("read")[..],
            &first[..]
        );
        assert!(log
            .read_bounded(0, 1 << 20, true, 1)
            .expect("read")
            .is_empty());
        assert!(log
            .read_bounded(2, 1 << 20, true, 2)
            .expect("read")
            .is_empty());
    }

    #[test]
    fn bad_appends_are_errors_and_change_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut log = open(dir.path(), small_config(1_000));
        append(&mut log, batch(1, 0, 1));
        assert!(matches!(
            log.append(&mut [], 0, NOW),
            Err(LogError::EmptyAppend)
        ));
        let mut short = vec![0u8; 30];
        assert!(matches!(
            log.append(&mut short, 0, NOW),
            Err(LogError::InvalidBatch(_))
        ));
        let mut torn = batch(2, 0, 1);
        torn.extend_from_slice(&batch(2, 0, 1)[..70]);
        assert!(matches!(
            log.append(&mut torn, 0, NOW),
            Err(LogError::InvalidBatch(_))
        ));
        let mut huge = batch(1, 0, 2_000);
        assert!(matches!(
            log.append(&mut huge, 0, NOW),
            Err(LogError::BatchTooLarge { .. })
        ));
        assert_eq!(log.log_end_offset(), 1);
        assert_eq!(split_batches(&read_all(&log)).count(), 1);
    }

    #[test]
    fn roll_by_size_creates_twenty_digit_segment_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let size = batch(1, 0, 50).len() as u64;
        let mut log = open(dir.path(), small_config(size * 5 / 2));
        let mut expected = Vec::new();
        for i in 0..5 {
            expected.extend_from_slice(&append(&mut log, batch(1, i, 50)).1);
        }
        assert_eq!(log.segment_count(), 3);
        let names = file_names(dir.path());
        for base in [
            "00000000000000000000",
            "00000000000000000002",
            "00000000000000000004",
        ] {
            for suffix in [".log", ".index", ".timeindex"] {
                assert!(
                    names.contains(&format!("{base}{suffix}")),
                    "{base}{suffix} in {names:?}"
                );
            }
        }
        assert_eq!(&read_all(&log)[..], &expected[..]);
        let tail = log.read(1, usize::MAX, false).expect("read");
        assert_eq!(&tail[..], &expected[size as usize..]);
    }

    #[test]
    fn roll_by_time_uses_the_first_batch_timestamp() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = LogConfig {
            segment_ms: 1_000,
            ..LogConfig::default()
        };
        let mut log = open(dir.path(), config);
        append(&mut log, batch(1, 10_000, 1));
        append(&mut log, batch(1, 11_000, 1));
        assert_eq!(log.segment_count(), 1);
        append(&mut log, batch(1, 11_001, 1));
        assert_eq!(log.segment_count(), 2);
        assert_eq!(log.segments[1].base_offset(), 2);
    }

    #[test]
    fn roll_by_time_without_timestamps_uses_the_clock() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = LogConfig {
            segment_ms: 1_000,
            ..LogConfig::default()
        };
        let mut log = open(dir.path(), config);
        for (now, segments) in [(5_000, 1), (6_000, 1), (6_001, 2), (7_001, 2), (7_002, 3)] {
            log.append(&mut batch(1, -1, 1), 0, now).expect("append");
            assert_eq!(log.segment_count(), segments, "at {now}");
        }
    }

    #[test]
    fn reopen_keeps_all_records() {
        let dir = tempfile::tempdir().expect("tempdir");
        let size = batch(2, 0, 30).len() as u64;
        let mut log = open(dir.path(), small_config(size * 3));
        let mut expected = Vec::new();
        for i in 0..10 {
            expected.extend_from_slice(&append(&mut log, batch(2, i * 10, 30)).1);
        }
        let segments = log.segment_count();
        drop(log);
        let mut log = open(dir.path(), small_config(size * 3));
        assert_eq!(log.segment_count(), segments);
        assert_eq!(log.log_end_offset(), 20);
        assert_eq!(&read_all(&log)[..], &expected[..]);
        let (info, _) = append(&mut log, batch(1, 0, 1));
        assert_eq!(info.base_offset, 20);
    }

    #[test]
    fn close_marks_a_clean_shutdown() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut log = open(dir.path(), small_config(500));
        let mut expected = Vec::new();
        for i in 0..12 {
            expected.extend_from_slice(&append(&mut log, batch(3, i, 20)).1);
        }
        log.close().expect("close");
        assert!(dir.path().join(recovery::CLEAN_SHUTDOWN_FILE).exists());
        let mut log = open(dir.path(), small_config(500));
        assert!(!dir.path().join(recovery::CLEAN_SHUTDOWN_FILE).exists());
        assert_eq!(&read_all(&log)[..], &expected[..]);
        assert_eq!(append(&mut log, batch(1, 0, 1)).0.base_offset, 36);
    }

    /// Every offset, read with a one-byte budget, gives exactly the batch that holds it.
    fn assert_every_offset_finds_its_batch(log: &PartitionLog) {
        for offset in log.log_start_offset()..log.log_end_offset() {
            let read = log.read(offset, 1, true).expect("read");
            let header = parse_header(&read).expect("one batch");
            assert_eq!(header.total_bytes(), read.len());
            assert!(
                header.base_offset <= offset && offset <= header.last_offset(),
                "offset {offset}"
            );
        }
    }

    #[test]
    fn index_lookups_find_every_offset() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut log = open(dir.path(), small_config(2_000));
        for i in 0..60 {
            append(&mut log, batch(1 + i % 4, i as i64, 10 + i % 7));
        }
        assert!(log.segment_count() > 2);
        assert!(log.segments.iter().all(|s| !s.is_empty()));
        assert!(log.segments.iter().all(|s| s.index_entry_counts().0 >= 3));
        assert_every_offset_finds_its_batch(&log);
        drop(log);
        let log = open(dir.path(), small_config(2_000));
        assert_every_offset_finds_its_batch(&log);
    }

    #[test]
    fn sealed_segments_keep_one_file_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let size = batch(2, 0, 100).len() as u64;
        let mut log = open(dir.path(), small_config(size * 2));
        for i in 0..10 {
            append(&mut log, batch(2, i * 10, 100));
        }
        let segments = log.segment_count();
        assert!(segments >= 4, "{segments} segments");
        assert_eq!(
            log.open_files(),
            segments + 2,
            "three for the active one, one per sealed"
        );
        log.flush().expect("flush");
        assert_eq!(log.open_files(), segments + 2);
        assert_every_offset_finds_its_batch(&log);
        assert_eq!(
            log.offset_for_timestamp(45).expect("lookup"),
            Some((10, 50))
        );
        drop(log);
        let log = open(dir.path(), small_config(size * 2));
        assert_eq!(log.open_files(), segments + 2, "and so after a restart");
        assert_every_offset_finds_its_batch(&log);
    }

    #[test]
    fn offset_for_timestamp_finds_the_first_batch_at_or_after() {
        let dir = tempfile::tempdir().expect("tempdir");
        let size = batch(1, 0, 10).len() as u64;
        let mut log = open(dir.path(), small_config(size * 2));
        assert_eq!(log.offset_for_timestamp(0).expect("lookup"), None);
        for ts in [100, 200, 150, 300, 250] {
            append(&mut log, batch(1, ts, 10));
        }
        let lookup = |log: &PartitionLog, ts| log.offset_for_timestamp(ts).expect("lookup");
        assert_eq!(lookup(&log, 50), Some((0, 100)));
        assert_eq!(lookup(&log, 100), Some((0, 100)));
        assert_eq!(lookup(&log, 101), Some((1, 200)));
        assert_eq!(lookup(&log, 160), Some((1, 200)));
        assert_eq!(lookup(&log, 201), Some((3, 300)));
        assert_eq!(lookup(&log, 300), Some((3, 300)));
        assert_eq!(lookup(&log, 301), None);
        log.delete_records_before(2).expect("delete records");
        assert_eq!(lookup(&log, 50), Some((2, 150)));
    }

    #[test]
    fn offset_for_timestamp_inside_a_segment_with_index_entries() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut log = open(dir.path(), small_config(1 << 20));
        for i in 0..100i64 {
            append(&mut log, batch(2, 1_000 + i * 10, 40));
        }
        for i in 0..100i64 {
            let ts = 1_000 + i * 10;
            assert_eq!(
                log.offset_for_timestamp(ts).expect("lookup"),
                Some((2 * i, ts))
            );
            assert_eq!(
                log.offset_for_timestamp(ts + 1).expect("lookup"),
                Some((2 * i + 1, ts + 1))
            );
        }
        assert_eq!(log.offset_for_timestamp(3_000).expect("lookup"), None);
    }

    #[test]
    fn timestamp_lookups_look_inside_a_batch() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut log = open(dir.path(), small_config(1 << 20));
        // One batch of 100 records 1 s apart, the largest timestamp in the middle.
        let mut timestamps: Vec<i64> = (0..100).map(|i| 10_000 + i * 1_000).collect();
        timestamps[60] = 500_000;
        append(
            &mut log,
            test_util::encode_batch_with(&timestamps, 8, kafka_protocol::records::Compression::Lz4),
        );
        let lookup = |log: &PartitionLog, ts| log.offset_for_timestamp(ts).expect("lookup");
        assert_eq!(lookup(&log, 0), Some((0, 10_000)));
        assert_eq!(lookup(&log, 10_000 + 50 * 1_000), Some((50, 60_000)));
        assert_eq!(lookup(&log, 10_000 + 49 * 1_000 + 1), Some((50, 60_000)));
        assert_eq!(lookup(&log, 200_000), Some((60, 500_000)));
        assert_eq!(lookup(&log, 500_001), None);
        assert_eq!(
            log.max_timestamp_offset().expect("max"),
            Some((60, 500_000))
        );
        log.delete_records_before(70).expect("delete records");
        assert_eq!(lookup(&log, 0), Some((70, 80_000)));
    }

    #[test]
    fn max_timestamp_offset_is_the_first_batch_with_the_largest_timestamp() {
        let dir = tempfile::tempdir().expect("tempdir");
        let size = batch(1, 0, 10).len() as u64;
        let mut log = open(dir.path(), small_config(size * 2));
        assert_eq!(log.max_timestamp_offset().expect("max"), None);
        for (records, ts) in [(1, 100), (2, 299), (1, 300), (1, 200), (1, 150)] {
            append(&mut log, batch(records, ts, 10));
        }
        // The batch at offsets 1..=2 has timestamps 299, 300; the one at 3 has 300 too.
        assert_eq!(log.max_timestamp_offset().expect("max"), Some((2, 300)));
        drop(log);
        let log = open(dir.path(), small_config(size * 2));
        assert_eq!(log.max_timestamp_offset().expect("max"), Some((2, 300)));
    }

    #[test]
    fn flush_by_message_count_and_time() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = LogConfig {
            flush_interval_messages: 3,
            flush_interval_ms: 1_000,
            ..LogConfig::default()
        };
        let mut log = open(dir.path(), config);
        append(&mut log, batch(2, 0, 1));
        assert_eq!(log.unflushed_messages, 2);
        assert!(log.active().is_dirty());
        append(&mut log, batch(1, 0, 1));
        assert_eq!(log.unflushed_messages, 0);
        assert!(!log.active().is_dirty());
        assert_eq!(log.last_flush_ms, Some(NOW));
        append(&mut log, batch(1, 0, 1));
        log.flush_if_due(NOW + 999).expect("flush");
        assert!(log.active().is_dirty());
        log.flush_if_due(NOW + 1_000).expect("flush");
        assert!(!log.active().is_dirty());
        assert_eq!(log.last_flush_ms, Some(NOW + 1_000));
    }

    #[test]
    fn delete_removes_the_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("orders-0");
        let mut log = open(&path, small_config(200));
        for _ in 0..5 {
            append(&mut log, batch(1, 0, 50));
        }
        log.delete().expect("delete");
        assert!(!path.exists());
    }

    #[test]
    fn log_append_time_is_reported() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut log = open(dir.path(), LogConfig::default());
        let mut bytes = batch(1, 5, 1);
        // Set the timestamp-type attribute and fix the CRC, as the produce path does.
        bytes[22] |= 0x08;
        let crc = crc32c::crc32c(&bytes[21..]);
        bytes[17..21].copy_from_slice(&crc.to_be_bytes());
        let info = log.append(&mut bytes, 0, NOW).expect("append");
        assert_eq!(info.log_append_time, NOW);
    }
}

#[cfg(test)]
mod throughput {
    use super::test_util::batch;
    use super::*;

    /// Appends 1 GiB in 1 MiB batches and reads it back; prints MB/s. Run with
    /// `cargo test --release -p ktui-broker --lib log::throughput -- --ignored --nocapture`.
    #[test]
    #[ignore = "performance measurement"]
    fn append_and_read_one_gib() {
        const BATCH_VALUE_BYTES: usize = 1024;
        const RECORDS: usize = 1024;
        const APPENDS: usize = 1024;
        let dir = tempfile::tempdir().expect("tempdir");
        let mut log = PartitionLog::open(dir.path(), LogConfig::default()).expect("open");
        let template = batch(RECORDS, 1_000, BATCH_VALUE_BYTES);
        let mut buffers: Vec<Vec<u8>> = (0..APPENDS).map(|_| template.clone()).collect();
        let started = std::time::Instant::now();
        for (i, buf) in buffers.iter_mut().enumerate() {
            log.append(buf, 0, i as i64).expect("append");
        }
        let seconds = started.elapsed().as_secs_f64();
        let megabytes = (template.len() * APPENDS) as f64 / 1e6;
        println!(
            "append: {:.0} MB/s ({} segments)",
            megabytes / seconds,
            log.segment_count()
        );
        let started = std::time::Instant::now();
        let mut offset = 0;
        while offset < log.log_end_offset() {
            let read = log.read(offset, 1 << 20, true).expect("read");
            offset = batch::parse_header(&read).expect("batch").last_offset() + 1;
        }
        println!(
            "read: {:.0} MB/s",
            megabytes / started.elapsed().as_secs_f64()
        );
        let started = std::time::Instant::now();
        drop(log);
        let log = PartitionLog::open(dir.path(), LogConfig::default()).expect("reopen");
        println!(
            "recovery: {:.0} MB/s",
            megabytes / started.elapsed().as_secs_f64()
        );
        assert_eq!(log.log_end_offset(), (RECORDS * APPENDS) as i64);
    }
}
