//! One partition replica on this broker: its log, its idempotent-producer state and the
//! checks every produced batch passes before it is appended.
//!
//! The log (`crate::log`) stores bytes; this module decides what may be stored: exactly one
//! v2 batch per partition per request with valid records (`validate.rs`), sequences in order
//! for idempotent producers.

pub mod producer_state;
pub mod replication;
pub mod validate;

use std::path::Path;
use std::sync::{Arc, Weak};

use bytes::Bytes;
use kafka_protocol::ResponseError;
use tokio::sync::Notify;

use crate::cluster::PartitionInfo;
use crate::log::batch;
use crate::log::{LogConfig, LogError, PartitionLog};
use producer_state::{BatchRecord, ProducerState, SequenceCheck};
use replication::{FetchEffect, ReplicaSet, Transition};
use validate::{validate, Rejected, TimestampBounds};

/// Segments whose batch headers are read on open to rebuild producer state: the active one and
/// the one before it, so a roll just before a restart loses nothing.
const PRODUCER_STATE_SEGMENTS: usize = 2;

/// The topic configs that govern appends, resolved for this partition.
#[derive(Debug, Clone)]
pub struct PartitionSettings {
    pub compacted: bool,
    pub max_message_bytes: usize,
    pub log_append_time: bool,
    /// `message.timestamp.before.max.ms` and `message.timestamp.after.max.ms`.
    pub timestamps: TimestampBounds,
    pub log: LogConfig,
}

/// Where an appended (or duplicate) batch landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub base_offset: i64,
    pub last_offset: i64,
    pub log_append_time: i64,
    pub log_start_offset: i64,
}

/// A partition replica: log, producer state and replication state.
#[derive(Debug)]
pub struct Partition {
    log: PartitionLog,
    producers: ProducerState,
    /// Leadership, epochs, ISR and the high watermark; only a leader serves clients.
    replication: ReplicaSet,
    settings: PartitionSettings,
    /// Fetches waiting for this partition to move (Kafka's fetch purgatory, keyed by
    /// partition): woken by an append, a new high watermark, or a change of leadership.
    waiters: Vec<Weak<Notify>>,
}

/// Registered waiters past which the dead ones are swept out before another is added.
const WAITERS_SWEEP_AT: usize = 64;

impl Partition {
    /// Opens (and recovers) the partition's log in `dir`.
    /// Opens (and recovers) the partition's log in `dir`, as the replica on node `node_id`,
    /// leading alone until [`Self::apply`] says otherwise.
    pub fn open(
        dir: &Path,
        settings: PartitionSettings,
        node_id: i32,
        leader_epoch: i32,
    ) -> Result<Self, LogError> {
        let log = PartitionLog::open(dir, settings.log.clone())?;
        let producers = rebuild_producer_state(&log)?;
        let replication = ReplicaSet::new(node_id, leader_epoch, log.log_end_offset());
        Ok(Partition {
            log,
            producers,
            replication,
            settings,
            waiters: Vec::new(),
        })
    }

    /// Applies changed topic configs.
    pub fn set_settings(&mut self, settings: PartitionSettings) {
        self.log.set_config(settings.log.clone());
        self.settings = settings;
    }

    pub fn is_leader(&self) -> bool {
        self.replication.is_leader()
    }

    /// Takes the metadata's view of the partition. A replica that stops leading keeps its log:
    /// its first fetch from the new leader finds where the two diverged, by leader epoch
    /// (KIP-101, KIP-320), and it cuts its tail there.
    pub fn apply(&mut self, info: &PartitionInfo, now_ms: i64) -> Transition {
        let end = self.log.log_end_offset();
        let transition = self.replication.apply(info, end, now_ms);
        self.wake();
        transition
    }

    /// Wakes `waiter` at this partition's next append, high watermark or leadership change.
    pub fn wake_on_change(&mut self, waiter: &Arc<Notify>) {
        if self.waiters.len() >= WAITERS_SWEEP_AT {
            self.waiters.retain(|w| w.strong_count() > 0);
        }
        self.waiters.push(Arc::downgrade(waiter));
    }

    fn wake(&mut self) {
        for waiter in self.waiters.drain(..) {
            if let Some(w) = waiter.upgrade() {
                w.notify_one();
            }
        }
    }

    /// The latest leader epoch of the log, -1 when it holds no batch (a follower's
    /// `last_fetched_epoch`).
    pub fn last_epoch(&self) -> i32 {
        self.log.epochs().latest().map_or(-1, |(epoch, _)| epoch)
    }

    /// The largest epoch at most `epoch` and where it ended here (OffsetForLeaderEpoch).
    pub fn end_offset_for_epoch(&self, epoch: i32) -> (i32, i64) {
        self.log.end_offset_for_epoch(epoch)
    }

    /// The leader's check of a follower's fetch (KIP-320): the epoch and end offset to
    /// truncate to when the follower's last fetched epoch ended earlier here than its fetch
    /// offset, or is unknown here.
    pub fn diverging_epoch(
        &self,
        last_fetched_epoch: i32,
        fetch_offset: i64,
    ) -> Option<(i32, i64)> {
        if last_fetched_epoch < 0 {
            return None;
        }
        let (epoch, end) = self.end_offset_for_epoch(last_fetched_epoch);
        (epoch < last_fetched_epoch || end < fetch_offset).then_some((epoch, end))
    }

    /// A follower's answer to a diverging epoch from its leader: cut the log where the
    /// leader's epoch ended, or where this log's own view of that epoch ends, whichever is
    /// earlier (the next fetch checks again, KIP-279). Returns the new log end.
    pub fn truncate_diverged(
        &mut self,
        leader_epoch: i32,
        leader_end: i64,
    ) -> Result<i64, LogError> {
        let (own_epoch, own_end) = self.end_offset_for_epoch(leader_epoch);
        let cut = if own_epoch < 0 {
            // Nothing here as old as that epoch: keep nothing past the leader's end.
            leader_end
        } else {
            leader_end.min(own_end)
        };
        let cut = cut.max(self.log.log_start_offset());
        tracing::info!(
            leader_epoch,
            leader_end,
            own_epoch,
            own_end,
            cut,
            "truncating a diverged log"
        );
        self.truncate_to(cut)
    }

    pub fn leader_epoch(&self) -> i32 {
        self.replication.leader_epoch()
    }

    /// A wait until every ISR member has `last_offset` (acks=all); None when they have.
    pub fn isr_wait(&self, last_offset: i64) -> Option<replication::IsrWait> {
        self.replication.isr_wait(last_offset)
    }

    /// The replication state, read only.
    pub fn replication(&self) -> &ReplicaSet {
        &self.replication
    }

    /// The high watermark: consumers read below it.
    pub fn high_watermark(&self) -> i64 {
        self.replication.high_watermark()
    }

    /// A follower fetched from `fetch_offset` (Kafka's updateFollowerFetchState).
    pub fn follower_fetched(
        &mut self,
        replica: i32,
        fetch_offset: i64,
        now_ms: i64,
    ) -> FetchEffect {
        let end = self.log.log_end_offset();
        self.replication
            .follower_fetched(replica, fetch_offset, end, now_ms)
    }

    /// The ISR without followers that lag more than `lag_max_ms`, to propose, if any lag.
    pub fn shrink_isr(&mut self, now_ms: i64, lag_max_ms: i64) -> Option<Vec<i32>> {
        self.replication.shrink_isr(now_ms, lag_max_ms)
    }

    /// An ISR proposal failed; it may be made again.
    pub fn forget_pending_isr(&mut self) {
        self.replication.forget_pending_isr();
    }

    /// Appends what the leader sent (its offsets and epochs kept) and takes its high
    /// watermark. Producer state follows, so a new leader still knows every producer's last
    /// sequences.
    pub fn append_replicated(
        &mut self,
        records: &[u8],
        leader_hw: i64,
        now_ms: i64,
    ) -> Result<(), LogError> {
        if !records.is_empty() {
            let _ = self.log.append_replicated(records, now_ms)?;
            for item in batch::split_headers(records) {
                let Ok((header, _)) = item else { break };
                if header.producer_id >= 0 && header.base_sequence >= 0 && !header.is_control() {
                    let record = BatchRecord {
                        first_seq: header.base_sequence,
                        last_seq: header.base_sequence.wrapping_add(header.last_offset_delta),
                        base_offset: header.base_offset,
                    };
                    self.producers
                        .record(header.producer_id, header.producer_epoch, record);
                }
            }
        }
        let end = self.log.log_end_offset();
        self.replication.set_follower_high_watermark(leader_hw, end);
        if !records.is_empty() {
            self.wake();
        }
        Ok(())
    }

    /// Cuts the log at `offset` (a follower's divergent tail); returns the new end.
    pub fn truncate_to(&mut self, offset: i64) -> Result<i64, LogError> {
        let end = self.log.truncate_to(offset)?;
        self.replication.clamp_high_watermark(end);
        Ok(end)
    }

    /// Kafka's leader epoch fencing of a client's view (-1: the client does not say): a client
    /// behind us is fenced, one ahead of us must refresh its metadata.
    pub fn check_leader_epoch(&self, requested: i32) -> Result<(), ResponseError> {
        let current = self.replication.leader_epoch();
        if requested < 0 || requested == current {
            Ok(())
        } else if requested < current {
            Err(ResponseError::FencedLeaderEpoch)
        } else {
            Err(ResponseError::UnknownLeaderEpoch)
        }
    }

    pub fn log(&self) -> &PartitionLog {
        &self.log
    }

    pub fn log_mut(&mut self) -> &mut PartitionLog {
        &mut self.log
    }

    /// Closes the log cleanly (flush, fsync, clean-shutdown marker).
    pub fn close(self) -> Result<(), LogError> {
        self.log.close()
    }

    /// Validates and appends the records of one produce request for this partition.
    pub fn append(&mut self, records: &[u8], now_ms: i64) -> Result<Appended, Rejected> {
        let header = validate(records, &self.settings, now_ms)?;
        let idempotent = header.producer_id >= 0 && header.base_sequence >= 0;
        let last_seq = header.base_sequence.wrapping_add(header.last_offset_delta);
        if idempotent {
            let check = self.producers.check(
                header.producer_id,
                header.producer_epoch,
                header.base_sequence,
                last_seq,
            )?;
            if let SequenceCheck::Duplicate(base_offset) = check {
                let log_start_offset = self.log.log_start_offset();
                return Ok(Appended {
                    base_offset,
                    last_offset: base_offset + i64::from(header.last_offset_delta),
                    log_append_time: -1,
                    log_start_offset,
                });
            }
        }
        let mut owned = records.to_vec();
        let log_append_time = if self.settings.log_append_time {
            batch::stamp_log_append_time(&mut owned, now_ms);
            now_ms
        } else {
            -1
        };
        let info = self
            .log
            .append(&mut owned, self.replication.leader_epoch(), now_ms)
            .map_err(|e| {
                tracing::error!(error = %e, "append failed");
                ResponseError::KafkaStorageError
            })?;
        if idempotent {
            let record = BatchRecord {
                first_seq: header.base_sequence,
                last_seq,
                base_offset: info.base_offset,
            };
            self.producers
                .record(header.producer_id, header.producer_epoch, record);
        }
        let end = self.log.log_end_offset();
        let _ = self.replication.advance_high_watermark(end);
        self.wake();
        Ok(Appended {
            base_offset: info.base_offset,
            last_offset: info.last_offset,
            log_append_time,
            log_start_offset: info.log_start_offset,
        })
    }

    pub fn log_start_offset(&self) -> i64 {
        self.log.log_start_offset()
    }

    pub fn log_end_offset(&self) -> i64 {
        self.log.log_end_offset()
    }

    /// Bytes of the partition's segments on disk.
    pub fn size_bytes(&self) -> u64 {
        self.log.size_bytes()
    }

    /// ListOffsets by timestamp: the first record at or after `ts` as (offset, timestamp).
    pub fn offset_for_timestamp(&self, ts: i64) -> Result<Option<(i64, i64)>, ResponseError> {
        self.log.offset_for_timestamp(ts).map_err(log_error_code)
    }

    /// ListOffsets MAX_TIMESTAMP: the first record with the largest timestamp.
    pub fn max_timestamp_offset(&self) -> Result<Option<(i64, i64)>, ResponseError> {
        self.log.max_timestamp_offset().map_err(log_error_code)
    }

    /// DeleteRecords: moves the log start offset to `offset` (at most the log end offset).
    pub fn delete_records_before(&mut self, offset: i64) -> Result<i64, ResponseError> {
        // The log refuses an offset outside its range; log_error_code makes it OFFSET_OUT_OF_RANGE.
        self.log
            .delete_records_before(offset)
            .map_err(log_error_code)
    }

    /// Reads whole batches from `offset` below the high watermark, as consumers may.
    pub fn read_committed(
        &self,
        offset: i64,
        max_bytes: usize,
        min_one: bool,
    ) -> Result<Bytes, ResponseError> {
        self.read_below(offset, max_bytes, min_one, self.high_watermark())
    }

    /// Reads whole batches from `offset` up to the log end, as followers fetch them.
    pub fn read(
        &self,
        offset: i64,
        max_bytes: usize,
        min_one: bool,
    ) -> Result<Bytes, ResponseError> {
        self.read_below(offset, max_bytes, min_one, self.log.log_end_offset())
    }

    fn read_below(
        &self,
        offset: i64,
        max_bytes: usize,
        min_one: bool,
        bound: i64,
    ) -> Result<Bytes, ResponseError> {
        self.log
            .read_bounded(offset, max_bytes, min_one, bound)
            .map_err(log_error_code)
    }
}

/// Rebuilds idempotent-producer state from the batch headers of the newest segments, so that a
/// retry that spans a restart is still recognised as a duplicate and a gap still refused.
/// Kafka reads a snapshot and the log after it; the newest segments stand in for both here.
fn rebuild_producer_state(log: &PartitionLog) -> Result<ProducerState, LogError> {
    let mut producers = ProducerState::default();
    for header in log.recent_batch_headers(PRODUCER_STATE_SEGMENTS)? {
        if header.producer_id >= 0 && header.base_sequence >= 0 && !header.is_control() {
            let record = BatchRecord {
                first_seq: header.base_sequence,
                last_seq: header.base_sequence.wrapping_add(header.last_offset_delta),
                base_offset: header.base_offset,
            };
            producers.record(header.producer_id, header.producer_epoch, record);
        }
    }
    Ok(producers)
}

/// Maps a log error to the code a client sees.
pub fn log_error_code(e: LogError) -> ResponseError {
    match e {
        LogError::OffsetOutOfRange { .. } => ResponseError::OffsetOutOfRange,
        other => {
            tracing::error!(error = %other, "log error");
            ResponseError::KafkaStorageError
        }
    }
}
