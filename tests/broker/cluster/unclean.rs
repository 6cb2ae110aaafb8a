//! `unclean.leader.election.enable`: a partition whose whole ISR is gone stays offline, unless
//! its topic allows unclean elections; then a live replica out of the ISR leads (and is the
//! whole ISR), and librdkafka writes to it again. Five nodes, so the Raft quorum outlives the
//! two brokers holding the partitions.

use std::time::Duration;

use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;

use super::harness::TestCluster;
use super::partitions;
use crate::common::admin;

/// The one partition of `topic`: leader and ISR.
fn leader_isr(
    m: &kafka_protocol::messages::MetadataResponse,
    topic: &str,
) -> Option<(i32, Vec<i32>)> {
    partitions(m, topic)
        .first()
        .map(|(l, _, isr)| (*l, isr.clone()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unclean_elections_revive_an_offline_partition_where_the_topic_allows() {
    let mut cluster = TestCluster::start(5, &[]).await;
    let bootstrap = cluster.bootstrap();
    let assignment: &[&[i32]] = &[&[3, 4]];
    let dirty = NewTopic::new("dirty", 1, TopicReplication::Variable(assignment))
        .set("unclean.leader.election.enable", "true");
    let clean = NewTopic::new("clean", 1, TopicReplication::Variable(assignment));
    for r in admin(&bootstrap)
        .create_topics([&dirty, &clean], &AdminOptions::new())
        .await
        .expect("create")
    {
        r.expect("created");
    }
    let both = ["dirty", "clean"];
    let _ = cluster
        .wait_metadata("both led by 3 with 3 and 4 in sync", Some(&both), |m| {
            both.iter()
                .all(|t| leader_isr(m, t) == Some((3, vec![3, 4])))
        })
        .await;
    cluster.kill(4);
    let _ = cluster
        .wait_metadata("4 out of both ISRs", Some(&both), |m| {
            both.iter().all(|t| leader_isr(m, t) == Some((3, vec![3])))
        })
        .await;
    cluster.kill(3);
    let _ = cluster
        .wait_metadata("both offline, 3 the last ISR member", Some(&both), |m| {
            both.iter().all(|t| leader_isr(m, t) == Some((-1, vec![3])))
        })
        .await;
    cluster.spawn(4);
    let _ = cluster
        .wait_metadata(
            "dirty led by 4 alone, clean still offline",
            Some(&both),
            |m| {
                leader_isr(m, "dirty") == Some((4, vec![4]))
                    && leader_isr(m, "clean") == Some((-1, vec![3]))
            },
        )
        .await;
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("broker.address.family", "v4")
        .set("acks", "all")
        .set("message.timeout.ms", "20000")
        .create()
        .expect("producer");
    let delivered = producer
        .send(
            FutureRecord::<(), _>::to("dirty").payload("after"),
            Duration::from_secs(20),
        )
        .await
        .expect("librdkafka writes to the partition an unclean election revived");
    assert_eq!(delivered.partition, 0);
}

/// Turning `unclean.leader.election.enable` on for a topic that is already offline elects a
/// live replica at once (Kafka's controller does so on the config change), with no broker
/// coming or going.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowing_unclean_elections_revives_an_offline_topic_at_once() {
    let mut cluster = TestCluster::start(5, &[]).await;
    let bootstrap = cluster.bootstrap();
    let assignment: &[&[i32]] = &[&[3, 4]];
    let topic = NewTopic::new("stranded", 1, TopicReplication::Variable(assignment));
    for r in admin(&bootstrap)
        .create_topics([&topic], &AdminOptions::new())
        .await
        .expect("create")
    {
        r.expect("created");
    }
    let names = ["stranded"];
    let _ = cluster
        .wait_metadata("led by 3 with 4 in sync", Some(&names), |m| {
            leader_isr(m, "stranded") == Some((3, vec![3, 4]))
        })
        .await;
    cluster.kill(4);
    let _ = cluster
        .wait_metadata("4 out of the ISR", Some(&names), |m| {
            leader_isr(m, "stranded") == Some((3, vec![3]))
        })
        .await;
    cluster.kill(3);
    let _ = cluster
        .wait_metadata("offline, 3 the last ISR member", Some(&names), |m| {
            leader_isr(m, "stranded") == Some((-1, vec![3]))
        })
        .await;
    // 4 returns, out of the ISR: the clean topic stays offline.
    cluster.spawn(4);
    let _ = cluster
        .wait_metadata("4 back, the topic still offline", Some(&names), |m| {
            m.brokers.iter().any(|b| b.node_id.0 == 4)
                && leader_isr(m, "stranded") == Some((-1, vec![3]))
        })
        .await;
    let mut resource =
        rdkafka::admin::AlterConfig::new(rdkafka::admin::ResourceSpecifier::Topic("stranded"));
    resource = resource.set("unclean.leader.election.enable", "true");
    for r in admin(&bootstrap)
        .alter_configs([&resource], &AdminOptions::new())
        .await
        .expect("alter configs")
    {
        r.expect("altered");
    }
    let _ = cluster
        .wait_metadata("led by 4 alone", Some(&names), |m| {
            leader_isr(m, "stranded") == Some((4, vec![4]))
        })
        .await;
}
