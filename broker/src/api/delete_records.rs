//! DeleteRecords: move a partition's log start offset (low watermark) forward. With an
//! authorizer, each topic needs DELETE (else TOPIC_AUTHORIZATION_FAILED), as in Kafka.

use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::{DeleteRecordsRequest, DeleteRecordsResponse};
use kafka_protocol::ResponseError;

use super::{auth, RequestContext};
use crate::authorizer::{AclOperation, ResourceType};
use crate::error::Result;
use crate::Broker;

/// An offset of -1 means "up to the high watermark".
const HIGH_WATERMARK: i64 = -1;

pub async fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: DeleteRecordsRequest,
) -> Result<DeleteRecordsResponse> {
    let topics = request
        .topics
        .iter()
        .map(|t| {
            let deletable = auth::allowed(
                broker,
                ctx,
                AclOperation::Delete,
                ResourceType::Topic,
                &t.name.0,
            );
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let base = DeleteRecordsPartitionResult::default()
                        .with_partition_index(p.partition_index);
                    let deleted = if deletable {
                        delete_partition(broker, &t.name.0, p.partition_index, p.offset)
                    } else {
                        Err(ResponseError::TopicAuthorizationFailed)
                    };
                    match deleted {
                        Ok(low) => base.with_low_watermark(low),
                        Err(e) => base.with_error_code(e.code()).with_low_watermark(-1),
                    }
                })
                .collect();
            DeleteRecordsTopicResult::default()
                .with_name(t.name.clone())
                .with_partitions(partitions)
        })
        .collect();
    Ok(DeleteRecordsResponse::default().with_topics(topics))
}

fn delete_partition(
    broker: &Broker,
    topic: &str,
    index: i32,
    offset: i64,
) -> Result<i64, ResponseError> {
    broker
        .replicas
        .with_leader(topic, index, None, |partition| {
            let target = if offset == HIGH_WATERMARK {
                partition.log_end_offset()
            } else {
                offset
            };
            partition.delete_records_before(target)
        })
}
