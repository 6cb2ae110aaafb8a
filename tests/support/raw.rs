//! A raw protocol connection for the cases a well-behaved client never produces: retried
//! batches, sequence gaps, malformed frames. Requests are encoded with kafka-protocol.
//! Shared by the test binaries through `#[path]` (the cluster harness reads Metadata with it).

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub struct Raw {
    pub stream: TcpStream,
    correlation: i32,
}

impl Raw {
    pub async fn connect(bootstrap: &str) -> Self {
        Self::from_stream(TcpStream::connect(bootstrap).await.expect("connect"))
    }

    /// A raw connection over an open stream.
    pub fn from_stream(stream: TcpStream) -> Self {
        Raw {
            stream,
            correlation: 0,
        }
    }

    /// Sends `body` as `key` at `version` and decodes the response of type `R`.
    pub async fn call<Q: Encodable, R: Decodable>(
        &mut self,
        key: ApiKey,
        version: i16,
        body: &Q,
    ) -> R {
        self.send(key, version, body).await;
        self.receive(key, version).await
    }

    pub async fn send<Q: Encodable>(&mut self, key: ApiKey, version: i16, body: &Q) {
        self.correlation += 1;
        let header = RequestHeader::default()
            .with_request_api_key(key as i16)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation)
            .with_client_id(Some(StrBytes::from_static_str("raw-test")));
        let mut buf = BytesMut::new();
        buf.put_i32(0);
        header
            .encode(&mut buf, key.request_header_version(version))
            .expect("header");
        body.encode(&mut buf, version).expect("body");
        let len = (buf.len() - 4) as i32;
        buf[..4].copy_from_slice(&len.to_be_bytes());
        self.stream.write_all(&buf).await.expect("write");
    }

    pub async fn receive<R: Decodable>(&mut self, key: ApiKey, version: i16) -> R {
        let correlation = self.correlation;
        self.receive_as(key, version, correlation).await
    }

    /// Reads a response expected to carry `correlation`.
    pub async fn receive_as<R: Decodable>(
        &mut self,
        key: ApiKey,
        version: i16,
        correlation: i32,
    ) -> R {
        let len = self.stream.read_i32().await.expect("length") as usize;
        let mut buf = vec![0u8; len];
        self.stream.read_exact(&mut buf).await.expect("body");
        let mut bytes = Bytes::from(buf);
        let header = ResponseHeader::decode(&mut bytes, key.response_header_version(version))
            .expect("response header");
        assert_eq!(header.correlation_id, correlation);
        let r = R::decode(&mut bytes, version).expect("response body");
        assert_eq!(bytes.remaining(), 0, "response fully decoded");
        r
    }

    /// Produces `records` (one batch) to partition 0 of `topic` with acks=-1 at Produce v9;
    /// returns the partition's (error code, base offset).
    pub async fn produce(&mut self, topic: &'static str, records: Bytes) -> (i16, i64) {
        self.produce_as(None, topic, records).await
    }

    /// As [`Raw::produce`], as the producer of `transactional_id` when there is one.
    pub async fn produce_as(
        &mut self,
        transactional_id: Option<&str>,
        topic: &str,
        records: Bytes,
    ) -> (i16, i64) {
        use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
        use kafka_protocol::messages::{
            ProduceRequest, ProduceResponse, TopicName, TransactionalId,
        };
        let partition = PartitionProduceData::default()
            .with_index(0)
            .with_records(Some(records));
        let topic = TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_string(topic.to_string())))
            .with_partition_data(vec![partition]);
        let request = ProduceRequest::default()
            .with_transactional_id(
                transactional_id.map(|id| TransactionalId(StrBytes::from_string(id.to_string()))),
            )
            .with_acks(-1)
            .with_timeout_ms(5000)
            .with_topic_data(vec![topic]);
        let response: ProduceResponse = self.call(ApiKey::Produce, 9, &request).await;
        let p = &response.responses[0].partition_responses[0];
        (p.error_code, p.base_offset)
    }

    /// InitProducerId v4 without a transactional id (an idempotent producer, a 60 s
    /// transaction timeout): its producer id and epoch.
    pub async fn init_producer_id(&mut self) -> (i64, i16) {
        use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse};
        let request = InitProducerIdRequest::default()
            .with_transactional_id(None)
            .with_transaction_timeout_ms(60_000);
        let init: InitProducerIdResponse = self.call(ApiKey::InitProducerId, 4, &request).await;
        assert_eq!(init.error_code, 0, "InitProducerId");
        (init.producer_id.0, init.producer_epoch)
    }

    /// True when the broker has closed this connection.
    pub async fn is_closed(&mut self) -> bool {
        let mut byte = [0u8; 1];
        matches!(
            tokio::time::timeout(
                std::time::Duration::from_secs(10),
                self.stream.read(&mut byte)
            )
            .await,
            Ok(Ok(0)) | Ok(Err(_))
        )
    }
}

/// The producer fields of a hand-made batch: (producer id, epoch, first sequence), or none.
pub type Producer = Option<(i64, i16, i32)>;

/// One v2 batch, encoded with kafka-protocol, of one record per timestamp; values are
/// `{prefix}{n}` with n counting from the first sequence (or 0).
pub fn batch(
    timestamps: &[i64],
    producer: Producer,
    prefix: &str,
    compression: kafka_protocol::records::Compression,
) -> Bytes {
    use kafka_protocol::records::{Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType};
    let (producer_id, producer_epoch, first_seq) = producer.unwrap_or((-1, -1, 0));
    let records: Vec<Record> = timestamps
        .iter()
        .enumerate()
        .map(|(i, ts)| {
            let n = first_seq + i as i32;
            Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: -1,
                producer_id,
                producer_epoch,
                timestamp_type: TimestampType::Creation,
                offset: i as i64,
                sequence: if producer.is_some() { n } else { i as i32 },
                timestamp: *ts,
                key: None,
                value: Some(Bytes::from(format!("{prefix}{n}"))),
                headers: Default::default(),
            }
        })
        .collect();
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression,
    };
    RecordBatchEncoder::encode(&mut buf, &records, &options).expect("encode batch");
    buf.freeze()
}

/// A Fetch (v12 fields) of partition 0 of `topic` from offset 0, 1 MiB at most, waiting up to
/// `max_wait_ms` for a byte; `replica_id` -1 is a consumer, a broker id a follower.
pub fn fetch_partition_zero(
    topic: &'static str,
    replica_id: i32,
    max_wait_ms: i32,
) -> kafka_protocol::messages::FetchRequest {
    use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
    use kafka_protocol::messages::{BrokerId, FetchRequest, TopicName};
    FetchRequest::default()
        .with_replica_id(BrokerId(replica_id))
        .with_max_wait_ms(max_wait_ms)
        .with_min_bytes(1)
        .with_max_bytes(1 << 20)
        .with_topics(vec![FetchTopic::default()
            .with_topic(TopicName(StrBytes::from_static_str(topic)))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(0)
                .with_partition_max_bytes(1 << 20)])])
}

/// One transactional batch of one record `value`, of producer `(id, epoch)` at `sequence`.
pub fn transactional_batch(producer: (i64, i16), sequence: i32, value: &'static [u8]) -> Bytes {
    use kafka_protocol::records::{
        Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
    };
    let record = Record {
        transactional: true,
        control: false,
        delete_horizon: false,
        partition_leader_epoch: -1,
        producer_id: producer.0,
        producer_epoch: producer.1,
        timestamp_type: TimestampType::Creation,
        offset: 0,
        sequence,
        // A second old, so that it is older than a zero-minute bound.
        timestamp: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            - 1_000,
        key: None,
        value: Some(Bytes::from_static(value)),
        headers: Default::default(),
    };
    let mut buf = bytes::BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::None,
    };
    RecordBatchEncoder::encode(&mut buf, std::iter::once(&record), &options).expect("encode");
    buf.freeze()
}
