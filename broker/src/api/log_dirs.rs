//! DescribeLogDirs (API 35): each log directory of this broker with the size on disk of every
//! partition it holds, as `kafka-log-dirs.sh --describe` and consoles show them. One log
//! directory here (the first of `log.dirs`). The volume's total and usable bytes (v4) are
//! reported as unknown (-1), which Kafka's schema allows. With an authorizer it needs
//! DESCRIBE on the cluster (CLUSTER_AUTHORIZATION_FAILED and no directories otherwise).

use std::collections::BTreeMap;

use kafka_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use kafka_protocol::messages::{DescribeLogDirsRequest, DescribeLogDirsResponse};
use kafka_protocol::ResponseError;

use super::{auth, str_bytes, topic_name, RequestContext};
use crate::authorizer::AclOperation;
use crate::error::Result;
use crate::Broker;

/// Kafka's "unknown" for a volume's total and usable bytes.
const VOLUME_BYTES_UNKNOWN: i64 = -1;

pub async fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: DescribeLogDirsRequest,
) -> Result<DescribeLogDirsResponse> {
    if !auth::allowed_on_cluster(broker, ctx, AclOperation::Describe) {
        // v3 added the top-level error; older versions only see no directories.
        let error = if ctx.version >= 3 {
            ResponseError::ClusterAuthorizationFailed.code()
        } else {
            0
        };
        return Ok(DescribeLogDirsResponse::default().with_error_code(error));
    }
    // None: every partition; Some: only those named (partitions not held here are left out).
    let wanted: Option<BTreeMap<String, Vec<i32>>> = request.topics.as_ref().map(|topics| {
        topics
            .iter()
            .map(|t| (t.topic.0.to_string(), t.partitions.clone()))
            .collect()
    });
    let mut by_topic: BTreeMap<String, Vec<DescribeLogDirsPartition>> = BTreeMap::new();
    for (topic, index, bytes) in broker.replicas.sizes() {
        let included = wanted
            .as_ref()
            .is_none_or(|w| w.get(&topic).is_some_and(|p| p.contains(&index)));
        if included {
            by_topic.entry(topic).or_default().push(
                DescribeLogDirsPartition::default()
                    .with_partition_index(index)
                    .with_partition_size(i64::try_from(bytes).unwrap_or(i64::MAX))
                    .with_offset_lag(0)
                    .with_is_future_key(false),
            );
        }
    }
    let topics = by_topic
        .into_iter()
        .map(|(name, partitions)| {
            DescribeLogDirsTopic::default()
                .with_name(topic_name(&name))
                .with_partitions(partitions)
        })
        .collect();
    let dir = std::path::absolute(&broker.config.log_dir)
        .unwrap_or_else(|_| broker.config.log_dir.clone());
    let result = DescribeLogDirsResult::default()
        .with_log_dir(str_bytes(dir.display().to_string()))
        .with_topics(topics)
        .with_total_bytes(VOLUME_BYTES_UNKNOWN)
        .with_usable_bytes(VOLUME_BYTES_UNKNOWN);
    Ok(DescribeLogDirsResponse::default().with_results(vec![result]))
}
