//! One partition replica on this broker: its log, its idempotent-producer state and the
//! checks every produced batch passes before it is appended.
//!
//! The log (`crate::log`) stores bytes; this module decides what may be stored: exactly one
//! v2 batch per partition per request with valid records (`validate.rs`), sequences in order
//! for idempotent producers.

pub mod producer_state;
pub mod validate;

use std::path::Path;

use bytes::Bytes;
use kafka_protocol::ResponseError;

use crate::log::batch;
use crate::log::{LogConfig, LogError, PartitionLog};
use producer_state::{BatchRecord, ProducerState, SequenceCheck};
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
    pub log_append_time: i64,
    pub log_start_offset: i64,
}

/// A partition replica: log plus producer state.
#[derive(Debug)]
pub struct Partition {
    log: PartitionLog,
    producers: ProducerState,
    /// The leader epoch stamped into each appended batch.
    leader_epoch: i32,
    /// Whether this replica leads the partition; only a leader serves clients.
    leader: bool,
    settings: PartitionSettings,
}

impl Partition {
    /// Opens (and recovers) the partition's log in `dir`.
    pub fn open(
        dir: &Path,
        settings: PartitionSettings,
        leader_epoch: i32,
    ) -> Result<Self, LogError> {
        let log = PartitionLog::open(dir, settings.log.clone())?;
        let producers = rebuild_producer_state(&log)?;
        Ok(Partition {
            log,
            producers,
            leader_epoch,
            leader: true,
            settings,
        })
    }

    /// Applies changed topic configs.
    pub fn set_settings(&mut self, settings: PartitionSettings) {
        self.log.set_config(settings.log.clone());
        self.settings = settings;
    }

    pub fn is_leader(&self) -> bool {
        self.leader
    }

    /// Makes this replica the partition's leader or a follower at `leader_epoch`.
    pub fn set_leader(&mut self, leader: bool, leader_epoch: i32) {
        self.leader = leader;
        self.leader_epoch = leader_epoch;
    }

    pub fn leader_epoch(&self) -> i32 {
        self.leader_epoch
    }

    /// Kafka's leader epoch fencing of a client's view (-1: the client does not say): a client
    /// behind us is fenced, one ahead of us must refresh its metadata.
    pub fn check_leader_epoch(&self, requested: i32) -> Result<(), ResponseError> {
        if requested < 0 || requested == self.leader_epoch {
            Ok(())
        } else if requested < self.leader_epoch {
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
            .append(&mut owned, self.leader_epoch, now_ms)
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
        Ok(Appended {
            base_offset: info.base_offset,
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

    /// Reads whole batches from `offset`, as the log stores them.
    pub fn read(
        &self,
        offset: i64,
        max_bytes: usize,
        min_one: bool,
    ) -> Result<Bytes, ResponseError> {
        self.log
            .read(offset, max_bytes, min_one)
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
