//! Fetch sessions without a broker: opening, incremental requests, forgetting, closing, the
//! errors for unknown sessions and stale epochs, and the slot bound.

use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic, ForgottenTopic};
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{FetchRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::*;

fn topic(name: &'static str, partitions: &[(i32, i64)]) -> FetchTopic {
    FetchTopic::default()
        .with_topic(TopicName(StrBytes::from_static_str(name)))
        .with_partitions(
            partitions
                .iter()
                .map(|(p, offset)| {
                    FetchPartition::default()
                        .with_partition(*p)
                        .with_fetch_offset(*offset)
                })
                .collect(),
        )
}

fn request(id: i32, epoch: i32, topics: Vec<FetchTopic>) -> FetchRequest {
    FetchRequest::default()
        .with_session_id(id)
        .with_session_epoch(epoch)
        .with_topics(topics)
}

fn read(plan: &Plan) -> Vec<(i32, i64)> {
    plan.targets()
        .iter()
        .map(|t| (t.partition.partition, t.partition.fetch_offset))
        .collect()
}

/// An answer for every target of `plan`: `hw` as high watermark, records where `with_data`.
fn answer(plan: &Plan, hw: i64, with_data: &[i32]) -> Vec<FetchableTopicResponse> {
    plan.targets()
        .iter()
        .map(|t| {
            let records = if with_data.contains(&t.partition.partition) {
                Bytes::from_static(b"batch")
            } else {
                Bytes::new()
            };
            FetchableTopicResponse::default()
                .with_topic(t.topic.clone())
                .with_partitions(vec![PartitionData::default()
                    .with_partition_index(t.partition.partition)
                    .with_high_watermark(hw)
                    .with_records(Some(records))])
        })
        .collect()
}

fn partitions_in(responses: &[FetchableTopicResponse]) -> Vec<i32> {
    responses
        .iter()
        .flat_map(|t| t.partitions.iter().map(|p| p.partition_index))
        .collect()
}

#[test]
fn a_session_carries_its_partitions_and_answers_only_news() {
    let sessions = FetchSessions::new(10);
    let now = Instant::now();
    let open = sessions.plan(12, &request(0, 0, vec![topic("t", &[(0, 0), (1, 0)])]), now);
    let Plan::Session {
        id,
        incremental: false,
        ..
    } = open
    else {
        panic!("a new session: {open:?}")
    };
    assert_eq!(read(&open), vec![(0, 0), (1, 0)]);
    // A new session's answer is full.
    assert_eq!(
        partitions_in(&sessions.finish(&open, answer(&open, 5, &[0]))),
        vec![0, 1]
    );
    // Epoch 1 moves partition 0 on and says nothing of partition 1: both are read, only the
    // one with records comes back.
    let next = sessions.plan(12, &request(id, 1, vec![topic("t", &[(0, 5)])]), now);
    assert_eq!(read(&next), vec![(0, 5), (1, 0)]);
    assert_eq!(
        partitions_in(&sessions.finish(&next, answer(&next, 5, &[1]))),
        vec![1]
    );
    // Nothing new anywhere: an empty answer.
    let idle = sessions.plan(12, &request(id, 2, vec![]), now);
    assert!(sessions.finish(&idle, answer(&idle, 5, &[])).is_empty());
    // A moved high watermark is news.
    let moved = sessions.plan(12, &request(id, 3, vec![]), now);
    assert_eq!(
        partitions_in(&sessions.finish(&moved, answer(&moved, 6, &[]))),
        vec![0, 1]
    );
    // Forgetting a partition stops reading it.
    let forget = request(id, 4, vec![]).with_forgotten_topics_data(vec![ForgottenTopic::default()
        .with_topic(TopicName(StrBytes::from_static_str("t")))
        .with_partitions(vec![1])]);
    assert_eq!(read(&sessions.plan(12, &forget, now)), vec![(0, 5)]);
}

#[test]
fn unknown_sessions_and_stale_epochs_are_refused_and_closing_frees_the_slot() {
    let sessions = FetchSessions::new(10);
    let now = Instant::now();
    let open = sessions.plan(12, &request(0, 0, vec![topic("t", &[(0, 0)])]), now);
    let id = open.session_id();
    assert!(id > 0);
    let stale = sessions.plan(12, &request(id, 5, vec![]), now);
    assert!(matches!(
        stale,
        Plan::Refused(ResponseError::InvalidFetchSessionEpoch)
    ));
    let unknown = sessions.plan(12, &request(id.wrapping_add(1), 1, vec![]), now);
    assert!(matches!(
        unknown,
        Plan::Refused(ResponseError::FetchSessionIdNotFound)
    ));
    let close = sessions.plan(12, &request(id, -1, vec![topic("t", &[(0, 3)])]), now);
    assert!(
        matches!(close, Plan::Sessionless(_)),
        "a full fetch, then no session"
    );
    assert!(sessions.is_empty());
    let sessionless = sessions.plan(12, &request(0, -1, vec![topic("t", &[(0, 0)])]), now);
    assert_eq!(sessionless.session_id(), 0);
    assert!(sessions.is_empty());
    let old_version = sessions.plan(6, &request(0, 0, vec![topic("t", &[(0, 0)])]), now);
    assert!(matches!(old_version, Plan::Sessionless(_)));
}

#[test]
fn a_full_cache_evicts_only_an_idle_session() {
    let sessions = FetchSessions::new(2);
    let start = Instant::now();
    let opened = |at| sessions.plan(12, &request(0, 0, vec![topic("t", &[(0, 0)])]), at);
    let first = opened(start).session_id();
    let second = opened(start + Duration::from_secs(1)).session_id();
    assert!(first > 0 && second > 0 && first != second);
    // Both are busy: no room, the newcomer fetches without a session.
    assert_eq!(opened(start + Duration::from_secs(2)).session_id(), 0);
    // Past the idle bound the least recently used session makes room.
    let later = start + SESSION_IDLE_EVICTION + Duration::from_secs(1);
    let third = opened(later).session_id();
    assert!(third > 0);
    assert_eq!(sessions.len(), 2);
    let evicted = sessions.plan(12, &request(first, 1, vec![]), later);
    assert!(matches!(
        evicted,
        Plan::Refused(ResponseError::FetchSessionIdNotFound)
    ));
}
