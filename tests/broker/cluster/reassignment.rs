//! Reassignment (KIP-455): a partition grows from one replica to three and shrinks back to one
//! on another broker, its records intact, as `kafka-reassign-partitions.sh --execute` does it.

use std::time::Duration;

use kafka_protocol::messages::alter_partition_reassignments_request::{
    ReassignablePartition, ReassignableTopic,
};
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse, ApiKey, BrokerId,
    ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::producer::FutureRecord;
use rdkafka::Offset;

use super::harness::TestCluster;
use super::partitions;
use crate::common::{admin, consume, producer};
use crate::raw::Raw;

async fn reassign(
    raw: &mut Raw,
    replicas: Option<Vec<i32>>,
) -> AlterPartitionReassignmentsResponse {
    let request = AlterPartitionReassignmentsRequest::default()
        .with_timeout_ms(10_000)
        .with_allow_replication_factor_change(true)
        .with_topics(vec![ReassignableTopic::default()
            .with_name(TopicName(StrBytes::from_static_str("moving")))
            .with_partitions(vec![ReassignablePartition::default()
                .with_partition_index(0)
                .with_replicas(
                    replicas.map(|rs| rs.into_iter().map(BrokerId).collect()),
                )])]);
    raw.call(ApiKey::AlterPartitionReassignments, 0, &request)
        .await
}

async fn ongoing(raw: &mut Raw) -> usize {
    let response: ListPartitionReassignmentsResponse = raw
        .call(
            ApiKey::ListPartitionReassignments,
            0,
            &ListPartitionReassignmentsRequest::default().with_timeout_ms(10_000),
        )
        .await;
    response.topics.iter().map(|t| t.partitions.len()).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_moves_from_one_replica_to_three_and_back_to_another() {
    let cluster = TestCluster::start(3, &[]).await;
    let bootstrap = cluster.bootstrap();
    let topic = NewTopic::new("moving", 1, TopicReplication::Fixed(1));
    for r in admin(&bootstrap)
        .create_topics([&topic], &AdminOptions::new())
        .await
        .expect("create")
    {
        r.expect("created");
    }
    let producer = producer(&bootstrap, &[("acks", "all")]);
    for i in 0..500 {
        let value = format!("m{i}");
        producer
            .send(
                FutureRecord::<(), _>::to("moving").payload(&value),
                Duration::from_secs(30),
            )
            .await
            .expect("sent");
    }
    let (m, _) = cluster
        .wait_metadata("the topic", Some(&["moving"]), |m| {
            partitions(m, "moving").len() == 1
        })
        .await;
    let first = partitions(&m, "moving")[0].0;
    let others: Vec<i32> = (0..3).filter(|b| *b != first).collect();
    let mut raw = Raw::connect(&cluster.addr(0)).await;

    // Nothing to cancel yet; an unknown broker is refused.
    let none = reassign(&mut raw, None).await;
    assert_eq!(
        none.responses[0].partitions[0].error_code,
        kafka_protocol::ResponseError::NoReassignmentInProgress.code()
    );
    let bad = reassign(&mut raw, Some(vec![first, 7])).await;
    assert_eq!(
        bad.responses[0].partitions[0].error_code,
        kafka_protocol::ResponseError::InvalidReplicaAssignment.code()
    );

    let grown = reassign(&mut raw, Some(vec![first, others[0], others[1]])).await;
    assert_eq!(grown.error_code, 0);
    assert_eq!(grown.responses[0].partitions[0].error_code, 0);
    cluster
        .wait_metadata("three replicas in the ISR", Some(&["moving"]), |m| {
            partitions(m, "moving")
                .first()
                .is_some_and(|(_, replicas, isr)| replicas.len() == 3 && isr.len() == 3)
        })
        .await;
    assert_eq!(ongoing(&mut raw).await, 0, "the reassignment completed");

    // Back to one replica, on a broker that had none at first: the leader moves there.
    let target = others[1];
    let shrunk = reassign(&mut raw, Some(vec![target])).await;
    assert_eq!(shrunk.responses[0].partitions[0].error_code, 0);
    let (m, _) = cluster
        .wait_metadata("one replica on the target", Some(&["moving"]), |m| {
            partitions(m, "moving")
                .first()
                .is_some_and(|(leader, replicas, isr)| {
                    *leader == target && *replicas == vec![target] && *isr == vec![target]
                })
        })
        .await;
    assert_eq!(partitions(&m, "moving").len(), 1);
    let values: Vec<String> = consume(&bootstrap, "moving", 1, Offset::Beginning, 500)
        .into_iter()
        .map(|s| String::from_utf8(s.value.unwrap_or_default()).expect("utf8"))
        .collect();
    let expected: Vec<String> = (0..500).map(|i| format!("m{i}")).collect();
    assert_eq!(values, expected, "every record moved with the partition");
    assert!(
        !cluster.data_dir(first as usize).join("moving-0").exists(),
        "the old replica's log is gone"
    );
}
