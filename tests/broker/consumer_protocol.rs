//! The consumer group protocol of KIP-848 with librdkafka 2.12 (`group.protocol=consumer`):
//! members split a topic through the broker's uniform assignor, a leaver's partitions move to
//! the others, commits carry the member epoch, and the group is described as a consumer group.

use std::time::{Duration, Instant};

use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::{Message, Offset, TopicPartitionList};

use crate::common::{self, TestBroker, DEADLINE};
use crate::groups::{covers, poll_until, Counting, GroupConsumer};
use crate::raw::Raw;

const FAST_HEARTBEATS: &[(&str, &str)] = &[
    ("group.consumer.heartbeat.interval.ms", "200"),
    ("group.consumer.session.timeout.ms", "3000"),
    ("offsets.topic.num.partitions", "3"),
];

fn member(bootstrap: &str, group: &str) -> GroupConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("broker.address.family", "v4")
        .set("group.id", group)
        .set("group.protocol", "consumer")
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create_with_context(Counting::default())
        .expect("consumer")
}

fn produce_one_per_partition(bootstrap: &str) {
    let producer: rdkafka::producer::BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("broker.address.family", "v4")
        .create()
        .expect("producer");
    for p in 0..6 {
        producer
            .send(
                rdkafka::producer::BaseRecord::<(), _>::to("kip848")
                    .partition(p)
                    .payload("x"),
            )
            .expect("queued");
    }
    rdkafka::producer::Producer::flush(&producer, DEADLINE).expect("flushed");
}

#[tokio::test(flavor = "multi_thread")]
async fn members_split_a_topic_hand_over_on_leave_and_commit_with_their_epoch() {
    let broker = TestBroker::start_configured(FAST_HEARTBEATS).await;
    let b = broker.bootstrap();
    common::create_topic(&b, "kip848", 6, &[]).await;
    let b1 = b.clone();
    let members = tokio::task::spawn_blocking(move || {
        let members: Vec<GroupConsumer> = (0..3).map(|_| member(&b1, "next-gen")).collect();
        for m in &members {
            m.subscribe(&["kip848"]).expect("subscribe");
        }
        let refs: Vec<&GroupConsumer> = members.iter().collect();
        poll_until(&refs, "three members", |s| covers(s, 6, 2));
        // Records produced only now: none can be polled (and dropped) while waiting above.
        produce_one_per_partition(&b1);

        // Each member reads its partitions and commits with its member epoch.
        let deadline = Instant::now() + DEADLINE;
        let mut read = 0;
        while read < 6 {
            assert!(Instant::now() < deadline, "read {read} of 6");
            for m in &members {
                if let Some(Ok(msg)) = m.poll(Duration::from_millis(20)) {
                    assert_eq!(msg.payload(), Some(&b"x"[..]));
                    read += 1;
                }
            }
        }
        for m in &members {
            m.commit_consumer_state(CommitMode::Sync).expect("commit");
        }
        let mut tpl = TopicPartitionList::new();
        for p in 0..6 {
            tpl.add_partition("kip848", p);
        }
        let committed = members[0]
            .committed_offsets(tpl, DEADLINE)
            .expect("committed");
        for e in committed.elements() {
            assert_eq!(e.offset(), Offset::Offset(1), "partition {}", e.partition());
        }

        let mut members = members;
        drop(members.pop()); // leaves with epoch -1
        let refs: Vec<&GroupConsumer> = members.iter().collect();
        poll_until(&refs, "after a leave", |s| covers(s, 6, 3));
        members
    })
    .await
    .expect("members");

    // Described as a consumer group, not a classic one.
    let mut raw = Raw::connect(&b).await;
    let describe = ConsumerGroupDescribeRequest::default()
        .with_group_ids(vec![GroupId(StrBytes::from_static_str("next-gen"))]);
    let described: ConsumerGroupDescribeResponse =
        raw.call(ApiKey::ConsumerGroupDescribe, 1, &describe).await;
    let g = &described.groups[0];
    assert_eq!(g.error_code, 0);
    assert_eq!(g.assignor_name.as_str(), "uniform");
    assert_eq!(g.members.len(), 2);
    let partitions: usize = g
        .members
        .iter()
        .flat_map(|m| m.assignment.topic_partitions.iter())
        .map(|tp| {
            assert_eq!(tp.topic_name.as_str(), "kip848");
            tp.partitions.len()
        })
        .sum();
    assert_eq!(partitions, 6);
    let classic = DescribeGroupsRequest::default()
        .with_groups(vec![GroupId(StrBytes::from_static_str("next-gen"))]);
    let refused: DescribeGroupsResponse = raw.call(ApiKey::DescribeGroups, 5, &classic).await;
    assert_eq!(
        refused.groups[0].error_code,
        kafka_protocol::ResponseError::GroupIdNotFound.code()
    );
    let listed: ListGroupsResponse = raw
        .call(
            ApiKey::ListGroups,
            5,
            &ListGroupsRequest::default()
                .with_types_filter(vec![StrBytes::from_static_str("consumer")]),
        )
        .await;
    let names: Vec<&str> = listed.groups.iter().map(|g| g.group_id.as_str()).collect();
    assert_eq!(names, vec!["next-gen"]);
    tokio::task::spawn_blocking(move || drop(members))
        .await
        .expect("close");
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn commits_survive_a_restart_and_a_consumer_member_resumes_after_them() {
    let broker = TestBroker::start_configured(FAST_HEARTBEATS).await;
    let b = broker.bootstrap();
    common::create_topic(&b, "kip848", 6, &[]).await;
    let b1 = b.clone();
    tokio::task::spawn_blocking(move || {
        produce_one_per_partition(&b1);
        let c = member(&b1, "resume-848");
        c.subscribe(&["kip848"]).expect("subscribe");
        let deadline = Instant::now() + DEADLINE;
        let mut read = 0;
        while read < 6 {
            assert!(Instant::now() < deadline, "read {read} of 6");
            if let Some(Ok(_)) = c.poll(Duration::from_millis(20)) {
                read += 1;
            }
        }
        c.commit_consumer_state(CommitMode::Sync).expect("commit");
    })
    .await
    .expect("first member");
    let dir = broker.stop().await;
    let broker = TestBroker::start_with(dir, FAST_HEARTBEATS).await;
    let b = broker.bootstrap();
    let b1 = b.clone();
    tokio::task::spawn_blocking(move || {
        produce_one_per_partition(&b1);
        let c = member(&b1, "resume-848");
        c.subscribe(&["kip848"]).expect("subscribe");
        let deadline = Instant::now() + DEADLINE;
        let mut offsets = Vec::new();
        while offsets.len() < 6 {
            assert!(Instant::now() < deadline, "read {} of 6", offsets.len());
            if let Some(Ok(m)) = c.poll(Duration::from_millis(20)) {
                offsets.push(m.offset());
            }
        }
        assert!(offsets.iter().all(|o| *o == 1), "redelivered: {offsets:?}");
        assert!(c.poll(Duration::from_millis(300)).is_none());
    })
    .await
    .expect("second member");
    broker.stop().await;
}
