//! DescribeQuorum (API 55, KIP-595 and KIP-853): the KRaft controller quorum that replicates
//! the metadata log (`__cluster_metadata-0`): its leader, epoch and high watermark, and how far
//! each voter and observer has fetched. Asked of any broker, which forwards it to the active
//! controller, as Kafka's Admin client does for `kafka-metadata-quorum.sh describe`.
//! AddRaftVoter and RemoveRaftVoter (KIP-853) change the voters of a dynamic quorum.

use kafka_protocol::messages::add_raft_voter_request::Listener;
use kafka_protocol::messages::describe_quorum_request::{PartitionData, TopicData};
use kafka_protocol::messages::{
    describe_quorum_response, AddRaftVoterRequest, DescribeQuorumRequest, RemoveRaftVoterRequest,
};
use kafka_protocol::protocol::StrBytes;
use serde::Serialize;

use super::admin;
use super::cluster::Cluster;
use crate::error::{Error, Result};

/// The metadata log's topic, the only one with a quorum.
const METADATA_TOPIC: &str = "__cluster_metadata";

/// One replica of the metadata log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReplicaState {
    pub replica_id: i32,
    pub log_end_offset: i64,
    /// Milliseconds since the epoch; `None` when the leader does not know (DescribeQuorum v0,
    /// or a replica that has not fetched).
    pub last_fetch_timestamp: Option<i64>,
    pub last_caught_up_timestamp: Option<i64>,
}

/// A quorum member's listeners (DescribeQuorum v2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuorumNode {
    pub id: i32,
    /// `NAME://host:port`, as Kafka prints endpoints.
    pub endpoints: Vec<String>,
}

/// The quorum as its leader describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuorumInfo {
    pub leader_id: i32,
    pub leader_epoch: i32,
    pub high_watermark: i64,
    pub voters: Vec<ReplicaState>,
    pub observers: Vec<ReplicaState>,
    /// Empty before DescribeQuorum v2.
    pub nodes: Vec<QuorumNode>,
}

impl QuorumInfo {
    /// The leader's own state, among the voters.
    pub fn leader(&self) -> Option<&ReplicaState> {
        self.voters.iter().find(|v| v.replica_id == self.leader_id)
    }

    /// How many records `replica` is behind the leader (0 when the leader is unknown).
    pub fn lag(&self, replica: &ReplicaState) -> i64 {
        self.leader()
            .map_or(0, |l| l.log_end_offset - replica.log_end_offset)
    }
}

/// DescribeQuorum of the metadata log, retried on retriable errors.
pub async fn describe(cluster: &Cluster) -> Result<QuorumInfo> {
    let request = DescribeQuorumRequest::default().with_topics(vec![TopicData::default()
        .with_topic_name(admin::topic_name(METADATA_TOPIC))
        .with_partitions(vec![PartitionData::default().with_partition_index(0)])]);
    let response = cluster
        .retry(|| async { cluster.any_connection().await?.send(&request).await })
        .await?;
    Error::check(
        || "describe the metadata quorum".to_string(),
        response.error_code,
        response.error_message.as_deref(),
    )?;
    let partition = response
        .topics
        .iter()
        .filter(|t| t.topic_name.0.as_str() == METADATA_TOPIC)
        .flat_map(|t| t.partitions.iter())
        .find(|p| p.partition_index == 0)
        .ok_or_else(|| Error::Protocol {
            addr: "the cluster".to_string(),
            reason: format!("DescribeQuorum answered without {METADATA_TOPIC}-0"),
        })?;
    Error::check(
        || format!("describe the metadata quorum ({METADATA_TOPIC}-0)"),
        partition.error_code,
        partition.error_message.as_deref(),
    )?;
    Ok(QuorumInfo {
        leader_id: partition.leader_id.0,
        leader_epoch: partition.leader_epoch,
        high_watermark: partition.high_watermark,
        voters: partition.current_voters.iter().map(replica).collect(),
        observers: partition.observers.iter().map(replica).collect(),
        nodes: response.nodes.iter().map(node).collect(),
    })
}

fn known(timestamp: i64) -> Option<i64> {
    (timestamp >= 0).then_some(timestamp)
}

fn replica(r: &describe_quorum_response::ReplicaState) -> ReplicaState {
    ReplicaState {
        replica_id: r.replica_id.0,
        log_end_offset: r.log_end_offset,
        last_fetch_timestamp: known(r.last_fetch_timestamp),
        last_caught_up_timestamp: known(r.last_caught_up_timestamp),
    }
}

fn node(n: &describe_quorum_response::Node) -> QuorumNode {
    QuorumNode {
        id: n.node_id.0,
        endpoints: n
            .listeners
            .iter()
            .map(|l| format!("{}://{}:{}", l.name, l.host, l.port))
            .collect(),
    }
}

/// How long [`active_controller`] waits for DescribeQuorum.
const QUORUM_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// The active controller as the KRaft quorum names it (DescribeQuorum). Where controllers are
/// nodes of their own, Kafka's Metadata names a random live broker as the controller; this is
/// the real one. None where DescribeQuorum is not served (ZooKeeper-mode Kafka, Redpanda), not
/// allowed, or slower than 2 s: Metadata's controller is then the one to show.
pub async fn active_controller(cluster: &Cluster) -> Option<i32> {
    let described = tokio::time::timeout(QUORUM_TIMEOUT, describe(cluster));
    described
        .await
        .ok()?
        .ok()
        .map(|q| q.leader_id)
        .filter(|l| *l >= 0)
}

/// How long the controller may wait for a new voter to catch up before it answers.
const ADD_VOTER_TIMEOUT_MS: i32 = 30_000;

/// Adds controller `id`, reachable on its controller listener `listener` at `host:port`, to
/// the voters (AddRaftVoter): the controller waits until it has caught up with the log.
pub async fn add_voter(
    cluster: &Cluster,
    id: i32,
    listener: &str,
    host: &str,
    port: u16,
) -> Result<()> {
    let request = AddRaftVoterRequest::default()
        .with_cluster_id(None)
        .with_timeout_ms(ADD_VOTER_TIMEOUT_MS)
        .with_voter_id(id)
        .with_listeners(vec![Listener::default()
            .with_name(StrBytes::from_string(listener.to_string()))
            .with_host(StrBytes::from_string(host.to_string()))
            .with_port(port)]);
    let timeout = std::time::Duration::from_millis(ADD_VOTER_TIMEOUT_MS as u64 + 5_000);
    let response = cluster
        .retry(|| async {
            cluster
                .any_connection()
                .await?
                .send_within(&request, timeout)
                .await
        })
        .await?;
    Error::check(
        || format!("add controller {id} to the quorum"),
        response.error_code,
        response.error_message.as_deref(),
    )
}

/// Removes voter `id` from the quorum (RemoveRaftVoter).
pub async fn remove_voter(cluster: &Cluster, id: i32) -> Result<()> {
    let request = RemoveRaftVoterRequest::default()
        .with_cluster_id(None)
        .with_voter_id(id);
    let response = cluster
        .retry(|| async { cluster.any_connection().await?.send(&request).await })
        .await?;
    Error::check(
        || format!("remove controller {id} from the quorum"),
        response.error_code,
        response.error_message.as_deref(),
    )
}
