//! Log compaction for `cleanup.policy=compact` (Kafka's documentation, Design → Log
//! Compaction; Kafka's `LogCleaner`, paced by `log.cleaner.backoff.ms`): only the latest record
//! of each key is kept, and tombstones (null values) go once they are older than
//! `delete.retention.ms`. Offsets never change; a cleaned segment simply has gaps.
//!
//! **Where a pass cleans.** The log splits into a clean part, below the *first dirty offset*
//! (kept in `cleaner-offset-checkpoint`, see `cleaner/checkpoint.rs`), and a dirty part from
//! there to the *clean upper bound*: the smaller of the caller's `clean_below` (the partition's
//! first unstable offset, so no open transaction is ever cleaned) and the active segment's
//! base offset (the active segment is never cleaned). Nothing at or past that bound is read
//! into the map or changed.
//!
//! **One pass.** (1) A map of key → latest offset is built over the dirty part only
//! (`cleaner/dirty_map.rs`), in at most `log.cleaner.dedupe.buffer.size` bytes
//! (`cleaner/offset_map.rs`); when the dirty part has more keys than fit, the pass maps the
//! batches that fit and cleans up to there, and the next pass goes on from there, as Kafka
//! does. While mapping, each batch that will lose a record (an older record of a key seen
//! again, an expired tombstone) is marked. (2) Every closed segment from the log start to the
//! end of the mapped range is filtered against the map (`cleaner/filter.rs`): a batch of the
//! clean part keeps the records whose key has no later record in the map; a dirty batch that
//! was not marked is copied byte for byte without being decoded again; a batch that keeps some
//! records is rebuilt from their bytes (`cleaner/rewrite.rs`), one that keeps none is dropped.
//! A segment with no change is left alone; a changed one is written to `<base>.log.cleaned`
//! and fsynced. (3) The cleaned segments replace the old ones (`cleaner/swap.rs`) and the first
//! dirty offset moves to the end of the mapped range.
//!
//! **Beside appends.** Steps (1) and (2) run without the partition's lock: closed segments are
//! immutable while they exist. The caller's lock is held only to take the plan (which segments,
//! the bounds, the aborted transactions) and for the swap, which first checks that every
//! planned segment is still there, closed and unchanged, and that no truncation happened
//! meanwhile; if anything changed, the work is discarded. See
//! [`PartitionLog::compact_in_phases`]. One pass runs at a time per log.
//!
//! **Transactions** (KIP-98, as Kafka's cleaner treats them). Data batches of aborted
//! transactions (per the `.txnindex`) are dropped whole and never enter the map, so they cannot
//! shadow an older committed value; committed transactional records are compacted like any
//! other. Control batches (COMMIT/ABORT markers) are always kept: Kafka removes a marker once
//! its transaction's data is gone and `delete.retention.ms` has passed, this cleaner keeps
//! markers for good. Where every record of a producer's last batch in a segment is removed,
//! the batch's header is kept with no records, so the producer's sequence survives.
//!
//! Not applied: `min.cleanable.dirty.ratio` and the compaction lags (`min.compaction.lag.ms`,
//! KIP-58; `max.compaction.lag.ms`, KIP-354); a pass runs whenever there is a dirty part.
//! Cleaned segments are not merged, so a compacted log keeps one (smaller) segment file per
//! segment it ever rolled.

mod aborted;
mod checkpoint;
mod dirty_map;
mod filter;
mod markers;
mod offset_map;
mod plan;
mod reader;
mod rewrite;
mod swap;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::segment::{NewEntries, SegmentState};
use super::{LogError, PartitionLog};
use aborted::AbortedTxns;

/// What the cleaner keeps in a `PartitionLog` between passes.
#[derive(Debug, Default)]
pub(crate) struct CleanerState {
    /// The first dirty offset as last recorded; `None` until read from the checkpoint file.
    first_dirty: Option<i64>,
    /// Truncations of the log since it opened. A pass notes the count when it plans and
    /// discards its work if it changed by the swap: a closed segment cut and filled again
    /// could otherwise look unchanged.
    truncations: u64,
}

/// What one compaction pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CleanStats {
    pub segments_rewritten: usize,
    pub records_removed: usize,
    /// Sizes of the rewritten segments before and after.
    pub bytes_before: u64,
    pub bytes_after: u64,
    /// Bytes of segment files read, both phases together.
    pub bytes_read: u64,
    /// Where the map started (the first dirty offset) and where the mapped range ended (the
    /// next pass's first dirty offset).
    pub first_dirty_offset: i64,
    pub cleaned_below: i64,
    /// Keyed records put into the map, and the bytes its table took at the end.
    pub records_mapped: u64,
    pub map_bytes: u64,
    /// Batches whose records were read, both phases together.
    pub batches_decoded: u64,
    /// Batches the filter copied without reading their records.
    pub batches_copied: u64,
    /// Batches of aborted transactions dropped.
    pub aborted_batches_removed: u64,
    /// Transaction markers dropped (their transaction had nothing left).
    pub markers_removed: u64,
    /// The log changed while the pass ran, so nothing was swapped in.
    pub discarded: bool,
    /// The longest time one locked phase (plan or swap) took, in microseconds.
    pub lock_held_us_max: u64,
}

/// What a pass cleans, taken under the lock (see `cleaner/plan.rs`).
#[derive(Debug)]
pub(crate) struct CleanPlan {
    dir: PathBuf,
    /// The closed segments below `upper`, oldest first.
    segments: Vec<PlannedSegment>,
    first_dirty: i64,
    /// The clean upper bound: nothing at or past it is mapped or changed.
    upper: i64,
    aborted: AbortedTxns,
    tombstone_horizon_ms: i64,
    index_interval_bytes: u32,
    dedupe_buffer_bytes: u64,
    /// The log's truncation count when the plan was taken.
    truncations: u64,
}

/// A closed segment as the plan saw it; the swap checks it is still so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PlannedSegment {
    base: i64,
    size: u64,
    next_offset: i64,
}

/// The result of the unlocked phases, waiting to be swapped in.
#[derive(Debug)]
pub(crate) struct CleanedLog {
    plan: CleanPlan,
    segments: Vec<CleanedSegment>,
    /// The next first dirty offset.
    cleaned_below: i64,
    stats: CleanStats,
}

/// One rewritten segment: its `.log.cleaned` file and the state and index entries of its
/// batches, computed while writing so the swap does not scan it again.
#[derive(Debug)]
struct CleanedSegment {
    base: i64,
    staging: Staged,
    state: SegmentState,
    entries: NewEntries,
}

/// A `.log.cleaned` file, removed when dropped unless the swap renamed it.
#[derive(Debug)]
struct Staged {
    path: PathBuf,
    renamed: bool,
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.renamed {
            // Best effort: one left behind is removed when the log next opens.
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl CleanPlan {
    /// The unlocked phases: maps the dirty part, then filters the segments up to where the
    /// map ended into `.log.cleaned` files.
    pub(crate) fn run(self) -> Result<CleanedLog, LogError> {
        let mut stats = CleanStats {
            first_dirty_offset: self.first_dirty,
            ..CleanStats::default()
        };
        let dirty = dirty_map::build(&self, &mut stats)?;
        stats.cleaned_below = dirty.end;
        stats.map_bytes = dirty.map.table_bytes();
        let mut segments = Vec::new();
        if dirty.end > self.first_dirty {
            let mut ordinal = 0u32;
            let mut markers = markers::Markers::default();
            for segment in self.segments.iter().filter(|s| s.base < dirty.end) {
                let cleaned = filter::clean_segment(
                    &self,
                    &dirty,
                    segment,
                    &mut ordinal,
                    &mut markers,
                    &mut stats,
                )?;
                if let Some(cleaned) = cleaned {
                    segments.push(cleaned);
                }
            }
            assert_eq!(
                ordinal, dirty.batches,
                "both phases see the same dirty batches"
            );
        } else {
            tracing::warn!(dir = %self.dir.display(), first_dirty = self.first_dirty, "the first dirty batch has more records than log.cleaner.dedupe.buffer.size holds; not cleaning");
        }
        Ok(CleanedLog {
            cleaned_below: dirty.end,
            plan: self,
            segments,
            stats,
        })
    }
}

impl PartitionLog {
    /// One whole pass with the log borrowed throughout (tests, and callers that hold the log
    /// alone): plan, clean, swap. `clean_below` is the partition's first unstable offset.
    pub fn compact(
        &mut self,
        now_ms: i64,
        clean_below: i64,
        dedupe_buffer_bytes: u64,
    ) -> Result<CleanStats, LogError> {
        let Some(plan) = self.clean_plan(now_ms, clean_below, dedupe_buffer_bytes) else {
            return Ok(CleanStats::default());
        };
        let cleaned = plan.run()?;
        let (stats, retired) = self.install_cleaned(cleaned)?;
        retired.finish()?;
        Ok(stats)
    }

    /// One pass beside appends. `locked` is called twice, each time to lock the partition and
    /// call the phase it is given with the log and the partition's first unstable offset: once
    /// to take the plan, once to swap the result in. Between the two, the segments are read
    /// and written with no lock held; after the second, the swap's fsync and checkpoint are
    /// done and the old segments closed, again without the lock. A `locked` that does not call
    /// the phase (the partition is gone) ends the pass with nothing swapped in.
    pub fn compact_in_phases<L>(
        mut locked: L,
        now_ms: i64,
        dedupe_buffer_bytes: u64,
    ) -> Result<CleanStats, LogError>
    where
        L: FnMut(&mut dyn FnMut(&mut PartitionLog, i64)),
    {
        let mut held = Duration::ZERO;
        let mut plan = None;
        locked(&mut |log, clean_below| {
            let started = Instant::now();
            plan = log.clean_plan(now_ms, clean_below, dedupe_buffer_bytes);
            held = held.max(started.elapsed());
        });
        let Some(plan) = plan else {
            return Ok(CleanStats::default());
        };
        let mut cleaned = Some(plan.run()?);
        let mut installed = None;
        locked(&mut |log, _| {
            let started = Instant::now();
            installed = cleaned.take().map(|c| log.install_cleaned(c));
            held = held.max(started.elapsed());
        });
        let mut stats = match installed {
            Some(result) => {
                let (stats, retired) = result?;
                retired.finish()?;
                stats
            }
            None => CleanStats {
                discarded: true,
                ..cleaned.map(|unused| unused.stats).unwrap_or_default()
            },
        };
        stats.lock_held_us_max = u64::try_from(held.as_micros()).unwrap_or(u64::MAX);
        Ok(stats)
    }

    /// Called when the log is cut at `offset`: a pass in flight discards its work, and the
    /// first dirty offset comes down to the cut if it was past it (Kafka's
    /// `maybeTruncateCheckpoint`).
    pub(super) fn note_truncation(&mut self, offset: i64) -> Result<(), LogError> {
        self.cleaner.truncations += 1;
        if self.stored_first_dirty() > offset {
            self.cleaner.first_dirty = Some(offset.max(0));
            checkpoint::write(&self.dir, offset.max(0))?;
        }
        Ok(())
    }
}
