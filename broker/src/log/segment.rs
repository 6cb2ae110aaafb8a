//! One log segment: the `.log` file of concatenated batches plus its offset and time indexes
//! (Kafka's `LogSegment`). This module owns writing batches at the segment's end, keeping the
//! indexes in step (one offset index entry per `index_interval_bytes`, a time index entry
//! whenever the running max timestamp grew), deciding whether an append must roll to a new
//! segment, and reading whole batches back by offset or timestamp. Opening existing segments
//! (with recovery) lives in `recovery.rs`; choosing which segment to use lives in `mod.rs`.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::batch::{parse_header_prefix, BatchHeader, BATCH_HEADER_BYTES};
use super::control::{marker_of, Marker};
use super::decode;
use super::file_name::{file_path, SegmentFile};
use super::index::{
    relative_offset, OffsetEntry, OffsetIndex, TimeEntry, TimeIndex, RELATIVE_OFFSET_MAX,
};
use super::scan::{ScanError, Scanner, LOOKUP_WINDOW_BYTES};
use super::{LogConfig, LogError};

/// Largest `.log` file: positions are 4-byte fields in the offset index, and Kafka's
/// `segment.bytes` is an int.
pub(crate) const SEGMENT_BYTES_MAX: u64 = i32::MAX as u64;
/// Kafka's `RecordBatch.NO_TIMESTAMP`.
pub(crate) const NO_TIMESTAMP: i64 = -1;

/// The facts about one batch that the segment needs, taken from its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BatchMeta {
    pub(crate) base_offset: i64,
    pub(crate) last_offset: i64,
    pub(crate) max_timestamp: i64,
    pub(crate) bytes: u32,
}

impl BatchMeta {
    pub(crate) fn of(header: &BatchHeader) -> Self {
        let bytes = u32::try_from(header.total_bytes()).unwrap_or(u32::MAX);
        Self {
            base_offset: header.base_offset,
            last_offset: header.last_offset(),
            max_timestamp: header.max_timestamp,
            bytes,
        }
    }
}

/// Running state derived from a segment's batches: maintained by append, rebuilt by recovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SegmentState {
    pub(crate) base_offset: i64,
    /// Bytes of valid batches in the `.log` file.
    pub(crate) size: u64,
    /// Offset the next appended batch gets: last offset + 1, or the base offset when empty.
    pub(crate) next_offset: i64,
    /// Max timestamp of the first batch; `segment.ms` is measured from it (Kafka's
    /// `rollingBasedTimestamp`).
    pub(crate) first_batch_timestamp: Option<i64>,
    pub(crate) max_timestamp: i64,
    /// Last offset of the first batch carrying `max_timestamp`, or -1.
    pub(crate) offset_of_max_timestamp: i64,
    /// Timestamp of the last time index entry; a new entry needs a larger one.
    pub(crate) time_index_max: i64,
    /// Bytes appended since the last offset index entry.
    pub(crate) bytes_since_index_entry: u64,
}

/// Index entries produced while observing batches, written once per append.
#[derive(Debug, Default)]
pub(crate) struct NewEntries {
    pub(crate) offsets: Vec<OffsetEntry>,
    pub(crate) times: Vec<TimeEntry>,
}

impl SegmentState {
    pub(crate) fn empty(base_offset: i64) -> Self {
        Self {
            base_offset,
            size: 0,
            next_offset: base_offset,
            first_batch_timestamp: None,
            max_timestamp: NO_TIMESTAMP,
            offset_of_max_timestamp: -1,
            time_index_max: NO_TIMESTAMP,
            bytes_since_index_entry: 0,
        }
    }

    /// Accounts for `batch` written at the current end of the segment, following Kafka's
    /// `LogSegment.append`: an index entry goes to a batch once more than `interval` bytes
    /// were appended since the previous entry.
    pub(crate) fn observe(&mut self, batch: &BatchMeta, interval: u32, out: &mut NewEntries) {
        // Appends are contiguous; a compacted segment may have gaps between batches.
        assert!(
            batch.base_offset >= self.next_offset,
            "batch offsets must rise"
        );
        assert!(batch.last_offset >= batch.base_offset);
        let position = u32::try_from(self.size).unwrap_or(u32::MAX);
        assert!(u64::from(position) == self.size && self.size <= SEGMENT_BYTES_MAX);
        if batch.max_timestamp > self.max_timestamp {
            self.max_timestamp = batch.max_timestamp;
            self.offset_of_max_timestamp = batch.last_offset;
        }
        if self.bytes_since_index_entry > u64::from(interval) {
            let relative = relative_offset(self.base_offset, batch.last_offset);
            out.offsets.push(OffsetEntry {
                relative_offset: relative,
                position,
            });
            self.push_time_entry(out);
            self.bytes_since_index_entry = 0;
        }
        if self.first_batch_timestamp.is_none() {
            self.first_batch_timestamp = Some(batch.max_timestamp);
        }
        self.size += u64::from(batch.bytes);
        self.bytes_since_index_entry += u64::from(batch.bytes);
        self.next_offset = batch.last_offset + 1;
    }

    /// Adds a time index entry if the running max timestamp grew since the last one.
    pub(crate) fn push_time_entry(&mut self, out: &mut NewEntries) {
        if self.max_timestamp > self.time_index_max {
            let relative = relative_offset(self.base_offset, self.offset_of_max_timestamp);
            out.times.push(TimeEntry {
                timestamp: self.max_timestamp,
                relative_offset: relative,
            });
            self.time_index_max = self.max_timestamp;
        }
    }
}

/// What an append about to happen looks like, for the roll decision.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PendingAppend {
    pub(crate) bytes: u64,
    /// Offset the last batch will get once assigned.
    pub(crate) last_offset: i64,
    pub(crate) max_timestamp: i64,
    pub(crate) now_ms: i64,
}

#[derive(Debug)]
pub(crate) struct Segment {
    log_path: PathBuf,
    /// Opened read/write, never in append mode: writes go to `state.size` with `write_all_at`,
    /// so bytes past a crash-torn tail can never be appended after. Opened again on first use
    /// after [`Segment::release_files`] closed it (an idle partition holds no handle).
    log: OnceLock<File>,
    state: SegmentState,
    offset_index: OffsetIndex,
    time_index: TimeIndex,
    /// When this process created the segment; `None` for segments found on disk, which then
    /// start their `segment.ms` clock at their first append.
    created_ms: Option<i64>,
    /// Written since the last fsync.
    dirty: bool,
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> LogError + '_ {
    move |source| LogError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn scan_error(path: &Path, err: ScanError) -> LogError {
    match err {
        ScanError::Io(source) => LogError::Io {
            path: path.to_path_buf(),
            source,
        },
        ScanError::Invalid { position, error } => LogError::Corrupt {
            path: path.to_path_buf(),
            position,
            reason: error.to_string(),
        },
        ScanError::Misplaced { position, reason } => LogError::Corrupt {
            path: path.to_path_buf(),
            position,
            reason,
        },
    }
}

impl Segment {
    /// Creates a new, empty segment. Fails if its files already exist with data.
    pub(crate) fn create(
        dir: &Path,
        base_offset: i64,
        now_ms: Option<i64>,
    ) -> Result<Self, LogError> {
        let log_path = file_path(dir, base_offset, SegmentFile::Log);
        let log = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&log_path)
            .map_err(io_error(&log_path))?;
        let mut segment = Self::assemble(
            dir,
            log_path,
            log,
            SegmentState::empty(base_offset),
            NewEntries::default(),
        )?;
        segment.created_ms = now_ms;
        Ok(segment)
    }

    /// Builds a segment around an open `.log` file, (re)writing both index files from `entries`.
    pub(crate) fn assemble(
        dir: &Path,
        log_path: PathBuf,
        log: File,
        state: SegmentState,
        entries: NewEntries,
    ) -> Result<Self, LogError> {
        let base = state.base_offset;
        let offset_path = file_path(dir, base, SegmentFile::Index);
        let offset_index =
            OffsetIndex::create(dir, base, entries.offsets).map_err(io_error(&offset_path))?;
        let time_path = file_path(dir, base, SegmentFile::TimeIndex);
        let time_index =
            TimeIndex::create(dir, base, entries.times).map_err(io_error(&time_path))?;
        Ok(Self::from_parts(
            log_path,
            log,
            state,
            offset_index,
            time_index,
        ))
    }

    /// Builds a segment from files that were loaded and checked by recovery.
    pub(crate) fn from_parts(
        log_path: PathBuf,
        log: File,
        state: SegmentState,
        offset_index: OffsetIndex,
        time_index: TimeIndex,
    ) -> Self {
        assert!(state.next_offset >= state.base_offset && state.size <= SEGMENT_BYTES_MAX);
        Self {
            log_path,
            log: OnceLock::from(log),
            state,
            offset_index,
            time_index,
            created_ms: None,
            dirty: false,
        }
    }

    pub(crate) fn base_offset(&self) -> i64 {
        self.state.base_offset
    }

    pub(crate) fn next_offset(&self) -> i64 {
        self.state.next_offset
    }

    pub(crate) fn size(&self) -> u64 {
        self.state.size
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.state.size == 0
    }

    pub(crate) fn max_timestamp(&self) -> i64 {
        self.state.max_timestamp
    }

    pub(crate) fn offset_of_max_timestamp(&self) -> i64 {
        self.state.offset_of_max_timestamp
    }

    pub(crate) fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Kafka's `LogSegment.shouldRoll`: a non-empty segment rolls when the append would make it
    /// exceed `segment.bytes`, when `segment.ms` passed since its first batch (or creation),
    /// when an index is full, or when an offset would not fit the 4-byte relative form.
    pub(crate) fn should_roll(&self, pending: &PendingAppend, config: &LogConfig) -> bool {
        if self.is_empty() {
            return false;
        }
        let too_big = self.state.size.saturating_add(pending.bytes) > config.segment_bytes;
        let waited_ms = match self.state.first_batch_timestamp {
            Some(first) if first >= 0 => pending.max_timestamp.saturating_sub(first),
            _ => pending
                .now_ms
                .saturating_sub(self.created_ms.unwrap_or(pending.now_ms)),
        };
        let too_old = waited_ms > config.segment_ms;
        let index_full = self.offset_index.is_full() || self.time_index.is_full();
        let overflow = pending.last_offset - self.state.base_offset > RELATIVE_OFFSET_MAX;
        too_big || too_old || index_full || overflow
    }

    /// Writes `bytes` (whole batches with offsets already assigned, described by `batches`)
    /// at the end of the `.log` file in one write, then appends the new index entries.
    pub(crate) fn append(
        &mut self,
        bytes: &[u8],
        batches: &[BatchMeta],
        interval: u32,
    ) -> Result<(), LogError> {
        let total: u64 = batches.iter().map(|b| u64::from(b.bytes)).sum();
        assert_eq!(
            total,
            bytes.len() as u64,
            "batch sizes must cover the buffer"
        );
        let start = self.state.size;
        assert!(start + total <= SEGMENT_BYTES_MAX, "segment would overflow");
        self.log_file()?
            .write_all_at(bytes, start)
            .map_err(io_error(&self.log_path))?;
        let mut entries = NewEntries::default();
        for batch in batches {
            self.state.observe(batch, interval, &mut entries);
        }
        self.dirty = true;
        self.write_entries(entries)?;
        assert_eq!(self.state.size, start + total);
        Ok(())
    }

    /// Appends new index entries: the time index first, so that after a crash between the
    /// two writes a reload that rescans from the last offset index entry finds the time index
    /// ahead of it, never behind.
    pub(crate) fn write_entries(&mut self, entries: NewEntries) -> Result<(), LogError> {
        let time_path = self.time_index.path().to_path_buf();
        self.time_index
            .append(&entries.times)
            .map_err(io_error(&time_path))?;
        let offset_path = self.offset_index.path().to_path_buf();
        self.offset_index
            .append(&entries.offsets)
            .map_err(io_error(&offset_path))?;
        Ok(())
    }

    /// Called when the segment stops being the active one: records its final max timestamp in
    /// the time index, as Kafka's `onBecomeInactiveSegment` does.
    pub(crate) fn seal(&mut self) -> Result<(), LogError> {
        let mut entries = NewEntries::default();
        self.state.push_time_entry(&mut entries);
        if !entries.times.is_empty() {
            self.dirty = true;
        }
        self.write_entries(entries)
    }

    /// Sets the roll clock of a segment that was opened from disk and is still empty.
    pub(crate) fn start_clock(&mut self, now_ms: i64) {
        if self.created_ms.is_none() {
            self.created_ms = Some(now_ms);
        }
    }

    /// Byte position of the batch holding `offset`, or `None` if every batch ends below it.
    pub(crate) fn position_of(&self, offset: i64) -> Result<Option<u64>, LogError> {
        Ok(self.batch_holding(offset)?.map(|(position, _)| position))
    }

    /// The batch holding `offset` (its position and header), or `None` if every batch ends
    /// below it: from the offset index's floor entry, a walk over batch headers.
    fn batch_holding(&self, offset: i64) -> Result<Option<(u64, BatchHeader)>, LogError> {
        let mut position = u64::from(self.offset_index.floor_position(offset));
        let mut scanner = Scanner::new(self.log_file()?, self.state.size, LOOKUP_WINDOW_BYTES);
        loop {
            let header = scanner
                .header_at(position)
                .map_err(|e| scan_error(&self.log_path, e))?;
            match header {
                None => return Ok(None),
                Some(h) if h.last_offset() >= offset => return Ok(Some((position, h))),
                Some(h) => position += h.total_bytes() as u64,
            }
        }
    }

    /// Reads whole batches from `position`: as many as fit in `budget` bytes, or the first one
    /// alone if it is larger and `min_one` is set, stopping before any batch reaching
    /// `upper_bound`.
    pub(crate) fn read_from(
        &self,
        position: u64,
        budget: usize,
        min_one: bool,
        upper_bound: i64,
    ) -> Result<Vec<u8>, LogError> {
        assert!(position <= self.state.size);
        let available = self.state.size - position;
        let want = usize::try_from(available).map_or(budget, |a| a.min(budget));
        let mut buf = vec![0u8; want];
        self.log_file()?
            .read_exact_at(&mut buf, position)
            .map_err(io_error(&self.log_path))?;
        let mut end = 0usize;
        while let Ok(header) = parse_header_prefix(&buf[end..]) {
            if header.last_offset() >= upper_bound || end + header.total_bytes() > buf.len() {
                break;
            }
            end += header.total_bytes();
        }
        if end == 0 && min_one && available > 0 {
            return self.read_one(position, upper_bound);
        }
        buf.truncate(end);
        Ok(buf)
    }

    /// Reads the single batch at `position`, whatever its size, if it ends below `upper_bound`.
    fn read_one(&self, position: u64, upper_bound: i64) -> Result<Vec<u8>, LogError> {
        let mut scanner = Scanner::new(self.log_file()?, self.state.size, BATCH_HEADER_BYTES);
        let header = scanner
            .header_at(position)
            .map_err(|e| scan_error(&self.log_path, e))?;
        match header.filter(|h| h.last_offset() < upper_bound) {
            Some(header) => self.batch_bytes(position, &header),
            None => Ok(Vec::new()),
        }
    }

    /// The bytes of the batch at `position`, whose header was already read.
    fn batch_bytes(&self, position: u64, header: &BatchHeader) -> Result<Vec<u8>, LogError> {
        let mut buf = vec![0u8; header.total_bytes()];
        self.log_file()?
            .read_exact_at(&mut buf, position)
            .map_err(io_error(&self.log_path))?;
        Ok(buf)
    }

    /// Kafka's `LogSegment.findOffsetByTimestamp`: from the time index's floor entry, the first
    /// batch at or after `min_offset` whose max timestamp is at least `timestamp`, then inside
    /// it the first record at or after `min_offset` with a timestamp at least `timestamp`.
    /// Returns that record's (offset, timestamp).
    pub(crate) fn offset_for_timestamp(
        &self,
        timestamp: i64,
        min_offset: i64,
    ) -> Result<Option<(i64, i64)>, LogError> {
        let start = self.time_index.search_start(timestamp).max(min_offset);
        let Some(mut position) = self.position_of(start)? else {
            return Ok(None);
        };
        let mut scanner = Scanner::new(self.log_file()?, self.state.size, LOOKUP_WINDOW_BYTES);
        loop {
            let header = scanner
                .header_at(position)
                .map_err(|e| scan_error(&self.log_path, e))?;
            let Some(header) = header else {
                return Ok(None);
            };
            if header.max_timestamp >= timestamp && header.last_offset() >= min_offset {
                let records = self.record_times_at(position, &header)?;
                if let Some(found) = decode::first_at_or_after(&records, timestamp, min_offset) {
                    return Ok(Some((found.offset, found.timestamp)));
                }
            }
            position += header.total_bytes() as u64;
        }
    }

    /// ListOffsets MAX_TIMESTAMP within this segment (Kafka's `offsetOfMaxTimestamp`, after
    /// KAFKA-16310): the first record of the batch holding the segment's max timestamp whose
    /// own timestamp is that maximum, as (offset, timestamp). `None` when nothing has a timestamp.
    pub(crate) fn max_timestamp_record(&self) -> Result<Option<(i64, i64)>, LogError> {
        let last_offset = self.state.offset_of_max_timestamp;
        if last_offset < 0 {
            return Ok(None);
        }
        let Some((position, header)) = self.batch_holding(last_offset)? else {
            return Ok(None);
        };
        let max = header.max_timestamp;
        let records = self.record_times_at(position, &header)?;
        // A batch header claiming a larger max than any record holds: the batch's last offset.
        let offset = records
            .iter()
            .find(|r| r.timestamp == max)
            .map_or(header.last_offset(), |r| r.offset);
        Ok(Some((offset, max)))
    }

    /// The records' offsets and timestamps of the batch at `position`.
    fn record_times_at(
        &self,
        position: u64,
        header: &BatchHeader,
    ) -> Result<Vec<decode::RecordTime>, LogError> {
        let bytes = self.batch_bytes(position, header)?;
        decode::record_times(header, &bytes).map_err(|reason| LogError::Corrupt {
            path: self.log_path.clone(),
            position,
            reason,
        })
    }

    /// Every batch header in this segment, in order, reading headers only (not records).
    pub(crate) fn batch_headers(&self) -> Result<Vec<BatchHeader>, LogError> {
        let mut scanner = Scanner::new(self.log_file()?, self.state.size, LOOKUP_WINDOW_BYTES);
        let mut headers = Vec::new();
        let mut position = 0u64;
        while let Some(header) = scanner
            .header_at(position)
            .map_err(|e| scan_error(&self.log_path, e))?
        {
            position += header.total_bytes() as u64;
            headers.push(header);
        }
        Ok(headers)
    }

    /// The headers of the batches whose last offset is at least `from`, in order, each with
    /// the marker a control batch carries (read whole: markers are a few dozen bytes).
    pub(crate) fn batch_summaries(
        &self,
        from: i64,
    ) -> Result<Vec<(BatchHeader, Option<Marker>)>, LogError> {
        let file = self.log_file()?;
        let mut scanner = Scanner::new(file, self.state.size, LOOKUP_WINDOW_BYTES);
        let mut out = Vec::new();
        let mut position = 0u64;
        while let Some(header) = scanner
            .header_at(position)
            .map_err(|e| scan_error(&self.log_path, e))?
        {
            let at = position;
            position += header.total_bytes() as u64;
            if header.last_offset() < from {
                continue;
            }
            let marker = if header.is_control() {
                let mut buf = vec![0u8; header.total_bytes()];
                file.read_exact_at(&mut buf, at)
                    .map_err(|source| LogError::Io {
                        path: self.log_path.clone(),
                        source,
                    })?;
                marker_of(&buf)
            } else {
                None
            };
            out.push((header, marker));
        }
        Ok(out)
    }

    /// Entries in the offset and time indexes.
    #[cfg(test)]
    pub(crate) fn index_entry_counts(&self) -> (usize, usize) {
        (
            self.offset_index.entries().len(),
            self.time_index.entries().len(),
        )
    }

    pub(crate) fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// Fsyncs the `.log` and both index files if anything was written since the last flush.
    pub(crate) fn flush(&mut self) -> Result<(), LogError> {
        if !self.dirty {
            return Ok(());
        }
        if let Some(log) = self.log.get() {
            log.sync_data().map_err(io_error(&self.log_path))?;
        }
        self.offset_index
            .sync()
            .map_err(io_error(self.offset_index.path()))?;
        self.time_index
            .sync()
            .map_err(io_error(self.time_index.path()))?;
        self.dirty = false;
        Ok(())
    }

    /// Handles on the segment's three files, so another thread can fsync them.
    pub(crate) fn sync_handles(&self) -> Result<Vec<File>, LogError> {
        let log = self
            .log_file()?
            .try_clone()
            .map_err(io_error(&self.log_path))?;
        let index = self
            .offset_index
            .try_clone_file()
            .map_err(io_error(self.offset_index.path()))?;
        let time = self
            .time_index
            .try_clone_file()
            .map_err(io_error(self.time_index.path()))?;
        Ok(vec![log, index, time])
    }

    /// Closes the index files of a sealed segment whose writes are all synced: their entries
    /// are in memory, so a closed segment keeps only its `.log` open (one handle, not three).
    pub(crate) fn release_index_files(&mut self) {
        if !self.dirty {
            self.offset_index.release_file();
            self.time_index.release_file();
        }
    }

    /// Open file handles: the `.log` and each index whose file is open.
    pub(crate) fn open_files(&self) -> usize {
        usize::from(self.log.get().is_some())
            + usize::from(self.offset_index.has_open_file())
            + usize::from(self.time_index.has_open_file())
    }

    /// The `.log` file, opened again if it was released.
    fn log_file(&self) -> Result<&File, LogError> {
        if let Some(file) = self.log.get() {
            return Ok(file);
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&self.log_path)
            .map_err(io_error(&self.log_path))?;
        // Another reader may have opened it meanwhile; either handle serves.
        let _ = self.log.set(file);
        self.log.get().ok_or_else(|| LogError::Io {
            path: self.log_path.clone(),
            source: io::Error::other("segment file handle vanished"),
        })
    }

    /// Closes all three files after making what was written durable; the next read or append
    /// opens what it needs again.
    pub(crate) fn release_files(&mut self) -> Result<(), LogError> {
        self.flush()?;
        self.log = OnceLock::new();
        self.offset_index.release_file();
        self.time_index.release_file();
        Ok(())
    }

    /// Records that another thread took over fsyncing everything written so far.
    pub(crate) fn mark_synced(&mut self) {
        self.dirty = false;
    }

    /// Last modification time of the `.log` file in ms since the epoch (retention fallback
    /// for segments without timestamps).
    pub(crate) fn modified_ms(&self) -> Result<i64, LogError> {
        let meta = std::fs::metadata(&self.log_path).map_err(io_error(&self.log_path))?;
        let modified = meta.modified().map_err(io_error(&self.log_path))?;
        let since = modified
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Ok(i64::try_from(since.as_millis()).unwrap_or(i64::MAX))
    }

    /// Removes the segment's files.
    pub(crate) fn delete_files(self) -> Result<(), LogError> {
        let paths = [
            self.log_path.clone(),
            self.offset_index.path().to_path_buf(),
            self.time_index.path().to_path_buf(),
        ];
        drop(self);
        for path in paths {
            remove_if_present(&path)?;
        }
        Ok(())
    }
}

pub(crate) fn remove_if_present(path: &Path) -> Result<(), LogError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(LogError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::super::batch::{parse_header, patch};
    use super::super::test_util::batch;
    use super::*;

    /// Appends one batch of `records` records with timestamps from `ts`; returns its bytes.
    fn append_batch(segment: &mut Segment, records: usize, ts: i64, interval: u32) -> Vec<u8> {
        let mut bytes = batch(records, ts, 10);
        patch(&mut bytes, segment.next_offset(), 0);
        let meta = BatchMeta::of(&parse_header(&bytes).expect("valid"));
        segment.append(&bytes, &[meta], interval).expect("append");
        bytes
    }

    fn pending(bytes: u64, last_offset: i64, max_timestamp: i64, now_ms: i64) -> PendingAppend {
        PendingAppend {
            bytes,
            last_offset,
            max_timestamp,
            now_ms,
        }
    }

    #[test]
    fn roll_rules() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = LogConfig {
            segment_bytes: 1_000,
            segment_ms: 100,
            ..LogConfig::default()
        };
        let mut segment = Segment::create(dir.path(), 50, Some(0)).expect("create");
        assert!(
            !segment.should_roll(&pending(5_000, 50, 10_000, 10_000), &config),
            "empty never rolls"
        );
        let size = append_batch(&mut segment, 1, 1_000, 4096).len() as u64;
        assert!(!segment.should_roll(&pending(1_000 - size, 51, 1_100, 0), &config));
        assert!(segment.should_roll(&pending(1_000 - size + 1, 51, 1_000, 0), &config));
        assert!(
            segment.should_roll(&pending(1, 51, 1_101, 0), &config),
            "segment.ms from first batch"
        );
        let overflow = 50 + RELATIVE_OFFSET_MAX + 1;
        assert!(segment.should_roll(&pending(1, overflow, 1_000, 0), &config));
        assert!(!segment.should_roll(&pending(1, overflow - 1, 1_000, 0), &config));
    }

    #[test]
    fn roll_clock_without_timestamps() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = LogConfig {
            segment_ms: 100,
            ..LogConfig::default()
        };
        let mut segment = Segment::create(dir.path(), 0, None).expect("create");
        segment.start_clock(1_000);
        segment.start_clock(5_000);
        append_batch(&mut segment, 1, NO_TIMESTAMP, 4096);
        assert!(!segment.should_roll(&pending(1, 1, NO_TIMESTAMP, 1_100), &config));
        assert!(segment.should_roll(&pending(1, 1, NO_TIMESTAMP, 1_101), &config));
    }

    #[test]
    fn index_entries_follow_kafka_rule() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut segment = Segment::create(dir.path(), 0, Some(0)).expect("create");
        let mut positions = Vec::new();
        let mut position = 0u32;
        for (records, ts) in [(2usize, 10i64), (3, 5), (1, 30), (2, 20)] {
            positions.push(position);
            position += append_batch(&mut segment, records, ts, 0).len() as u32;
        }
        // With interval 0 every batch after the first gets an offset entry (its last offset)
        // and a time entry whenever the running max timestamp grew.
        let offsets: Vec<_> = segment
            .offset_index
            .entries()
            .iter()
            .map(|e| (e.relative_offset, e.position))
            .collect();
        assert_eq!(
            offsets,
            vec![(4, positions[1]), (5, positions[2]), (7, positions[3])]
        );
        let times: Vec<_> = segment
            .time_index
            .entries()
            .iter()
            .map(|e| (e.timestamp, e.relative_offset))
            .collect();
        assert_eq!(times, vec![(11, 1), (30, 5)]);
        assert_eq!(
            (segment.max_timestamp(), segment.offset_of_max_timestamp()),
            (30, 5)
        );
        assert_eq!(segment.next_offset(), 8);
        for (offset, batch_index) in [(0, 0), (1, 0), (2, 1), (4, 1), (5, 2), (6, 3), (7, 3)] {
            let found = segment.position_of(offset).expect("lookup");
            assert_eq!(
                found,
                Some(u64::from(positions[batch_index])),
                "offset {offset}"
            );
        }
        assert_eq!(segment.position_of(8).expect("lookup"), None);
        segment.seal().expect("seal");
        assert_eq!(segment.index_entry_counts(), (3, 2), "max already indexed");
    }

    #[test]
    fn read_from_respects_budget_and_upper_bound() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut segment = Segment::create(dir.path(), 0, Some(0)).expect("create");
        let a = append_batch(&mut segment, 2, 1, 4096);
        let b = append_batch(&mut segment, 2, 1, 4096);
        let both = [a.clone(), b.clone()].concat();
        assert_eq!(
            segment.read_from(0, usize::MAX, false, 4).expect("read"),
            both
        );
        assert_eq!(segment.read_from(0, usize::MAX, false, 3).expect("read"), a);
        assert_eq!(
            segment.read_from(0, usize::MAX, true, 1).expect("read"),
            Vec::<u8>::new()
        );
        assert_eq!(segment.read_from(0, 10, true, 4).expect("read"), a);
        assert_eq!(
            segment.read_from(0, 10, false, 4).expect("read"),
            Vec::<u8>::new()
        );
        assert_eq!(
            segment
                .read_from(a.len() as u64, 10, true, 4)
                .expect("read"),
            b
        );
    }

    #[test]
    #[should_panic(expected = "must rise")]
    fn falling_batch_offsets_are_a_bug() {
        let mut state = SegmentState::empty(5);
        let meta = BatchMeta {
            base_offset: 4,
            last_offset: 4,
            max_timestamp: 0,
            bytes: 70,
        };
        state.observe(&meta, 4096, &mut NewEntries::default());
    }

    #[test]
    fn create_refuses_an_existing_segment() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut segment = Segment::create(dir.path(), 7, None).expect("create");
        append_batch(&mut segment, 1, 0, 4096);
        assert!(matches!(
            Segment::create(dir.path(), 7, None),
            Err(LogError::Io { .. })
        ));
        segment.delete_files().expect("delete");
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 0);
    }
}
