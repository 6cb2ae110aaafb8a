//! Shutdown keeps its promise: a long-poll Fetch waiting for data answers at once when the
//! broker stops (controlled shutdown included), instead of holding the drain for its whole
//! `max_wait_ms`.

use std::time::{Duration, Instant};

use kafka_protocol::messages::{ApiKey, FetchResponse};

use crate::common::{create_topic, TestBroker};
use crate::raw::Raw;

/// Far below the fetch's wait (30 s) and the drain's grace period (5 s).
const PROMPT: Duration = Duration::from_secs(2);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_fetch_answers_at_once_on_shutdown() {
    let mut broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, "quiet", 1, &[]).await;
    let mut raw = Raw::connect(&bootstrap).await;
    let request = crate::raw::fetch_partition_zero("quiet", -1, 30_000);
    raw.send(ApiKey::Fetch, 12, &request).await;
    // Let the fetch reach its wait: the broker answers nothing for now.
    let mut byte = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_millis(300), raw.stream.peek(&mut byte));
    assert!(early.await.is_err(), "the fetch waits for data");
    let running = broker.running.take().expect("running");
    let started = Instant::now();
    let stopping = tokio::spawn(running.shutdown());
    let response: FetchResponse = tokio::time::timeout(PROMPT, raw.receive(ApiKey::Fetch, 12))
        .await
        .expect("the waiting fetch answered on shutdown");
    let partition = &response.responses[0].partitions[0];
    // The controlled shutdown takes the partition's leadership first (no other replica can
    // have it), so the fetch may see NOT_LEADER_OR_FOLLOWER, the client's cue to refresh its
    // metadata, instead of an empty answer. Either way it answers at once, with no records.
    let not_leader = kafka_protocol::ResponseError::NotLeaderOrFollower.code();
    assert!(
        [0, not_leader].contains(&partition.error_code),
        "{partition:?}"
    );
    assert_eq!(partition.records.as_ref().map(|r| r.len()), Some(0));
    tokio::time::timeout(PROMPT, stopping)
        .await
        .expect("shutdown within the bound")
        .expect("shutdown task");
    assert!(started.elapsed() < PROMPT, "took {:?}", started.elapsed());
}
