//! Producer state snapshots (Kafka's `<offset>.snapshot` files beside the segments): the state
//! as it stood at an offset, so a restart reads the snapshot and replays only the batches after
//! it, instead of forgetting producers older than the newest segments. Written when a segment
//! rolls and when the log closes.
//!
//! Kafka's format, big-endian: `version:i16 (1) | crc:u32 (CRC-32C of what follows) |
//! count:i32 | count × (producer_id:i64 | epoch:i16 | last_sequence:i32 | last_offset:i64 |
//! offset_delta:i32 | timestamp:i64 | coordinator_epoch:i32 | current_txn_first_offset:i64)`.
//! One sequence range per producer is kept, as Kafka keeps.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use super::producer_state::{BatchRecord, Entry, ProducerState};
use crate::log::write_atomically;

const SUFFIX: &str = ".snapshot";
const VERSION: i16 = 1;
const HEADER_BYTES: usize = 2 + 4 + 4;
const ENTRY_BYTES: usize = 8 + 2 + 4 + 8 + 4 + 8 + 4 + 8;
/// Snapshots kept: enough for a follower's truncation to find one below its cut.
const KEPT: usize = 4;

fn name(offset: i64) -> String {
    format!("{offset:020}{SUFFIX}")
}

/// The snapshot files of `dir` by offset, oldest first.
pub(crate) fn list(dir: &Path) -> Vec<(i64, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(i64, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name();
            let offset = name.to_str()?.strip_suffix(SUFFIX)?.parse().ok()?;
            Some((offset, e.path()))
        })
        .collect();
    out.sort_by_key(|(o, _)| *o);
    out
}

/// Writes the state as of `offset` and keeps only the newest few snapshots.
pub(crate) fn write(dir: &Path, offset: i64, state: &ProducerState) -> std::io::Result<()> {
    let entries: Vec<(i64, &Entry)> = state.entries().collect();
    let mut body = Vec::with_capacity(4 + entries.len() * ENTRY_BYTES);
    body.extend_from_slice(&(entries.len() as i32).to_be_bytes());
    for (pid, e) in entries {
        let last = e.batches.back().copied();
        body.extend_from_slice(&pid.to_be_bytes());
        body.extend_from_slice(&e.epoch.to_be_bytes());
        body.extend_from_slice(&last.map_or(-1, |b| b.last_seq).to_be_bytes());
        body.extend_from_slice(
            &last
                .as_ref()
                .map_or(-1, BatchRecord::last_offset)
                .to_be_bytes(),
        );
        body.extend_from_slice(&last.map_or(0, |b| b.offset_delta).to_be_bytes());
        body.extend_from_slice(&e.last_timestamp.to_be_bytes());
        body.extend_from_slice(&e.coordinator_epoch.to_be_bytes());
        body.extend_from_slice(&e.txn_first_offset.unwrap_or(-1).to_be_bytes());
    }
    let mut out = Vec::with_capacity(6 + body.len());
    out.extend_from_slice(&VERSION.to_be_bytes());
    out.extend_from_slice(&crc32c::crc32c(&body).to_be_bytes());
    out.extend_from_slice(&body);
    write_atomically(dir, &name(offset), &out).map_err(std::io::Error::other)?;
    let all = list(dir);
    for (_, path) in all.iter().take(all.len().saturating_sub(KEPT)) {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

/// Removes the snapshots taken past `offset` (the log was cut there).
pub(crate) fn remove_after(dir: &Path, offset: i64) {
    for (o, path) in list(dir) {
        if o > offset {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// The newest readable snapshot at or below `at_most`: its offset and state. A damaged file
/// is skipped (the one before it serves, replaying more).
pub(crate) fn read_latest(dir: &Path, at_most: i64) -> Option<(i64, ProducerState)> {
    list(dir)
        .into_iter()
        .rev()
        .filter(|(o, _)| *o <= at_most)
        .find_map(|(offset, path)| {
            let bytes = std::fs::read(&path).ok()?;
            match decode(&bytes) {
                Some(state) => Some((offset, state)),
                None => {
                    tracing::warn!(path = %path.display(), "unreadable producer snapshot; skipped");
                    None
                }
            }
        })
}

fn decode(b: &[u8]) -> Option<ProducerState> {
    if b.len() < HEADER_BYTES || i16::from_be_bytes([b[0], b[1]]) != VERSION {
        return None;
    }
    let crc = u32::from_be_bytes(b[2..6].try_into().ok()?);
    let body = &b[6..];
    if crc32c::crc32c(body) != crc {
        return None;
    }
    let count = usize::try_from(i32::from_be_bytes(body[0..4].try_into().ok()?)).ok()?;
    let rest = &body[4..];
    if rest.len() != count.checked_mul(ENTRY_BYTES)? {
        return None;
    }
    let entries = rest.chunks_exact(ENTRY_BYTES).map(|c| {
        let i64_at = |at: usize| i64::from_be_bytes(c[at..at + 8].try_into().expect("8"));
        let i32_at = |at: usize| i32::from_be_bytes(c[at..at + 4].try_into().expect("4"));
        let pid = i64_at(0);
        let epoch = i16::from_be_bytes([c[8], c[9]]);
        let last_seq = i32_at(10);
        let last_offset = i64_at(14);
        let delta = i32_at(22);
        let txn_first = i64_at(38);
        let mut batches = VecDeque::new();
        if last_seq >= 0 && last_offset >= 0 {
            batches.push_back(BatchRecord {
                first_seq: last_seq.wrapping_sub(delta),
                last_seq,
                base_offset: last_offset - i64::from(delta),
                offset_delta: delta,
            });
        }
        let entry = Entry {
            epoch,
            batches,
            last_timestamp: i64_at(26),
            coordinator_epoch: i32_at(34),
            txn_first_offset: (txn_first >= 0).then_some(txn_first),
        };
        (pid, entry)
    });
    Some(ProducerState::from_entries(entries))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::partition::producer_state::SequenceCheck;

    #[test]
    fn a_snapshot_restores_sequences_and_open_transactions() {
        let dir = tempfile::tempdir().expect("dir");
        let mut state = ProducerState::default();
        let batch = |seq: i32, offset: i64| BatchRecord {
            first_seq: seq,
            last_seq: seq + 4,
            base_offset: offset,
            offset_delta: 4,
        };
        state.record(7, 2, batch(0, 100), false, 5);
        state.record(9, 0, batch(0, 105), true, 6);
        write(dir.path(), 110, &state).expect("write");
        assert!(dir.path().join("00000000000000000110.snapshot").exists());
        assert!(read_latest(dir.path(), 109).is_none());
        let (offset, back) = read_latest(dir.path(), 200).expect("read");
        assert_eq!(offset, 110);
        assert_eq!(back.check(7, 2, 0, 4), Ok(SequenceCheck::Duplicate(100)));
        assert_eq!(back.check(7, 2, 5, 9), Ok(SequenceCheck::Append));
        assert_eq!(back.first_unstable_offset(0), Some(105));

        // A damaged newest snapshot falls back to the one before.
        write(dir.path(), 120, &ProducerState::default()).expect("write");
        let path = dir.path().join("00000000000000000120.snapshot");
        let mut bytes = std::fs::read(&path).expect("read");
        bytes.push(1);
        std::fs::write(&path, bytes).expect("damage");
        assert_eq!(read_latest(dir.path(), 200).map(|(o, _)| o), Some(110));
        remove_after(dir.path(), 115);
        assert!(!path.exists());
    }
}
