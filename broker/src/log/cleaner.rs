//! Log compaction for `cleanup.policy=compact` (Kafka's documentation, Design → Log
//! Compaction; Kafka's `LogCleaner`, paced by `log.cleaner.backoff.ms`):
//! in the closed segments, only the latest record of each key is kept, and tombstones (null
//! values) go once they are older than `delete.retention.ms`. Offsets never change; a cleaned
//! segment simply has gaps. The active segment is never cleaned.
//!
//! One pass: a map of key → latest offset is built over the closed segments, then each closed
//! segment is filtered batch by batch. A batch that keeps every record is copied byte for byte;
//! one that keeps some is re-encoded with kafka-protocol (same offsets, timestamps, producer
//! fields and compression); one that keeps none is dropped. A changed segment is written to
//! `<base>.log.cleaned`, fsynced, renamed over the `.log` file and reopened through recovery,
//! which rebuilds its indexes. A pass runs only when a segment has closed since the last one;
//! the topic configs that pace Kafka's cleaner beyond that, `min.cleanable.dirty.ratio` and
//! the compaction lags (`min.compaction.lag.ms`, KIP-58; `max.compaction.lag.ms`, KIP-354),
//! are described but not applied.

use std::collections::HashMap;
use std::io::Write;

use bytes::Bytes;
use kafka_protocol::records::{Record, RecordBatchDecoder};

use super::batch::split_batches;
use super::encode::one_batch;
use super::recovery::{recover_segment, sync_dir};
use super::{LogError, PartitionLog};

/// What one compaction pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CleanStats {
    pub segments_rewritten: usize,
    pub records_removed: usize,
    pub bytes_before: u64,
    pub bytes_after: u64,
}

/// Filters one segment's bytes; `None` when nothing would change.
fn clean_bytes(
    bytes: &[u8],
    latest: &HashMap<Bytes, i64>,
    tombstone_horizon_ms: i64,
) -> Result<Option<(Vec<u8>, usize)>, LogError> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut removed = 0usize;
    for item in split_batches(bytes) {
        let (header, range) = item?;
        let raw = &bytes[range];
        if header.is_control() {
            out.extend_from_slice(raw);
            continue;
        }
        let mut buf = Bytes::copy_from_slice(raw);
        let set = RecordBatchDecoder::decode(&mut buf).map_err(|e| LogError::Corrupt {
            path: std::path::PathBuf::new(),
            position: 0,
            reason: format!("undecodable batch at offset {}: {e}", header.base_offset),
        })?;
        let total = set.records.len();
        let kept: Vec<Record> = set
            .records
            .into_iter()
            .filter(|r| match &r.key {
                None => true,
                Some(k) => {
                    latest.get(k) == Some(&r.offset)
                        && !(r.value.is_none() && r.timestamp < tombstone_horizon_ms)
                }
            })
            .collect();
        removed += total - kept.len();
        if kept.len() == total {
            out.extend_from_slice(raw);
            continue;
        }
        if kept.is_empty() {
            continue;
        }
        // The survivors of one batch stay one batch, with its compression.
        let encoded = one_batch(kept, set.compression).map_err(|e| LogError::Corrupt {
            path: std::path::PathBuf::new(),
            position: 0,
            reason: format!("re-encoding a cleaned batch failed: {e}"),
        })?;
        out.extend_from_slice(&encoded);
    }
    Ok((removed > 0).then_some((out, removed)))
}

impl PartitionLog {
    /// One compaction pass over the closed segments, when one closed since the last pass.
    pub fn compact(&mut self, now_ms: i64) -> Result<CleanStats, LogError> {
        let mut stats = CleanStats::default();
        if !self.config.compact || self.segments.len() < 2 {
            return Ok(stats);
        }
        let active_base = self.active().base_offset();
        if self.cleaned_below == Some(active_base) {
            return Ok(stats);
        }
        let closed = self.segments.len() - 1;
        let mut contents = Vec::with_capacity(closed);
        let mut latest: HashMap<Bytes, i64> = HashMap::new();
        for segment in &self.segments[..closed] {
            let path = segment.log_path().to_path_buf();
            let bytes = std::fs::read(&path).map_err(|source| LogError::Io {
                path: path.clone(),
                source,
            })?;
            let bytes = &bytes[..usize::try_from(segment.size()).unwrap_or(bytes.len())];
            for item in split_batches(bytes) {
                let (header, range) = item?;
                if header.is_control() {
                    continue;
                }
                let mut buf = Bytes::copy_from_slice(&bytes[range]);
                let set = RecordBatchDecoder::decode(&mut buf).map_err(|e| LogError::Corrupt {
                    path: path.clone(),
                    position: 0,
                    reason: e.to_string(),
                })?;
                for r in set.records {
                    if let Some(k) = r.key {
                        latest.insert(k, r.offset);
                    }
                }
            }
            contents.push(bytes.to_vec());
        }
        let horizon = now_ms.saturating_sub(self.config.delete_retention_ms);
        let interval = self.config.index_interval_bytes;
        for (i, bytes) in contents.iter().enumerate() {
            let Some((cleaned, removed)) = clean_bytes(bytes, &latest, horizon)? else {
                continue;
            };
            let base = self.segments[i].base_offset();
            let path = self.segments[i].log_path().to_path_buf();
            let staging = path.with_extension("log.cleaned");
            let io = |source| LogError::Io {
                path: staging.clone(),
                source,
            };
            let mut file = std::fs::File::create(&staging).map_err(io)?;
            file.write_all(&cleaned).map_err(io)?;
            file.sync_all().map_err(io)?;
            std::fs::rename(&staging, &path).map_err(|source| LogError::Io {
                path: path.clone(),
                source,
            })?;
            sync_dir(&self.dir)?;
            let (mut segment, _) = recover_segment(&self.dir, base, interval, true)?;
            segment.seal()?;
            self.segments[i] = segment;
            stats.segments_rewritten += 1;
            stats.records_removed += removed;
            stats.bytes_before += bytes.len() as u64;
            stats.bytes_after += cleaned.len() as u64;
        }
        self.cleaned_below = Some(active_base);
        self.check_invariants();
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use indexmap::IndexMap;
    use kafka_protocol::records::{
        Compression, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
    };

    use super::*;
    use crate::log::LogConfig;

    fn record(offset: i64, key: &str, value: Option<&str>, ts: i64) -> Record {
        Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset,
            sequence: -1,
            timestamp: ts,
            key: Some(Bytes::from(key.to_string())),
            value: value.map(|v| Bytes::from(v.to_string())),
            headers: IndexMap::new(),
        }
    }

    fn batch(records: &[Record], compression: Compression) -> Vec<u8> {
        let mut buf = bytes::BytesMut::new();
        let options = RecordEncodeOptions {
            version: 2,
            compression,
        };
        RecordBatchEncoder::encode(&mut buf, records.iter(), &options).expect("encode");
        buf.to_vec()
    }

    fn read_all(log: &PartitionLog) -> Vec<(i64, String, Option<String>)> {
        let bytes = log
            .read(log.log_start_offset(), usize::MAX, true)
            .expect("read");
        let mut buf = bytes;
        RecordBatchDecoder::decode_all(&mut buf)
            .expect("decode")
            .into_iter()
            .flat_map(|s| s.records)
            .map(|r| {
                let key = String::from_utf8(r.key.expect("key").to_vec()).expect("utf8");
                let value = r
                    .value
                    .map(|v| String::from_utf8(v.to_vec()).expect("utf8"));
                (r.offset, key, value)
            })
            .collect()
    }

    #[test]
    fn keeps_the_latest_of_each_key_and_drops_old_tombstones_with_offsets_unchanged() {
        let dir = tempfile::tempdir().expect("dir");
        let config = LogConfig {
            segment_bytes: 120, // every append (one small batch) rolls
            compact: true,
            delete_retention_ms: 1000,
            ..LogConfig::default()
        };
        let mut log = PartitionLog::open(dir.path(), config).expect("open");
        let now = 1_000_000;
        // Each append is one segment; the last stays active and is never cleaned.
        let appends = [
            vec![
                record(0, "a", Some("a1"), now),
                record(1, "b", Some("b1"), now),
            ],
            vec![
                record(0, "a", Some("a2"), now),
                record(1, "c", Some("c1"), now),
            ],
            vec![record(0, "c", None, now - 5000), record(1, "d", None, now)],
            vec![record(0, "a", Some("a3-active"), now)],
        ];
        for (i, records) in appends.iter().enumerate() {
            let compression = if i == 1 {
                Compression::Gzip
            } else {
                Compression::None
            };
            let mut bytes = batch(records, compression);
            log.append(&mut bytes, 0, now).expect("append");
        }
        assert_eq!(log.segment_count(), 4);
        let stats = log.compact(now).expect("compact");
        // a1 (a2 is later), c1 (its tombstone is later) and the expired tombstone of c.
        assert_eq!(stats.records_removed, 3);
        assert_eq!(stats.segments_rewritten, 3);
        let seen = read_all(&log);
        let expected: Vec<(i64, String, Option<String>)> = vec![
            (1, "b".into(), Some("b1".into())),
            (2, "a".into(), Some("a2".into())),
            (5, "d".into(), None),
            (6, "a".into(), Some("a3-active".into())),
        ];
        assert_eq!(seen, expected);
        // Nothing closed since: the next pass does nothing.
        assert_eq!(log.compact(now).expect("again"), CleanStats::default());
        // Reopened, the cleaned segments load (through recovery) with the same contents.
        drop(log);
        let config = LogConfig {
            segment_bytes: 120,
            compact: true,
            delete_retention_ms: 1000,
            ..LogConfig::default()
        };
        let log = PartitionLog::open(dir.path(), config).expect("reopen");
        assert_eq!(read_all(&log), expected);
        assert_eq!(log.log_end_offset(), 7);
    }
}
