//! Offsets for timestamps look inside batches, as Kafka's do: librdkafka's `offsets_for_times`
//! and ListOffsets MAX_TIMESTAMP (-3) answer the first record at or after the target, not the
//! batch holding it. One batch of 100 records 1 s apart is written in one Produce, so every
//! lookup below lands inside it.

use std::time::Duration;

use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{ApiKey, ListOffsetsRequest, ListOffsetsResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};

use crate::common::{consumer, create_topic, TestBroker};
use crate::raw::Raw;

const TIMEOUT: Duration = Duration::from_secs(10);
/// Within `message.timestamp.after.max.ms` of now, and not in the future.
fn base_ts() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis();
    i64::try_from(now).expect("ms") - 1_000_000
}

fn one_batch(timestamps: &[i64], compression: Compression) -> bytes::Bytes {
    crate::raw::batch(timestamps, None, "v", compression)
}

async fn produce_one(bootstrap: &str, topic: &'static str, records: bytes::Bytes) {
    let mut raw = Raw::connect(bootstrap).await;
    assert_eq!(
        raw.produce(topic, records).await,
        (0, 0),
        "one batch at offset 0"
    );
}

/// librdkafka's answer for `ts`: the offset, or `None` for "no such record" (the end).
fn offset_for(c: &BaseConsumer, topic: &str, ts: i64) -> Option<i64> {
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Offset(ts))
        .expect("tpl");
    let found = c
        .offsets_for_times(tpl, TIMEOUT)
        .expect("offsets for times");
    match found.find_partition(topic, 0).expect("partition").offset() {
        Offset::Offset(o) => Some(o),
        Offset::End => None,
        other => panic!("unexpected answer {other:?} for {ts}"),
    }
}

/// ListOffsets v7 for `ts` (-3 is MAX_TIMESTAMP): (offset, timestamp).
async fn list_offsets(bootstrap: &str, topic: &'static str, ts: i64) -> (i64, i64) {
    let mut raw = Raw::connect(bootstrap).await;
    let request = ListOffsetsRequest::default()
        .with_replica_id(kafka_protocol::messages::BrokerId(-1))
        .with_topics(vec![ListOffsetsTopic::default()
            .with_name(TopicName(StrBytes::from_static_str(topic)))
            .with_partitions(vec![ListOffsetsPartition::default()
                .with_partition_index(0)
                .with_timestamp(ts)])]);
    let response: ListOffsetsResponse = raw.call(ApiKey::ListOffsets, 7, &request).await;
    let p = &response.topics[0].partitions[0];
    assert_eq!(p.error_code, 0);
    (p.offset, p.timestamp)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_for_times_find_the_record_inside_a_batch() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    let base = base_ts();
    for (topic, compression) in [("plain", Compression::None), ("zstd", Compression::Zstd)] {
        create_topic(&bootstrap, topic, 1, &[]).await;
        let mut timestamps: Vec<i64> = (0..100).map(|i| base + i * 1_000).collect();
        // The largest timestamp sits inside the batch, not at its end.
        timestamps[70] = base + 500_000;
        produce_one(&bootstrap, topic, one_batch(&timestamps, compression)).await;
        let c = consumer(&bootstrap);
        assert_eq!(offset_for(&c, topic, base), Some(0), "{topic}");
        assert_eq!(offset_for(&c, topic, base + 50_000), Some(50), "{topic}");
        assert_eq!(offset_for(&c, topic, base + 49_001), Some(50), "{topic}");
        assert_eq!(offset_for(&c, topic, base + 99_000), Some(70), "{topic}");
        assert_eq!(offset_for(&c, topic, base + 500_001), None, "{topic}");
        assert_eq!(
            list_offsets(&bootstrap, topic, base + 50_000).await,
            (50, base + 50_000),
            "{topic}: the record's own timestamp"
        );
        assert_eq!(
            list_offsets(&bootstrap, topic, -3).await,
            (70, base + 500_000),
            "{topic}: MAX_TIMESTAMP"
        );
    }
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_for_times_on_a_log_append_time_topic() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    let topic = "appended";
    create_topic(
        &bootstrap,
        topic,
        1,
        &[("message.timestamp.type", "LogAppendTime")],
    )
    .await;
    let base = base_ts();
    let timestamps: Vec<i64> = (0..100).map(|i| base + i * 1_000).collect();
    produce_one(&bootstrap, topic, one_batch(&timestamps, Compression::None)).await;
    // Every record now carries the broker's append time; the producer's are gone.
    let (offset, appended) = list_offsets(&bootstrap, topic, -3).await;
    assert_eq!(offset, 0, "the first record with the max timestamp");
    assert!(appended > base + 100_000, "append time {appended}");
    let c = consumer(&bootstrap);
    assert_eq!(offset_for(&c, topic, base + 50_000), Some(0));
    assert_eq!(offset_for(&c, topic, appended), Some(0));
    assert_eq!(offset_for(&c, topic, appended + 1), None);
    assert_eq!(
        list_offsets(&bootstrap, topic, appended).await,
        (0, appended)
    );
    broker.stop().await;
}
