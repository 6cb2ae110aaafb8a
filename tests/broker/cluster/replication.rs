//! Replication between the brokers of a three-node cluster: acks=all waits for the ISR,
//! followers hold every acknowledged record when the leader dies, and the ISR shrinks and
//! grows back as a follower goes and returns.

use std::time::Duration;

use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::producer::FutureRecord;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::Offset;

use super::harness::TestCluster;
use super::{partitions, HEARTBEAT, SESSION};
use crate::common::{admin, consume, producer};

async fn create_rf3(bootstrap: &str, name: &str, partitions: i32) {
    let topic =
        NewTopic::new(name, partitions, TopicReplication::Fixed(3)).set("min.insync.replicas", "2");
    let results = admin(bootstrap)
        .create_topics([&topic], &AdminOptions::new())
        .await
        .expect("create");
    for r in results {
        r.expect("created");
    }
}

/// Sends `count` keyed records with acks=all; every one must be acknowledged.
async fn produce_all(bootstrap: &str, topic: &str, from: usize, count: usize) {
    let producer = producer(
        bootstrap,
        &[("acks", "all"), ("enable.idempotence", "true")],
    );
    let mut pending = Vec::with_capacity(count);
    for i in from..from + count {
        let key = format!("k{}", i % 17);
        let value = format!("v{i}");
        let record = FutureRecord::to(topic).key(&key).payload(&value);
        pending.push(
            producer
                .send_result(record)
                .map_err(|(e, _)| e)
                .expect("queued"),
        );
    }
    for p in pending {
        let _ = p.await.expect("delivered").expect("acknowledged");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_records_survive_the_leaders_death() {
    let mut cluster = TestCluster::start(3, &[SESSION, HEARTBEAT]).await;
    let bootstrap = cluster.bootstrap();
    create_rf3(&bootstrap, "durable", 1).await;
    produce_all(&bootstrap, "durable", 0, 2000).await;
    let (m, _) = cluster
        .wait_metadata("the topic", Some(&["durable"]), |m| {
            partitions(m, "durable").len() == 1
        })
        .await;
    let leader = partitions(&m, "durable")[0].0;
    cluster.kill(leader as usize);
    cluster
        .wait_metadata("a new leader", Some(&["durable"]), |m| {
            partitions(m, "durable")
                .first()
                .is_some_and(|(l, _, _)| *l >= 0 && *l != leader)
        })
        .await;
    let survivors: String = (0..3)
        .filter(|id| *id != leader as usize)
        .map(|id| cluster.addr(id))
        .collect::<Vec<_>>()
        .join(",");
    let seen = consume(&survivors, "durable", 1, Offset::Beginning, 2000);
    let values: Vec<String> = seen
        .iter()
        .map(|s| String::from_utf8(s.value.clone().unwrap_or_default()).expect("utf8"))
        .collect();
    let expected: Vec<String> = (0..2000).map(|i| format!("v{i}")).collect();
    assert_eq!(
        values, expected,
        "every acknowledged record, once, in order"
    );
    // The new leader takes writes, and the old one catches up when it returns.
    produce_all(&survivors, "durable", 2000, 100).await;
    cluster.spawn(leader as usize);
    cluster
        .wait_metadata("the ISR whole again", Some(&["durable"]), |m| {
            partitions(m, "durable")
                .first()
                .is_some_and(|(_, _, isr)| isr.len() == 3)
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_all_is_refused_below_min_insync_replicas() {
    let mut cluster = TestCluster::start(3, &[SESSION, HEARTBEAT]).await;
    let bootstrap = cluster.bootstrap();
    create_rf3(&bootstrap, "guarded", 1).await;
    let (m, _) = cluster
        .wait_metadata("the topic", Some(&["guarded"]), |m| {
            partitions(m, "guarded").len() == 1
        })
        .await;
    let (leader, replicas, _) = partitions(&m, "guarded")[0].clone();
    let followers: Vec<i32> = replicas.into_iter().filter(|r| *r != leader).collect();
    // Stop both followers, a controller among them last, and each only once the ISR has lost
    // the one before: with two of three voters gone there is no quorum, so the last ISR change
    // must be committed while the last follower is still shutting down.
    let controller = m.controller_id.0;
    let mut followers = followers;
    followers.sort_by_key(|f| *f == controller);
    for f in &followers {
        cluster.terminate(*f as usize);
        let gone = *f;
        cluster
            .wait_metadata(
                "the stopped follower out of the ISR",
                Some(&["guarded"]),
                |m| {
                    partitions(m, "guarded")
                        .first()
                        .is_some_and(|(_, _, isr)| !isr.contains(&gone))
                },
            )
            .await;
    }
    cluster
        .wait_metadata("an ISR of one", Some(&["guarded"]), |m| {
            partitions(m, "guarded")
                .first()
                .is_some_and(|(_, _, isr)| isr.len() == 1)
        })
        .await;
    let producer = producer(
        &cluster.addr(leader as usize),
        &[
            ("acks", "all"),
            ("message.timeout.ms", "3000"),
            ("retries", "0"),
        ],
    );
    let sent = producer
        .send(
            FutureRecord::to("guarded").key("k").payload("v"),
            Duration::from_secs(5),
        )
        .await;
    let err = sent.expect_err("refused").0;
    assert_eq!(
        err.rdkafka_error_code(),
        Some(RDKafkaErrorCode::NotEnoughReplicas),
        "{err}"
    );
}

/// A follower that was away while DeleteRecords moved the leader's log start past its own log
/// end cannot fetch from where it stopped: it starts over at the leader's log start (Kafka's
/// `truncateFullyAndStartAt`), catches up, and rejoins the ISR.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_behind_the_leaders_log_start_starts_over_there() {
    let mut cluster = TestCluster::start(3, &[SESSION, HEARTBEAT]).await;
    let bootstrap = cluster.bootstrap();
    create_rf3(&bootstrap, "trimmed", 1).await;
    produce_all(&bootstrap, "trimmed", 0, 100).await;
    let (m, _) = cluster
        .wait_metadata("the ISR whole", Some(&["trimmed"]), |m| {
            partitions(m, "trimmed")
                .first()
                .is_some_and(|(_, _, isr)| isr.len() == 3)
        })
        .await;
    let (leader, replicas, _) = partitions(&m, "trimmed")[0].clone();
    let away = *replicas.iter().find(|r| **r != leader).expect("a follower") as usize;
    cluster.terminate(away);
    cluster
        .wait_metadata("the follower out of the ISR", Some(&["trimmed"]), |m| {
            partitions(m, "trimmed")
                .first()
                .is_some_and(|(_, _, isr)| !isr.contains(&(away as i32)))
        })
        .await;
    let present: String = (0..3)
        .filter(|id| *id != away)
        .map(|id| cluster.addr(id))
        .collect::<Vec<_>>()
        .join(",");
    produce_all(&present, "trimmed", 100, 400).await;
    let mut tpl = rdkafka::TopicPartitionList::new();
    tpl.add_partition_offset("trimmed", 0, Offset::Offset(450))
        .expect("tpl");
    admin(&present)
        .delete_records(&tpl, &AdminOptions::new())
        .await
        .expect("records deleted below 450");
    cluster.spawn(away);
    cluster
        .wait_metadata("the ISR whole again", Some(&["trimmed"]), |m| {
            partitions(m, "trimmed")
                .first()
                .is_some_and(|(_, _, isr)| isr.len() == 3)
        })
        .await;
}
