//! OffsetForLeaderEpoch: the end offset of a leader epoch, which clients use to detect log
//! truncation (KIP-320), answered from the partition's leader epoch cache.
//!
//! With an authorizer, as Kafka: a principal with CLUSTER_ACTION on the cluster (a follower)
//! may ask for any topic; others need DESCRIBE on each topic (else TOPIC_AUTHORIZATION_FAILED).

use kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use kafka_protocol::messages::{OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse};
use kafka_protocol::ResponseError;

use super::{auth, RequestContext};
use crate::authorizer::{AclOperation, ResourceType};
use crate::error::Result;
use crate::Broker;

pub async fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: OffsetForLeaderEpochRequest,
) -> Result<OffsetForLeaderEpochResponse> {
    let cluster_action = auth::allowed_on_cluster(broker, ctx, AclOperation::ClusterAction);
    let topics = request
        .topics
        .iter()
        .map(|t| {
            let visible = cluster_action
                || auth::allowed(
                    broker,
                    ctx,
                    AclOperation::Describe,
                    ResourceType::Topic,
                    &t.topic.0,
                );
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let base = EpochEndOffset::default().with_partition(p.partition);
                    let found = if visible {
                        end_offset(
                            broker,
                            &t.topic.0,
                            p.partition,
                            p.current_leader_epoch,
                            p.leader_epoch,
                        )
                    } else {
                        Err(ResponseError::TopicAuthorizationFailed)
                    };
                    match found {
                        Ok((epoch, offset)) => {
                            base.with_leader_epoch(epoch).with_end_offset(offset)
                        }
                        Err(e) => base
                            .with_error_code(e.code())
                            .with_leader_epoch(-1)
                            .with_end_offset(-1),
                    }
                })
                .collect();
            OffsetForLeaderTopicResult::default()
                .with_topic(t.topic.clone())
                .with_partitions(partitions)
        })
        .collect();
    Ok(OffsetForLeaderEpochResponse::default().with_topics(topics))
}

fn end_offset(
    broker: &Broker,
    topic: &str,
    index: i32,
    current: i32,
    wanted: i32,
) -> Result<(i32, i64), ResponseError> {
    broker
        .replicas
        .with_leader(topic, index, Some(current), |partition| {
            Ok(partition.end_offset_for_epoch(wanted))
        })
}
