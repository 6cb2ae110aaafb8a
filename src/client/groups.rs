//! Consumer-group administration, batched as Kafka allows: ListGroups once per broker,
//! FindCoordinator once for many groups, DescribeGroups and OffsetFetch once per coordinator
//! for all its groups (OffsetFetch v8+; one request per group before that; KIP-848 groups,
//! which DescribeGroups does not describe, through ConsumerGroupDescribe), DeleteGroups, and
//! OffsetCommit as a simple (generation -1) member, which is how Kafka's reset tool commits.
//! Lag arithmetic lives in [`super::lag`].

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestGroup;
use kafka_protocol::messages::{
    ApiKey, ConsumerGroupDescribeRequest, ConsumerProtocolAssignment, DeleteGroupsRequest,
    DescribeGroupsRequest, GroupId, ListGroupsRequest, OffsetCommitRequest, OffsetFetchRequest,
    TopicName,
};
use kafka_protocol::protocol::{Decodable, StrBytes};
use serde::Serialize;

use super::cluster::Cluster;
use super::connection::Connection;
use crate::error::{Error, Result};

/// A group as ListGroups returns it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ListedGroup {
    pub group: String,
    pub state: String,
    pub protocol_type: String,
}

/// A member of a described group.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct GroupMember {
    pub member_id: String,
    pub client_id: String,
    pub host: String,
    /// Partitions assigned to the member, decoded from the consumer protocol.
    pub assignment: Vec<(String, i32)>,
}

/// A group as DescribeGroups returns it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct GroupDescription {
    pub group: String,
    pub state: String,
    pub protocol_type: String,
    pub protocol: String,
    pub members: Vec<GroupMember>,
}

/// Committed offsets of one group: `(topic, partition)` → offset.
pub type Committed = BTreeMap<(String, i32), i64>;

fn group_id(g: &str) -> GroupId {
    GroupId(StrBytes::from_string(g.to_string()))
}

/// Every group on every broker, sorted by name.
pub async fn list_groups(cluster: &Arc<Cluster>) -> Result<Vec<ListedGroup>> {
    let metadata = cluster.metadata().await?;
    let mut tasks = tokio::task::JoinSet::new();
    for node in metadata.brokers.keys().copied() {
        let cluster = cluster.clone();
        let _ = tasks.spawn(async move {
            let response = cluster
                .broker(node)
                .await?
                .send(&ListGroupsRequest::default())
                .await?;
            Error::check(
                || format!("list groups on broker {node}"),
                response.error_code,
                None,
            )?;
            Ok(response
                .groups
                .into_iter()
                .map(|g| ListedGroup {
                    group: g.group_id.0.to_string(),
                    state: g.group_state.to_string(),
                    protocol_type: g.protocol_type.to_string(),
                })
                .collect::<Vec<_>>())
        });
    }
    let mut out = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        out.extend(joined.map_err(|e| Error::Invalid(format!("ListGroups task failed: {e}")))??);
    }
    out.sort_by(|a, b| a.group.cmp(&b.group));
    out.dedup_by(|a, b| a.group == b.group);
    Ok(out)
}

/// DescribeGroups for `groups`, one request per coordinator.
pub async fn describe_groups(
    cluster: &Cluster,
    groups: &[String],
) -> Result<Vec<GroupDescription>> {
    let by_node = cluster.coordinators(groups).await?;
    let mut out = Vec::with_capacity(groups.len());
    for (node, names) in by_node {
        let conn = cluster.broker(node).await?;
        let request = DescribeGroupsRequest::default()
            .with_groups(names.iter().map(|g| group_id(g)).collect());
        let response = conn.send(&request).await?;
        let modern_served = conn.versions().at_least(ApiKey::ConsumerGroupDescribe, 0);
        let mut modern = Vec::new();
        for g in response.groups {
            let name = g.group_id.0.to_string();
            // Kafka answers GROUP_ID_NOT_FOUND for a KIP-848 group: ask ConsumerGroupDescribe.
            if g.error_code == GROUP_ID_NOT_FOUND && modern_served {
                modern.push(name);
                continue;
            }
            Error::check(
                || format!("describe group '{name}'"),
                g.error_code,
                g.error_message.as_deref(),
            )
            .inspect_err(|_| cluster.forget_coordinator(&name))?;
            out.push(classic_description(&g));
        }
        if !modern.is_empty() {
            out.extend(describe_consumer_groups(&conn, &modern).await?);
        }
    }
    out.sort_by(|a, b| a.group.cmp(&b.group));
    Ok(out)
}

/// Kafka's GROUP_ID_NOT_FOUND.
const GROUP_ID_NOT_FOUND: i16 = 69;

fn classic_description(
    g: &kafka_protocol::messages::describe_groups_response::DescribedGroup,
) -> GroupDescription {
    let members = g
        .members
        .iter()
        .map(|m| GroupMember {
            member_id: m.member_id.to_string(),
            client_id: m.client_id.to_string(),
            host: m.client_host.to_string(),
            assignment: decode_assignment(&m.member_assignment),
        })
        .collect();
    GroupDescription {
        group: g.group_id.0.to_string(),
        state: g.group_state.to_string(),
        protocol_type: g.protocol_type.to_string(),
        protocol: g.protocol_data.to_string(),
        members,
    }
}

/// ConsumerGroupDescribe (KIP-848 groups): the protocol type is `consumer` and the protocol
/// is the server-side assignor's name.
async fn describe_consumer_groups(
    conn: &Connection,
    names: &[String],
) -> Result<Vec<GroupDescription>> {
    let request = ConsumerGroupDescribeRequest::default()
        .with_group_ids(names.iter().map(|g| group_id(g)).collect());
    let response = conn.send(&request).await?;
    let mut out = Vec::with_capacity(response.groups.len());
    for g in response.groups {
        let name = g.group_id.0.to_string();
        Error::check(
            || format!("describe group '{name}'"),
            g.error_code,
            g.error_message.as_deref(),
        )?;
        let members = g
            .members
            .iter()
            .map(|m| GroupMember {
                member_id: m.member_id.to_string(),
                client_id: m.client_id.to_string(),
                host: m.client_host.to_string(),
                assignment: m
                    .assignment
                    .topic_partitions
                    .iter()
                    .flat_map(|tp| {
                        tp.partitions
                            .iter()
                            .map(move |p| (tp.topic_name.0.to_string(), *p))
                    })
                    .collect(),
            })
            .collect();
        out.push(GroupDescription {
            group: name,
            state: g.group_state.to_string(),
            protocol_type: "consumer".to_string(),
            protocol: g.assignor_name.to_string(),
            members,
        });
    }
    Ok(out)
}

/// The consumer protocol's assignment (a version, then the message); empty if not decodable,
/// as for groups that are not consumer groups.
fn decode_assignment(bytes: &bytes::Bytes) -> Vec<(String, i32)> {
    let mut buf = bytes.clone();
    if buf.len() < 2 {
        return Vec::new();
    }
    let version = i16::from_be_bytes([buf[0], buf[1]]);
    let _ = bytes::Buf::get_i16(&mut buf);
    match ConsumerProtocolAssignment::decode(&mut buf, version.clamp(0, 3)) {
        Ok(a) => a
            .assigned_partitions
            .iter()
            .flat_map(|tp| tp.partitions.iter().map(|p| (tp.topic.0.to_string(), *p)))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Committed offsets of every group given (all partitions each has committed), batched per
/// coordinator: one OffsetFetch v8+ for all its groups, else one per group.
pub async fn fetch_offsets(
    cluster: &Cluster,
    groups: &[String],
) -> Result<HashMap<String, Committed>> {
    let by_node = cluster.coordinators(groups).await?;
    let mut out = HashMap::with_capacity(groups.len());
    for (node, names) in by_node {
        let conn = cluster.broker(node).await?;
        if conn.versions().at_least(ApiKey::OffsetFetch, 8) {
            out.extend(fetch_offsets_batched(&conn, &names).await?);
        } else {
            for name in names {
                let committed = fetch_offsets_single(&conn, &name).await?;
                let _ = out.insert(name, committed);
            }
        }
    }
    Ok(out)
}

/// OffsetFetch v8+: every group of one coordinator in one request.
async fn fetch_offsets_batched(
    conn: &Connection,
    names: &[String],
) -> Result<Vec<(String, Committed)>> {
    let request = OffsetFetchRequest::default().with_groups(
        names
            .iter()
            .map(|g| {
                OffsetFetchRequestGroup::default()
                    .with_group_id(group_id(g))
                    .with_topics(None)
            })
            .collect(),
    );
    let response = conn.send(&request).await?;
    let mut out = Vec::with_capacity(response.groups.len());
    for g in response.groups {
        let name = g.group_id.0.to_string();
        Error::check(
            || format!("fetch offsets of group '{name}'"),
            g.error_code,
            None,
        )?;
        let committed = g
            .topics
            .iter()
            .flat_map(|t| {
                let topic = t.name.0.to_string();
                t.partitions
                    .iter()
                    .filter(|p| p.committed_offset >= 0 && p.error_code == 0)
                    .map(move |p| ((topic.clone(), p.partition_index), p.committed_offset))
            })
            .collect();
        out.push((name, committed));
    }
    Ok(out)
}

/// OffsetFetch before v8: one group per request.
async fn fetch_offsets_single(conn: &Connection, name: &str) -> Result<Committed> {
    let request = OffsetFetchRequest::default()
        .with_group_id(group_id(name))
        .with_topics(None);
    let response = conn.send(&request).await?;
    Error::check(
        || format!("fetch offsets of group '{name}'"),
        response.error_code,
        None,
    )?;
    Ok(response
        .topics
        .iter()
        .flat_map(|t| {
            let topic = t.name.0.to_string();
            t.partitions
                .iter()
                .filter(|p| p.committed_offset >= 0 && p.error_code == 0)
                .map(move |p| ((topic.clone(), p.partition_index), p.committed_offset))
        })
        .collect())
}

/// DeleteGroups for `groups`, one request per coordinator; the first failing group is reported.
pub async fn delete_groups(cluster: &Cluster, groups: &[String]) -> Result<()> {
    for (node, names) in cluster.coordinators(groups).await? {
        let request = DeleteGroupsRequest::default()
            .with_groups_names(names.iter().map(|g| group_id(g)).collect());
        let response = cluster.broker(node).await?.send(&request).await?;
        for r in response.results {
            Error::check(
                || format!("delete group '{}'", r.group_id.0.as_str()),
                r.error_code,
                None,
            )?;
        }
    }
    Ok(())
}

/// Who commits offsets: a member of the group (its member id, and its generation or KIP-848
/// member epoch), or a client outside the group (generation -1, no member id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committer {
    pub member_id: String,
    pub generation: i32,
    /// The static member's `group.instance.id`, if any.
    pub instance_id: Option<String>,
}

impl Committer {
    /// A client outside the group, as Kafka's reset tool and assign() consumers commit.
    pub fn outsider() -> Committer {
        Committer {
            member_id: String::new(),
            generation: -1,
            instance_id: None,
        }
    }
}

/// Commits `offsets` for `group` as a simple member (generation -1, no member id), which the
/// coordinator accepts only while the group has no active members (Kafka's reset rule).
pub async fn commit_offsets(
    cluster: &Cluster,
    group: &str,
    offsets: &BTreeMap<(String, i32), i64>,
) -> Result<()> {
    let node = cluster.coordinator(group).await?;
    let conn = cluster.broker(node).await?;
    commit_offsets_on(&conn, group, &Committer::outsider(), offsets).await
}

/// Commits `offsets` for `group` as `committer` over `conn`, a connection to its coordinator.
pub async fn commit_offsets_on(
    conn: &Connection,
    group: &str,
    committer: &Committer,
    offsets: &BTreeMap<(String, i32), i64>,
) -> Result<()> {
    let mut topics: BTreeMap<&str, Vec<OffsetCommitRequestPartition>> = BTreeMap::new();
    for ((topic, partition), offset) in offsets {
        topics.entry(topic).or_default().push(
            OffsetCommitRequestPartition::default()
                .with_partition_index(*partition)
                .with_committed_offset(*offset)
                .with_committed_leader_epoch(-1)
                .with_committed_metadata(Some(StrBytes::from_static_str(""))),
        );
    }
    let request = OffsetCommitRequest::default()
        .with_group_id(group_id(group))
        .with_generation_id_or_member_epoch(committer.generation)
        .with_member_id(StrBytes::from_string(committer.member_id.clone()))
        .with_group_instance_id(committer.instance_id.clone().map(StrBytes::from_string))
        .with_retention_time_ms(-1)
        .with_topics(
            topics
                .into_iter()
                .map(|(t, ps)| {
                    OffsetCommitRequestTopic::default()
                        .with_name(TopicName(StrBytes::from_string(t.to_string())))
                        .with_partitions(ps)
                })
                .collect(),
        );
    let response = conn.send(&request).await?;
    for t in &response.topics {
        for p in &t.partitions {
            Error::check(
                || {
                    format!(
                        "commit offset of {}-{} for group '{group}'",
                        t.name.0.as_str(),
                        p.partition_index
                    )
                },
                p.error_code,
                None,
            )?;
        }
    }
    Ok(())
}

/// Committed offsets of `group` over `conn`, a connection to its coordinator.
pub async fn fetch_offsets_on(conn: &Connection, group: &str) -> Result<Committed> {
    if conn.versions().at_least(ApiKey::OffsetFetch, 8) {
        let found = fetch_offsets_batched(conn, &[group.to_string()]).await?;
        return Ok(found.into_iter().next().map(|(_, c)| c).unwrap_or_default());
    }
    fetch_offsets_single(conn, group).await
}
