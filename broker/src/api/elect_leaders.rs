//! ElectLeaders (API 43, KIP-183 and KIP-460): preferred or unclean leader election for named
//! partitions or all, decided by the active controller.

use kafka_protocol::messages::elect_leaders_response::{PartitionResult, ReplicaElectionResult};
use kafka_protocol::messages::{ElectLeadersRequest, ElectLeadersResponse};

use super::{str_bytes, topic_name, RequestContext};
use crate::controller::{by_topic, ControllerRequest, ControllerResponse, PREFERRED};
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
