//! The last phase of a pass, under the partition lock: check that the log is still as planned,
//! then put the cleaned segments in place of the old ones and record the new first dirty
//! offset.
//!
//! The order on disk keeps every crash recoverable: the old segments' index files go first
//! (a `.log` without indexes is recovered on open), then each `.log.cleaned` is renamed over its
//! `.log` (atomic; the old bytes stay readable through the open handle until the old segment is
//! dropped), then the new index files are written from the entries the filter computed, so
//! nothing is scanned under the lock. The checkpoint is written last: a crash before it only
//! means the next pass maps the same range again.

use std::fs::OpenOptions;

use super::{checkpoint, CleanPlan, CleanStats, CleanedLog, CleanedSegment};
use crate::log::file_name::{file_path, SegmentFile};
use crate::log::recovery::sync_dir;
use crate::log::segment::{remove_if_present, Segment};
use crate::log::{LogError, PartitionLog};

impl PartitionLog {
    /// Swaps a pass's result in, or discards it when the log changed since the plan.
    pub(crate) fn install_cleaned(&mut self, cleaned: CleanedLog) -> Result<CleanStats, LogError> {
        let CleanedLog {
            plan,
            segments,
            cleaned_below,
            mut stats,
        } = cleaned;
        if let Some(reason) = self.changed_since(&plan) {
            tracing::info!(dir = %self.dir.display(), reason, "log changed during compaction; discarding the pass");
            stats.discarded = true;
            return Ok(stats);
        }
        self.swap_segments(segments)?;
        if self.cleaner.first_dirty != Some(cleaned_below) {
            self.cleaner.first_dirty = Some(cleaned_below);
            checkpoint::write(&self.dir, cleaned_below)?;
        }
        self.check_invariants();
        Ok(stats)
    }

    /// Why the plan no longer describes the log, if it does not.
    fn changed_since(&self, plan: &CleanPlan) -> Option<&'static str> {
        if self.cleaner.truncations != plan.truncations {
            return Some("the log was truncated");
        }
        if plan.dir != self.dir || !self.config.compact {
            return Some("the log is no longer compacted here");
        }
        let closed = &self.segments[..self.segments.len() - 1];
        for planned in &plan.segments {
            let Ok(i) = closed.binary_search_by_key(&planned.base, |s| s.base_offset()) else {
                return Some("a planned segment is gone");
            };
            if closed[i].size() != planned.size || closed[i].next_offset() != planned.next_offset {
                return Some("a planned segment changed");
            }
        }
        None
    }

    fn swap_segments(&mut self, cleaned: Vec<CleanedSegment>) -> Result<(), LogError> {
        if cleaned.is_empty() {
            return Ok(());
        }
        for c in &cleaned {
            remove_if_present(&file_path(&self.dir, c.base, SegmentFile::Index))?;
            remove_if_present(&file_path(&self.dir, c.base, SegmentFile::TimeIndex))?;
        }
        sync_dir(&self.dir)?;
        for c in &cleaned {
            let path = file_path(&self.dir, c.base, SegmentFile::Log);
            std::fs::rename(&c.staging.path, &path).map_err(|source| LogError::Io {
                path: path.clone(),
                source,
            })?;
        }
        sync_dir(&self.dir)?;
        for mut c in cleaned {
            c.staging.renamed = true;
            let segment = self.cleaned_segment(c)?;
            let i = self
                .segments
                .binary_search_by_key(&segment.base_offset(), |s| s.base_offset())
                .expect("the plan's segments were checked");
            self.segments[i] = segment;
        }
        Ok(())
    }

    /// Opens a renamed cleaned `.log` as a closed segment, writing its index files.
    fn cleaned_segment(&self, c: CleanedSegment) -> Result<Segment, LogError> {
        let path = file_path(&self.dir, c.base, SegmentFile::Log);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|source| LogError::Io {
                path: path.clone(),
                source,
            })?;
        let mut segment = Segment::assemble(&self.dir, path, file, c.state, c.entries)?;
        segment.seal()?;
        segment.release_index_files();
        assert_eq!(segment.base_offset(), c.base);
        Ok(segment)
    }
}
