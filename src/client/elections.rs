//! ElectLeaders (API 43, KIP-183 and KIP-460): a preferred or an unclean leader election, for
//! named partitions or for every partition that needs one, sent to the controller as Kafka's
//! Admin client sends it (any broker of a KRaft cluster forwards it there). The call fails only
//! when the request as a whole does; each partition's own outcome is returned, ELECTION_NOT_NEEDED
//! included, for the caller to report as `kafka-leader-election.sh` does.

use std::collections::BTreeMap;
use std::fmt;

use kafka_protocol::messages::elect_leaders_request::TopicPartitions;
use kafka_protocol::messages::{ElectLeadersRequest, ElectLeadersResponse};

use super::admin::{self, TopicPartition};
use super::cluster::Cluster;
use crate::error::{Error, Result, ELECTION_NOT_NEEDED};

/// ElectLeaders v1 added the election type; v0 only elects preferred leaders.
const ELECTION_TYPE_VERSION: i16 = 1;

/// Kafka's `ElectionType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElectionType {
    /// The first replica leads again, if it is in the ISR and up.
    Preferred,
    /// A partition without a leader gets any live replica, in the ISR or not (data may be lost).
    Unclean,
}

impl ElectionType {
    /// The value on the wire.
    fn code(self) -> i8 {
        match self {
            ElectionType::Preferred => 0,
            ElectionType::Unclean => 1,
        }
    }
}

impl fmt::Display for ElectionType {
    /// Kafka's spelling, as the tool prints it: `PREFERRED`, `UNCLEAN`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ElectionType::Preferred => "PREFERRED",
            ElectionType::Unclean => "UNCLEAN",
        })
    }
}

/// One partition's election.
#[derive(Debug)]
pub struct ElectionOutcome {
    pub tp: TopicPartition,
    /// `Ok` when a leader was elected; else the partition's Kafka error, ELECTION_NOT_NEEDED
    /// among them (see [`ElectionOutcome::not_needed`]).
    pub result: Result<()>,
}

impl ElectionOutcome {
    /// Whether the partition already had the leader asked for (Kafka's "valid replica already
    /// elected"), which is no failure.
    pub fn not_needed(&self) -> bool {
        matches!(&self.result, Err(e) if e.code() == Some(ELECTION_NOT_NEEDED))
    }
}

/// Elects leaders of `partitions`, or of every partition that needs it when `None`. Outcomes
/// are sorted by topic and partition; retried as a whole on retriable errors (a controller
/// that moved).
pub async fn elect_leaders(
    cluster: &Cluster,
    election_type: ElectionType,
    partitions: Option<&[TopicPartition]>,
) -> Result<Vec<ElectionOutcome>> {
    let request = ElectLeadersRequest::default()
        .with_election_type(election_type.code())
        .with_topic_partitions(partitions.map(by_topic))
        .with_timeout_ms(admin::timeout_ms(cluster));
    let response = cluster
        .retry(|| send(cluster, election_type, &request))
        .await?;
    let mut outcomes: Vec<ElectionOutcome> = response
        .replica_election_results
        .iter()
        .flat_map(|t| {
            t.partition_result.iter().map(|p| {
                let tp = (t.topic.0.to_string(), p.partition_id);
                let result = Error::check(
                    || format!("{}-{}", tp.0, tp.1),
                    p.error_code,
                    p.error_message.as_deref(),
                );
                ElectionOutcome { tp, result }
            })
        })
        .collect();
    outcomes.sort_by(|a, b| a.tp.cmp(&b.tp));
    let _ = cluster.refresh_metadata().await;
    Ok(outcomes)
}

async fn send(
    cluster: &Cluster,
    election_type: ElectionType,
    request: &ElectLeadersRequest,
) -> Result<ElectLeadersResponse> {
    let conn = admin::controller(cluster).await?;
    let version = conn.version_of::<ElectLeadersRequest>()?;
    if version < ELECTION_TYPE_VERSION && election_type != ElectionType::Preferred {
        return Err(Error::Invalid(format!(
            "broker {} speaks ElectLeaders v0 only, which has no {election_type} election; \
             the cluster is too old for it",
            conn.addr()
        )));
    }
    let response = conn.send_at(request, version).await?;
    Error::check(
        || format!("leader election ({election_type})"),
        response.error_code,
        None,
    )?;
    Ok(response)
}

fn by_topic(partitions: &[TopicPartition]) -> Vec<TopicPartitions> {
    let mut grouped: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for (topic, partition) in partitions {
        grouped.entry(topic).or_default().push(*partition);
    }
    grouped
        .into_iter()
        .map(|(topic, partitions)| {
            TopicPartitions::default()
                .with_topic(admin::topic_name(topic))
                .with_partitions(partitions)
        })
        .collect()
}
