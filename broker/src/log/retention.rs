//! Deleting old segments and moving the log start offset forward: Kafka's
//! `UnifiedLog.deleteOldSegments` for `cleanup.policy=delete` (Kafka's documentation,
//! Implementation → Log → Deletes; the `log.retention.*` and topic `retention.*` configs), and
//! DeleteRecords (KIP-107).
//!
//! Only whole closed segments are deleted, oldest first, and the active segment never is.
//! Three rules pick how many: by time (the segment's largest timestamp is more than
//! `retention.ms` old), by size (the log stays at least `retention.bytes` without it), and by
//! log start offset (every offset in it is below the log start offset). The log start offset
//! never moves backwards. Compaction (`cleanup.policy=compact`) is `cleaner.rs`.

use super::checkpoint::write_log_start_offset;
use super::{LogError, PartitionLog};

/// What the retention rules need to know about one closed segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClosedSegment {
    pub(crate) bytes: u64,
    /// Max timestamp, or the file's modification time when no batch has a timestamp.
    pub(crate) largest_timestamp: i64,
    /// Base offset of the following segment: every offset in this one is below it.
    pub(crate) next_base_offset: i64,
}

/// Kafka's time rule: leading segments with `now - largest_timestamp > retention_ms`.
pub(crate) fn expired_by_time(closed: &[ClosedSegment], now_ms: i64, retention_ms: i64) -> usize {
    if retention_ms < 0 {
        return 0;
    }
    closed
        .iter()
        .take_while(|s| now_ms.saturating_sub(s.largest_timestamp) > retention_ms)
        .count()
}

/// Kafka's size rule: leading segments whose removal keeps the log at least `retention_bytes`.
pub(crate) fn excess_by_size(
    closed: &[ClosedSegment],
    total_bytes: u64,
    retention_bytes: i64,
) -> usize {
    let Ok(retention_bytes) = u64::try_from(retention_bytes) else {
        return 0;
    };
    let mut remaining = total_bytes;
    closed
        .iter()
        .take_while(|s| {
            let keep = remaining >= s.bytes && remaining - s.bytes >= retention_bytes;
            if keep {
                remaining -= s.bytes;
            }
            keep
        })
        .count()
}

/// Leading segments that hold only offsets below the log start offset.
pub(crate) fn below_start_offset(closed: &[ClosedSegment], log_start_offset: i64) -> usize {
    closed
        .iter()
        .take_while(|s| s.next_base_offset <= log_start_offset)
        .count()
}

impl PartitionLog {
    /// DeleteRecords: moves the log start offset forward to `offset` and deletes the segments
    /// entirely below it. The new offset is persisted before any file is removed. Returns the
    /// new low watermark; an offset at or below the current one changes nothing.
    pub fn delete_records_before(&mut self, offset: i64) -> Result<i64, LogError> {
        let log_end_offset = self.log_end_offset();
        if offset < 0 || offset > log_end_offset {
            let log_start_offset = self.log_start_offset;
            return Err(LogError::OffsetOutOfRange {
                offset,
                log_start_offset,
                log_end_offset,
            });
        }
        if offset <= self.log_start_offset {
            return Ok(self.log_start_offset);
        }
        write_log_start_offset(&self.dir, offset)?;
        self.log_start_offset = offset;
        let closed = self.closed_segments()?;
        self.delete_oldest(below_start_offset(&closed, offset))?;
        Ok(self.log_start_offset)
    }

    /// Applies `retention.ms` and `retention.bytes`; returns the number of segments deleted.
    pub fn apply_retention(&mut self, now_ms: i64) -> Result<usize, LogError> {
        let closed = self.closed_segments()?;
        let by_time = expired_by_time(&closed, now_ms, self.config.retention_ms);
        let by_size = excess_by_size(&closed, self.size_bytes(), self.config.retention_bytes);
        let by_start = below_start_offset(&closed, self.log_start_offset);
        self.delete_oldest(by_time.max(by_size).max(by_start))
    }

    fn closed_segments(&self) -> Result<Vec<ClosedSegment>, LogError> {
        let mut closed = Vec::with_capacity(self.segments.len());
        for pair in self.segments.windows(2) {
            let segment = &pair[0];
            let largest_timestamp = match segment.max_timestamp() {
                ts if ts >= 0 => ts,
                _ => segment.modified_ms()?,
            };
            let next_base_offset = pair[1].base_offset();
            closed.push(ClosedSegment {
                bytes: segment.size(),
                largest_timestamp,
                next_base_offset,
            });
        }
        Ok(closed)
    }

    /// Deletes the `count` oldest segments and raises the log start offset to the new first
    /// segment's base offset.
    fn delete_oldest(&mut self, count: usize) -> Result<usize, LogError> {
        assert!(
            count < self.segments.len(),
            "the active segment is never deleted"
        );
        if count == 0 {
            return Ok(0);
        }
        let removed: Vec<_> = self.segments.drain(..count).collect();
        let first_base = self.segments[0].base_offset();
        self.log_start_offset = self.log_start_offset.max(first_base);
        for segment in removed {
            tracing::info!(path = %segment.log_path().display(), "deleting log segment");
            self.txn_index.remove_segment(segment.base_offset())?;
            segment.delete_files()?;
        }
        self.check_invariants();
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn closed(bytes: u64, largest_timestamp: i64, next_base_offset: i64) -> ClosedSegment {
        ClosedSegment {
            bytes,
            largest_timestamp,
            next_base_offset,
        }
    }

    #[test]
    fn time_rule_takes_leading_expired_segments() {
        let segments = [closed(10, 100, 5), closed(10, 300, 9), closed(10, 150, 12)];
        assert_eq!(expired_by_time(&segments, 1_000, -1), 0);
        assert_eq!(expired_by_time(&segments, 1_000, 899), 1);
        assert_eq!(expired_by_time(&segments, 1_000, 900), 0);
        assert_eq!(expired_by_time(&segments, 1_000, 700), 1);
        assert_eq!(expired_by_time(&segments, 1_000, 699), 3);
    }

    #[test]
    fn size_rule_keeps_at_least_retention_bytes() {
        let segments = [closed(100, 0, 1), closed(100, 0, 2), closed(100, 0, 3)];
        // 350 bytes in all: 3 closed segments of 100 plus a 50-byte active segment.
        assert_eq!(excess_by_size(&segments, 350, -1), 0);
        assert_eq!(excess_by_size(&segments, 350, 1_000), 0);
        assert_eq!(excess_by_size(&segments, 350, 251), 0);
        assert_eq!(excess_by_size(&segments, 350, 250), 1);
        assert_eq!(excess_by_size(&segments, 350, 150), 2);
        assert_eq!(excess_by_size(&segments, 350, 0), 3);
    }

    #[test]
    fn start_offset_rule() {
        let segments = [closed(1, 0, 10), closed(1, 0, 20), closed(1, 0, 30)];
        assert_eq!(below_start_offset(&segments, 0), 0);
        assert_eq!(below_start_offset(&segments, 10), 1);
        assert_eq!(below_start_offset(&segments, 29), 2);
        assert_eq!(below_start_offset(&segments, 30), 3);
    }

    use super::super::test_util::{batch, file_names, small_config};
    use super::super::LogConfig;

    const NOW: i64 = 1_700_000_000_000;

    /// A log whose segments hold two one-record batches each; batch `i` has timestamp
    /// `1_000 * i`. Returns the log and the size of one batch.
    fn two_per_segment(
        dir: &std::path::Path,
        batches: i64,
        config: LogConfig,
    ) -> (PartitionLog, u64) {
        let size = batch(1, 0, 40).len() as u64;
        let config = LogConfig {
            segment_bytes: size * 2,
            ..config
        };
        let mut log = PartitionLog::open(dir, config).expect("open");
        for i in 0..batches {
            log.append(&mut batch(1, 1_000 * i, 40), 0, NOW)
                .expect("append");
        }
        assert_eq!(log.segment_count() as i64, (batches + 1) / 2);
        (log, size)
    }

    fn log_files(dir: &std::path::Path) -> Vec<String> {
        file_names(dir)
            .into_iter()
            .filter(|n| n.ends_with(".log"))
            .collect()
    }

    #[test]
    fn retention_by_size_deletes_oldest_segments() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut log, size) = two_per_segment(dir.path(), 9, small_config(0));
        assert_eq!(log.apply_retention(NOW).expect("retention"), 0);
        let keep = i64::try_from(size * 5).expect("fits");
        log.set_config(LogConfig {
            retention_bytes: keep,
            segment_bytes: size * 2,
            ..small_config(0)
        });
        assert_eq!(log.apply_retention(NOW).expect("retention"), 2);
        assert_eq!(log.log_start_offset(), 4);
        assert_eq!(log.size_bytes(), size * 5);
        assert_eq!(
            log_files(dir.path()).first().map(String::as_str),
            Some("00000000000000000004.log")
        );
        assert!(!dir.path().join("00000000000000000000.index").exists());
        assert!(matches!(
            log.read(3, 100, true),
            Err(LogError::OffsetOutOfRange { .. })
        ));
        assert!(!log.read(4, 100, true).expect("read").is_empty());
        log.set_config(LogConfig {
            retention_bytes: 0,
            segment_bytes: size * 2,
            ..small_config(0)
        });
        assert_eq!(log.apply_retention(NOW).expect("retention"), 2);
        assert_eq!(log.segment_count(), 1, "the active segment stays");
        assert_eq!(log.log_start_offset(), 8);
        assert_eq!(log.log_end_offset(), 9);
    }

    #[test]
    fn retention_by_time_uses_the_segment_max_timestamp() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = LogConfig {
            retention_ms: 2_500,
            ..small_config(0)
        };
        let (mut log, _) = two_per_segment(dir.path(), 7, config);
        // Segments hold timestamps [0, 1000], [2000, 3000], [4000, 5000], [6000].
        assert_eq!(log.apply_retention(3_500).expect("retention"), 0);
        assert_eq!(log.apply_retention(3_501).expect("retention"), 1);
        assert_eq!(log.log_start_offset(), 2);
        assert_eq!(log.apply_retention(100_000).expect("retention"), 2);
        assert_eq!(log.log_start_offset(), 6);
        assert_eq!(
            log_files(dir.path()),
            vec!["00000000000000000006.log".to_string()]
        );
        let info = log.append(&mut batch(1, 0, 1), 0, NOW).expect("append");
        assert_eq!((info.base_offset, info.log_start_offset), (7, 6));
        log.set_config(LogConfig {
            retention_ms: -1,
            ..log.config().clone()
        });
        assert_eq!(log.apply_retention(i64::MAX).expect("retention"), 0);
    }

    #[test]
    fn delete_records_moves_the_start_and_persists() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut log, _) = two_per_segment(dir.path(), 7, small_config(0));
        let config = log.config().clone();
        assert_eq!(log.delete_records_before(3).expect("delete"), 3);
        assert_eq!(log.segment_count(), 3, "segment 0..=1 deleted, 2..=3 kept");
        assert!(matches!(
            log.read(2, 100, true),
            Err(LogError::OffsetOutOfRange { .. })
        ));
        let read = log.read(3, 1, true).expect("read");
        assert_eq!(
            super::super::batch::parse_header(&read)
                .expect("batch")
                .base_offset,
            3
        );
        assert_eq!(log.delete_records_before(1).expect("never backwards"), 3);
        assert!(matches!(
            log.delete_records_before(8),
            Err(LogError::OffsetOutOfRange { .. })
        ));
        assert!(matches!(
            log.delete_records_before(-1),
            Err(LogError::OffsetOutOfRange { .. })
        ));
        drop(log);
        let mut log = PartitionLog::open(dir.path(), config.clone()).expect("reopen");
        assert_eq!(log.log_start_offset(), 3);
        assert_eq!(log.delete_records_before(7).expect("delete to the end"), 7);
        assert_eq!(log.segment_count(), 1);
        assert!(log.read(7, 100, true).expect("read at end").is_empty());
        drop(log);
        let log = PartitionLog::open(dir.path(), config).expect("reopen");
        assert_eq!((log.log_start_offset(), log.log_end_offset()), (7, 7));
    }
}
