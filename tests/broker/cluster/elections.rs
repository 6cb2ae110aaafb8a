//! Preferred leader election: after a broker returns, ElectLeaders (or the controller's
//! automatic rebalance) gives it back the partitions it is the first replica of.

use kafka_protocol::messages::elect_leaders_request::TopicPartitions;
use kafka_protocol::messages::{ApiKey, ElectLeadersRequest, ElectLeadersResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};

use super::harness::TestCluster;
use super::partitions;
use crate::common::admin;
use crate::raw::Raw;

async fn create(bootstrap: &str, name: &str) {
    let topic = NewTopic::new(name, 3, TopicReplication::Fixed(3));
    for r in admin(bootstrap)
        .create_topics([&topic], &AdminOptions::new())
        .await
        .expect("create")
    {
        r.expect("created");
    }
}

/// Stops node `id` cleanly, restarts it and waits until it is back in every ISR but leads
/// nothing (its leaderships moved at the stop); returns the partitions it prefers.
async fn bounce(cluster: &mut TestCluster, topic: &str, id: i32) -> Vec<i32> {
    cluster.terminate(id as usize);
    cluster.spawn(id as usize);
    let (m, _) = cluster
        .wait_metadata("the broker back in every ISR", Some(&[topic]), |m| {
            let ps = partitions(m, topic);
            ps.len() == 3 && ps.iter().all(|(l, _, isr)| *l >= 0 && isr.len() == 3)
        })
        .await;
    partitions(&m, topic)
        .iter()
        .enumerate()
        .filter(|(_, (_, replicas, _))| replicas[0] == id)
        .map(|(i, _)| i as i32)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn elect_leaders_gives_partitions_back_to_their_preferred_replica() {
    let mut cluster = TestCluster::start(3, &[("auto.leader.rebalance.enable", "false")]).await;
    create(&cluster.bootstrap(), "balanced").await;
    let preferred = bounce(&mut cluster, "balanced", 1).await;
    assert!(!preferred.is_empty());
    let (m, _) = cluster
        .wait_metadata("leaders", Some(&["balanced"]), |m| {
            partitions(m, "balanced").len() == 3
        })
        .await;
    assert!(
        partitions(&m, "balanced").iter().all(|(l, _, _)| *l != 1),
        "the restarted broker leads nothing yet"
    );
    let request = ElectLeadersRequest::default()
        .with_election_type(0)
        .with_timeout_ms(10_000)
        .with_topic_partitions(Some(vec![TopicPartitions::default()
            .with_topic(TopicName(StrBytes::from_static_str("balanced")))
            .with_partitions(vec![0, 1, 2])]));
    let mut raw = Raw::connect(&cluster.addr(0)).await;
    let response: ElectLeadersResponse = raw.call(ApiKey::ElectLeaders, 2, &request).await;
    assert_eq!(response.error_code, 0);
    let results = &response.replica_election_results[0].partition_result;
    for r in results {
        let expected = if preferred.contains(&r.partition_id) {
            0
        } else {
            ResponseError::ElectionNotNeeded.code()
        };
        assert_eq!(
            r.error_code, expected,
            "partition {}: {r:?}",
            r.partition_id
        );
    }
    cluster
        .wait_metadata("preferred leaders", Some(&["balanced"]), |m| {
            partitions(m, "balanced")
                .iter()
                .all(|(l, replicas, _)| *l == replicas[0])
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_controller_rebalances_leaders_by_itself() {
    let mut cluster =
        TestCluster::start(3, &[("leader.imbalance.check.interval.seconds", "1")]).await;
    create(&cluster.bootstrap(), "auto").await;
    let _ = bounce(&mut cluster, "auto", 2).await;
    cluster
        .wait_metadata("preferred leaders again", Some(&["auto"]), |m| {
            let ps = partitions(m, "auto");
            ps.len() == 3 && ps.iter().all(|(l, replicas, _)| *l == replicas[0])
        })
        .await;
}
