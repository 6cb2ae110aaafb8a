//! ListOffsets: earliest (-2), latest (-1), max timestamp (-3, v7+), earliest local (-4) and
//! offsets for a timestamp. With an authorizer, each topic needs DESCRIBE (else its partitions
//! get TOPIC_AUTHORIZATION_FAILED), as in Kafka.

use kafka_protocol::messages::list_offsets_request::ListOffsetsPartition;
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};
use kafka_protocol::ResponseError;

use super::{auth, RequestContext};
use crate::authorizer::{AclOperation, ResourceType};
use crate::error::Result;
use crate::Broker;

const LATEST: i64 = -1;
const EARLIEST: i64 = -2;
const MAX_TIMESTAMP: i64 = -3;
const EARLIEST_LOCAL: i64 = -4;
const LATEST_TIERED: i64 = -5;
/// ListOffsets v4 added the leader epoch to requests and responses.
const LEADER_EPOCH_VERSION: i16 = 4;

pub async fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: ListOffsetsRequest,
) -> Result<ListOffsetsResponse> {
    let topics = request
        .topics
        .iter()
        .map(|topic| {
            let name = topic.name.0.as_str();
            let visible = auth::allowed(
                broker,
                ctx,
                AclOperation::Describe,
                ResourceType::Topic,
                name,
            );
            let partitions = topic
                .partitions
                .iter()
                .map(|p| {
                    let base = ListOffsetsPartitionResponse::default()
                        .with_partition_index(p.partition_index);
                    let listed = if visible {
                        list_partition(broker, ctx, name, p, request.isolation_level)
                    } else {
                        Err(ResponseError::TopicAuthorizationFailed)
                    };
                    match listed {
                        Ok((offset, timestamp, epoch)) => base
                            .with_offset(offset)
                            .with_timestamp(timestamp)
                            .with_leader_epoch(epoch),
                        Err(e) => base
                            .with_error_code(e.code())
                            .with_offset(-1)
                            .with_timestamp(-1),
                    }
                })
                .collect();
            ListOffsetsTopicResponse::default()
                .with_name(topic.name.clone())
                .with_partitions(partitions)
        })
        .collect();
    Ok(ListOffsetsResponse::default().with_topics(topics))
}

/// (offset, timestamp, leader epoch) for one partition's query.
fn list_partition(
    broker: &Broker,
    ctx: &RequestContext,
    name: &str,
    p: &ListOffsetsPartition,
    isolation_level: i8,
) -> Result<(i64, i64, i32), ResponseError> {
    let client_epoch = (ctx.version >= LEADER_EPOCH_VERSION).then_some(p.current_leader_epoch);
    let (found, epoch) =
        broker
            .replicas
            .with_leader(name, p.partition_index, client_epoch, |partition| {
                let found = match p.timestamp {
                    // read_committed (1) learns the last stable offset.
                    LATEST if isolation_level == 1 => Some((partition.last_stable_offset(), -1)),
                    LATEST => Some((partition.high_watermark(), -1)),
                    EARLIEST | EARLIEST_LOCAL => Some((partition.log_start_offset(), -1)),
                    MAX_TIMESTAMP => partition.max_timestamp_offset()?,
                    LATEST_TIERED => None,
                    ts if ts >= 0 => partition.offset_for_timestamp(ts)?,
                    _ => return Err(ResponseError::InvalidRequest),
                };
                Ok((found, partition.leader_epoch()))
            })?;
    // Versions before v4 have no leader epoch field; it must stay at its default.
    let epoch = if ctx.version >= LEADER_EPOCH_VERSION {
        epoch
    } else {
        -1
    };
    Ok(match found {
        Some((offset, timestamp)) => (offset, timestamp, epoch),
        None => (-1, -1, -1),
    })
}
