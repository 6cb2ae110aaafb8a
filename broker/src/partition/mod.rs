//! One partition replica on this broker: its log, its idempotent-producer state and the
//! checks every produced batch passes before it is appended.
//!
//! The log (`crate::log`) stores bytes; this module decides what may be stored: exactly one
//! v2 batch per partition per request with valid records (`validate.rs`), sequences in order
//! for idempotent producers.

pub mod producer_state;
pub mod replication;
mod snapshot;
mod txn_verification;
pub mod validate;

use std::path::Path;
use std::sync::{Arc, Weak};

use bytes::Bytes;
use kafka_protocol::ResponseError;
use tokio::sync::Notify;

use crate::cluster::PartitionInfo;
use crate::log::batch::{self, BatchHeader};
use crate::log::control::{encode_marker, marker_of, Marker};
use crate::log::txn_index::AbortedTxn;
use crate::log::{LogConfig, LogError, PartitionLog};
use producer_state::{ActiveProducer, BatchRecord, ProducerState, SequenceCheck};
use replication::{FetchEffect, ReplicaSet, Transition};
pub use txn_verification::{PendingVerification, TxnVerification};
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
    /// The log start to return to after the next replicated append (see
    /// `align_empty_log_to`).
    start_after_append: Option<i64>,
}

/// Registered waiters past which the dead ones are swept out before another is added.
const WAITERS_SWEEP_AT: usize = 64;

impl Partition {
    /// Opens (and recovers) the partition's log in `dir`, as the replica on node `node_id`,
    /// leading alone until [`Self::apply`] says otherwise. The high watermark starts at the
    /// checkpointed one (at most the log end), or at the log end without a checkpoint.
    pub fn open(
        dir: &Path,
        settings: PartitionSettings,
        node_id: i32,
        leader_epoch: i32,
        checkpointed_hw: Option<i64>,
    ) -> Result<Self, LogError> {
        let log = PartitionLog::open(dir, settings.log.clone())?;
        let end = log.log_end_offset();
        let hw = checkpointed_hw.map_or(end, |hw| hw.clamp(log.log_start_offset(), end));
        let replication = ReplicaSet::new(node_id, leader_epoch, hw);
        let mut partition = Partition {
            log,
            producers: ProducerState::default(),
            replication,
            settings,
            waiters: Vec::new(),
            start_after_append: None,
        };
        partition.rebuild_producer_state()?;
        Ok(partition)
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
        let effect = self
            .replication
            .follower_fetched(replica, fetch_offset, end, now_ms);
        self.producers.high_watermark_moved(self.high_watermark());
        effect
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
            self.align_empty_log_to(records)?;
            let segments = self.log.segment_count();
            let first = batch::parse_header_prefix(records).map(|h| h.base_offset);
            let _ = self.log.append_replicated(records, now_ms)?;
            if let (true, Ok(base)) = (self.log.segment_count() != segments, first) {
                self.snapshot_at(base);
            }
            for item in batch::split_batches(records) {
                let Ok((header, range)) = item else { break };
                let marker = header
                    .is_control()
                    .then(|| marker_of(&records[range]))
                    .flatten();
                self.observe(&header, marker)?;
            }
            if let Some(start) = self.start_after_append.take() {
                self.log.delete_records_before(start)?;
            }
        }
        let end = self.log.log_end_offset();
        self.replication.set_follower_high_watermark(leader_hw, end);
        self.producers.high_watermark_moved(self.high_watermark());
        if !records.is_empty() {
            self.wake();
        }
        Ok(())
    }

    /// An empty follower log (just started over at the leader's log start) whose first fetched
    /// batch begins before that start, because DeleteRecords moved the leader's log start into
    /// the middle of a batch: the log starts again at the batch's base offset, and its log
    /// start goes back to where it was once the batch is in (Kafka's follower does the same).
    fn align_empty_log_to(&mut self, records: &[u8]) -> Result<(), LogError> {
        let end = self.log.log_end_offset();
        if end != self.log.log_start_offset() {
            return Ok(());
        }
        let Ok(first) = batch::parse_header_prefix(records) else {
            return Ok(());
        };
        if first.base_offset < end && first.last_offset() >= end {
            self.log.truncate_fully_and_start_at(first.base_offset)?;
            self.start_after_append = Some(end);
        }
        Ok(())
    }

    /// A follower whose log ends before the leader's log start: its log starts over, empty,
    /// at `leader_start` (Kafka's `truncateFullyAndStartAt`), and so does its producer state.
    pub fn restart_at(&mut self, leader_start: i64) -> Result<(), LogError> {
        self.log.truncate_fully_and_start_at(leader_start)?;
        self.replication.clamp_high_watermark(leader_start);
        snapshot::remove_after(self.log.dir(), -1);
        self.producers = ProducerState::default();
        Ok(())
    }

    /// Cuts the log at `offset` (a follower's divergent tail); returns the new end.
    pub fn truncate_to(&mut self, offset: i64) -> Result<i64, LogError> {
        let end = self.log.truncate_to(offset)?;
        self.replication.clamp_high_watermark(end);
        // The producer state of the cut log: from a snapshot below the cut, replayed.
        snapshot::remove_after(self.log.dir(), end);
        self.rebuild_producer_state()?;
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

    /// Closes the log cleanly (flush, fsync, clean-shutdown marker), with a producer
    /// snapshot at its end.
    pub fn close(self) -> Result<(), LogError> {
        self.snapshot_at(self.log.log_end_offset());
        self.log.close()
    }

    /// Validates and appends the records of one produce request for this partition;
    /// `verification` says how a transactional batch was verified with its coordinator.
    pub fn append(
        &mut self,
        records: &[u8],
        now_ms: i64,
        verification: TxnVerification,
    ) -> Result<Appended, Rejected> {
        let header = validate(records, &self.settings, now_ms)?;
        if header.is_control() {
            // Only the transaction coordinator writes markers (WriteTxnMarkers).
            return Err(Rejected {
                error: ResponseError::InvalidRecord,
                record_errors: Vec::new(),
                message: Some("Clients may not write control batches.".to_string()),
            });
        }
        let idempotent = header.producer_id >= 0 && header.base_sequence >= 0;
        let last_seq = header.base_sequence.wrapping_add(header.last_offset_delta);
        if header.producer_id >= 0 {
            self.producers.check_transactional(
                header.producer_id,
                header.producer_epoch,
                header.is_transactional(),
            )?;
        }
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
        // After the duplicate check, as Kafka: a retried batch of a completed transaction is
        // answered as the duplicate it is.
        self.check_verified(&header, verification)?;
        let mut owned = records.to_vec();
        let log_append_time = if self.settings.log_append_time {
            batch::stamp_log_append_time(&mut owned, now_ms);
            now_ms
        } else {
            -1
        };
        let info = self.append_as_leader(&mut owned, now_ms).map_err(|e| {
            tracing::error!(error = %e, "append failed");
            ResponseError::KafkaStorageError
        })?;
        let mut appended = header;
        appended.base_offset = info.base_offset;
        self.observe(&appended, None).map_err(|e| {
            tracing::error!(error = %e, "recording producer state failed");
            ResponseError::KafkaStorageError
        })?;
        self.leader_appended();
        Ok(Appended {
            base_offset: info.base_offset,
            last_offset: info.last_offset,
            log_append_time,
            log_start_offset: info.log_start_offset,
        })
    }

    /// Appends as the leader at its epoch, with a producer snapshot when the append rolled
    /// a segment (the state as of the new segment's base, before this append).
    fn append_as_leader(
        &mut self,
        batches: &mut [u8],
        now_ms: i64,
    ) -> Result<crate::log::AppendInfo, LogError> {
        let segments = self.log.segment_count();
        let info = self
            .log
            .append(batches, self.replication.leader_epoch(), now_ms)?;
        if self.log.segment_count() != segments {
            self.snapshot_at(info.base_offset);
        }
        Ok(info)
    }

    /// After a leader's append: the high watermark follows (alone in the ISR), waiters wake.
    fn leader_appended(&mut self) {
        let end = self.log.log_end_offset();
        let _ = self.replication.advance_high_watermark(end);
        self.producers.high_watermark_moved(self.high_watermark());
        self.wake();
    }

    /// Writes the coordinator's marker ending `producer_id`'s transaction here (Kafka's
    /// `appendEndTxnMarker`); returns its offset and, for acks=all, the wait for the ISR.
    pub fn append_marker(
        &mut self,
        producer_id: i64,
        producer_epoch: i16,
        marker: Marker,
        now_ms: i64,
    ) -> Result<(i64, Option<replication::IsrWait>), ResponseError> {
        self.producers
            .check_marker(producer_id, producer_epoch, marker.coordinator_epoch)?;
        let mut bytes =
            encode_marker(producer_id, producer_epoch, marker, now_ms).map_err(|e| {
                tracing::error!(error = %e, "encoding a transaction marker failed");
                ResponseError::UnknownServerError
            })?;
        let storage = |e: LogError| {
            tracing::error!(error = %e, "appending a transaction marker failed");
            ResponseError::KafkaStorageError
        };
        let info = self.append_as_leader(&mut bytes, now_ms).map_err(storage)?;
        let header = batch::parse_header(&bytes).map_err(|_| ResponseError::UnknownServerError)?;
        self.observe(&header, Some(marker)).map_err(storage)?;
        self.leader_appended();
        Ok((info.base_offset, self.isr_wait(info.last_offset)))
    }

    /// Takes one appended batch (its offsets final) into the producer state; a marker ends
    /// its producer's transaction, and an ABORT is recorded in the aborted-transaction index.
    fn observe(&mut self, header: &BatchHeader, marker: Option<Marker>) -> Result<(), LogError> {
        if header.producer_id < 0 {
            return Ok(());
        }
        if header.is_control() {
            let Some(marker) = marker else {
                return Ok(());
            };
            let done = self.producers.complete(
                header.producer_id,
                header.producer_epoch,
                marker.coordinator_epoch,
                header.base_offset,
                header.max_timestamp,
            );
            if let (Some(txn), false) = (done, marker.commit) {
                self.log.record_aborted(AbortedTxn {
                    producer_id: txn.producer_id,
                    first_offset: txn.first_offset,
                    last_offset: txn.marker_offset,
                    last_stable_offset: txn.last_stable_offset,
                })?;
            }
            return Ok(());
        }
        let record = BatchRecord {
            first_seq: header.base_sequence,
            last_seq: header.base_sequence.wrapping_add(header.last_offset_delta),
            base_offset: header.base_offset,
            offset_delta: header.last_offset_delta,
        };
        self.producers.record(
            header.producer_id,
            header.producer_epoch,
            record,
            header.is_transactional(),
            header.max_timestamp,
        );
        Ok(())
    }

    /// Rebuilds the producer state (and any aborted-transaction entries a crash lost) from
    /// the newest snapshot and the batches after it; without a snapshot, from the newest
    /// segments, as an older data directory has none.
    fn rebuild_producer_state(&mut self) -> Result<(), LogError> {
        let end = self.log.log_end_offset();
        let recent = self.log.base_of_recent_segments(PRODUCER_STATE_SEGMENTS);
        let snapshot = snapshot::read_latest(self.log.dir(), end)
            .filter(|(offset, _)| *offset >= self.log.log_start_offset());
        // The newest segments are replayed even below the snapshot: a snapshot keeps one
        // sequence range per producer (Kafka's format), the log the last five, so that a
        // retry of any of them is still answered as a duplicate after a restart.
        let from = snapshot
            .as_ref()
            .map_or(recent, |(offset, _)| recent.min(*offset));
        self.producers = ProducerState::default();
        let mut snapshot = snapshot;
        for (header, marker) in self.log.batches_since(from)? {
            if header.base_offset < from {
                continue;
            }
            if snapshot
                .as_ref()
                .is_some_and(|(at, _)| header.base_offset >= *at)
            {
                if let Some((_, state)) = snapshot.take() {
                    self.producers.merge_snapshot(state);
                }
            }
            self.observe(&header, marker)?;
        }
        if let Some((_, state)) = snapshot {
            self.producers.merge_snapshot(state);
        }
        self.producers.high_watermark_moved(self.high_watermark());
        Ok(())
    }

    /// Writes a producer snapshot as of `offset`; a failure costs only a longer replay.
    fn snapshot_at(&self, offset: i64) {
        if let Err(e) = snapshot::write(self.log.dir(), offset, &self.producers) {
            tracing::warn!(error = %e, offset, "writing a producer snapshot failed");
        }
    }

    /// The last stable offset: read_committed consumers read below it, and the cleaner stops
    /// there.
    pub fn last_stable_offset(&self) -> i64 {
        let hw = self.high_watermark();
        self.producers
            .first_unstable_offset(hw)
            .map_or(hw, |o| o.min(hw))
    }

    /// The aborted transactions overlapping `[from, below)` (a read_committed fetch).
    pub fn aborted_between(&self, from: i64, below: i64) -> Vec<AbortedTxn> {
        self.log.txn_index().overlapping(from, below)
    }

    /// The producers with state here (DescribeProducers).
    pub fn active_producers(&self) -> Vec<ActiveProducer> {
        self.producers.active()
    }

    /// Reads whole batches from `offset` below the last stable offset (read_committed).
    pub fn read_stable(
        &self,
        offset: i64,
        max_bytes: usize,
        min_one: bool,
    ) -> Result<Bytes, ResponseError> {
        self.read_below(offset, max_bytes, min_one, self.last_stable_offset())
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
    pub fn read_visible(
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
