//! The dispatch table: for each API key we implement, the versions we advertise, the versions
//! we decode, and the handler. ApiVersions is answered from this same table, so we advertise
//! exactly what we implement.
//!
//! Produce is advertised from v0 although only v3+ is decoded: librdkafka before 2.11.1 enables
//! compression only when the advertised Produce range contains v0..v2 (KAFKA-18659), and Kafka
//! 4.x advertises them for that reason. A request at an undecodable version closes the
//! connection, as Kafka does; an ApiVersions request newer than ours gets a v0 answer with
//! UNSUPPORTED_VERSION and our ranges (KIP-511).

use std::future::Future;

use std::pin::Pin;

use bytes::Bytes;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::Decodable;

use crate::api;
use crate::error::{Error, Result};
use crate::Broker;

pub use crate::api::RequestContext;

type Reply<'a> = Pin<Box<dyn Future<Output = Result<Option<ResponseKind>>> + Send + 'a>>;
type Handler = for<'a> fn(&'a Broker, &'a RequestContext, Bytes) -> Reply<'a>;

/// One API we serve.
pub struct Route {
    pub key: ApiKey,
    /// Lowest version in ApiVersions.
    pub advertised_min: i16,
    /// Lowest version we decode.
    pub min: i16,
    pub max: i16,
    handler: Handler,
}

fn decode<T: Decodable>(body: &mut Bytes, version: i16) -> Result<T> {
    T::decode(body, version).map_err(|e| Error::Malformed(e.to_string()))
}

macro_rules! route {
    ($key:ident, $req:ty, $adv:expr, $min:expr, $max:expr, $handler:path) => {
        Route {
            key: ApiKey::$key,
            advertised_min: $adv,
            min: $min,
            max: $max,
            handler: |broker, ctx, mut body| {
                Box::pin(async move {
                    let request: $req = decode(&mut body, ctx.version)?;
                    let response = $handler(broker, ctx, request).await?;
                    Ok(Some(ResponseKind::$key(response)))
                })
            },
        }
    };
}

/// Every API this broker implements.
pub static ROUTES: &[Route] = &[
    Route {
        key: ApiKey::Produce,
        advertised_min: 0,
        min: 3,
        max: 13,
        handler: |broker, ctx, mut body| {
            Box::pin(async move {
                let request: ProduceRequest = decode(&mut body, ctx.version)?;
                let response = api::produce::handle(broker, ctx, request).await?;
                Ok(response.map(ResponseKind::Produce))
            })
        },
    },
    route!(Fetch, FetchRequest, 4, 4, 17, api::fetch::handle),
    route!(
        ListOffsets,
        ListOffsetsRequest,
        1,
        1,
        10,
        api::list_offsets::handle
    ),
    route!(Metadata, MetadataRequest, 0, 0, 13, api::metadata::handle),
    route!(
        ApiVersions,
        ApiVersionsRequest,
        0,
        0,
        4,
        api::api_versions::handle
    ),
    route!(
        CreateTopics,
        CreateTopicsRequest,
        2,
        2,
        7,
        api::topics::create
    ),
    route!(
        DeleteTopics,
        DeleteTopicsRequest,
        1,
        1,
        6,
        api::topics::delete
    ),
    route!(
        CreatePartitions,
        CreatePartitionsRequest,
        0,
        0,
        3,
        api::topics::create_partitions
    ),
    route!(
        DeleteRecords,
        DeleteRecordsRequest,
        0,
        0,
        2,
        api::delete_records::handle
    ),
    route!(
        InitProducerId,
        InitProducerIdRequest,
        0,
        0,
        5,
        api::producer_id::handle
    ),
    route!(
        AddPartitionsToTxn,
        AddPartitionsToTxnRequest,
        0,
        0,
        5,
        api::transactions::add_partitions
    ),
    route!(
        AddOffsetsToTxn,
        AddOffsetsToTxnRequest,
        0,
        0,
        4,
        api::transactions::add_offsets
    ),
    route!(EndTxn, EndTxnRequest, 0, 0, 5, api::transactions::end),
    route!(
        WriteTxnMarkers,
        WriteTxnMarkersRequest,
        1,
        1,
        1,
        api::txn_admin::write_markers
    ),
    route!(
        TxnOffsetCommit,
        TxnOffsetCommitRequest,
        0,
        0,
        5,
        api::transactions::commit_offsets
    ),
    route!(
        DescribeProducers,
        DescribeProducersRequest,
        0,
        0,
        0,
        api::txn_admin::describe_producers
    ),
    route!(
        DescribeTransactions,
        DescribeTransactionsRequest,
        0,
        0,
        0,
        api::txn_admin::describe
    ),
    route!(
        ListTransactions,
        ListTransactionsRequest,
        0,
        0,
        2,
        api::txn_admin::list
    ),
    route!(
        OffsetForLeaderEpoch,
        OffsetForLeaderEpochRequest,
        2,
        2,
        4,
        api::leader_epoch::handle
    ),
    route!(
        DescribeConfigs,
        DescribeConfigsRequest,
        1,
        1,
        4,
        api::configs::describe
    ),
    route!(
        AlterConfigs,
        AlterConfigsRequest,
        0,
        0,
        2,
        api::configs::alter
    ),
    route!(
        IncrementalAlterConfigs,
        IncrementalAlterConfigsRequest,
        0,
        0,
        1,
        api::configs::incremental_alter
    ),
    route!(
        DescribeLogDirs,
        DescribeLogDirsRequest,
        1,
        1,
        4,
        api::log_dirs::handle
    ),
    route!(
        ElectLeaders,
        ElectLeadersRequest,
        0,
        0,
        2,
        api::elect_leaders::handle
    ),
    route!(
        AlterPartitionReassignments,
        AlterPartitionReassignmentsRequest,
        0,
        0,
        1,
        api::reassignments::alter
    ),
    route!(
        ListPartitionReassignments,
        ListPartitionReassignmentsRequest,
        0,
        0,
        0,
        api::reassignments::list
    ),
    route!(
        DescribeQuorum,
        DescribeQuorumRequest,
        0,
        0,
        2,
        api::describe_quorum::handle
    ),
    route!(
        AddRaftVoter,
        AddRaftVoterRequest,
        0,
        0,
        0,
        api::raft_voters::add
    ),
    route!(
        RemoveRaftVoter,
        RemoveRaftVoterRequest,
        0,
        0,
        0,
        api::raft_voters::remove
    ),
    route!(
        DescribeAcls,
        DescribeAclsRequest,
        1,
        1,
        3,
        api::acls::describe
    ),
    route!(CreateAcls, CreateAclsRequest, 1, 1, 3, api::acls::create),
    route!(DeleteAcls, DeleteAclsRequest, 1, 1, 3, api::acls::delete),
    route!(
        DescribeCluster,
        DescribeClusterRequest,
        0,
        0,
        1,
        api::describe_cluster::handle
    ),
    route!(
        FindCoordinator,
        FindCoordinatorRequest,
        0,
        0,
        6,
        api::groups::find_coordinator
    ),
    route!(JoinGroup, JoinGroupRequest, 0, 0, 9, api::groups::join),
    route!(SyncGroup, SyncGroupRequest, 0, 0, 5, api::groups::sync),
    route!(Heartbeat, HeartbeatRequest, 0, 0, 4, api::groups::heartbeat),
    route!(LeaveGroup, LeaveGroupRequest, 0, 0, 5, api::groups::leave),
    route!(
        OffsetCommit,
        OffsetCommitRequest,
        2,
        2,
        9,
        api::offsets::commit
    ),
    route!(
        OffsetFetch,
        OffsetFetchRequest,
        1,
        1,
        9,
        api::offsets::fetch
    ),
    route!(
        OffsetDelete,
        OffsetDeleteRequest,
        0,
        0,
        0,
        api::offsets::delete
    ),
    route!(
        ListGroups,
        ListGroupsRequest,
        0,
        0,
        5,
        api::group_admin::list
    ),
    route!(
        DescribeGroups,
        DescribeGroupsRequest,
        0,
        0,
        6,
        api::group_admin::describe
    ),
    route!(
        DeleteGroups,
        DeleteGroupsRequest,
        0,
        0,
        2,
        api::group_admin::delete
    ),
    route!(
        ConsumerGroupHeartbeat,
        ConsumerGroupHeartbeatRequest,
        0,
        0,
        1,
        api::consumer_groups::heartbeat
    ),
    route!(
        SaslHandshake,
        SaslHandshakeRequest,
        0,
        0,
        1,
        api::sasl::handshake
    ),
    route!(
        SaslAuthenticate,
        SaslAuthenticateRequest,
        0,
        0,
        2,
        api::sasl::authenticate
    ),
    route!(
        DescribeUserScramCredentials,
        DescribeUserScramCredentialsRequest,
        0,
        0,
        0,
        api::scram_credentials::describe
    ),
    route!(
        AlterUserScramCredentials,
        AlterUserScramCredentialsRequest,
        0,
        0,
        0,
        api::scram_credentials::alter
    ),
    route!(
        ConsumerGroupDescribe,
        ConsumerGroupDescribeRequest,
        0,
        0,
        1,
        api::consumer_groups::describe
    ),
];

/// The route for an API key, if we serve it.
pub fn route(key: ApiKey) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.key == key)
}

/// Handles one request; returns the version to encode the response at and the response, or
/// `None` when the request gets no response (Produce with acks=0).
pub async fn dispatch(
    broker: &Broker,
    ctx: &RequestContext,
    body: Bytes,
) -> Result<Option<(i16, ResponseKind)>> {
    let unsupported = Error::Unsupported {
        key: ctx.api_key as i16,
        version: ctx.version,
    };
    let Some(route) = route(ctx.api_key) else {
        return Err(unsupported);
    };
    if ctx.version > route.max && ctx.api_key == ApiKey::ApiVersions {
        return Ok(Some((
            0,
            ResponseKind::ApiVersions(api::api_versions::unsupported()),
        )));
    }
    if ctx.version < route.min || ctx.version > route.max {
        return Err(unsupported);
    }
    let response = (route.handler)(broker, ctx, body).await?;
    Ok(response.map(|r| (ctx.version, r)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_within_what_kafka_protocol_decodes() {
        for route in ROUTES {
            let valid = route.key.valid_versions();
            assert!(
                route.min >= valid.min && route.max <= valid.max,
                "{:?}",
                route.key
            );
            assert!(route.advertised_min <= route.min);
            let dupes = ROUTES.iter().filter(|r| r.key == route.key).count();
            assert_eq!(dupes, 1, "{:?} routed twice", route.key);
        }
    }
}
