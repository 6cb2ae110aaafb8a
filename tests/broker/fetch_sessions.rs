//! Incremental fetch sessions (KIP-227) on the wire: a session opened with a full fetch,
//! continued by requests that name nothing, answered with only what is new, and refused with
//! Kafka's codes for a stale epoch or an unknown session. kafka-python's consumer fetches
//! through sessions in `clients.rs`; librdkafka does not use them.

use std::time::Duration;

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{ApiKey, BrokerId, FetchRequest, FetchResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use rdkafka::producer::FutureRecord;

use crate::common::{create_topic, producer, TestBroker};
use crate::raw::Raw;

fn fetch(id: i32, epoch: i32, partitions: &[(i32, i64)], wait_ms: i32) -> FetchRequest {
    let topics = if partitions.is_empty() {
        Vec::new()
    } else {
        vec![FetchTopic::default()
            .with_topic(TopicName(StrBytes::from_static_str("sessions")))
            .with_partitions(
                partitions
                    .iter()
                    .map(|(p, offset)| {
                        FetchPartition::default()
                            .with_partition(*p)
                            .with_fetch_offset(*offset)
                            .with_partition_max_bytes(1 << 20)
                    })
                    .collect(),
            )]
    };
    FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(wait_ms)
        .with_min_bytes(1)
        .with_max_bytes(1 << 20)
        .with_session_id(id)
        .with_session_epoch(epoch)
        .with_topics(topics)
}

/// (partition, records bytes) of every partition in the answer.
fn answered(r: &FetchResponse) -> Vec<(i32, usize)> {
    r.responses
        .iter()
        .flat_map(|t| &t.partitions)
        .map(|p| (p.partition_index, p.records.as_ref().map_or(0, |b| b.len())))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_answers_only_partitions_with_news() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, "sessions", 2, &[]).await;
    let mut raw = Raw::connect(&bootstrap).await;
    let open: FetchResponse = raw
        .call(ApiKey::Fetch, 12, &fetch(0, 0, &[(0, 0), (1, 0)], 0))
        .await;
    let id = open.session_id;
    assert!(id > 0, "a session was opened");
    assert_eq!(
        answered(&open),
        vec![(0, 0), (1, 0)],
        "a new session's answer is full"
    );

    let p = producer(&bootstrap, &[("linger.ms", "0")]);
    let record = FutureRecord::<(), _>::to("sessions")
        .partition(1)
        .payload("news");
    p.send(record, Duration::from_secs(10))
        .await
        .expect("delivered");

    // The request names no partition; the session remembers both, and only 1 has news.
    let next: FetchResponse = raw.call(ApiKey::Fetch, 12, &fetch(id, 1, &[], 5_000)).await;
    assert_eq!(next.session_id, id);
    let news = answered(&next);
    assert_eq!(news.len(), 1, "{news:?}");
    assert_eq!(news[0].0, 1);
    assert!(news[0].1 > 0, "partition 1's record");

    // Partition 1 moved on: nothing is new, so the fetch waits out its time and answers empty.
    let started = std::time::Instant::now();
    let idle: FetchResponse = raw
        .call(ApiKey::Fetch, 12, &fetch(id, 2, &[(1, 1)], 300))
        .await;
    assert!(answered(&idle).is_empty(), "{:?}", answered(&idle));
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "it waited for data"
    );

    let stale: FetchResponse = raw.call(ApiKey::Fetch, 12, &fetch(id, 2, &[], 0)).await;
    assert_eq!(stale.error_code, 71, "INVALID_FETCH_SESSION_EPOCH");
    let unknown: FetchResponse = raw
        .call(ApiKey::Fetch, 12, &fetch(id.wrapping_add(1), 1, &[], 0))
        .await;
    assert_eq!(unknown.error_code, 70, "FETCH_SESSION_ID_NOT_FOUND");
    broker.stop().await;
}
