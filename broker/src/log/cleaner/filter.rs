//! Phase two of a pass, without the lock: one closed segment filtered against the dirty map,
//! batch by batch, in order.
//!
//! A batch past the mapped range, a control batch, and a dirty batch the map did not mark are
//! kept byte for byte without reading their records, but for a marker whose transaction has
//! nothing left, past `delete.retention.ms` (`markers`), which goes unless it is its producer's
//! last in the segment. An aborted transaction's batch is dropped
//! without reading them. The others (every clean batch, and marked dirty batches) are read:
//! a record stays if it has no key, or if the map holds no other offset for its key (a clean
//! record's key is in the map only when a later record has it) and it is not a tombstone
//! older than the horizon.
//!
//! Nothing is written until the first change: a segment that keeps every batch costs one read.
//! At the first change, the unchanged prefix is copied into `<base>.log.cleaned` (by the
//! kernel), and from then on kept batches are written from the read buffer.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use super::dirty_map::DirtyMap;
use super::markers::Markers;
use super::reader::{Batch, BatchReader};
use super::rewrite::{self, timestamp_of};
use super::{CleanPlan, CleanStats, CleanedSegment, PlannedSegment, Staged};
use crate::log::batch::{parse_header_prefix, BatchHeader};
use crate::log::file_name::{cleaned_path, file_path, SegmentFile};
use crate::log::records::{views, RecordView};
use crate::log::scan::{Scanner, RECOVERY_WINDOW_BYTES};
use crate::log::segment::{BatchMeta, NewEntries, SegmentState};
use crate::log::LogError;

/// Bytes buffered before a write to the cleaned file.
const WRITE_BUFFER_BYTES: usize = 1024 * 1024;

/// What becomes of one batch.
#[derive(Debug)]
enum Fate {
    Keep,
    Drop,
    Rewrite(Vec<u8>),
    /// A marker that may go, unless it is its producer's last in the segment.
    DropMarker,
}

/// Filters one segment; `None` when it keeps every batch unchanged.
pub(super) fn clean_segment(
    plan: &CleanPlan,
    dirty: &DirtyMap,
    segment: &PlannedSegment,
    ordinal: &mut u32,
    markers: &mut Markers,
    stats: &mut CleanStats,
) -> Result<Option<CleanedSegment>, LogError> {
    let path = file_path(&plan.dir, segment.base, SegmentFile::Log);
    let mut reader = BatchReader::open(&path, segment.size)?;
    stats.bytes_read += segment.size;
    let mut out = Output::new(&plan.dir, segment.base, &path);
    let mut state = SegmentState::empty(segment.base);
    let mut entries = NewEntries::default();
    let mut producers: Option<LastBatches> = None;
    let interval = plan.index_interval_bytes;
    while let Some(batch) = reader.next_batch()? {
        let fate = decide(plan, dirty, &batch, ordinal, markers, stats)?;
        let needs_last = matches!(fate, Fate::DropMarker)
            || matches!(fate, Fate::Drop if batch.header.producer_id >= 0);
        if needs_last && producers.is_none() {
            producers = Some(LastBatches::scan(&path, batch.position, segment.size)?);
        }
        let last = producers.as_ref();
        let fate = match fate {
            Fate::Drop if last.is_some_and(|l| l.is_last(&batch.header)) => {
                Fate::Rewrite(rewrite::empty(&batch.header, batch.bytes))
            }
            Fate::DropMarker if last.is_some_and(|l| l.is_last(&batch.header)) => Fate::Keep,
            Fate::DropMarker => {
                stats.markers_removed += 1;
                Fate::Drop
            }
            fate => fate,
        };
        let written = match &fate {
            Fate::Keep => {
                out.keep(batch.bytes)?;
                Some(batch.header)
            }
            Fate::Rewrite(bytes) => Some(out.write_changed(bytes)?),
            Fate::Drop | Fate::DropMarker => {
                out.drop_batch()?;
                None
            }
        };
        if let Some(header) = written {
            state.observe(&BatchMeta::of(&header), interval, &mut entries);
        }
    }
    assert_eq!(
        state.size,
        out.written_or_kept(),
        "the state follows the output"
    );
    let Some(staging) = out.finish()? else {
        return Ok(None);
    };
    stats.segments_rewritten += 1;
    stats.bytes_before += segment.size;
    stats.bytes_after += state.size;
    Ok(Some(CleanedSegment {
        base: segment.base,
        staging,
        state,
        entries,
    }))
}

/// Decides a batch's fate, reading its records only when that is the only way to know.
fn decide(
    plan: &CleanPlan,
    dirty: &DirtyMap,
    batch: &Batch<'_>,
    ordinal: &mut u32,
    markers: &mut Markers,
    stats: &mut CleanStats,
) -> Result<Fate, LogError> {
    let header = &batch.header;
    if header.last_offset() >= dirty.end {
        return Ok(Fate::Keep);
    }
    let mark = (header.last_offset() >= plan.first_dirty).then(|| {
        *ordinal += 1;
        *ordinal - 1
    });
    if header.is_control() {
        return Ok(if markers.may_drop(header, plan.tombstone_horizon_ms) {
            Fate::DropMarker
        } else {
            Fate::Keep
        });
    }
    markers.saw_batch(header);
    if plan.aborted.covers(header) {
        stats.aborted_batches_removed += 1;
        stats.records_removed += header.records_count.max(0) as usize;
        return Ok(Fate::Drop);
    }
    if mark.is_some_and(|o| !dirty.is_touched(o)) {
        stats.batches_copied += 1;
        return Ok(Fate::Keep);
    }
    filter_records(plan, dirty, batch, stats)
}

/// Reads a batch's records and keeps those that stay.
fn filter_records(
    plan: &CleanPlan,
    dirty: &DirtyMap,
    batch: &Batch<'_>,
    stats: &mut CleanStats,
) -> Result<Fate, LogError> {
    let header = &batch.header;
    let section = batch.section()?;
    stats.batches_decoded += 1;
    let mut kept: Vec<RecordView<'_>> = Vec::with_capacity(header.records_count.max(0) as usize);
    let mut total = 0usize;
    for view in views(&section, header.records_count) {
        let view = view.map_err(|reason| batch.corrupt(&reason))?;
        total += 1;
        if stays(plan, dirty, header, &view) {
            kept.push(view);
        }
    }
    stats.records_removed += total - kept.len();
    Ok(if kept.len() == total {
        Fate::Keep
    } else if kept.is_empty() {
        Fate::Drop
    } else {
        let bytes = rewrite::with_records(header, batch.bytes, &kept)
            .map_err(|reason| batch.corrupt(&reason))?;
        Fate::Rewrite(bytes)
    })
}

/// Whether one record stays.
fn stays(
    plan: &CleanPlan,
    dirty: &DirtyMap,
    header: &BatchHeader,
    record: &RecordView<'_>,
) -> bool {
    let Some(key) = record.key else {
        return true;
    };
    let offset = header.base_offset + i64::from(record.offset_delta);
    let latest = dirty.map.get(dirty.map.hash(key));
    if latest.is_some_and(|latest| latest != offset) {
        return false;
    }
    !(record.value_is_null && timestamp_of(header, record) < plan.tombstone_horizon_ms)
}

/// For each producer, the base offset of its last data batch and of its last marker in the
/// rest of a segment: a producer's last batch is kept as an empty header when all its records
/// go, and its last marker is kept. Scanned (headers only) the first time a producer's batch
/// or marker is dropped whole in the segment.
#[derive(Debug)]
struct LastBatches(HashMap<(i64, bool), i64>);

impl LastBatches {
    fn scan(path: &Path, from: u64, len: u64) -> Result<Self, LogError> {
        let io = |source| LogError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        let mut scanner = Scanner::new(&file, len, RECOVERY_WINDOW_BYTES);
        let mut last = HashMap::new();
        let mut position = from;
        loop {
            let header = match scanner.header_at(position) {
                Ok(Some(header)) => header,
                Ok(None) => return Ok(Self(last)),
                Err(e) => {
                    return Err(LogError::Corrupt {
                        path: path.to_path_buf(),
                        position,
                        reason: format!("{e:?}"),
                    })
                }
            };
            if header.producer_id >= 0 {
                last.insert(
                    (header.producer_id, header.is_control()),
                    header.base_offset,
                );
            }
            position += header.total_bytes() as u64;
        }
    }

    /// Whether `header` is its producer's last data batch (or, for a marker, last marker).
    fn is_last(&self, header: &BatchHeader) -> bool {
        self.0.get(&(header.producer_id, header.is_control())) == Some(&header.base_offset)
    }
}

/// The cleaned file of one segment, created at the first change.
#[derive(Debug)]
struct Output {
    original: PathBuf,
    staging_path: PathBuf,
    writer: Option<(Staged, BufWriter<File>)>,
    /// Bytes at the start of the segment kept as they are, before any change.
    unchanged: u64,
    written: u64,
}

impl Output {
    fn new(dir: &Path, base: i64, original: &Path) -> Self {
        Self {
            original: original.to_path_buf(),
            staging_path: cleaned_path(dir, base),
            writer: None,
            unchanged: 0,
            written: 0,
        }
    }

    fn io(&self, path: &Path) -> impl FnOnce(std::io::Error) -> LogError {
        let path = path.to_path_buf();
        move |source| LogError::Io { path, source }
    }

    /// The writer, created (with the unchanged prefix copied in) on first use.
    fn writer(&mut self) -> Result<&mut BufWriter<File>, LogError> {
        if self.writer.is_none() {
            let file = File::create(&self.staging_path).map_err(self.io(&self.staging_path))?;
            let staged = Staged {
                path: self.staging_path.clone(),
                renamed: false,
            };
            let mut writer = BufWriter::with_capacity(WRITE_BUFFER_BYTES, file);
            let mut prefix = File::open(&self.original)
                .map_err(self.io(&self.original))?
                .take(self.unchanged);
            let copied =
                std::io::copy(&mut prefix, &mut writer).map_err(self.io(&self.staging_path))?;
            assert_eq!(copied, self.unchanged, "a closed segment does not shrink");
            self.written = copied;
            self.writer = Some((staged, writer));
        }
        Ok(&mut self.writer.as_mut().expect("created above").1)
    }

    /// Keeps a batch as it is.
    fn keep(&mut self, bytes: &[u8]) -> Result<(), LogError> {
        if self.writer.is_none() {
            self.unchanged += bytes.len() as u64;
            return Ok(());
        }
        self.write(bytes)
    }

    /// Writes a rebuilt batch; returns its header.
    fn write_changed(&mut self, bytes: &[u8]) -> Result<BatchHeader, LogError> {
        let header = parse_header_prefix(bytes).expect("a rebuilt batch is valid");
        self.writer()?;
        self.write(bytes)?;
        Ok(header)
    }

    /// Leaves a batch out.
    fn drop_batch(&mut self) -> Result<(), LogError> {
        self.writer()?;
        Ok(())
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), LogError> {
        let staging = self.staging_path.clone();
        self.writer()?
            .write_all(bytes)
            .map_err(|source| LogError::Io {
                path: staging,
                source,
            })?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    fn written_or_kept(&self) -> u64 {
        if self.writer.is_some() {
            self.written
        } else {
            self.unchanged
        }
    }

    /// Flushes and fsyncs the cleaned file; `None` when nothing changed.
    fn finish(self) -> Result<Option<Staged>, LogError> {
        let Some((staged, writer)) = self.writer else {
            return Ok(None);
        };
        let io = |source| LogError::Io {
            path: staged.path.clone(),
            source,
        };
        let file = writer.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;
        Ok(Some(staged))
    }
}
