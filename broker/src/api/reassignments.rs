//! AlterPartitionReassignments (API 45, KIP-455 and KIP-860) and ListPartitionReassignments
//! (API 46): moving partition replicas between brokers, as `kafka-reassign-partitions.sh`
//! does. The active controller runs a reassignment; the list is read from the metadata.
//! With an authorizer, altering needs ALTER and listing DESCRIBE on the cluster
//! (CLUSTER_AUTHORIZATION_FAILED otherwise), as in Kafka.

use std::collections::BTreeMap;

use kafka_protocol::messages::alter_partition_reassignments_response::{
    ReassignablePartitionResponse, ReassignableTopicResponse,
};
use kafka_protocol::messages::list_partition_reassignments_response::{
    OngoingPartitionReassignment, OngoingTopicReassignment,
};
use kafka_protocol::messages::*;
use kafka_protocol::ResponseError;

use super::{auth, str_bytes, topic_name, RequestContext};
use crate::authorizer::{AclOperation, ResourceType};
use crate::controller::{by_topic, ControllerRequest, ControllerResponse, PartitionOutcome};
use crate::error::Result;
use crate::Broker;

pub async fn alter(
    broker: &Broker,
    ctx: &RequestContext,
    request: AlterPartitionReassignmentsRequest,
) -> Result<AlterPartitionReassignmentsResponse> {
    if !auth::allowed_on_cluster(broker, ctx, AclOperation::Alter) {
        let message = auth::denied(ctx, AclOperation::Alter, ResourceType::Cluster, "");
        return Ok(AlterPartitionReassignmentsResponse::default()
            .with_error_code(ResponseError::ClusterAuthorizationFailed.code())
            .with_error_message(Some(str_bytes(message))));
    }
    let mut early: Vec<PartitionOutcome> = Vec::new();
    let mut partitions = Vec::new();
    for t in &request.topics {
        for p in &t.partitions {
            let target: Option<Vec<i32>> = p
                .replicas
                .as_ref()
                .map(|rs| rs.iter().map(|b| b.0).collect());
            let name = t.name.0.to_string();
            if let Some(target) = &target {
                if !request.allow_replication_factor_change {
                    let rf = broker.cluster.read(|i| {
                        let part = i
                            .topics
                            .get(&name)?
                            .partitions
                            .get(p.partition_index as usize)?;
                        Some(part.replicas.len() - part.adding_replicas.len())
                    });
                    if rf.is_some_and(|rf| rf != target.len()) {
                        early.push(PartitionOutcome {
                            topic: name,
                            partition: p.partition_index,
                            error: ResponseError::InvalidReplicationFactor.code(),
                            message: Some(
                                "The reassignment would change the replication factor.".into(),
                            ),
                        });
                        continue;
                    }
                }
            }
            partitions.push((name, p.partition_index, target));
        }
    }
    let mut outcomes = early;
    if !partitions.is_empty() {
        match broker
            .cluster
            .submit(ControllerRequest::AlterReassignments { partitions })
            .await
        {
            Ok(ControllerResponse::Reassignments(results)) => outcomes.extend(results),
            Ok(_) => {}
            Err(r) => {
                return Ok(AlterPartitionReassignmentsResponse::default()
                    .with_error_code(r.error.code())
                    .with_error_message(Some(str_bytes(r.message))));
            }
        }
    }
    let responses = by_topic(outcomes, |o| {
        ReassignablePartitionResponse::default()
            .with_partition_index(o.partition)
            .with_error_code(o.error)
            .with_error_message(o.message.map(str_bytes))
    })
    .into_iter()
    .map(|(name, partitions)| {
        ReassignableTopicResponse::default()
            .with_name(topic_name(name))
            .with_partitions(partitions)
    })
    .collect();
    Ok(AlterPartitionReassignmentsResponse::default()
        .with_allow_replication_factor_change(request.allow_replication_factor_change)
        .with_responses(responses))
}

pub async fn list(
    broker: &Broker,
    ctx: &RequestContext,
    request: ListPartitionReassignmentsRequest,
) -> Result<ListPartitionReassignmentsResponse> {
    if !auth::allowed_on_cluster(broker, ctx, AclOperation::Describe) {
        let message = auth::denied(ctx, AclOperation::Describe, ResourceType::Cluster, "");
        return Ok(ListPartitionReassignmentsResponse::default()
            .with_error_code(ResponseError::ClusterAuthorizationFailed.code())
            .with_error_message(Some(str_bytes(message))));
    }
    let wanted: Option<BTreeMap<String, Vec<i32>>> = request.topics.as_ref().map(|ts| {
        ts.iter()
            .map(|t| (t.name.0.to_string(), t.partition_indexes.clone()))
            .collect()
    });
    let topics = broker.cluster.read(|image| {
        let mut out = Vec::new();
        for (name, topic) in &image.topics {
            let partitions: Vec<OngoingPartitionReassignment> = topic
                .partitions
                .iter()
                .enumerate()
                .filter(|(i, p)| {
                    let asked = wanted
                        .as_ref()
                        .is_none_or(|w| w.get(name).is_some_and(|ps| ps.contains(&(*i as i32))));
                    asked && (!p.adding_replicas.is_empty() || !p.removing_replicas.is_empty())
                })
                .map(|(i, p)| {
                    let ids = |v: &[i32]| v.iter().copied().map(BrokerId).collect();
                    OngoingPartitionReassignment::default()
                        .with_partition_index(i as i32)
                        .with_replicas(ids(&p.replicas))
                        .with_adding_replicas(ids(&p.adding_replicas))
                        .with_removing_replicas(ids(&p.removing_replicas))
                })
                .collect();
            if !partitions.is_empty() {
                out.push(
                    OngoingTopicReassignment::default()
                        .with_name(topic_name(name.clone()))
                        .with_partitions(partitions),
                );
            }
        }
        out
    });
    Ok(ListPartitionReassignmentsResponse::default().with_topics(topics))
}
