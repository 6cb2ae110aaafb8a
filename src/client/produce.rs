//! A producer for one topic: records are placed by Kafka's default partitioner, gathered into
//! one batch per partition, and a batch is sent when it reaches `batch_bytes`, when it is older
//! than `linger` (checked by [`Producer::dispatch_lingering`]) or on [`Producer::flush`], which
//! sends one request per leader for all the partitions it leads. Up to
//! `in_flight_max` Produce requests are outstanding at once; each is encoded (and compressed)
//! by kafka-protocol's `RecordBatchEncoder` on its own task, so encoding overlaps with the
//! caller building the next batch. Retriable errors are retried after a metadata refresh; there
//! is no idempotence, so a retried batch may be written twice, as with Kafka's
//! `enable.idempotence=false`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use indexmap::IndexMap;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ProduceRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use tokio::task::JoinSet;

use super::cluster::Cluster;
use super::partitioner::partition_for_key;
use crate::error::{Error, Result};

/// librdkafka's `batch.size` default: large batches are what make throughput.
pub const BATCH_BYTES_DEFAULT: usize = 1_000_000;
/// Kafka's `max.in.flight.requests.per.connection` default.
pub const IN_FLIGHT_MAX_DEFAULT: usize = 5;
/// librdkafka's `linger.ms` default.
pub const LINGER_DEFAULT: Duration = Duration::from_millis(5);
/// Per-record bytes beyond key, value and headers in a v2 batch, at most (varints, deltas).
const RECORD_OVERHEAD_BYTES: usize = 21;

/// One record to send.
#[derive(Debug, Clone, Default)]
pub struct ProducerRecord {
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<(String, Option<Bytes>)>,
    /// An explicit partition; else the default partitioner decides.
    pub partition: Option<i32>,
    /// Milliseconds since the epoch; the current time when `None`.
    pub timestamp: Option<i64>,
}

/// How to produce.
#[derive(Debug, Clone)]
pub struct ProduceOptions {
    /// 0, 1 or -1 (all).
    pub acks: i16,
    pub compression: Compression,
    pub batch_bytes: usize,
    pub in_flight_max: usize,
    pub linger: Duration,
    /// Keep each record's enqueue time so acks can report per-record latency (perf).
    pub track_latency: bool,
}

impl Default for ProduceOptions {
    fn default() -> Self {
        ProduceOptions {
            acks: -1,
            compression: Compression::None,
            batch_bytes: BATCH_BYTES_DEFAULT,
            in_flight_max: IN_FLIGHT_MAX_DEFAULT,
            linger: LINGER_DEFAULT,
            track_latency: false,
        }
    }
}

/// Parses `none|gzip|snappy|lz4|zstd`.
pub fn parse_compression(name: &str) -> Result<Compression> {
    match name.to_ascii_lowercase().as_str() {
        "none" => Ok(Compression::None),
        "gzip" => Ok(Compression::Gzip),
        "snappy" => Ok(Compression::Snappy),
        "lz4" => Ok(Compression::Lz4),
        "zstd" => Ok(Compression::Zstd),
        _ => Err(Error::Invalid(format!(
            "compression '{name}' is not one of none, gzip, snappy, lz4, zstd"
        ))),
    }
}

/// A batch the broker acknowledged.
#[derive(Debug, Clone)]
pub struct BatchAck {
    pub partition: i32,
    /// -1 with acks=0, which has no answer.
    pub base_offset: i64,
    pub records: usize,
    /// When the ack arrived.
    pub acked_at: Instant,
    /// Each record's enqueue time, when `track_latency` is on.
    pub enqueued: Vec<Instant>,
}

struct OpenBatch {
    records: Vec<Record>,
    bytes: usize,
    created: Instant,
    enqueued: Vec<Instant>,
}

/// A producer for one topic.
pub struct Producer {
    cluster: Arc<Cluster>,
    topic: String,
    partitions: i32,
    options: ProduceOptions,
    open: HashMap<i32, OpenBatch>,
    /// The partition null-keyed records go to until its batch is sent (KIP-480).
    sticky: Option<i32>,
    in_flight: JoinSet<Result<Vec<BatchAck>>>,
    acks: Vec<BatchAck>,
}

impl Producer {
    /// A producer for `topic`, which must exist.
    pub async fn new(
        cluster: Arc<Cluster>,
        topic: &str,
        options: ProduceOptions,
    ) -> Result<Producer> {
        let info = cluster.topic(topic).await?;
        let partitions = i32::try_from(info.partitions.len()).unwrap_or(i32::MAX);
        if partitions == 0 {
            return Err(Error::UnknownTopic(topic.to_string()));
        }
        Ok(Producer {
            cluster,
            topic: topic.to_string(),
            partitions,
            options,
            open: HashMap::new(),
            sticky: None,
            in_flight: JoinSet::new(),
            acks: Vec::new(),
        })
    }

    /// The topic's partition count.
    pub fn partitions(&self) -> i32 {
        self.partitions
    }

    /// Adds a record; sends its partition's batch when full. Waits only when `in_flight_max`
    /// requests are outstanding.
    pub async fn send(&mut self, record: ProducerRecord) -> Result<()> {
        let partition = self.choose_partition(&record)?;
        let now = Instant::now();
        let size = record_bytes(&record);
        let timestamp = record.timestamp.unwrap_or_else(now_ms);
        let batch = self.open.entry(partition).or_insert_with(|| OpenBatch {
            records: Vec::with_capacity(1024),
            bytes: 0,
            created: now,
            enqueued: Vec::new(),
        });
        let offset = batch.records.len() as i64;
        batch.records.push(to_record(record, offset, timestamp));
        batch.bytes += size;
        if self.options.track_latency {
            batch.enqueued.push(now);
        }
        if batch.bytes >= self.options.batch_bytes {
            self.dispatch(partition).await?;
        }
        Ok(())
    }

    fn choose_partition(&mut self, record: &ProducerRecord) -> Result<i32> {
        match (record.partition, &record.key) {
            (Some(p), _) if (0..self.partitions).contains(&p) => Ok(p),
            (Some(p), _) => Err(Error::Invalid(format!(
                "partition {p} does not exist: topic '{}' has partitions 0..{}",
                self.topic,
                self.partitions - 1
            ))),
            (None, Some(key)) => Ok(partition_for_key(key, self.partitions)),
            (None, None) => Ok(*self
                .sticky
                .get_or_insert_with(|| fastrand::i32(0..self.partitions))),
        }
    }

    /// Sends every batch older than `linger`.
    pub async fn dispatch_lingering(&mut self) -> Result<()> {
        let linger = self.options.linger;
        let due: Vec<i32> = self
            .open
            .iter()
            .filter(|(_, b)| b.created.elapsed() >= linger)
            .map(|(p, _)| *p)
            .collect();
        for p in due {
            self.dispatch(p).await?;
        }
        Ok(())
    }

    /// Sends every open batch, one request per leader for all its partitions, and waits for
    /// every outstanding request.
    pub async fn flush(&mut self) -> Result<()> {
        let mut by_leader: BTreeMap<i32, Vec<(i32, OpenBatch)>> = BTreeMap::new();
        let open: Vec<(i32, OpenBatch)> = self.open.drain().collect();
        self.sticky = None;
        for (partition, batch) in open {
            let leader = self
                .cluster
                .retry(|| self.cluster.leader(&self.topic, partition))
                .await?;
            by_leader
                .entry(leader)
                .or_default()
                .push((partition, batch));
        }
        for (leader, batches) in by_leader {
            self.wait_for_slot().await?;
            let job = self.job(batches[0].0);
            let _ = self.in_flight.spawn(job.run_many(leader, batches));
        }
        while let Some(done) = self.in_flight.join_next().await {
            self.acks.extend(joined(done)?);
        }
        Ok(())
    }

    /// Acknowledged batches since the last call.
    pub fn take_acks(&mut self) -> Vec<BatchAck> {
        std::mem::take(&mut self.acks)
    }

    /// Whether any batch is open or in flight.
    pub fn is_idle(&self) -> bool {
        self.open.is_empty() && self.in_flight.is_empty()
    }

    async fn dispatch(&mut self, partition: i32) -> Result<()> {
        let Some(batch) = self.open.remove(&partition) else {
            return Ok(());
        };
        if self.sticky == Some(partition) {
            self.sticky = None;
        }
        self.wait_for_slot().await?;
        let job = self.job(partition);
        let _ = self
            .in_flight
            .spawn(async move { job.run(batch).await.map(|ack| vec![ack]) });
        Ok(())
    }

    /// Waits until fewer than `in_flight_max` requests are outstanding, collecting acks.
    async fn wait_for_slot(&mut self) -> Result<()> {
        while self.in_flight.len() >= self.options.in_flight_max {
            match self.in_flight.join_next().await {
                Some(done) => self.acks.extend(joined(done)?),
                None => break,
            }
        }
        while let Some(done) = self.in_flight.try_join_next() {
            self.acks.extend(joined(done)?);
        }
        Ok(())
    }

    fn job(&self, partition: i32) -> SendJob {
        SendJob {
            cluster: self.cluster.clone(),
            topic: self.topic.clone(),
            partition,
            acks: self.options.acks,
            compression: self.options.compression,
        }
    }
}

fn joined(
    done: std::result::Result<Result<Vec<BatchAck>>, tokio::task::JoinError>,
) -> Result<Vec<BatchAck>> {
    done.map_err(|e| Error::Invalid(format!("produce task failed: {e}")))?
}

#[derive(Clone)]
struct SendJob {
    cluster: Arc<Cluster>,
    topic: String,
    partition: i32,
    acks: i16,
    compression: Compression,
}

impl SendJob {
    async fn run(self, batch: OpenBatch) -> Result<BatchAck> {
        let records = self.encode(&batch)?;
        let base_offset = self.deliver(records).await?;
        Ok(ack(self.partition, base_offset, batch))
    }

    fn encode(&self, batch: &OpenBatch) -> Result<Bytes> {
        let mut buf = BytesMut::with_capacity(batch.bytes + 128);
        let options = RecordEncodeOptions {
            version: 2,
            compression: self.compression,
        };
        RecordBatchEncoder::encode(&mut buf, batch.records.iter(), &options)
            .map_err(|e| Error::Invalid(format!("cannot encode a record batch: {e}")))?;
        Ok(buf.freeze())
    }

    /// Sends one partition's encoded batch, retrying retriable errors.
    async fn deliver(&self, records: Bytes) -> Result<i64> {
        let request = self.request(records);
        self.cluster.retry(|| self.attempt(&request)).await
    }

    /// Sends the batches of several partitions led by `leader` in one request; a partition
    /// that fails retriably (or all, if the request itself fails) goes on alone through
    /// [`SendJob::deliver`].
    async fn run_many(self, leader: i32, batches: Vec<(i32, OpenBatch)>) -> Result<Vec<BatchAck>> {
        let mut encoded = Vec::with_capacity(batches.len());
        for (partition, batch) in batches {
            let job = SendJob {
                partition,
                ..self.clone()
            };
            let records = job.encode(&batch)?;
            encoded.push((job, records, batch));
        }
        let mut answers = self
            .attempt_many(leader, &encoded)
            .await
            .unwrap_or_default();
        let mut acks = Vec::with_capacity(encoded.len());
        for (job, records, batch) in encoded {
            let base_offset = match answers.remove(&job.partition) {
                Some(Ok(offset)) => offset,
                Some(Err(e)) if !e.is_retriable() => return Err(e),
                _ => job.deliver(records).await?,
            };
            acks.push(ack(job.partition, base_offset, batch));
        }
        Ok(acks)
    }

    /// One Produce request for every encoded batch: each partition's base offset or error.
    async fn attempt_many(
        &self,
        leader: i32,
        encoded: &[(SendJob, Bytes, OpenBatch)],
    ) -> Result<HashMap<i32, Result<i64>>> {
        let data = encoded
            .iter()
            .map(|(job, records, _)| {
                PartitionProduceData::default()
                    .with_index(job.partition)
                    .with_records(Some(records.clone()))
            })
            .collect();
        let request = self.request_for(data);
        let conn = self.cluster.broker(leader).await?;
        if self.acks == 0 {
            conn.send_oneway(&request).await?;
            return Ok(encoded
                .iter()
                .map(|(j, _, _)| (j.partition, Ok(-1)))
                .collect());
        }
        let response = conn.send(&request).await?;
        Ok(response
            .responses
            .iter()
            .flat_map(|t| t.partition_responses.iter())
            .map(|p| {
                let result = if p.error_code == 0 {
                    Ok(p.base_offset)
                } else {
                    Err(Error::kafka(
                        format!("produce to {}-{}", self.topic, p.index),
                        p.error_code,
                        p.error_message.as_deref(),
                    ))
                };
                (p.index, result)
            })
            .collect())
    }

    fn request(&self, records: Bytes) -> ProduceRequest {
        self.request_for(vec![PartitionProduceData::default()
            .with_index(self.partition)
            .with_records(Some(records))])
    }

    fn request_for(&self, partitions: Vec<PartitionProduceData>) -> ProduceRequest {
        let timeout_ms =
            i32::try_from(self.cluster.request_timeout().as_millis()).unwrap_or(i32::MAX);
        ProduceRequest::default()
            .with_acks(self.acks)
            .with_timeout_ms(timeout_ms)
            .with_topic_data(vec![TopicProduceData::default()
                .with_name(TopicName(StrBytes::from_string(self.topic.clone())))
                .with_partition_data(partitions)])
    }

    async fn attempt(&self, request: &ProduceRequest) -> Result<i64> {
        let leader = self.cluster.leader(&self.topic, self.partition).await?;
        let conn = self.cluster.broker(leader).await?;
        if self.acks == 0 {
            conn.send_oneway(request).await?;
            return Ok(-1);
        }
        let response = conn.send(request).await?;
        let p = response
            .responses
            .iter()
            .flat_map(|t| t.partition_responses.iter())
            .find(|p| p.index == self.partition)
            .ok_or_else(|| Error::Protocol {
                addr: conn.addr().to_string(),
                reason: format!(
                    "no answer for partition {} in a Produce response",
                    self.partition
                ),
            })?;
        Error::check(
            || format!("produce to {}-{}", self.topic, self.partition),
            p.error_code,
            p.error_message.as_deref(),
        )?;
        Ok(p.base_offset)
    }
}

fn ack(partition: i32, base_offset: i64, batch: OpenBatch) -> BatchAck {
    BatchAck {
        partition,
        base_offset,
        records: batch.records.len(),
        acked_at: Instant::now(),
        enqueued: batch.enqueued,
    }
}

fn record_bytes(r: &ProducerRecord) -> usize {
    let headers: usize = r
        .headers
        .iter()
        .map(|(k, v)| k.len() + v.as_ref().map_or(0, Bytes::len) + 10)
        .sum();
    r.key.as_ref().map_or(0, Bytes::len)
        + r.value.as_ref().map_or(0, Bytes::len)
        + headers
        + RECORD_OVERHEAD_BYTES
}

fn to_record(r: ProducerRecord, offset: i64, timestamp: i64) -> Record {
    let headers: IndexMap<StrBytes, Option<Bytes>> = r
        .headers
        .into_iter()
        .map(|(k, v)| (StrBytes::from_string(k), v))
        .collect();
    Record {
        transactional: false,
        control: false,
        delete_horizon: false,
        partition_leader_epoch: -1,
        producer_id: -1,
        producer_epoch: -1,
        timestamp_type: TimestampType::Creation,
        offset,
        // kafka-protocol starts a new batch where offset - sequence changes, and the batch's
        // base sequence is the first record's: so sequence = offset - 1 gives one batch whose
        // base sequence is -1 (no idempotence), as Kafka requires one batch per partition.
        sequence: (offset as i32).wrapping_sub(1),
        timestamp,
        key: r.key,
        value: r.value,
        headers,
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
