//! Partition reassignment (KIP-455): AlterPartitionReassignments (API 45) starts or cancels
//! moves of partition replicas between brokers, ListPartitionReassignments (API 46) lists the
//! moves in progress. Both go to the controller, as Kafka's Admin client sends them (any broker
//! of a KRaft cluster forwards them there). Turning a plan file into calls, and reporting, is
//! `kafka-reassign-partitions.sh`'s part (`cli::reassign`).

use std::collections::BTreeMap;

use kafka_protocol::messages::alter_partition_reassignments_request::{
    ReassignablePartition, ReassignableTopic,
};
use kafka_protocol::messages::list_partition_reassignments_request::ListPartitionReassignmentsTopics;
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse, BrokerId,
    ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse,
};
use serde::Serialize;

use super::admin::{self, TopicPartition};
use super::cluster::Cluster;
use crate::error::{Error, Result};

/// One partition's answer to a start or a cancel.
#[derive(Debug)]
pub struct ReassignmentOutcome {
    pub tp: TopicPartition,
    /// `Ok` when the move started (or was cancelled); else the partition's Kafka error
    /// (INVALID_REPLICA_ASSIGNMENT, NO_REASSIGNMENT_IN_PROGRESS, UNKNOWN_TOPIC_OR_PARTITION ...).
    pub result: Result<()>,
}

/// A move in progress, as ListPartitionReassignments reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OngoingReassignment {
    pub tp: TopicPartition,
    /// The replicas now: the target's, followed by those it will drop.
    pub replicas: Vec<i32>,
    /// Target replicas still catching up.
    pub adding: Vec<i32>,
    /// Replicas that leave once the new ones are in the ISR.
    pub removing: Vec<i32>,
}

/// Starts moving each partition to its target replicas (in order: the first is the preferred
/// leader), or cancels its move in progress when the target is `None`. The replication factor
/// may change (KIP-860). Outcomes are sorted by topic and partition.
pub async fn alter(
    cluster: &Cluster,
    changes: &[(TopicPartition, Option<Vec<i32>>)],
) -> Result<Vec<ReassignmentOutcome>> {
    let mut grouped: BTreeMap<&str, Vec<ReassignablePartition>> = BTreeMap::new();
    for ((topic, partition), target) in changes {
        grouped.entry(topic).or_default().push(
            ReassignablePartition::default()
                .with_partition_index(*partition)
                .with_replicas(
                    target
                        .as_ref()
                        .map(|ids| ids.iter().copied().map(BrokerId).collect()),
                ),
        );
    }
    let request = AlterPartitionReassignmentsRequest::default()
        .with_timeout_ms(admin::timeout_ms(cluster))
        .with_allow_replication_factor_change(true)
        .with_topics(
            grouped
                .into_iter()
                .map(|(topic, partitions)| {
                    ReassignableTopic::default()
                        .with_name(admin::topic_name(topic))
                        .with_partitions(partitions)
                })
                .collect(),
        );
    let response = cluster.retry(|| send_alter(cluster, &request)).await?;
    let mut outcomes: Vec<ReassignmentOutcome> = response
        .responses
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(|p| {
                let tp = (t.name.0.to_string(), p.partition_index);
                let result = Error::check(
                    || format!("{}-{}", tp.0, tp.1),
                    p.error_code,
                    p.error_message.as_deref(),
                );
                ReassignmentOutcome { tp, result }
            })
        })
        .collect();
    outcomes.sort_by(|a, b| a.tp.cmp(&b.tp));
    let _ = cluster.refresh_metadata().await;
    Ok(outcomes)
}

async fn send_alter(
    cluster: &Cluster,
    request: &AlterPartitionReassignmentsRequest,
) -> Result<AlterPartitionReassignmentsResponse> {
    let response = admin::controller(cluster).await?.send(request).await?;
    Error::check(
        || "reassign partitions".to_string(),
        response.error_code,
        response.error_message.as_deref(),
    )?;
    Ok(response)
}

/// The moves in progress among `partitions` (all partitions when `None`), sorted by topic and
/// partition.
pub async fn list(
    cluster: &Cluster,
    partitions: Option<&[TopicPartition]>,
) -> Result<Vec<OngoingReassignment>> {
    let topics = partitions.map(|tps| {
        let mut grouped: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
        for (topic, partition) in tps {
            grouped.entry(topic).or_default().push(*partition);
        }
        grouped
            .into_iter()
            .map(|(topic, indexes)| {
                ListPartitionReassignmentsTopics::default()
                    .with_name(admin::topic_name(topic))
                    .with_partition_indexes(indexes)
            })
            .collect()
    });
    let request = ListPartitionReassignmentsRequest::default()
        .with_timeout_ms(admin::timeout_ms(cluster))
        .with_topics(topics);
    let response = cluster.retry(|| send_list(cluster, &request)).await?;
    let ids = |v: &[BrokerId]| v.iter().map(|b| b.0).collect::<Vec<i32>>();
    let mut ongoing: Vec<OngoingReassignment> = response
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(move |p| OngoingReassignment {
                tp: (t.name.0.to_string(), p.partition_index),
                replicas: ids(&p.replicas),
                adding: ids(&p.adding_replicas),
                removing: ids(&p.removing_replicas),
            })
        })
        .collect();
    ongoing.sort_by(|a, b| a.tp.cmp(&b.tp));
    Ok(ongoing)
}

async fn send_list(
    cluster: &Cluster,
    request: &ListPartitionReassignmentsRequest,
) -> Result<ListPartitionReassignmentsResponse> {
    let response = admin::controller(cluster).await?.send(request).await?;
    Error::check(
        || "list partition reassignments".to_string(),
        response.error_code,
        response.error_message.as_deref(),
    )?;
    Ok(response)
}
