//! What a follower's log does besides appends from clients: append batches that already carry
//! the leader's offsets and epochs, and cut off a tail the leader does not have.

use super::batch::split_stored;
use super::recovery::recover_segment;
use super::segment::{BatchMeta, Segment};
use super::{AppendInfo, LogError, PartitionLog};

impl PartitionLog {
    /// Appends batches as the leader stored them (offsets and leader epochs kept). The first
    /// batch must start at the log end offset and the offsets must run on without overlap.
    pub fn append_replicated(
        &mut self,
        batches: &[u8],
        now_ms: i64,
    ) -> Result<AppendInfo, LogError> {
        self.touch();
        let mut next = self.log_end_offset();
        let mut metas = Vec::new();
        let mut epochs = Vec::new();
        // The leader's batches may be cleaned (fewer records than offsets).
        for item in split_stored(batches) {
            let (header, range) = item?;
            if header.base_offset < next {
                return Err(LogError::Corrupt {
                    path: self.dir.clone(),
                    position: range.start as u64,
                    reason: format!(
                        "a replicated batch at offset {} overlaps the log end offset {next}",
                        header.base_offset
                    ),
                });
            }
            let meta = BatchMeta::of(&header);
            next = meta.last_offset + 1;
            metas.push(meta);
            epochs.push((header.partition_leader_epoch, header.base_offset));
        }
        if metas.is_empty() {
            return Err(LogError::EmptyAppend);
        }
        let info = self.write_batches(batches, &metas, now_ms)?;
        for (epoch, offset) in epochs {
            self.note_epoch(epoch, offset)?;
        }
        Ok(info)
    }

    /// Removes every batch at or after `offset` (rounded down to the start of the batch that
    /// holds it), as a follower does with a divergent tail. Returns the new log end offset.
    pub fn truncate_to(&mut self, offset: i64) -> Result<i64, LogError> {
        if offset >= self.log_end_offset() {
            return Ok(self.log_end_offset());
        }
        self.flush()?;
        self.join_roll_sync();
        let offset = offset.max(self.segments[0].base_offset());
        // A compaction pass in flight must not swap in segments cut here; the cleaned part
        // now ends at the cut at most.
        self.note_truncation(offset)?;
        self.txn_index.truncate_to(offset)?;
        // Whole segments from the cut on go.
        while self.segments.len() > 1
            && self.segments[self.segments.len() - 1].base_offset() >= offset
        {
            if let Some(segment) = self.segments.pop() {
                segment.delete_files()?;
            }
        }
        let last = self.segments.len() - 1;
        let base = self.segments[last].base_offset();
        if base >= offset {
            // Nothing before the cut: the log restarts empty at the cut.
            if let Some(segment) = self.segments.pop() {
                segment.delete_files()?;
            }
            self.segments
                .push(Segment::create(&self.dir, offset, None)?);
        } else {
            let cut = self.segments[last].position_of(offset)?;
            let segment = self.segments.pop().expect("a segment is left");
            let path = segment.log_path().to_path_buf();
            drop(segment);
            if let Some(position) = cut {
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(|source| LogError::Io {
                        path: path.clone(),
                        source,
                    })?;
                file.set_len(position)
                    .and_then(|()| file.sync_all())
                    .map_err(|source| LogError::Io {
                        path: path.clone(),
                        source,
                    })?;
            }
            let interval = self.config.index_interval_bytes;
            let (segment, _) = recover_segment(&self.dir, base, interval, self.config.compact)?;
            self.segments.push(segment);
        }
        self.log_start_offset = self.log_start_offset.min(self.log_end_offset());
        if self.epochs.truncate_from_end(self.log_end_offset()) {
            self.epochs.save(&self.dir)?;
        }
        self.dir_dirty = true;
        self.check_invariants();
        tracing::info!(dir = %self.dir.display(), log_end_offset = self.log_end_offset(), "log truncated");
        Ok(self.log_end_offset())
    }
}

impl PartitionLog {
    /// Drops every segment and starts the log empty at `offset` (Kafka's
    /// `truncateFullyAndStartAt`): a follower whose log ends before its leader's log start
    /// cannot catch up by fetching, so it starts over where the leader's log starts.
    pub fn truncate_fully_and_start_at(&mut self, offset: i64) -> Result<(), LogError> {
        assert!(offset >= 0, "a log cannot start at {offset}");
        self.flush()?;
        self.join_roll_sync();
        self.note_truncation(offset)?;
        self.txn_index.truncate_to(0)?;
        for segment in self.segments.drain(..) {
            segment.delete_files()?;
        }
        self.segments
            .push(Segment::create(&self.dir, offset, None)?);
        self.log_start_offset = offset;
        super::checkpoint::write_log_start_offset(&self.dir, offset)?;
        if self.epochs.truncate_from_end(0) {
            self.epochs.save(&self.dir)?;
        }
        self.dir_dirty = true;
        self.check_invariants();
        tracing::info!(dir = %self.dir.display(), offset, "log emptied to start at the leader's log start");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{batch, small_config};
    use super::*;

    const NOW: i64 = 1_700_000_000_000;

    #[test]
    fn a_follower_keeps_the_leaders_offsets_and_cuts_its_tail() {
        let leader_dir = tempfile::tempdir().expect("dir");
        let follower_dir = tempfile::tempdir().expect("dir");
        let mut leader = PartitionLog::open(leader_dir.path(), small_config(1024)).expect("open");
        let mut follower =
            PartitionLog::open(follower_dir.path(), small_config(1024)).expect("open");
        for _ in 0..20 {
            let mut b = batch(3, NOW, 40);
            let _ = leader.append(&mut b, 7, NOW).expect("append");
        }
        let all = leader.read(0, usize::MAX, true).expect("read");
        // Fetch by fetch, as a follower does, so that the follower rolls too.
        while follower.log_end_offset() < leader.log_end_offset() {
            let chunk = leader
                .read(follower.log_end_offset(), 500, true)
                .expect("read");
            let info = follower.append_replicated(&chunk, NOW).expect("replicate");
            assert_eq!(info.last_offset + 1, follower.log_end_offset());
        }
        assert_eq!(follower.read(0, usize::MAX, true).expect("read"), all);
        assert!(follower.segment_count() > 1, "the small config rolls");
        // Overlap is refused.
        assert!(follower.append_replicated(&all, NOW).is_err());
        // Cut mid-log: at a batch start, and inside a batch (rounded down to its start).
        assert_eq!(follower.truncate_to(30).expect("cut"), 30);
        assert_eq!(follower.truncate_to(25).expect("cut"), 24);
        let kept = leader.read(0, usize::MAX, true).expect("read");
        let prefix = follower.read(0, usize::MAX, true).expect("read");
        assert_eq!(&kept[..prefix.len()], &prefix[..]);
        // The leader's batches from the cut on replicate again.
        let rest = leader.read(24, usize::MAX, true).expect("read");
        let _ = follower.append_replicated(&rest, NOW).expect("catch up");
        assert_eq!(follower.read(0, usize::MAX, true).expect("read"), all);
        drop(follower);
        let reopened = PartitionLog::open(follower_dir.path(), small_config(1024)).expect("reopen");
        assert_eq!(reopened.log_end_offset(), 60);
        let mut follower = reopened;
        assert_eq!(follower.truncate_to(0).expect("cut all"), 0);
        assert_eq!(follower.segment_count(), 1);
    }
}
