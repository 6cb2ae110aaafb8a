//! Where the coordinator's records go: the partitions of `__consumer_offsets`, written as
//! ordinary v2 record batches through the partition's own append path and read back on start.

use bytes::Bytes;
use indexmap::IndexMap;
use kafka_protocol::records::{Compression, Record, RecordBatchDecoder, TimestampType};
use kafka_protocol::ResponseError;

use super::OFFSETS_TOPIC;
use crate::log::encode::one_batch;
use crate::partition::replication::IsrWait;
use crate::partition::TxnVerification;
use crate::replica::{lock, ReplicaManager};

/// Bytes read per step while loading.
const LOAD_READ_BYTES: usize = 4 << 20;

/// A key and a value (None = tombstone).
pub type KeyValue = (Bytes, Option<Bytes>);

/// A record read back from an internal topic, with what its batch said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Logged {
    /// An ordinary record.
    Plain(KeyValue),
    /// A record of producer `producer_id`'s transaction (TxnOffsetCommit).
    Txn { producer_id: i64, record: KeyValue },
    /// The marker ending that producer's transaction.
    Marker { producer_id: i64, commit: bool },
}

/// A producer writing records as part of its transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxnProducer {
    pub producer_id: i64,
    pub producer_epoch: i16,
}

/// The coordinator's view of `__consumer_offsets`.
pub trait RecordLog: Send + Sync {
    /// Appends the records as one batch to the partition; they are durable as any acks=1 write.
    fn append(&self, partition: i32, records: Vec<KeyValue>) -> Result<(), ResponseError>;
    /// Appends the records as one batch of `producer`'s transaction.
    fn append_transactional(
        &self,
        partition: i32,
        producer: TxnProducer,
        records: Vec<KeyValue>,
    ) -> Result<(), ResponseError>;
    /// Every record of the partition, in offset order, with its transaction if any.
    fn read_all(&self, partition: i32) -> Result<Vec<Logged>, String>;
}

impl RecordLog for ReplicaManager {
    fn append(&self, partition: i32, records: Vec<KeyValue>) -> Result<(), ResponseError> {
        append_records(self, OFFSETS_TOPIC, partition, None, records).map(|_| ())
    }

    fn append_transactional(
        &self,
        partition: i32,
        producer: TxnProducer,
        records: Vec<KeyValue>,
    ) -> Result<(), ResponseError> {
        append_records(self, OFFSETS_TOPIC, partition, Some(producer), records).map(|_| ())
    }

    fn read_all(&self, partition: i32) -> Result<Vec<Logged>, String> {
        read_records(self, OFFSETS_TOPIC, partition)
    }
}

/// Appends `records` as one batch to a partition of an internal topic this broker leads
/// (of `producer`'s transaction when given); returns the wait for the ISR to have it.
pub fn append_records(
    replicas: &ReplicaManager,
    topic: &str,
    partition: i32,
    producer: Option<TxnProducer>,
    records: Vec<KeyValue>,
) -> Result<Option<IsrWait>, ResponseError> {
    let shared = replicas
        .get(topic, partition)
        .ok_or(ResponseError::CoordinatorNotAvailable)?;
    let now = crate::now_ms();
    let records: Vec<Record> = records
        .into_iter()
        .enumerate()
        .map(|(i, (key, value))| Record {
            transactional: producer.is_some(),
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: producer.map_or(-1, |p| p.producer_id),
            producer_epoch: producer.map_or(-1, |p| p.producer_epoch),
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
    let mut partition_lock = lock(&shared);
    if !partition_lock.is_leader() {
        return Err(ResponseError::NotCoordinator);
    }
    let appended = partition_lock
        .append(&buf, now, TxnVerification::Off)
        .map_err(|e| {
            tracing::error!(error = ?e, topic, partition, "appending to an internal topic failed");
            if e.error == ResponseError::InvalidProducerEpoch {
                ResponseError::ProducerFenced
            } else {
                ResponseError::CoordinatorNotAvailable
            }
        })?;
    Ok(partition_lock.isr_wait(appended.last_offset))
}

/// Every record of a partition of an internal topic, in offset order.
pub fn read_records(
    replicas: &ReplicaManager,
    topic: &str,
    partition: i32,
) -> Result<Vec<Logged>, String> {
    let Some(shared) = replicas.get(topic, partition) else {
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
                if r.offset < offset {
                    continue;
                }
                if r.control {
                    let commit = r.key.as_ref().is_some_and(|k| k.len() >= 4 && k[3] == 1);
                    out.push(Logged::Marker {
                        producer_id: r.producer_id,
                        commit,
                    });
                    continue;
                }
                let Some(key) = r.key else { continue };
                out.push(if r.transactional {
                    Logged::Txn {
                        producer_id: r.producer_id,
                        record: (key, r.value),
                    }
                } else {
                    Logged::Plain((key, r.value))
                });
            }
        }
        if next <= offset {
            break;
        }
        offset = next;
    }
    Ok(out)
}
