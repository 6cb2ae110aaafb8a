//! The aborted-transaction index (Kafka's `TransactionIndex`, the `.txnindex` file beside each
//! segment): one 34-byte entry per aborted transaction whose ABORT marker landed in that
//! segment, big-endian `version:i16 (0) | producer_id:i64 | first_offset:i64 |
//! last_offset:i64 | last_stable_offset:i64`. A read_committed fetch asks which aborted
//! transactions overlap the range it returns, so the client can drop their records.
//!
//! The entries of every segment are also kept in memory, in the order they were written (so
//! by `last_offset`): aborts are rare next to records, and a fetch must not read files to
//! answer. A segment's file is written only when it gets its first entry.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::file_name::FILE_NAME_DIGITS;
use super::LogError;

/// Suffix of the index file; the stem is the segment's base offset, 20 digits.
pub(crate) const TXN_INDEX_SUFFIX: &str = ".txnindex";
/// Bytes of one entry.
const ENTRY_BYTES: usize = 34;
const ENTRY_VERSION: i16 = 0;

/// One aborted transaction: the producer, its first and last offsets (the last one is the
/// ABORT marker's), and the partition's last stable offset when the marker was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortedTxn {
    pub producer_id: i64,
    pub first_offset: i64,
    pub last_offset: i64,
    pub last_stable_offset: i64,
}

impl AbortedTxn {
    fn encode(&self) -> [u8; ENTRY_BYTES] {
        let mut out = [0u8; ENTRY_BYTES];
        out[0..2].copy_from_slice(&ENTRY_VERSION.to_be_bytes());
        out[2..10].copy_from_slice(&self.producer_id.to_be_bytes());
        out[10..18].copy_from_slice(&self.first_offset.to_be_bytes());
        out[18..26].copy_from_slice(&self.last_offset.to_be_bytes());
        out[26..34].copy_from_slice(&self.last_stable_offset.to_be_bytes());
        out
    }

    fn decode(b: &[u8]) -> Option<Self> {
        let i64_at = |at: usize| i64::from_be_bytes(b[at..at + 8].try_into().expect("8 bytes"));
        (b.len() == ENTRY_BYTES && i16::from_be_bytes([b[0], b[1]]) == ENTRY_VERSION).then(|| {
            AbortedTxn {
                producer_id: i64_at(2),
                first_offset: i64_at(10),
                last_offset: i64_at(18),
                last_stable_offset: i64_at(26),
            }
        })
    }
}

/// The aborted transactions of one partition, by the segment whose file holds them.
#[derive(Debug, Default)]
pub struct TxnIndex {
    dir: PathBuf,
    /// Segment base offset → its entries, oldest first.
    segments: BTreeMap<i64, Vec<AbortedTxn>>,
}

fn path_of(dir: &Path, base: i64) -> PathBuf {
    dir.join(format!(
        "{base:0width$}{TXN_INDEX_SUFFIX}",
        width = FILE_NAME_DIGITS
    ))
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LogError + '_ {
    move |source| LogError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl TxnIndex {
    /// Reads every `.txnindex` file of `dir` whose segment is among `bases`; files of
    /// segments that are gone are removed. A torn last entry is ignored.
    pub(crate) fn load(dir: &Path, bases: &[i64]) -> Result<Self, LogError> {
        let mut index = TxnIndex {
            dir: dir.to_path_buf(),
            segments: BTreeMap::new(),
        };
        let entries = std::fs::read_dir(dir).map_err(io(dir))?;
        for entry in entries {
            let entry = entry.map_err(io(dir))?;
            let name = entry.file_name();
            let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(TXN_INDEX_SUFFIX)) else {
                continue;
            };
            let Ok(base) = stem.parse::<i64>() else {
                continue;
            };
            let path = entry.path();
            if bases.binary_search(&base).is_err() {
                std::fs::remove_file(&path).map_err(io(&path))?;
                continue;
            }
            let bytes = std::fs::read(&path).map_err(io(&path))?;
            let list: Vec<AbortedTxn> = bytes
                .chunks_exact(ENTRY_BYTES)
                .filter_map(AbortedTxn::decode)
                .collect();
            if !list.is_empty() {
                index.segments.insert(base, list);
            }
        }
        Ok(index)
    }

    /// Records an aborted transaction in the index of the segment starting at `segment_base`.
    pub(crate) fn append(&mut self, segment_base: i64, txn: AbortedTxn) -> Result<(), LogError> {
        let path = path_of(&self.dir, segment_base);
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        file.write_all(&txn.encode()).map_err(io(&path))?;
        self.segments.entry(segment_base).or_default().push(txn);
        Ok(())
    }

    /// Whether an abort ending at `last_offset` is already recorded (recovery replays markers
    /// that may have been indexed before a crash).
    pub(crate) fn contains(&self, producer_id: i64, last_offset: i64) -> bool {
        let Some((_, list)) = self.segments.range(..=last_offset).next_back() else {
            return false;
        };
        let from = list.partition_point(|t| t.last_offset < last_offset);
        list[from..]
            .iter()
            .take_while(|t| t.last_offset == last_offset)
            .any(|t| t.producer_id == producer_id)
    }

    /// The aborted transactions that overlap `[from, below)`: those ending at or after `from`
    /// and starting before `below`, oldest first (a read_committed fetch's answer).
    pub fn overlapping(&self, from: i64, below: i64) -> Vec<AbortedTxn> {
        // Each segment's entries are in marker order, so by last offset.
        self.segments
            .values()
            .flat_map(|list| &list[list.partition_point(|t| t.last_offset < from)..])
            .filter(|t| t.first_offset < below)
            .copied()
            .collect()
    }

    /// Every aborted transaction, oldest marker first (the cleaner drops their records).
    pub fn all(&self) -> impl Iterator<Item = &AbortedTxn> {
        self.segments.values().flatten()
    }

    /// Forgets the index of a segment that retention deleted.
    pub(crate) fn remove_segment(&mut self, segment_base: i64) -> Result<(), LogError> {
        self.segments.remove(&segment_base);
        let path = path_of(&self.dir, segment_base);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(&path)(e)),
        }
    }

    /// Drops the entries whose marker is at or past `offset` (the log was cut there).
    pub(crate) fn truncate_to(&mut self, offset: i64) -> Result<(), LogError> {
        let touched: Vec<i64> = self
            .segments
            .iter()
            .filter(|(_, l)| l.iter().any(|t| t.last_offset >= offset))
            .map(|(b, _)| *b)
            .collect();
        for base in touched {
            let list = self.segments.remove(&base).unwrap_or_default();
            let kept: Vec<AbortedTxn> = list
                .into_iter()
                .filter(|t| t.last_offset < offset)
                .collect();
            self.rewrite(base, &kept)?;
            if !kept.is_empty() {
                self.segments.insert(base, kept);
            }
        }
        Ok(())
    }

    fn rewrite(&self, base: i64, entries: &[AbortedTxn]) -> Result<(), LogError> {
        let path = path_of(&self.dir, base);
        if entries.is_empty() {
            return match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(&path)(e)),
                _ => Ok(()),
            };
        }
        let mut file = File::create(&path).map_err(io(&path))?;
        for e in entries {
            file.write_all(&e.encode()).map_err(io(&path))?;
        }
        Ok(())
    }

    /// Fsyncs every index file (a clean close).
    pub(crate) fn sync(&self) -> Result<(), LogError> {
        for base in self.segments.keys() {
            let path = path_of(&self.dir, *base);
            if let Ok(f) = File::open(&path) {
                f.sync_all().map_err(io(&path))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txn(pid: i64, first: i64, last: i64) -> AbortedTxn {
        AbortedTxn {
            producer_id: pid,
            first_offset: first,
            last_offset: last,
            last_stable_offset: first,
        }
    }

    #[test]
    fn entries_survive_a_reload_and_answer_ranges() {
        let dir = tempfile::tempdir().expect("dir");
        let mut index = TxnIndex::load(dir.path(), &[0, 100]).expect("load");
        index.append(0, txn(1, 5, 20)).expect("append");
        index.append(100, txn(2, 90, 120)).expect("append");
        index.append(100, txn(3, 130, 140)).expect("append");
        let bytes = std::fs::read(dir.path().join("00000000000000000100.txnindex")).expect("file");
        assert_eq!(bytes.len(), 2 * ENTRY_BYTES);
        assert_eq!(&bytes[0..2], &[0, 0], "version 0");
        assert_eq!(&bytes[2..10], &2i64.to_be_bytes());

        let index = TxnIndex::load(dir.path(), &[0, 100]).expect("reload");
        assert_eq!(index.overlapping(0, 10), vec![txn(1, 5, 20)]);
        assert_eq!(index.overlapping(21, 100), vec![txn(2, 90, 120)]);
        assert_eq!(index.overlapping(121, 1000), vec![txn(3, 130, 140)]);
        assert!(index.overlapping(141, 1000).is_empty());
        assert!(index.contains(2, 120) && !index.contains(2, 121));
    }

    #[test]
    fn truncation_and_removal_rewrite_the_files() {
        let dir = tempfile::tempdir().expect("dir");
        let mut index = TxnIndex::load(dir.path(), &[0, 100]).expect("load");
        index.append(0, txn(1, 5, 20)).expect("append");
        index.append(100, txn(2, 90, 120)).expect("append");
        index.append(100, txn(3, 130, 140)).expect("append");
        index.truncate_to(130).expect("truncate");
        assert_eq!(index.all().count(), 2);
        index.remove_segment(0).expect("remove");
        assert!(!dir.path().join("00000000000000000000.txnindex").exists());
        // A file whose segment is gone is removed on load.
        std::fs::write(dir.path().join("00000000000000000007.txnindex"), [0u8; 34]).expect("w");
        let index = TxnIndex::load(dir.path(), &[100]).expect("reload");
        assert_eq!(
            index.all().copied().collect::<Vec<_>>(),
            vec![txn(2, 90, 120)]
        );
        assert!(!dir.path().join("00000000000000000007.txnindex").exists());
    }
}
