//! The leader epoch cache (Kafka's `LeaderEpochFileCache`, KIP-101): for each leader epoch in
//! the log, the offset its first batch has. A follower finds where its log diverged from the
//! leader's with it, and OffsetForLeaderEpoch is answered from it. It is kept in
//! `leader-epoch-checkpoint` in Kafka's format (version, count, then `epoch offset` lines),
//! and rebuilt from the batch headers when that file is missing.

use std::path::Path;

use super::checkpoint::write_atomically;
use super::segment::Segment;
use super::LogError;

pub(crate) const LEADER_EPOCH_FILE: &str = "leader-epoch-checkpoint";
const VERSION: &str = "0";

/// Epochs and their start offsets, both increasing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EpochCache {
    entries: Vec<(i32, i64)>,
}

impl EpochCache {
    /// Reads the checkpoint in `dir`, or rebuilds it from `segments`; entries past
    /// `log_end_offset` (a tail cut by recovery) are dropped.
    pub(crate) fn load(
        dir: &Path,
        segments: &[Segment],
        log_end_offset: i64,
    ) -> Result<Self, LogError> {
        let path = dir.join(LEADER_EPOCH_FILE);
        let mut cache = match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(&text).ok_or_else(|| LogError::BadCheckpoint {
                path: path.clone(),
                reason: "not a leader epoch checkpoint".into(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut cache = EpochCache::default();
                for segment in segments {
                    for header in segment.batch_headers()? {
                        let _ = cache.assign(header.partition_leader_epoch, header.base_offset);
                    }
                }
                cache
            }
            Err(source) => return Err(LogError::Io { path, source }),
        };
        let _ = cache.truncate_from_end(log_end_offset);
        Ok(cache)
    }

    fn parse(text: &str) -> Option<Self> {
        let mut lines = text.lines();
        if lines.next()?.trim() != VERSION {
            return None;
        }
        let count: usize = lines.next()?.trim().parse().ok()?;
        let mut cache = EpochCache::default();
        for _ in 0..count {
            let mut words = lines.next()?.split_whitespace();
            let epoch = words.next()?.parse().ok()?;
            let offset = words.next()?.parse().ok()?;
            let _ = cache.assign(epoch, offset);
        }
        Some(cache)
    }

    /// Writes the checkpoint.
    pub(crate) fn save(&self, dir: &Path) -> Result<(), LogError> {
        let mut text = format!("{VERSION}\n{}\n", self.entries.len());
        for (epoch, offset) in &self.entries {
            text.push_str(&format!("{epoch} {offset}\n"));
        }
        write_atomically(dir, LEADER_EPOCH_FILE, text.as_bytes())
    }

    /// The newest epoch and its start offset.
    pub fn latest(&self) -> Option<(i32, i64)> {
        self.entries.last().copied()
    }

    /// Notes that `epoch` starts at `start_offset`, if it is newer than the latest; returns
    /// whether the cache changed. Batches of older epochs (never written after newer ones)
    /// change nothing.
    pub(crate) fn assign(&mut self, epoch: i32, start_offset: i64) -> bool {
        if epoch < 0 || self.latest().is_some_and(|(e, _)| e >= epoch) {
            return false;
        }
        self.entries.push((epoch, start_offset));
        true
    }

    /// Kafka's `endOffsetFor`: the largest epoch at most `requested` and the offset where it
    /// ended (the next epoch's start, or the log end for the latest); (-1, -1) when the
    /// cache knows no epoch that old or the requested one is newer than every epoch.
    pub fn end_offset_for(&self, requested: i32, log_end_offset: i64) -> (i32, i64) {
        let Some((latest, _)) = self.latest() else {
            return (-1, -1);
        };
        if requested == latest {
            return (latest, log_end_offset);
        }
        let Some(higher) = self.entries.iter().find(|(e, _)| *e > requested) else {
            return (-1, -1);
        };
        match self.entries.iter().rev().find(|(e, _)| *e <= requested) {
            Some((floor, _)) => (*floor, higher.1),
            None => (requested, higher.1),
        }
    }

    /// Drops epochs that start at or after `end_offset` (the log was cut there); returns
    /// whether the cache changed.
    pub(crate) fn truncate_from_end(&mut self, end_offset: i64) -> bool {
        let before = self.entries.len();
        self.entries.retain(|(_, start)| *start < end_offset);
        self.entries.len() != before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_offsets_follow_kafka() {
        let mut cache = EpochCache::default();
        assert_eq!(cache.end_offset_for(0, 10), (-1, -1));
        assert!(cache.assign(1, 0));
        assert!(cache.assign(3, 40));
        assert!(!cache.assign(2, 50), "older epochs never follow newer ones");
        assert!(cache.assign(5, 70));
        assert_eq!(cache.end_offset_for(5, 90), (5, 90));
        assert_eq!(cache.end_offset_for(3, 90), (3, 70));
        assert_eq!(
            cache.end_offset_for(4, 90),
            (3, 70),
            "the floor epoch answers"
        );
        assert_eq!(
            cache.end_offset_for(0, 90),
            (0, 0),
            "older than all: where the first began"
        );
        assert_eq!(cache.end_offset_for(6, 90), (-1, -1));
        let parsed = EpochCache::parse("0\n3\n1 0\n3 40\n5 70\n").expect("parse");
        assert_eq!(parsed, cache);
        assert!(cache.truncate_from_end(50));
        assert_eq!(cache.latest(), Some((3, 40)));
        assert_eq!(cache.end_offset_for(3, 50), (3, 50));
    }
}
