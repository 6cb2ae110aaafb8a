//! `ktui groups` and `consume --group` against a group run by librdkafka consumers: describe
//! shows librdkafka's committed offsets, lag and member; reset-offsets moves what librdkafka
//! then reads; delete removes the group.

use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Message, Offset, TopicPartitionList};
use serde_json::{json, Value};

use crate::common::{stderr, TestBroker, DEADLINE};

/// A librdkafka consumer in `group`, subscribed to `topic`, with manual commits.
fn group_consumer(bootstrap: &str, group: &str, topic: &str) -> BaseConsumer {
    group_consumer_with(bootstrap, group, topic, "classic")
}

/// As [`group_consumer`], with `group.protocol` `classic` or `consumer` (KIP-848).
fn group_consumer_with(bootstrap: &str, group: &str, topic: &str, protocol: &str) -> BaseConsumer {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("group.protocol", protocol)
        .set("bootstrap.servers", bootstrap)
        .set("broker.address.family", "v4")
        .set("group.id", group)
        .set("client.id", "rdkafka-member")
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    consumer
}

/// Polls until `count` records arrived; returns (partition, offset) of each.
fn poll_records(consumer: &BaseConsumer, count: usize) -> Vec<(i32, i64)> {
    let deadline = Instant::now() + DEADLINE;
    let mut seen = Vec::new();
    while seen.len() < count {
        assert!(
            Instant::now() < deadline,
            "only {} of {count} records",
            seen.len()
        );
        if let Some(m) = consumer.poll(Duration::from_millis(100)) {
            let m = m.expect("record");
            seen.push((m.partition(), m.offset()));
        }
    }
    seen
}

fn produce_per_partition(broker: &TestBroker, topic: &str, partitions: i32, per_partition: usize) {
    for p in 0..partitions {
        let lines: String = (0..per_partition).map(|i| format!("p{p}-{i}\n")).collect();
        broker.json_stdin(
            &["produce", topic, "--partition", &p.to_string()],
            lines.as_bytes(),
        );
    }
}

fn partition_rows(described: &Value) -> Vec<Value> {
    described["partitions"]
        .as_array()
        .expect("partitions")
        .iter()
        .map(|p| {
            json!([
                p["partition"],
                p["current_offset"],
                p["log_end_offset"],
                p["lag"]
            ])
        })
        .collect()
}

#[test]
fn a_librdkafka_group_is_described_reset_and_deleted() {
    let broker = TestBroker::start();
    let bootstrap = broker.bootstrap();
    broker.json(&["topics", "create", "g", "--partitions", "3"]);
    produce_per_partition(&broker, "g", 3, 10);

    let consumer = group_consumer(&bootstrap, "readers", "g");
    let _ = poll_records(&consumer, 30);
    let mut commit = TopicPartitionList::new();
    for (p, offset) in [(0, 4), (1, 10), (2, 0)] {
        commit
            .add_partition_offset("g", p, Offset::Offset(offset))
            .expect("offset");
    }
    consumer.commit(&commit, CommitMode::Sync).expect("commit");

    let described = broker.json(&["groups", "describe", "readers"]);
    assert_eq!(described["state"], "Stable");
    assert_eq!(described["protocol_type"], "consumer");
    let members = described["members"].as_array().expect("members");
    assert_eq!(members.len(), 1);
    assert_eq!(members[0]["client_id"], "rdkafka-member");
    assert_eq!(
        partition_rows(&described),
        vec![
            json!([0, 4, 10, 6]),
            json!([1, 10, 10, 0]),
            json!([2, 0, 10, 10])
        ]
    );
    for p in described["partitions"].as_array().expect("partitions") {
        assert_eq!(p["member_id"], members[0]["member_id"]);
        assert_eq!(p["client_id"], "rdkafka-member");
    }
    let listed = broker.json(&["groups", "list"]);
    assert_eq!(
        listed,
        json!([{"group": "readers", "state": "Stable", "protocol_type": "consumer", "partitions": 3, "lag": 16}])
    );

    // Kafka refuses to reset a group with active members, and so does ktui.
    let refused = broker.ktui(&[
        "groups",
        "reset-offsets",
        "readers",
        "--topic",
        "g",
        "--to-earliest",
        "--execute",
    ]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("active members"),
        "{}",
        stderr(&refused)
    );
    consumer.unsubscribe();
    drop(consumer);
    wait_for_state(&broker, "readers", "Empty");

    let dry = broker.json(&[
        "groups",
        "reset-offsets",
        "readers",
        "--topic",
        "g:0,2",
        "--shift-by",
        "3",
    ]);
    assert_eq!(dry["executed"], false);
    assert_eq!(
        dry["partitions"],
        json!([
            {"topic": "g", "partition": 0, "previous_offset": 4, "new_offset": 7},
            {"topic": "g", "partition": 2, "previous_offset": 0, "new_offset": 3}
        ])
    );
    let unchanged = broker.json(&["groups", "describe", "readers"]);
    assert_eq!(partition_rows(&unchanged)[0], json!([0, 4, 10, 6]));

    let done = broker.json(&[
        "groups",
        "reset-offsets",
        "readers",
        "--topic",
        "g",
        "--to-offset",
        "8",
        "--execute",
    ]);
    assert_eq!(done["executed"], true);
    // librdkafka, rejoining the group, starts where ktui put the offsets.
    let consumer = group_consumer(&bootstrap, "readers", "g");
    let mut seen = poll_records(&consumer, 6);
    seen.sort_unstable();
    assert_eq!(seen, vec![(0, 8), (0, 9), (1, 8), (1, 9), (2, 8), (2, 9)]);
    consumer.unsubscribe();
    drop(consumer);
    wait_for_state(&broker, "readers", "Empty");

    let deleted = broker.json(&["groups", "delete", "readers"]);
    assert_eq!(deleted, json!({"group": "readers", "deleted": true}));
    assert_eq!(broker.json(&["groups", "list"]), json!([]));
}

#[test]
fn consume_with_a_group_resumes_from_its_commits() {
    let broker = TestBroker::start();
    broker.json(&["topics", "create", "c", "--partitions", "2"]);
    produce_per_partition(&broker, "c", 2, 5);
    let first = broker.ktui(&[
        "consume",
        "c",
        "--group",
        "cg",
        "--from-beginning",
        "--partition",
        "0",
        "-e",
        "--format",
        "%v",
    ]);
    assert_eq!(String::from_utf8_lossy(&first.stdout).lines().count(), 5);
    let described = broker.json(&["groups", "describe", "cg"]);
    assert_eq!(partition_rows(&described), vec![json!([0, 5, 5, 0])]);
    produce_per_partition(&broker, "c", 1, 2);
    let second = broker.ktui(&[
        "consume",
        "c",
        "--group",
        "cg",
        "--from-beginning",
        "-e",
        "--format",
        "%p %o",
    ]);
    let mut lines: Vec<String> = String::from_utf8_lossy(&second.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    // Partition 0 resumes at the commit; partition 1 has none, so it starts at the beginning.
    let mut expected: Vec<String> = (5..7)
        .map(|o| format!("0 {o}"))
        .chain((0..5).map(|o| format!("1 {o}")))
        .collect();
    expected.sort();
    assert_eq!(lines, expected);
}

/// Waits until `ktui groups describe` reports `state`, failing after DEADLINE.
fn wait_for_state(broker: &TestBroker, group: &str, state: &str) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let described = broker.json(&["groups", "describe", group]);
        if described["state"] == state {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "group {group} never reached {state}: {described}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_kip_848_group_is_described_through_consumer_group_describe() {
    let broker = TestBroker::start();
    broker.json(&["topics", "create", "n", "--partitions", "2"]);
    produce_per_partition(&broker, "n", 2, 4);
    let consumer = group_consumer_with(&broker.bootstrap(), "modern", "n", "consumer");
    let _ = poll_records(&consumer, 8);
    let mut commit = TopicPartitionList::new();
    for p in 0..2 {
        commit
            .add_partition_offset("n", p, Offset::Offset(3))
            .expect("offset");
    }
    consumer.commit(&commit, CommitMode::Sync).expect("commit");
    let described = broker.json(&["groups", "describe", "modern"]);
    assert_eq!(described["protocol_type"], "consumer");
    assert_eq!(described["state"], "Stable");
    let members = described["members"].as_array().expect("members");
    assert_eq!(members.len(), 1);
    assert_eq!(members[0]["client_id"], "rdkafka-member");
    assert_eq!(members[0]["assignment"], json!([["n", 0], ["n", 1]]));
    assert_eq!(
        partition_rows(&described),
        vec![json!([0, 3, 4, 1]), json!([1, 3, 4, 1])]
    );
    assert_eq!(
        described["partitions"][0]["member_id"],
        members[0]["member_id"]
    );
}
