//! The two sparse per-segment indexes, byte for byte the files Kafka's `OffsetIndex` and
//! `TimeIndex` write (Kafka's documentation, Implementation → Log; the time index is KIP-33's):
//!
//! - the offset index (`.index`): 8-byte entries of (4-byte offset relative to the segment's
//!   base offset, 4-byte byte position in the `.log` file), giving the last offset of the batch
//!   that starts at that position;
//! - the time index (`.timeindex`): 12-byte entries of (8-byte timestamp, 4-byte relative
//!   offset), each the largest timestamp seen so far in the segment and the offset of the batch
//!   that carried it.
//!
//! Entries are kept in memory in a `Vec` and appended to the file with plain writes (no mmap).
//! This module owns the encoding, the ordering invariants, loading with a consistency check
//! and the lookups. When to add an entry is decided by `segment.rs`.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use super::file_name::{file_path, SegmentFile};

/// Bytes per offset index entry.
pub(crate) const OFFSET_ENTRY_BYTES: usize = 8;
/// Bytes per time index entry.
pub(crate) const TIME_ENTRY_BYTES: usize = 12;
/// Kafka's `segment.index.bytes` default; a segment rolls once an index reaches it, which
/// also bounds the memory an index takes.
pub(crate) const INDEX_BYTES_MAX: usize = 10 * 1024 * 1024;
/// Largest offset distance from the segment base that a 4-byte relative offset may hold
/// (Kafka keeps it a positive int, see `LogSegment.canConvertToRelativeOffset`).
pub(crate) const RELATIVE_OFFSET_MAX: i64 = i32::MAX as i64;

const _: () = assert!(INDEX_BYTES_MAX.is_multiple_of(OFFSET_ENTRY_BYTES));

/// Converts an absolute offset to one relative to `base_offset`, asserting it fits.
pub(crate) fn relative_offset(base_offset: i64, offset: i64) -> u32 {
    let relative = offset - base_offset;
    assert!(
        (0..=RELATIVE_OFFSET_MAX).contains(&relative),
        "offset {offset} does not fit a segment based at {base_offset}"
    );
    u32::try_from(relative).unwrap_or(u32::MAX)
}

/// Limits that every entry of a segment's index must respect for the index to be trusted.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IndexBounds {
    /// Size of the segment's `.log` file.
    pub(crate) log_bytes: u64,
    /// Entries must name offsets below `base_offset + offset_span`.
    pub(crate) offset_span: i64,
}

/// One fixed-size entry of an index file.
pub(crate) trait IndexEntry: Copy + std::fmt::Debug {
    const BYTES: usize;
    const KIND: SegmentFile;
    fn encode(&self, out: &mut Vec<u8>);
    fn decode(bytes: &[u8]) -> Self;
    /// True when `self` may be appended after `previous` (strictly increasing keys).
    fn follows(&self, previous: &Self) -> bool;
    fn within(&self, bounds: &IndexBounds) -> bool;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OffsetEntry {
    pub(crate) relative_offset: u32,
    pub(crate) position: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimeEntry {
    pub(crate) timestamp: i64,
    pub(crate) relative_offset: u32,
}

fn be_array<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&bytes[at..at + N]);
    out
}

impl IndexEntry for OffsetEntry {
    const BYTES: usize = OFFSET_ENTRY_BYTES;
    const KIND: SegmentFile = SegmentFile::Index;

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.relative_offset.to_be_bytes());
        out.extend_from_slice(&self.position.to_be_bytes());
    }

    fn decode(bytes: &[u8]) -> Self {
        Self {
            relative_offset: u32::from_be_bytes(be_array(bytes, 0)),
            position: u32::from_be_bytes(be_array(bytes, 4)),
        }
    }

    fn follows(&self, previous: &Self) -> bool {
        self.relative_offset > previous.relative_offset && self.position > previous.position
    }

    fn within(&self, bounds: &IndexBounds) -> bool {
        i64::from(self.relative_offset) < bounds.offset_span
            && u64::from(self.position) < bounds.log_bytes
    }
}

impl IndexEntry for TimeEntry {
    const BYTES: usize = TIME_ENTRY_BYTES;
    const KIND: SegmentFile = SegmentFile::TimeIndex;

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.relative_offset.to_be_bytes());
    }

    fn decode(bytes: &[u8]) -> Self {
        Self {
            timestamp: i64::from_be_bytes(be_array(bytes, 0)),
            relative_offset: u32::from_be_bytes(be_array(bytes, 8)),
        }
    }

    fn follows(&self, previous: &Self) -> bool {
        self.timestamp > previous.timestamp && self.relative_offset > previous.relative_offset
    }

    fn within(&self, bounds: &IndexBounds) -> bool {
        i64::from(self.relative_offset) < bounds.offset_span
    }
}

/// An index file and its entries in memory.
#[derive(Debug)]
pub(crate) struct Index<E: IndexEntry> {
    path: PathBuf,
    /// Opened in append mode: every write goes to the end, and a rebuild truncates first.
    /// `None` once released: the entries are in memory, so a sealed segment's index needs no
    /// open file until something is written to it again (it is then reopened).
    file: Option<File>,
    base_offset: i64,
    entries: Vec<E>,
}

pub(crate) type OffsetIndex = Index<OffsetEntry>;
pub(crate) type TimeIndex = Index<TimeEntry>;

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)
}

impl<E: IndexEntry> Index<E> {
    /// Creates (or truncates) the index file of the segment at `base_offset` in `dir` and
    /// writes `entries` to it.
    pub(crate) fn create(dir: &Path, base_offset: i64, entries: Vec<E>) -> io::Result<Self> {
        let path = file_path(dir, base_offset, E::KIND);
        let file = open_append(&path)?;
        file.set_len(0)?;
        assert_sorted(&entries);
        let mut index = Self {
            path,
            file: Some(file),
            base_offset,
            entries: Vec::new(),
        };
        index.append(&entries)?;
        Ok(index)
    }

    /// Loads an existing index file. Returns `Ok(None)` when the file is missing, has a partial
    /// entry, is out of order or points outside `bounds`: the caller then rebuilds it.
    pub(crate) fn load(
        dir: &Path,
        base_offset: i64,
        bounds: &IndexBounds,
    ) -> io::Result<Option<Self>> {
        let path = file_path(dir, base_offset, E::KIND);
        let mut file = match OpenOptions::new().read(true).append(true).open(&path) {
            Ok(file) => file,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(err),
        };
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        if bytes.len() % E::BYTES != 0 || bytes.len() > INDEX_BYTES_MAX + E::BYTES {
            return Ok(None);
        }
        let entries: Vec<E> = bytes.chunks_exact(E::BYTES).map(E::decode).collect();
        let ordered = entries.windows(2).all(|pair| pair[1].follows(&pair[0]));
        if !ordered || !entries.iter().all(|entry| entry.within(bounds)) {
            return Ok(None);
        }
        Ok(Some(Self {
            path,
            file: Some(file),
            base_offset,
            entries,
        }))
    }

    /// Appends entries in one write. They must follow the current last entry.
    pub(crate) fn append(&mut self, entries: &[E]) -> io::Result<()> {
        let Some(first) = entries.first() else {
            return Ok(());
        };
        if let Some(last) = self.entries.last() {
            assert!(
                first.follows(last),
                "index entry {first:?} does not follow {last:?}"
            );
        }
        assert_sorted(entries);
        let mut bytes = Vec::with_capacity(entries.len() * E::BYTES);
        for entry in entries {
            entry.encode(&mut bytes);
        }
        if self.file.is_none() {
            self.file = Some(open_append(&self.path)?);
        }
        if let Some(file) = &self.file {
            (&*file).write_all(&bytes)?;
        }
        self.entries.extend_from_slice(entries);
        Ok(())
    }

    /// True when `entries` could be appended without breaking the ordering invariant.
    pub(crate) fn accepts(&self, entries: &[E]) -> bool {
        let mut previous = self.entries.last();
        for entry in entries {
            if previous.is_some_and(|p| !entry.follows(p)) {
                return false;
            }
            previous = Some(entry);
        }
        true
    }

    #[cfg(test)]
    pub(crate) fn entries(&self) -> &[E] {
        &self.entries
    }

    pub(crate) fn last(&self) -> Option<&E> {
        self.entries.last()
    }

    /// True once the index reached Kafka's `segment.index.bytes` and the segment should roll.
    pub(crate) fn is_full(&self) -> bool {
        self.entries.len() * E::BYTES >= INDEX_BYTES_MAX
    }

    pub(crate) fn absolute(&self, relative_offset: u32) -> i64 {
        self.base_offset + i64::from(relative_offset)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Fsyncs what was written; a released index has nothing unsynced.
    pub(crate) fn sync(&self) -> io::Result<()> {
        match &self.file {
            Some(file) => file.sync_data(),
            None => Ok(()),
        }
    }

    /// A handle on the file for another thread to fsync.
    pub(crate) fn try_clone_file(&self) -> io::Result<File> {
        match &self.file {
            Some(file) => file.try_clone(),
            None => open_append(&self.path),
        }
    }

    /// Closes the file; the entries stay in memory. Only for an index whose writes are synced.
    pub(crate) fn release_file(&mut self) {
        self.file = None;
    }

    /// Whether the file is open.
    pub(crate) fn has_open_file(&self) -> bool {
        self.file.is_some()
    }
}

fn assert_sorted<E: IndexEntry>(entries: &[E]) {
    for pair in entries.windows(2) {
        assert!(
            pair[1].follows(&pair[0]),
            "index entries out of order: {pair:?}"
        );
    }
}

impl OffsetIndex {
    /// Byte position from which to scan for `offset`: the position of the last indexed batch
    /// whose last offset is at most `offset`, or 0. The batch holding `offset` starts there or
    /// later.
    pub(crate) fn floor_position(&self, offset: i64) -> u32 {
        let count = self
            .entries
            .partition_point(|e| self.absolute(e.relative_offset) <= offset);
        match count {
            0 => 0,
            n => self.entries[n - 1].position,
        }
    }
}

impl TimeIndex {
    /// Where a search for the first batch with a timestamp at or after `timestamp` may start:
    /// every batch up to the returned offset has a max timestamp below `timestamp` (entries
    /// hold running maxima). Returns the segment base offset when no entry is below it.
    pub(crate) fn search_start(&self, timestamp: i64) -> i64 {
        let below = self.entries.partition_point(|e| e.timestamp < timestamp);
        match below {
            0 => self.base_offset,
            n => self.absolute(self.entries[n - 1].relative_offset),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: i64 = 1_000;

    fn offset_entries() -> Vec<OffsetEntry> {
        (1..=10u32)
            .map(|i| OffsetEntry {
                relative_offset: i * 10,
                position: i * 4_096,
            })
            .collect()
    }

    fn bounds() -> IndexBounds {
        IndexBounds {
            log_bytes: 1 << 20,
            offset_span: 1_000,
        }
    }

    #[test]
    fn offset_floor_lookup() {
        let dir = tempfile::tempdir().expect("tempdir");
        let index = OffsetIndex::create(dir.path(), BASE, offset_entries()).expect("create");
        assert_eq!(index.floor_position(0), 0);
        assert_eq!(index.floor_position(BASE), 0);
        assert_eq!(index.floor_position(BASE + 9), 0);
        assert_eq!(index.floor_position(BASE + 10), 4_096);
        assert_eq!(index.floor_position(BASE + 19), 4_096);
        assert_eq!(index.floor_position(BASE + 20), 8_192);
        assert_eq!(index.floor_position(BASE + 100), 40_960);
        assert_eq!(index.floor_position(i64::MAX), 40_960);
    }

    #[test]
    fn offset_index_persists_and_reloads() {
        let dir = tempfile::tempdir().expect("tempdir");
        let entries = offset_entries();
        let mut index =
            OffsetIndex::create(dir.path(), BASE, entries[..4].to_vec()).expect("create");
        index.append(&entries[4..]).expect("append");
        let bytes = std::fs::read(index.path()).expect("read");
        assert_eq!(bytes.len(), entries.len() * OFFSET_ENTRY_BYTES);
        assert_eq!(&bytes[..8], &[0, 0, 0, 10, 0, 0, 0x10, 0]);
        drop(index);
        let loaded = OffsetIndex::load(dir.path(), BASE, &bounds())
            .expect("io")
            .expect("valid");
        assert_eq!(loaded.entries(), &entries[..]);
    }

    #[test]
    fn inconsistent_offset_index_is_not_loaded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = OffsetIndex::load(dir.path(), BASE, &bounds()).expect("io");
        assert!(missing.is_none());
        let index = OffsetIndex::create(dir.path(), BASE, offset_entries()).expect("create");
        let path = index.path().to_path_buf();
        drop(index);
        let small_log = IndexBounds {
            log_bytes: 4_096 * 5,
            offset_span: 1_000,
        };
        assert!(OffsetIndex::load(dir.path(), BASE, &small_log)
            .expect("io")
            .is_none());
        let few_offsets = IndexBounds {
            log_bytes: 1 << 20,
            offset_span: 50,
        };
        assert!(OffsetIndex::load(dir.path(), BASE, &few_offsets)
            .expect("io")
            .is_none());
        let mut bytes = std::fs::read(&path).expect("read");
        bytes.push(0);
        std::fs::write(&path, &bytes).expect("write");
        assert!(OffsetIndex::load(dir.path(), BASE, &bounds())
            .expect("io")
            .is_none());
        bytes.truncate(16);
        bytes.extend_from_slice(&[0u8; 8]);
        std::fs::write(&path, &bytes).expect("write");
        assert!(OffsetIndex::load(dir.path(), BASE, &bounds())
            .expect("io")
            .is_none());
    }

    #[test]
    #[should_panic(expected = "does not follow")]
    fn out_of_order_append_is_a_bug() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut index = OffsetIndex::create(dir.path(), BASE, offset_entries()).expect("create");
        let _ = index.append(&[OffsetEntry {
            relative_offset: 5,
            position: 1 << 19,
        }]);
    }

    #[test]
    fn time_index_lookups() {
        let dir = tempfile::tempdir().expect("tempdir");
        let entries = vec![
            TimeEntry {
                timestamp: 100,
                relative_offset: 3,
            },
            TimeEntry {
                timestamp: 200,
                relative_offset: 7,
            },
            TimeEntry {
                timestamp: 300,
                relative_offset: 20,
            },
        ];
        let index = TimeIndex::create(dir.path(), BASE, entries.clone()).expect("create");
        assert_eq!(index.search_start(50), BASE);
        assert_eq!(index.search_start(100), BASE);
        assert_eq!(index.search_start(101), BASE + 3);
        assert_eq!(index.search_start(250), BASE + 7);
        assert_eq!(index.search_start(1_000), BASE + 20);
        drop(index);
        let loaded = TimeIndex::load(dir.path(), BASE, &bounds())
            .expect("io")
            .expect("valid");
        assert_eq!(loaded.entries(), &entries[..]);
        let bytes = std::fs::read(loaded.path()).expect("read");
        assert_eq!(bytes.len(), 3 * TIME_ENTRY_BYTES);
    }

    #[test]
    fn relative_offsets_are_checked() {
        assert_eq!(relative_offset(BASE, BASE), 0);
        assert_eq!(
            relative_offset(BASE, BASE + RELATIVE_OFFSET_MAX),
            u32::MAX >> 1
        );
        let result = std::panic::catch_unwind(|| relative_offset(BASE, BASE - 1));
        assert!(result.is_err());
    }
}
