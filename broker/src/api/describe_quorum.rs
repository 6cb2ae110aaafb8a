//! DescribeQuorum (API 55, KIP-595/KIP-853): the metadata log's leader, epoch, high watermark
//! and each voter's and observer's log end offset, as `kafka-metadata-quorum.sh describe --status` and
//! `--replication` show them. The active controller answers; other brokers ask it. With an
//! authorizer it needs DESCRIBE on the cluster (CLUSTER_AUTHORIZATION_FAILED otherwise).

use kafka_protocol::messages::describe_quorum_response::{
    Listener, Node, PartitionData, ReplicaState, TopicData,
};
use kafka_protocol::messages::{BrokerId, DescribeQuorumRequest, DescribeQuorumResponse};
use kafka_protocol::ResponseError;

use super::{auth, str_bytes, topic_name, RequestContext};
use crate::authorizer::{AclOperation, ResourceType};
use crate::controller::{ControllerRequest, ControllerResponse};
use crate::error::Result;
use crate::quorum::METADATA_DIR;
use crate::Broker;

/// The metadata topic's name, as Kafka's tools ask for it.
const METADATA_TOPIC: &str = "__cluster_metadata";
/// DescribeQuorum v1 added the voters' fetch and caught-up times; v2 the nodes.
const TIMES_VERSION: i16 = 1;
const NODES_VERSION: i16 = 2;

pub async fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: DescribeQuorumRequest,
) -> Result<DescribeQuorumResponse> {
    if !auth::allowed_on_cluster(broker, ctx, AclOperation::Describe) {
        let message = auth::denied(ctx, AclOperation::Describe, ResourceType::Cluster, "");
        return Ok(DescribeQuorumResponse::default()
            .with_error_code(ResponseError::ClusterAuthorizationFailed.code())
            .with_error_message(Some(str_bytes(message))));
    }
    let asks_metadata = request.topics.iter().any(|t| {
        t.topic_name.0.as_str() == METADATA_TOPIC
            && t.partitions.iter().any(|p| p.partition_index == 0)
    });
    if !asks_metadata {
        return Ok(DescribeQuorumResponse::default()
            .with_error_code(ResponseError::UnknownTopicOrPartition.code())
            .with_error_message(Some(str_bytes(format!(
                "Only {METADATA_DIR} has a quorum."
            )))));
    }
    let quorum = match broker
        .cluster
        .submit(ControllerRequest::DescribeQuorum)
        .await
    {
        Ok(ControllerResponse::Quorum(q)) => q,
        Ok(_) => {
            return Ok(DescribeQuorumResponse::default()
                .with_error_code(ResponseError::UnknownServerError.code()))
        }
        Err(r) => {
            return Ok(DescribeQuorumResponse::default()
                .with_error_code(r.error.code())
                .with_error_message(Some(str_bytes(r.message))))
        }
    };
    let times = ctx.version >= TIMES_VERSION;
    let replica = |(id, leo): &(i32, i64)| {
        let caught_up = quorum.caught_up.contains(id);
        let at = if times && caught_up {
            quorum.now_ms
        } else {
            -1
        };
        ReplicaState::default()
            .with_replica_id(BrokerId(*id))
            .with_log_end_offset(*leo)
            .with_last_fetch_timestamp(at)
            .with_last_caught_up_timestamp(at)
    };
    let voters = quorum.voters.iter().map(replica).collect();
    let observers = quorum.observers.iter().map(replica).collect();
    let partition = PartitionData::default()
        .with_partition_index(0)
        .with_leader_id(BrokerId(quorum.leader_id))
        .with_leader_epoch(quorum.leader_epoch)
        .with_high_watermark(quorum.high_watermark)
        .with_current_voters(voters)
        .with_observers(observers);
    let mut response = DescribeQuorumResponse::default().with_topics(vec![TopicData::default()
        .with_topic_name(topic_name(METADATA_TOPIC.to_string()))
        .with_partitions(vec![partition])]);
    if ctx.version >= NODES_VERSION {
        response.nodes = quorum
            .voters
            .iter()
            .filter_map(|(id, _)| {
                let addr = broker.cluster.quorum().voter_addr(*id)?;
                let addr = addr.as_str();
                let (host, port) = addr.rsplit_once(':')?;
                Some(Node::default().with_node_id(BrokerId(*id)).with_listeners(
                    vec![Listener::default()
                            .with_name(str_bytes("CONTROLLER"))
                            .with_host(str_bytes(host.to_string()))
                            .with_port(port.parse().ok()?)],
                ))
            })
            .collect();
    }
    Ok(response)
}
