//! Where the coordinator's records go: the partitions of `__consumer_offsets`, written as
//! ordinary v2 record batches through the partition's own append path and read back on start.

use bytes::Bytes;
use indexmap::IndexMap;
use kafka_protocol::records::{Compression, Record, RecordBatchDecoder, TimestampType};
use kafka_protocol::ResponseError;

use super::OFFSETS_TOPIC;
use crate::log::encode::one_batch;
use crate::replica::{lock, ReplicaManager};

/// Bytes read per step while loading.
const LOAD_READ_BYTES: usize = 4 << 20;

/// A key and a value (None = tombstone).
pub type KeyValue = (Bytes, Option<Bytes>);

/// The coordinator's view of `__consumer_offsets`.
pub trait RecordLog: Send + Sync {
    /// Appends the records as one batch to the partition; they are durable as any acks=1 write.
    fn append(&self, partition: i32, records: Vec<KeyValue>) -> Result<(), ResponseError>;
    /// Every record of the partition, in offset order.
    fn read_all(&self, partition: i32) -> Result<Vec<KeyValue>, String>;
}

impl RecordLog for ReplicaManager {
    fn append(&self, partition: i32, records: Vec<KeyValue>) -> Result<(), ResponseError> {
        let shared = self
            .get(OFFSETS_TOPIC, partition)
            .ok_or(ResponseError::CoordinatorNotAvailable)?;
        let now = crate::now_ms();
        let records: Vec<Record> = records
            .into_iter()
            .enumerate()
            .map(|(i, (key, value))| Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: -1,
                producer_id: -1,
                producer_epoch: -1,
                timestamp_type: TimestampType::Creation,
                offset: i64::try_from(i).unwrap_or(i64::MAX),
                sequence: -1,
                timestamp: now,
                key: Some(key),
                value,
                headers: IndexMap::new(),
            })
            .collect();
        let buf = one_batch(records, Compression::None).map_err(|e| {
            tracing::error!(error = %e, "encoding a coordinator batch failed");
            ResponseError::UnknownServerError
        })?;
        lock(&shared).append(&buf, now).map_err(|e| {
            tracing::error!(error = ?e, partition, "appending to __consumer_offsets failed");
            ResponseError::CoordinatorNotAvailable
        })?;
        Ok(())
    }

    fn read_all(&self, partition: i32) -> Result<Vec<KeyValue>, String> {
        let Some(shared) = self.get(OFFSETS_TOPIC, partition) else {
            return Ok(Vec::new());
        };
        let partition = lock(&shared);
        let end = partition.log().log_end_offset();
        let mut offset = partition.log().log_start_offset();
        let mut out = Vec::new();
        while offset < end {
            let mut chunk = partition
                .read(offset, LOAD_READ_BYTES, true)
                .map_err(|e| format!("reading offset {offset}: {e:?}"))?;
            if chunk.is_empty() {
                break;
            }
            let sets = RecordBatchDecoder::decode_all(&mut chunk).map_err(|e| e.to_string())?;
            let mut next = offset;
            for set in sets {
                for r in set.records {
                    next = next.max(r.offset + 1);
                    if r.offset < offset || r.control {
                        continue;
                    }
                    if let Some(key) = r.key {
                        out.push((key, r.value));
                    }
                }
            }
            if next <= offset {
                break;
            }
            offset = next;
        }
        Ok(out)
    }
}
