//! KIP-467 through librdkafka (its 0011 record-fail test): a batch with invalid records is
//! refused whole, and the response names the invalid ones, so librdkafka fails those with
//! their own error and the rest with "part of a batch with invalid records"
//! (`_INVALID_DIFFERENT_RECORD`). Before KIP-467 support every record failed alike.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord};

use crate::common::{create_topic, producer, TestBroker};

const TIMEOUT: Duration = Duration::from_secs(30);

/// A producer that puts everything sent within a second into one batch, and never retries.
fn batching_producer(bootstrap: &str) -> FutureProducer {
    producer(
        bootstrap,
        &[
            ("linger.ms", "1000"),
            ("batch.num.messages", "1000"),
            ("enable.idempotence", "false"),
            ("retries", "0"),
        ],
    )
}

/// Sends `count` records at once; `keyed(i)` and `timestamp(i)` shape record `i`. Returns each
/// record's delivery error code, `None` for a delivered record.
async fn send_batch(
    p: &FutureProducer,
    topic: &str,
    count: usize,
    keyed: impl Fn(usize) -> bool,
    timestamp: impl Fn(usize) -> i64,
) -> Vec<Option<RDKafkaErrorCode>> {
    let mut pending = Vec::new();
    for i in 0..count {
        let value = format!("v{i}");
        let key = format!("k{i}");
        let mut record = FutureRecord::to(topic)
            .payload(&value)
            .timestamp(timestamp(i));
        if keyed(i) {
            record = record.key(&key);
        }
        pending.push(p.send_result(record).expect("queued"));
    }
    let mut codes = Vec::new();
    for delivery in pending {
        let result = tokio::time::timeout(TIMEOUT, delivery)
            .await
            .expect("delivery report in time")
            .expect("not cancelled");
        codes.push(match result {
            Ok(_) => None,
            Err((KafkaError::MessageProduction(code), _)) => Some(code),
            Err((other, _)) => panic!("unexpected error {other}"),
        });
    }
    codes
}

fn now_ms() -> i64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock");
    i64::try_from(now.as_millis()).expect("ms")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyless_records_on_a_compacted_topic_fail_alone() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, "compacted", 1, &[("cleanup.policy", "compact")]).await;
    let p = batching_producer(&bootstrap);
    let now = now_ms();
    let codes = send_batch(&p, "compacted", 100, |i| i % 10 != 3, |_| now).await;
    for (i, code) in codes.iter().enumerate() {
        let want = if i % 10 == 3 {
            RDKafkaErrorCode::InvalidRecord
        } else {
            RDKafkaErrorCode::InvalidDifferentRecord
        };
        assert_eq!(*code, Some(want), "record {i}");
    }
    // Nothing of the refused batch was written; a keyed batch still goes through.
    let codes = send_batch(&p, "compacted", 10, |_| true, |_| now).await;
    assert!(codes.iter().all(Option::is_none), "{codes:?}");
    let c = crate::common::consumer(&bootstrap);
    let (low, high) = rdkafka::consumer::Consumer::fetch_watermarks(&c, "compacted", 0, TIMEOUT)
        .expect("watermarks");
    assert_eq!((low, high), (0, 10));
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timestamps_too_far_ahead_are_refused_and_named() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    // Kafka's default message.timestamp.after.max.ms is one hour.
    create_topic(&bootstrap, "future", 1, &[]).await;
    let p = batching_producer(&bootstrap);
    let now = now_ms();
    let two_hours = 2 * 3_600_000;
    let codes = send_batch(
        &p,
        "future",
        5,
        |_| true,
        |i| if i % 2 == 1 { now + two_hours } else { now },
    )
    .await;
    // With more than one record error librdkafka marks each named record INVALID_RECORD (with
    // the broker's message); with exactly one it gives every record the partition's code.
    assert_eq!(
        codes,
        vec![
            Some(RDKafkaErrorCode::InvalidDifferentRecord),
            Some(RDKafkaErrorCode::InvalidRecord),
            Some(RDKafkaErrorCode::InvalidDifferentRecord),
            Some(RDKafkaErrorCode::InvalidRecord),
            Some(RDKafkaErrorCode::InvalidDifferentRecord),
        ]
    );
    let codes = send_batch(&p, "future", 2, |_| true, |i| now + i as i64 * two_hours).await;
    assert_eq!(codes, vec![Some(RDKafkaErrorCode::InvalidTimestamp); 2]);
    // The bound is the topic's: a looser one lets the same record in.
    create_topic(
        &bootstrap,
        "future-ok",
        1,
        &[("message.timestamp.after.max.ms", "86400000")],
    )
    .await;
    let codes = send_batch(&p, "future-ok", 1, |_| true, |_| now + two_hours).await;
    assert_eq!(codes, vec![None]);
    broker.stop().await;
}
