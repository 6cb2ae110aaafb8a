//! The group coordinator moves with the leadership of its `__consumer_offsets` partition: when
//! the coordinator's broker is killed, the group's committed offsets are intact at the new
//! coordinator and the group goes on consuming.

use std::time::{Duration, Instant};

use kafka_protocol::messages::{ApiKey, FindCoordinatorRequest, FindCoordinatorResponse};
use kafka_protocol::protocol::StrBytes;
use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::FutureRecord;
use rdkafka::{Offset, TopicPartitionList};

use super::harness::TestCluster;
use super::{partitions, HEARTBEAT, SESSION};
use crate::common::{admin, producer, DEADLINE};
use crate::raw::Raw;

const GROUP: &str = "moving-group";

fn group_consumer(bootstrap: &str) -> BaseConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("broker.address.family", "v4")
        .set("group.id", GROUP)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "6000")
        .create()
        .expect("consumer")
}

/// Polls until `count` records came, failing at the deadline.
fn read(consumer: &BaseConsumer, count: usize) -> Vec<String> {
    let deadline = Instant::now() + DEADLINE;
    let mut out = Vec::new();
    while out.len() < count {
        assert!(
            Instant::now() < deadline,
            "only {} of {count} records",
            out.len()
        );
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
            use rdkafka::Message;
            out.push(String::from_utf8_lossy(m.payload().unwrap_or_default()).to_string());
        }
    }
    out
}

async fn send(bootstrap: &str, from: usize, count: usize) {
    let producer = producer(bootstrap, &[("acks", "all")]);
    for i in from..from + count {
        let value = format!("r{i}");
        producer
            .send(
                FutureRecord::<(), _>::to("grouped").payload(&value),
                Duration::from_secs(30),
            )
            .await
            .expect("sent");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_offsets_survive_the_coordinators_death() {
    let mut cluster = TestCluster::start(3, &[SESSION, HEARTBEAT]).await;
    let bootstrap = cluster.bootstrap();
    let topic = NewTopic::new("grouped", 1, TopicReplication::Fixed(3));
    for r in admin(&bootstrap)
        .create_topics([&topic], &AdminOptions::new())
        .await
        .expect("create")
    {
        r.expect("created");
    }
    send(&bootstrap, 0, 30).await;
    let consumer = group_consumer(&bootstrap);
    consumer.subscribe(&["grouped"]).expect("subscribe");
    assert_eq!(read(&consumer, 20).len(), 20);
    let mut commit = TopicPartitionList::new();
    commit
        .add_partition_offset("grouped", 0, Offset::Offset(20))
        .expect("offset");
    consumer.commit(&commit, CommitMode::Sync).expect("commit");
    drop(consumer);

    let mut raw = Raw::connect(&cluster.addr(0)).await;
    let found: FindCoordinatorResponse = raw
        .call(
            ApiKey::FindCoordinator,
            3,
            &FindCoordinatorRequest::default().with_key(StrBytes::from_static_str(GROUP)),
        )
        .await;
    assert_eq!(found.error_code, 0);
    let coordinator = found.node_id.0;
    let (m, _) = cluster
        .wait_metadata("__consumer_offsets", Some(&["__consumer_offsets"]), |m| {
            !partitions(m, "__consumer_offsets").is_empty()
        })
        .await;
    assert!(
        partitions(&m, "__consumer_offsets")
            .iter()
            .all(|(_, replicas, _)| replicas.len() == 3),
        "offsets.topic.replication.factor is 3"
    );
    cluster.kill(coordinator as usize);

    // A new member of the group starts where the group committed, at a new coordinator.
    let survivors: String = (0..3)
        .filter(|id| *id != coordinator as usize)
        .map(|id| cluster.addr(id))
        .collect::<Vec<_>>()
        .join(",");
    let consumer = group_consumer(&survivors);
    consumer.subscribe(&["grouped"]).expect("subscribe");
    let rest = read(&consumer, 10);
    let expected: Vec<String> = (20..30).map(|i| format!("r{i}")).collect();
    assert_eq!(rest, expected, "the group resumes at its committed offset");
    let committed = consumer
        .committed(Duration::from_secs(10))
        .expect("committed offsets");
    let offset = committed.find_partition("grouped", 0).map(|p| p.offset());
    assert_eq!(offset, Some(Offset::Offset(20)));
    let mut raw = Raw::connect(&cluster.addr(if coordinator == 0 { 1 } else { 0 })).await;
    let moved: FindCoordinatorResponse = raw
        .call(
            ApiKey::FindCoordinator,
            3,
            &FindCoordinatorRequest::default().with_key(StrBytes::from_static_str(GROUP)),
        )
        .await;
    assert_ne!(moved.node_id.0, coordinator, "the coordinator moved");
}
