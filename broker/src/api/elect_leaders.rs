//! ElectLeaders (API 43, KIP-183 and KIP-460): preferred or unclean leader election for named
//! partitions or all, decided by the active controller. With an authorizer it needs ALTER on
//! the cluster (else every partition, and from v1 the response, get
//! CLUSTER_AUTHORIZATION_FAILED), as in Kafka.

use kafka_protocol::messages::elect_leaders_response::{PartitionResult, ReplicaElectionResult};
use kafka_protocol::messages::{ElectLeadersRequest, ElectLeadersResponse};
use kafka_protocol::ResponseError;

use super::{auth, str_bytes, topic_name, RequestContext};
use crate::authorizer::{AclOperation, ResourceType};
use crate::controller::{
    by_topic, ControllerRequest, ControllerResponse, PartitionOutcome, PREFERRED,
};
use crate::error::Result;
use crate::Broker;

/// ElectLeaders v1 chooses the election type; v0 is always preferred.
const ELECTION_TYPE_VERSION: i16 = 1;

pub async fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: ElectLeadersRequest,
) -> Result<ElectLeadersResponse> {
    let election_type = if ctx.version >= ELECTION_TYPE_VERSION {
        request.election_type
    } else {
        PREFERRED
    };
    let partitions = request.topic_partitions.as_ref().map(|topics| {
        topics
            .iter()
            .flat_map(|t| t.partitions.iter().map(|p| (t.topic.0.to_string(), *p)))
            .collect()
    });
    if !auth::allowed_on_cluster(broker, ctx, AclOperation::Alter) {
        return Ok(refused(ctx, partitions.unwrap_or_default()));
    }
    let asked = ControllerRequest::ElectLeaders {
        election_type,
        partitions,
    };
    let results = match broker.cluster.submit(asked).await {
        Ok(ControllerResponse::Elections(results)) => results,
        Ok(_) => Vec::new(),
        Err(r) => {
            return Ok(ElectLeadersResponse::default().with_error_code(r.error.code()));
        }
    };
    let results = by_topic(results, |r| {
        PartitionResult::default()
            .with_partition_id(r.partition)
            .with_error_code(r.error)
            .with_error_message(r.message.map(str_bytes))
    })
    .into_iter()
    .map(|(topic, partitions)| {
        ReplicaElectionResult::default()
            .with_topic(topic_name(topic))
            .with_partition_result(partitions)
    })
    .collect();
    Ok(ElectLeadersResponse::default().with_replica_election_results(results))
}

/// The answer to a principal without ALTER on the cluster: every partition asked for, and the
/// response (v1+), refused.
fn refused(ctx: &RequestContext, partitions: Vec<(String, i32)>) -> ElectLeadersResponse {
    let error = ResponseError::ClusterAuthorizationFailed;
    let message = auth::denied(ctx, AclOperation::Alter, ResourceType::Cluster, "");
    let outcomes = partitions
        .into_iter()
        .map(|(topic, partition)| PartitionOutcome {
            topic,
            partition,
            error: error.code(),
            message: Some(message.clone()),
        })
        .collect();
    let results = by_topic(outcomes, |r| {
        PartitionResult::default()
            .with_partition_id(r.partition)
            .with_error_code(r.error)
            .with_error_message(r.message.map(str_bytes))
    })
    .into_iter()
    .map(|(topic, partitions)| {
        ReplicaElectionResult::default()
            .with_topic(topic_name(topic))
            .with_partition_result(partitions)
    })
    .collect();
    let top = if ctx.version >= ELECTION_TYPE_VERSION {
        error.code()
    } else {
        0
    };
    ElectLeadersResponse::default()
        .with_error_code(top)
        .with_replica_election_results(results)
}
