//! Offsets through librdkafka: watermarks, offsets for timestamps, DeleteRecords; and the
//! idempotent producer's duplicate and gap handling, which needs hand-made retries.

use std::time::Duration;

use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ApiKey, ProduceRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;
use rdkafka::admin::AdminOptions;
use rdkafka::consumer::Consumer;
use rdkafka::producer::FutureRecord;
use rdkafka::{Offset, TopicPartitionList};

use crate::common::{admin, consumer, create_topic, producer, TestBroker};
use crate::raw::Raw;

const TIMEOUT: Duration = Duration::from_secs(10);
const BASE_TS: i64 = 1_700_000_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timestamps_watermarks_and_delete_records() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, "ts", 1, &[]).await;
    let p = producer(&bootstrap, &[("linger.ms", "0")]);
    for i in 0..100i64 {
        let value = format!("v{i}");
        let record = FutureRecord::<(), _>::to("ts")
            .payload(&value)
            .timestamp(BASE_TS + i * 1000);
        p.send(record, TIMEOUT).await.expect("delivered");
    }
    let c = consumer(&bootstrap);
    assert_eq!(
        c.fetch_watermarks("ts", 0, TIMEOUT).expect("watermarks"),
        (0, 100)
    );

    for (ts, want) in [
        (BASE_TS, 0),
        (BASE_TS + 41_500, 42),
        (BASE_TS + 99_000, 99),
        (BASE_TS + 500_000, -1),
    ] {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset("ts", 0, Offset::Offset(ts))
            .expect("tpl");
        let found = c
            .offsets_for_times(tpl, TIMEOUT)
            .expect("offsets for times");
        let offset = found.find_partition("ts", 0).expect("partition").offset();
        let want = if want < 0 {
            Offset::End
        } else {
            Offset::Offset(want)
        };
        assert_eq!(offset, want, "offset for timestamp {ts}");
    }

    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("ts", 0, Offset::Offset(30))
        .expect("tpl");
    let deleted = admin(&bootstrap)
        .delete_records(&tpl, &AdminOptions::new())
        .await
        .expect("delete records");
    assert_eq!(
        deleted.find_partition("ts", 0).expect("partition").offset(),
        Offset::Offset(30)
    );
    assert_eq!(
        c.fetch_watermarks("ts", 0, TIMEOUT).expect("watermarks"),
        (30, 100)
    );
    let first = crate::common::consume(&bootstrap, "ts", 1, Offset::Beginning, 1);
    assert_eq!(first[0].offset, 30);
    assert_eq!(first[0].value.as_deref(), Some(&b"v30"[..]));

    // The low watermark survives a restart.
    let dir = broker.stop().await;
    let broker = TestBroker::start_with(dir, &[]).await;
    let c = consumer(&broker.bootstrap());
    assert_eq!(
        c.fetch_watermarks("ts", 0, TIMEOUT).expect("watermarks"),
        (30, 100)
    );
    broker.stop().await;
}

/// `count` records of the idempotent producer `pid`/`epoch` from sequence `first_seq`.
fn batch(producer_id: i64, epoch: i16, first_seq: i32, count: i32) -> bytes::Bytes {
    let timestamps = vec![BASE_TS; count as usize];
    crate::raw::batch(
        &timestamps,
        (producer_id >= 0).then_some((producer_id, epoch, first_seq)),
        "r",
        Compression::None,
    )
}

async fn produce_raw(raw: &mut Raw, records: bytes::Bytes) -> (i16, i64) {
    raw.produce("idem", records).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotent_retries_and_gaps() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, "idem", 1, &[]).await;
    let mut raw = Raw::connect(&bootstrap).await;
    let (pid, epoch) = raw.init_producer_id().await;
    assert!(pid >= 0);

    assert_eq!(produce_raw(&mut raw, batch(pid, epoch, 0, 5)).await, (0, 0));
    assert_eq!(produce_raw(&mut raw, batch(pid, epoch, 5, 5)).await, (0, 5));
    // A retry of the first batch: not written again, answered with its original offset.
    assert_eq!(produce_raw(&mut raw, batch(pid, epoch, 0, 5)).await, (0, 0));
    // A gap: sequence 20 when 10 is expected.
    assert_eq!(
        produce_raw(&mut raw, batch(pid, epoch, 20, 1)).await.0,
        45,
        "OUT_OF_ORDER_SEQUENCE_NUMBER"
    );
    assert_eq!(
        produce_raw(&mut raw, batch(pid, epoch, 10, 1)).await,
        (0, 10)
    );
    let c = consumer(&bootstrap);
    assert_eq!(
        c.fetch_watermarks("idem", 0, TIMEOUT).expect("watermarks"),
        (0, 11),
        "nothing written twice"
    );

    // After a restart the state comes from the producer snapshot and the newest segments.
    let dir = broker.stop().await;
    let broker = TestBroker::start_with(dir, &[]).await;
    let mut raw = Raw::connect(&broker.bootstrap()).await;
    assert_eq!(
        produce_raw(&mut raw, batch(pid, epoch, 10, 1)).await,
        (0, 10),
        "retry across a restart"
    );
    assert_eq!(produce_raw(&mut raw, batch(pid, epoch, 5, 5)).await, (0, 5));
    assert_eq!(
        produce_raw(&mut raw, batch(pid, epoch, 30, 1)).await.0,
        45,
        "gap across a restart"
    );
    assert_eq!(
        produce_raw(&mut raw, batch(pid, epoch, 11, 2)).await,
        (0, 11)
    );
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_acks_zero_produce_closes_the_connection() {
    let broker = TestBroker::start().await;
    let mut raw = Raw::connect(&broker.bootstrap()).await;
    let partition = PartitionProduceData::default()
        .with_index(0)
        .with_records(Some(batch(-1, -1, -1, 1)));
    let topic = TopicProduceData::default()
        .with_name(TopicName(StrBytes::from_static_str("missing")))
        .with_partition_data(vec![partition]);
    let request = ProduceRequest::default()
        .with_acks(0)
        .with_timeout_ms(5000)
        .with_topic_data(vec![topic]);
    raw.send(ApiKey::Produce, 9, &request).await;
    assert!(
        raw.is_closed().await,
        "no response can carry the error, so the connection closes"
    );
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_retention_moves_the_low_watermark() {
    let broker = TestBroker::start_configured(&[("log.retention.check.interval.ms", "100")]).await;
    let bootstrap = broker.bootstrap();
    let configs = [("segment.bytes", "1024"), ("retention.ms", "3600000")];
    create_topic(&bootstrap, "old", 1, &configs).await;
    let p = producer(&bootstrap, &[("linger.ms", "0")]);
    for i in 0..50i64 {
        let value = format!("{i:0>64}");
        // Timestamps from 2023: older than retention.ms, so every closed segment expires.
        let record = FutureRecord::<(), _>::to("old")
            .payload(&value)
            .timestamp(BASE_TS + i);
        p.send(record, TIMEOUT).await.expect("delivered");
    }
    let c = consumer(&bootstrap);
    let deadline = std::time::Instant::now() + crate::common::DEADLINE;
    loop {
        let (low, high) = c.fetch_watermarks("old", 0, TIMEOUT).expect("watermarks");
        assert_eq!(high, 50);
        if low > 0 {
            // Only whole closed segments go; the active one stays, so something is left.
            assert!(low < 50, "the active segment is kept");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "retention never ran");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    broker.stop().await;
}
