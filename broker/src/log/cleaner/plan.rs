//! Taking a pass's plan under the partition lock: the clean upper bound, the first dirty
//! offset (loaded from `cleaner-offset-checkpoint` the first time), the closed segments below
//! the bound as they are now, and the aborted transactions. Only in-memory state is read here,
//! plus the checkpoint file once per log, so the locked phase stays short.

use super::aborted::AbortedTxns;
use super::{checkpoint, CleanPlan, PlannedSegment};
use crate::log::PartitionLog;

impl PartitionLog {
    /// What a pass would clean now, or `None` when nothing is dirty below the bound (the
    /// smaller of `clean_below` and the active segment's base offset).
    pub(crate) fn clean_plan(
        &mut self,
        now_ms: i64,
        clean_below: i64,
        dedupe_buffer_bytes: u64,
    ) -> Option<CleanPlan> {
        if !self.config.compact || self.segments.len() < 2 {
            return None;
        }
        let upper = clean_below.min(self.active().base_offset());
        let first_dirty = self.first_dirty_offset();
        if first_dirty >= upper {
            return None;
        }
        let closed = self.segments.len() - 1;
        let segments: Vec<PlannedSegment> = self.segments[..closed]
            .iter()
            .filter(|s| s.base_offset() < upper)
            .map(|s| PlannedSegment {
                base: s.base_offset(),
                size: s.size(),
                next_offset: s.next_offset(),
            })
            .collect();
        assert!(
            !segments.is_empty(),
            "a dirty part lies in a closed segment"
        );
        Some(CleanPlan {
            dir: self.dir.clone(),
            segments,
            first_dirty,
            upper,
            aborted: AbortedTxns::new(self.txn_index.all()),
            tombstone_horizon_ms: now_ms.saturating_sub(self.config.delete_retention_ms),
            index_interval_bytes: self.config.index_interval_bytes,
            dedupe_buffer_bytes,
            truncations: self.cleaner.truncations,
        })
    }

    /// The first dirty offset, within the log's current range.
    pub(super) fn first_dirty_offset(&mut self) -> i64 {
        let floor = self.log_start_offset.max(self.segments[0].base_offset());
        self.stored_first_dirty()
            .max(floor)
            .min(self.log_end_offset())
    }

    /// The first dirty offset as last recorded (0 before any pass); read from the checkpoint
    /// file the first time. An unreadable file only means cleaning from the start again.
    pub(super) fn stored_first_dirty(&mut self) -> i64 {
        if let Some(offset) = self.cleaner.first_dirty {
            return offset;
        }
        let offset = match checkpoint::read(&self.dir) {
            Ok(stored) => stored.unwrap_or(0),
            Err(e) => {
                tracing::warn!(error = %e, "ignoring the cleaner checkpoint");
                0
            }
        };
        self.cleaner.first_dirty = Some(offset);
        offset
    }
}
