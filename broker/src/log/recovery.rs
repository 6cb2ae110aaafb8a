//! Opening a partition directory's segments after a restart (Kafka's `LogLoader` and
//! `LogSegment.recover`; Kafka's documentation, Implementation → Log → Guarantees, on the
//! recovery that checks the newest segment's messages on start).
//!
//! Without a clean-shutdown marker the last segment is always scanned in full: every batch's
//! header bounds, magic, CRC and offset continuity are checked, the `.log` file is cut back to
//! the end of the last valid batch at the first torn or corrupt one, and both indexes are
//! rebuilt from the scan. Closed segments (and the last one after a clean shutdown) are trusted
//! if their index files are consistent, checked by rescanning only the batches after the last
//! offset index entry; otherwise they are recovered the same way. When a closed segment had to
//! be truncated, all later segments are removed, since offsets must stay contiguous.
//! Which offsets are visible (log start offset) is decided by `mod.rs`.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

use super::batch::BatchHeader;
use super::file_name::{file_path, parse_file_name, SegmentFile, CLEANED_SUFFIX};
use super::index::{IndexBounds, OffsetIndex, TimeIndex, RELATIVE_OFFSET_MAX};
use super::scan::{ScanError, Scanner, LOOKUP_WINDOW_BYTES, RECOVERY_WINDOW_BYTES};
use super::segment::{
    remove_if_present, BatchMeta, NewEntries, Segment, SegmentState, SEGMENT_BYTES_MAX,
};
use super::LogError;

/// Marker file written by `PartitionLog::close` after a final flush; its presence on open means
/// the last segment need not be scanned in full. It is removed as soon as the log is opened.
pub(crate) const CLEAN_SHUTDOWN_FILE: &str = "clean-shutdown";

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> LogError + '_ {
    move |source| LogError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Opens every segment in `dir`, oldest first, recovering where needed.
pub(crate) fn load_segments(
    dir: &Path,
    index_interval_bytes: u32,
) -> Result<Vec<Segment>, LogError> {
    let clean = take_clean_marker(dir)?;
    let bases = list_segment_bases(dir)?;
    let mut segments: Vec<Segment> = Vec::with_capacity(bases.len());
    for (i, &base) in bases.iter().enumerate() {
        let next_base = bases.get(i + 1).copied();
        let trusted = next_base.is_some() || clean;
        let loaded = if trusted {
            load_segment(dir, base, next_base, index_interval_bytes)?
        } else {
            None
        };
        let (mut segment, truncated_bytes) = match loaded {
            Some(segment) => (segment, 0),
            // Only closed segments may have gaps (compaction never touches the active one).
            None => recover_segment(dir, base, index_interval_bytes, next_base.is_some())?,
        };
        if next_base.is_some() {
            // A closed segment's time index ends with its max timestamp (see `Segment::seal`).
            segment.seal()?;
        }
        let broken = truncated_bytes > 0 || next_base.is_some_and(|n| segment.next_offset() > n);
        segments.push(segment);
        if broken && next_base.is_some() {
            remove_later_segments(dir, &bases[i + 1..])?;
            break;
        }
    }
    for pair in segments.windows(2) {
        assert!(
            pair[0].next_offset() <= pair[1].base_offset(),
            "segments overlap after recovery"
        );
    }
    Ok(segments)
}

/// Returns whether the clean-shutdown marker was present, removing it durably.
fn take_clean_marker(dir: &Path) -> Result<bool, LogError> {
    let marker = dir.join(CLEAN_SHUTDOWN_FILE);
    if !marker.exists() {
        return Ok(false);
    }
    remove_if_present(&marker)?;
    sync_dir(dir)?;
    Ok(true)
}

pub(crate) fn sync_dir(dir: &Path) -> Result<(), LogError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error(dir))
}

/// Base offsets of the `.log` files in `dir`, sorted. Index files without a `.log` file (left
/// by a crash while deleting a segment) and half-written cleaned segments (left by a crash
/// during compaction, whose `.log` file is still whole) are removed.
fn list_segment_bases(dir: &Path) -> Result<Vec<i64>, LogError> {
    let mut logs = BTreeSet::new();
    let mut indexes = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_error(dir))? {
        let entry = entry.map_err(io_error(dir))?;
        let name = entry.file_name();
        if name.to_str().is_some_and(|n| n.ends_with(CLEANED_SUFFIX)) {
            tracing::warn!(path = %entry.path().display(), "removing an unfinished cleaned segment");
            remove_if_present(&entry.path())?;
            continue;
        }
        let Some((base, kind)) = name.to_str().and_then(parse_file_name) else {
            continue;
        };
        match kind {
            SegmentFile::Log => {
                logs.insert(base);
            }
            SegmentFile::Index | SegmentFile::TimeIndex => indexes.push((base, entry.path())),
        }
    }
    for (base, path) in indexes {
        if !logs.contains(&base) {
            tracing::warn!(path = %path.display(), "removing index file without a segment");
            remove_if_present(&path)?;
        }
    }
    Ok(logs.into_iter().collect())
}

fn remove_later_segments(dir: &Path, bases: &[i64]) -> Result<(), LogError> {
    tracing::warn!(
        dir = %dir.display(),
        count = bases.len(),
        "removing segments after a truncated one to keep offsets contiguous"
    );
    for &base in bases {
        for kind in [SegmentFile::Log, SegmentFile::Index, SegmentFile::TimeIndex] {
            remove_if_present(&file_path(dir, base, kind))?;
        }
    }
    Ok(())
}

fn open_log(dir: &Path, base: i64) -> Result<(std::path::PathBuf, File, u64), LogError> {
    let path = file_path(dir, base, SegmentFile::Log);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .map_err(io_error(&path))?;
    let len = file.metadata().map_err(io_error(&path))?.len();
    Ok((path, file, len))
}

/// Reads the next batch header at the end of `state`, checking that its offsets come after the
/// segment's so far (and its CRC when `check_crc`).
fn next_batch(
    scanner: &mut Scanner<'_>,
    state: &SegmentState,
    check_crc: bool,
    allow_gaps: bool,
) -> Result<Option<BatchHeader>, ScanError> {
    let position = state.size;
    let Some(header) = scanner.header_at(position)? else {
        return Ok(None);
    };
    // Offsets continue from batch to batch; a compacted (closed) segment may skip some (see
    // `cleaner.rs`). The base offset is outside the CRC, so the active segment stays strict.
    let misplaced = if allow_gaps {
        header.base_offset < state.next_offset
    } else {
        header.base_offset != state.next_offset
    };
    if misplaced {
        let reason = format!(
            "batch base offset {} where at least {} was expected",
            header.base_offset, state.next_offset
        );
        return Err(ScanError::Misplaced { position, reason });
    }
    if header.last_offset() - state.base_offset > RELATIVE_OFFSET_MAX {
        let reason = format!(
            "batch last offset {} is too far from the segment base",
            header.last_offset()
        );
        return Err(ScanError::Misplaced { position, reason });
    }
    if check_crc {
        scanner.check_crc(position, &header)?;
    }
    Ok(Some(header))
}

/// Scans the whole segment, truncates it after its last valid batch and rebuilds its indexes.
/// Returns the segment and the number of bytes cut off.
pub(crate) fn recover_segment(
    dir: &Path,
    base: i64,
    interval: u32,
    allow_gaps: bool,
) -> Result<(Segment, u64), LogError> {
    let (path, log, file_len) = open_log(dir, base)?;
    let mut scanner = Scanner::new(&log, file_len.min(SEGMENT_BYTES_MAX), RECOVERY_WINDOW_BYTES);
    let mut state = SegmentState::empty(base);
    let mut entries = NewEntries::default();
    loop {
        match next_batch(&mut scanner, &state, true, allow_gaps) {
            Ok(Some(header)) => state.observe(&BatchMeta::of(&header), interval, &mut entries),
            Ok(None) => break,
            Err(ScanError::Io(source)) => return Err(LogError::Io { path, source }),
            Err(err) => {
                tracing::warn!(path = %path.display(), error = ?err, "invalid batch during recovery");
                break;
            }
        }
    }
    let truncated_bytes = file_len - state.size;
    if truncated_bytes > 0 {
        log.set_len(state.size)
            .and_then(|()| log.sync_all())
            .map_err(io_error(&path))?;
        tracing::warn!(
            path = %path.display(),
            truncated_bytes,
            valid_bytes = state.size,
            "truncated torn or corrupt tail of log segment"
        );
    }
    let segment = Segment::assemble(dir, path, log, state, entries)?;
    Ok((segment, truncated_bytes))
}

/// Opens a segment trusting its index files, after checking them against the `.log` file.
/// Returns `Ok(None)` when anything does not fit, so the caller recovers the segment instead.
fn load_segment(
    dir: &Path,
    base: i64,
    next_base: Option<i64>,
    interval: u32,
) -> Result<Option<Segment>, LogError> {
    let (path, log, size) = open_log(dir, base)?;
    if size > SEGMENT_BYTES_MAX {
        return Ok(None);
    }
    let offset_span = next_base.map_or(RELATIVE_OFFSET_MAX + 1, |next| next - base);
    let bounds = IndexBounds {
        log_bytes: size,
        offset_span,
    };
    let index_path = file_path(dir, base, SegmentFile::Index);
    let Some(offset_index) =
        OffsetIndex::load(dir, base, &bounds).map_err(io_error(&index_path))?
    else {
        return Ok(None);
    };
    let time_path = file_path(dir, base, SegmentFile::TimeIndex);
    let Some(time_index) = TimeIndex::load(dir, base, &bounds).map_err(io_error(&time_path))?
    else {
        return Ok(None);
    };
    let allow_gaps = next_base.is_some();
    let restored = restore_state(
        &log,
        size,
        base,
        &offset_index,
        &time_index,
        interval,
        allow_gaps,
    )
    .map_err(io_error(&path))?;
    let Some((state, entries)) = restored else {
        return Ok(None);
    };
    let fits = state.size == size && next_base.is_none_or(|next| state.next_offset <= next);
    if !fits || !offset_index.accepts(&entries.offsets) || !time_index.accepts(&entries.times) {
        return Ok(None);
    }
    let mut segment = Segment::from_parts(path, log, state, offset_index, time_index);
    segment.write_entries(entries)?;
    Ok(Some(segment))
}

/// Rebuilds a segment's running state from its last index entries plus a header-only scan of
/// the batches after the last offset index entry. Index entries those batches should have had
/// (lost in a crash) are returned for appending. `Ok(None)` when the bytes do not match.
fn restore_state(
    log: &File,
    size: u64,
    base: i64,
    offset_index: &OffsetIndex,
    time_index: &TimeIndex,
    interval: u32,
    allow_gaps: bool,
) -> io::Result<Option<(SegmentState, NewEntries)>> {
    let mut state = SegmentState::empty(base);
    if let Some(last) = time_index.last() {
        state.max_timestamp = last.timestamp;
        state.offset_of_max_timestamp = time_index.absolute(last.relative_offset);
        state.time_index_max = last.timestamp;
    }
    let mut scanner = Scanner::new(log, size, LOOKUP_WINDOW_BYTES);
    match scanner.header_at(0) {
        Ok(first) => state.first_batch_timestamp = first.map(|h| h.max_timestamp),
        Err(ScanError::Io(err)) => return Err(err),
        Err(_) => return Ok(None),
    }
    if let Some(last) = offset_index.last() {
        let position = u64::from(last.position);
        match scanner.header_at(position) {
            Ok(Some(h))
                if h.last_offset() == offset_index.absolute(last.relative_offset)
                    && h.base_offset >= base =>
            {
                state.size = position;
                state.next_offset = h.base_offset;
            }
            Err(ScanError::Io(err)) => return Err(err),
            _ => return Ok(None),
        }
    }
    let mut entries = NewEntries::default();
    loop {
        match next_batch(&mut scanner, &state, false, allow_gaps) {
            Ok(Some(header)) => state.observe(&BatchMeta::of(&header), interval, &mut entries),
            Ok(None) => return Ok(Some((state, entries))),
            Err(ScanError::Io(err)) => return Err(err),
            Err(_) => return Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::batch::parse_header;
    use super::super::test_util::{batch, file_names, small_config};
    use super::super::{LogConfig, PartitionLog};
    use super::*;
    use std::path::PathBuf;

    const NOW: i64 = 1_700_000_000_000;

    fn config() -> LogConfig {
        small_config(1_500)
    }

    /// A log with several segments; returns the stored bytes of every batch, in order.
    fn build(dir: &Path) -> Vec<Vec<u8>> {
        let mut log = PartitionLog::open(dir, config()).expect("open");
        let mut stored = Vec::new();
        for i in 0..30usize {
            let mut bytes = batch(1 + i % 3, 1_000 + i as i64, 20 + i % 5);
            log.append(&mut bytes, 1, NOW).expect("append");
            stored.push(bytes);
        }
        assert!(log.segment_count() >= 3);
        stored
    }

    fn copy_dir(from: &Path, to: &Path) {
        for name in file_names(from) {
            std::fs::copy(from.join(&name), to.join(&name)).expect("copy");
        }
    }

    fn last_log_file(dir: &Path) -> PathBuf {
        let name = file_names(dir)
            .into_iter()
            .rfind(|n| n.ends_with(".log"))
            .expect("a log file");
        dir.join(name)
    }

    fn read_all(log: &PartitionLog) -> Vec<u8> {
        log.read(log.log_start_offset(), usize::MAX, false)
            .expect("read")
            .to_vec()
    }

    /// Opens the damaged copy and checks that exactly the first `kept` batches survive and that
    /// the last `.log` file was cut to `file_len` bytes.
    fn assert_recovers_to(dir: &Path, stored: &[Vec<u8>], kept: usize, file_len: usize) {
        let mut log = PartitionLog::open(dir, config()).expect("open damaged log");
        let len = std::fs::metadata(last_log_file(dir)).expect("stat").len();
        assert_eq!(len, file_len as u64, "last segment length after recovery");
        let expected = stored[..kept].concat();
        assert_eq!(read_all(&log), expected);
        let next_offset: i64 = stored[..kept]
            .iter()
            .map(|b| i64::from(parse_header(b).expect("valid").records_count))
            .sum();
        assert_eq!(log.log_end_offset(), next_offset);
        for offset in 0..next_offset {
            let read = log.read(offset, 1, true).expect("read");
            let header = parse_header(&read).expect("whole batch");
            assert!(header.base_offset <= offset && offset <= header.last_offset());
        }
        let mut more = batch(2, 5, 5);
        let info = log
            .append(&mut more, 1, NOW)
            .expect("append after recovery");
        assert_eq!(info.base_offset, next_offset);
    }

    #[test]
    fn torn_last_batch_is_cut_at_every_position() {
        let source = tempfile::tempdir().expect("tempdir");
        let stored = build(source.path());
        let last_file = last_log_file(source.path());
        let file_len = std::fs::metadata(&last_file).expect("stat").len() as usize;
        let last_len = stored[stored.len() - 1].len();
        let last_start = file_len - last_len;
        assert!(
            last_start > 0,
            "the last segment should hold several batches"
        );
        for cut in last_start..file_len {
            let copy = tempfile::tempdir().expect("tempdir");
            copy_dir(source.path(), copy.path());
            let log_file = last_log_file(copy.path());
            OpenOptions::new()
                .write(true)
                .open(&log_file)
                .and_then(|f| f.set_len(cut as u64))
                .expect("cut");
            assert_recovers_to(copy.path(), &stored, stored.len() - 1, last_start);
        }
    }

    #[test]
    fn corrupt_byte_in_last_batch_is_cut_at_every_position() {
        let source = tempfile::tempdir().expect("tempdir");
        let stored = build(source.path());
        let last_len = stored[stored.len() - 1].len();
        for at in 0..last_len {
            let copy = tempfile::tempdir().expect("tempdir");
            copy_dir(source.path(), copy.path());
            let log_file = last_log_file(copy.path());
            let mut bytes = std::fs::read(&log_file).expect("read");
            let last_start = bytes.len() - last_len;
            bytes[last_start + at] ^= 0xff;
            std::fs::write(&log_file, &bytes).expect("write");
            let leader_epoch_field = 12..16;
            if leader_epoch_field.contains(&at) {
                // The leader epoch is outside the CRC: the batch stays valid.
                let log = PartitionLog::open(copy.path(), config()).expect("open");
                assert_eq!(
                    log.read(0, usize::MAX, false).expect("read").len(),
                    stored.concat().len()
                );
                continue;
            }
            assert_recovers_to(copy.path(), &stored, stored.len() - 1, last_start);
        }
    }

    #[test]
    fn missing_indexes_are_rebuilt_identically() {
        let dir = tempfile::tempdir().expect("tempdir");
        let stored = build(dir.path());
        let index_files: Vec<String> = file_names(dir.path())
            .into_iter()
            .filter(|n| n.ends_with("index"))
            .collect();
        let originals: Vec<Vec<u8>> = index_files
            .iter()
            .map(|n| std::fs::read(dir.path().join(n)).expect("read"))
            .collect();
        assert!(originals.iter().any(|bytes| !bytes.is_empty()));
        for name in &index_files {
            std::fs::remove_file(dir.path().join(name)).expect("remove");
        }
        let log = PartitionLog::open(dir.path(), config()).expect("open");
        assert_eq!(read_all(&log), stored.concat());
        for (name, original) in index_files.iter().zip(&originals) {
            assert_eq!(
                &std::fs::read(dir.path().join(name)).expect("read"),
                original,
                "{name}"
            );
        }
    }

    #[test]
    fn corrupt_closed_segment_drops_everything_after_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let stored = build(dir.path());
        let first_log = dir.path().join("00000000000000000000.log");
        let mut bytes = std::fs::read(&first_log).expect("read");
        let kept = 2;
        let at = stored[..kept].iter().map(Vec::len).sum::<usize>() + 30;
        bytes[at] ^= 0x01;
        std::fs::write(&first_log, &bytes).expect("write");
        std::fs::remove_file(dir.path().join("00000000000000000000.index")).expect("remove index");
        let log = PartitionLog::open(dir.path(), config()).expect("open");
        assert_eq!(log.segment_count(), 1);
        assert_eq!(read_all(&log), stored[..kept].concat());
        let logs = file_names(dir.path())
            .into_iter()
            .filter(|n| n.ends_with(".log"))
            .count();
        assert_eq!(logs, 1);
    }

    #[test]
    fn orphan_index_files_are_removed() {
        let dir = tempfile::tempdir().expect("tempdir");
        build(dir.path());
        let orphan = dir.path().join("00000000000000099999.index");
        std::fs::write(&orphan, [0u8; 8]).expect("write");
        PartitionLog::open(dir.path(), config()).expect("open");
        assert!(!orphan.exists());
    }

    #[test]
    fn clean_open_restores_lost_index_entries() {
        let dir = tempfile::tempdir().expect("tempdir");
        let stored = build(dir.path());
        PartitionLog::open(dir.path(), config())
            .expect("open")
            .close()
            .expect("close");
        let index = file_names(dir.path())
            .into_iter()
            .rfind(|n| n.ends_with(".index"))
            .expect("index");
        let index = dir.path().join(index);
        let original = std::fs::read(&index).expect("read");
        assert!(
            original.len() >= 16,
            "test needs two entries in the last index"
        );
        std::fs::write(&index, &original[..original.len() - 8]).expect("write");
        let log = PartitionLog::open(dir.path(), config()).expect("open");
        assert_eq!(std::fs::read(&index).expect("read"), original);
        assert_eq!(read_all(&log), stored.concat());
    }

    #[test]
    fn clean_marker_with_a_torn_tail_still_recovers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let stored = build(dir.path());
        PartitionLog::open(dir.path(), config())
            .expect("open")
            .close()
            .expect("close");
        let log_file = last_log_file(dir.path());
        let len = std::fs::metadata(&log_file).expect("stat").len();
        OpenOptions::new()
            .write(true)
            .open(&log_file)
            .and_then(|f| f.set_len(len - 3))
            .expect("cut");
        let last_start = len as usize - stored[stored.len() - 1].len();
        assert_recovers_to(dir.path(), &stored, stored.len() - 1, last_start);
    }
}
