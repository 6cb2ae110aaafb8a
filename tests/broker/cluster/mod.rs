//! The replicated cluster: three `ktui broker` processes forming a Raft controller quorum,
//! with real clients against them.

mod bad_input;
mod coordinator;
mod coordinator_move;
mod elections;
mod failover;
#[path = "../../support/process_cluster.rs"]
pub(crate) mod harness;
mod python;
mod reassignment;
mod replication;
mod roles;
mod transactions;
mod truncation;
mod unclean;

use std::time::Duration;

use kafka_protocol::messages::describe_quorum_request::{PartitionData, TopicData};
use kafka_protocol::messages::{
    ApiKey, DescribeQuorumRequest, DescribeQuorumResponse, MetadataResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};

use crate::common::admin;
use harness::TestCluster;

/// A shorter session than Kafka's 9 s default, so that fencing tests stay short.
pub(crate) const SESSION: (&str, &str) = ("broker.session.timeout.ms", "3000");
pub(crate) const HEARTBEAT: (&str, &str) = ("broker.heartbeat.interval.ms", "500");

async fn create(bootstrap: &str, name: &str, partitions: i32, rf: i32) {
    let results = admin(bootstrap)
        .create_topics(
            &[NewTopic::new(name, partitions, TopicReplication::Fixed(rf))],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(30))),
        )
        .await
        .expect("create topics");
    for r in results {
        r.expect("topic created");
    }
}

/// DescribeQuorum v2 of the metadata log, as kafka-metadata-quorum.sh asks it, from the
/// broker at `addr`.
pub(crate) async fn describe_quorum(addr: &str) -> DescribeQuorumResponse {
    let request = DescribeQuorumRequest::default().with_topics(vec![TopicData::default()
        .with_topic_name(TopicName(StrBytes::from_static_str("__cluster_metadata")))
        .with_partitions(vec![PartitionData::default().with_partition_index(0)])]);
    let mut raw = crate::raw::Raw::connect(addr).await;
    raw.call(ApiKey::DescribeQuorum, 2, &request).await
}

pub(crate) fn partitions(m: &MetadataResponse, topic: &str) -> Vec<(i32, Vec<i32>, Vec<i32>)> {
    m.topics
        .iter()
        .filter(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == topic))
        .flat_map(|t| t.partitions.iter())
        .map(|p| {
            (
                p.leader_id.0,
                p.replica_nodes.iter().map(|b| b.0).collect(),
                p.isr_nodes.iter().map(|b| b.0).collect(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_elect_a_controller_and_share_the_metadata() {
    let cluster = TestCluster::start(3, &[]).await;
    let bootstrap = cluster.bootstrap();
    create(&bootstrap, "replicated", 6, 3).await;
    let (m, _) = cluster
        .wait_metadata("the topic", Some(&["replicated"]), |m| {
            partitions(m, "replicated").len() == 6
        })
        .await;
    assert!(
        (0..3).contains(&m.controller_id.0),
        "controller {:?}",
        m.controller_id
    );
    let parts = partitions(&m, "replicated");
    for (leader, replicas, isr) in &parts {
        let mut sorted = replicas.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, vec![0, 1, 2], "three replicas on three brokers");
        assert_eq!(isr.len(), 3);
        assert_eq!(*leader, replicas[0], "the first replica leads");
    }
    let mut leaders: Vec<i32> = parts.iter().map(|p| p.0).collect();
    leaders.sort_unstable();
    leaders.dedup();
    assert_eq!(
        leaders,
        vec![0, 1, 2],
        "leadership is spread over the brokers"
    );
    // Each node answers from its own replayed image.
    for id in 0..3 {
        let results = admin(&cluster.addr(id))
            .create_topics(
                &[NewTopic::new("replicated", 6, TopicReplication::Fixed(3))],
                &AdminOptions::new(),
            )
            .await
            .expect("create again");
        let err = results[0].clone().expect_err("already exists");
        assert_eq!(err.1, rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists);
    }
    // DescribeQuorum, as kafka-metadata-quorum.sh asks it, from any node.
    let quorum = describe_quorum(&cluster.addr(2)).await;
    assert_eq!(quorum.error_code, 0, "{quorum:?}");
    let status = &quorum.topics[0].partitions[0];
    assert_eq!(status.leader_id.0, m.controller_id.0);
    assert!(
        status.high_watermark > 0 && status.leader_epoch > 0,
        "{status:?}"
    );
    let mut voters: Vec<i32> = status
        .current_voters
        .iter()
        .map(|v| v.replica_id.0)
        .collect();
    voters.sort_unstable();
    assert_eq!(voters, vec![0, 1, 2]);
    assert!(status.current_voters.iter().all(|v| v.log_end_offset > 0));
    assert_eq!(quorum.nodes.len(), 3);
    // A node of another cluster is refused on the controller listener.
    let mut stranger = ktui_broker::quorum::rpc::RpcClient::new(
        cluster.controller_addr(0),
        "another-cluster".to_string(),
    );
    let refused = stranger
        .call(
            &ktui_broker::quorum::rpc::Request::Controller(
                ktui_broker::controller::ControllerRequest::DescribeQuorum,
            ),
            Duration::from_secs(5),
        )
        .await
        .expect_err("another cluster's request is refused");
    assert!(
        refused.to_string().contains("belongs to cluster"),
        "{refused}"
    );
    let too_many = admin(&bootstrap)
        .create_topics(
            &[NewTopic::new("rf4", 1, TopicReplication::Fixed(4))],
            &AdminOptions::new(),
        )
        .await
        .expect("create");
    assert_eq!(
        too_many[0].clone().expect_err("refused").1,
        rdkafka::types::RDKafkaErrorCode::InvalidReplicationFactor
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_broker_is_fenced_and_its_leaderships_move_to_the_isr() {
    let mut cluster = TestCluster::start(3, &[SESSION, HEARTBEAT]).await;
    let bootstrap = cluster.bootstrap();
    create(&bootstrap, "fenced", 3, 3).await;
    let (m, _) = cluster
        .wait_metadata("the topic", Some(&["fenced"]), |m| {
            partitions(m, "fenced").len() == 3
        })
        .await;
    // Kill a broker that is not the controller, so only fencing is at play.
    let victim = (0..3)
        .find(|id| *id != m.controller_id.0)
        .expect("a non-controller");
    cluster.kill(victim as usize);
    let (m, took) = cluster
        .wait_metadata("the victim fenced", Some(&["fenced"]), |m| {
            m.brokers.len() == 2
                && partitions(m, "fenced")
                    .iter()
                    .all(|(leader, _, isr)| *leader != victim && !isr.contains(&victim))
        })
        .await;
    println!("fenced {took:?} after the kill (session 3 s)");
    for (leader, _, isr) in partitions(&m, "fenced") {
        assert!(
            leader >= 0 && isr.len() == 2,
            "led by the ISR: {leader} {isr:?}"
        );
    }
    cluster.spawn(victim as usize);
    cluster.wait_brokers(3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_changes_go_on_after_the_active_controller_is_killed() {
    let mut cluster = TestCluster::start(3, &[SESSION, HEARTBEAT]).await;
    let (m, _) = cluster
        .wait_metadata("a controller", Some(&[]), |m| m.controller_id.0 >= 0)
        .await;
    let old = m.controller_id.0;
    cluster.kill(old as usize);
    let (m, _) = cluster
        .wait_metadata("a new controller", Some(&[]), |m| {
            m.controller_id.0 >= 0 && m.controller_id.0 != old
        })
        .await;
    assert_ne!(m.controller_id.0, old);
    let survivors: Vec<String> = (0..3)
        .filter(|id| *id != old as usize)
        .map(|id| cluster.addr(id))
        .collect();
    create(&survivors.join(","), "after-failover", 2, 2).await;
    cluster
        .wait_metadata("the new topic", Some(&["after-failover"]), |m| {
            partitions(m, "after-failover").len() == 2
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_shutdown_moves_leadership_before_the_broker_goes() {
    let mut cluster = TestCluster::start(3, &[]).await;
    create(&cluster.bootstrap(), "moving", 3, 3).await;
    let (m, _) = cluster
        .wait_metadata("the topic", Some(&["moving"]), |m| {
            partitions(m, "moving").len() == 3
        })
        .await;
    let (leader, _, _) = partitions(&m, "moving")[0].clone();
    let signalled = std::time::Instant::now();
    cluster.terminate(leader as usize);
    let exited = signalled.elapsed();
    // The default session is 9 s: leadership moved by the controlled shutdown, not by fencing.
    let (m, _) = cluster
        .wait_metadata("leadership moved", Some(&["moving"]), |m| {
            partitions(m, "moving")
                .iter()
                .all(|(l, _, _)| *l >= 0 && *l != leader)
        })
        .await;
    let took = signalled.elapsed();
    println!(
        "leadership moved within {took:?} of the SIGTERM (the process exited after {exited:?})"
    );
    // Well before the 9 s session could end: the controlled shutdown moved it, not fencing.
    assert!(took < Duration::from_secs(9), "moved after {took:?}");
    assert_eq!(m.brokers.len(), 2);
}
