//! OffsetCommit, OffsetFetch (one group, or many from v8) and OffsetDelete.
//!
//! With an authorizer, as Kafka: OffsetCommit needs READ on the group (else every partition
//! gets GROUP_AUTHORIZATION_FAILED) and READ on each topic (else TOPIC_AUTHORIZATION_FAILED);
//! OffsetFetch needs DESCRIBE on the group, and leaves out (all topics) or refuses (named
//! topics) the topics the principal may not DESCRIBE; OffsetDelete needs DELETE on the group
//! and READ on each topic.

use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::*;
use kafka_protocol::ResponseError;

use super::{auth, RequestContext};
use super::{str_bytes, topic_name};
use crate::authorizer::{AclOperation, ResourceType};
use crate::coordinator::records::OffsetValue;
use crate::coordinator::{CommitFrom, OffsetCommit, OFFSETS_TOPIC};
use crate::error::Result;
use crate::Broker;

/// How long a commit waits for the ISR of its `__consumer_offsets` partition (Kafka's
/// `offsets.commit.timeout.ms`).
const COMMIT_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// OffsetCommit v2–v4 carry a retention time; -1 means the broker's.
const RETENTION_FIELD_LAST_VERSION: i16 = 4;
/// OffsetFetch v8 asks for many groups at once.
const BATCHED_FETCH_VERSION: i16 = 8;
/// OffsetFetch v2 added the top-level error code.
const TOP_LEVEL_ERROR_VERSION: i16 = 2;

pub(super) fn known_partition(broker: &Broker, topic: &str, partition: i32) -> bool {
    broker.cluster.read(|i| {
        i.topics
            .get(topic)
            .is_some_and(|t| usize::try_from(partition).is_ok_and(|p| p < t.partitions.len()))
    })
}

pub async fn commit(
    broker: &Broker,
    ctx: &RequestContext,
    request: OffsetCommitRequest,
) -> Result<OffsetCommitResponse> {
    if !may(
        broker,
        ctx,
        AclOperation::Read,
        ResourceType::Group,
        &request.group_id,
    ) {
        return Ok(refused_commit(
            &request,
            ResponseError::GroupAuthorizationFailed,
        ));
    }
    let now = crate::now_ms();
    let expire = (ctx.version <= RETENTION_FIELD_LAST_VERSION && request.retention_time_ms >= 0)
        .then(|| now.saturating_add(request.retention_time_ms));
    // Per partition: Some(error) decided here, None = sent to the coordinator.
    let mut decided: Vec<Vec<Option<ResponseError>>> = Vec::new();
    let mut commits = Vec::new();
    for t in &request.topics {
        let mut row = Vec::new();
        let readable = may(
            broker,
            ctx,
            AclOperation::Read,
            ResourceType::Topic,
            &t.name,
        );
        for p in &t.partitions {
            if !readable {
                row.push(Some(ResponseError::TopicAuthorizationFailed));
                continue;
            }
            if !known_partition(broker, &t.name, p.partition_index) {
                row.push(Some(ResponseError::UnknownTopicOrPartition));
                continue;
            }
            row.push(None);
            commits.push(OffsetCommit {
                topic: t.name.to_string(),
                partition: p.partition_index,
                value: OffsetValue::committed(
                    p.committed_offset,
                    if ctx.version >= 6 {
                        p.committed_leader_epoch
                    } else {
                        -1
                    },
                    p.committed_metadata.as_deref(),
                    now,
                    expire,
                ),
            });
        }
        decided.push(row);
    }
    let from = CommitFrom {
        member_id: request.member_id.to_string(),
        instance_id: request.group_instance_id.as_ref().map(|s| s.to_string()),
        generation: request.generation_id_or_member_epoch,
    };
    let outcome = match broker.ensure_offsets_topic().await {
        Ok(()) => match broker.groups.owner_error(&request.group_id) {
            Some(e) => Err(e),
            None => broker
                .groups
                .commit(&broker.replicas, &request.group_id, &from, commits),
        },
        Err(_) => Err(ResponseError::CoordinatorNotAvailable),
    };
    // A commit is acknowledged once the ISR of its partition has it, as Kafka's coordinator
    // appends with acks=all: a new coordinator then has every acknowledged offset.
    let outcome = match outcome {
        Ok(answers) => {
            let partition = broker.groups.partition_for(&request.group_id);
            broker
                .replicas
                .wait_replicated(OFFSETS_TOPIC, partition, COMMIT_WAIT)
                .await
                .map(|()| answers)
        }
        Err(e) => Err(e),
    };
    let mut answers = match &outcome {
        Ok(a) => a.clone().into_iter(),
        Err(_) => Vec::new().into_iter(),
    };
    let topics = request
        .topics
        .iter()
        .zip(decided)
        .map(|(t, row)| {
            let partitions = t
                .partitions
                .iter()
                .zip(row)
                .map(|(p, early)| {
                    let error = match (early, &outcome) {
                        (Some(e), _) => Some(e),
                        (None, Err(e)) => Some(*e),
                        (None, Ok(_)) => answers.next().flatten(),
                    };
                    OffsetCommitResponsePartition::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(error.map_or(0, |e| e.code()))
                })
                .collect();
            OffsetCommitResponseTopic::default()
                .with_name(t.name.clone())
                .with_partitions(partitions)
        })
        .collect();
    Ok(OffsetCommitResponse::default().with_topics(topics))
}

fn may(
    broker: &Broker,
    ctx: &RequestContext,
    operation: AclOperation,
    resource_type: ResourceType,
    name: &str,
) -> bool {
    auth::allowed(broker, ctx, operation, resource_type, name)
}

/// A commit refused whole: every partition gets `error`.
fn refused_commit(request: &OffsetCommitRequest, error: ResponseError) -> OffsetCommitResponse {
    let topics = request
        .topics
        .iter()
        .map(|t| {
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    OffsetCommitResponsePartition::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(error.code())
                })
                .collect();
            OffsetCommitResponseTopic::default()
                .with_name(t.name.clone())
                .with_partitions(partitions)
        })
        .collect();
    OffsetCommitResponse::default().with_topics(topics)
}

/// NOT_COORDINATOR when another broker coordinates `group`, COORDINATOR_LOAD_IN_PROGRESS
/// while this one loads its partition. Before `__consumer_offsets` exists nothing is
/// committed anywhere, and a fetch answers so.
fn not_coordinator(broker: &Broker, group: &str) -> Option<ResponseError> {
    broker.groups.owner_error(group).filter(|e| {
        matches!(
            e,
            ResponseError::NotCoordinator | ResponseError::CoordinatorLoadInProgress
        )
    })
}

/// One partition's committed offset as fetched: `Ok(None)` when nothing was committed, an
/// error for a topic the principal may not see.
type Fetched = std::result::Result<Option<OffsetValue>, ResponseError>;

/// The committed offsets of one group, as (topic, [(partition, value)]) in request order.
type GroupOffsets = Vec<(String, Vec<(i32, Fetched)>)>;

/// `stable`: the client asked for stable offsets only (KIP-447, OffsetFetch v7+), and a
/// partition whose offset an undecided transaction holds is UNSTABLE_OFFSET_COMMIT.
fn fetch_group(
    broker: &Broker,
    group: &str,
    topics: Option<Vec<(String, Vec<i32>)>>,
    stable: bool,
) -> GroupOffsets {
    let rows = broker.groups.fetch_offsets(group, topics.as_deref());
    let mut out: GroupOffsets = Vec::new();
    for (topic, partition, value) in rows {
        let value = if stable && broker.groups.has_pending_offset(group, &topic, partition) {
            Err(ResponseError::UnstableOffsetCommit)
        } else {
            Ok(value)
        };
        match out.last_mut() {
            Some((t, parts)) if *t == topic => parts.push((partition, value)),
            _ => out.push((topic, vec![(partition, value)])),
        }
    }
    out
}

/// A group's offsets as the principal may see them (Kafka's rule): of all topics, those it
/// may DESCRIBE; of named topics, the ones it may not DESCRIBE are answered with
/// TOPIC_AUTHORIZATION_FAILED on each partition, after the others.
fn fetch_visible(
    broker: &Broker,
    ctx: &RequestContext,
    group: &str,
    topics: Option<Vec<(String, Vec<i32>)>>,
    stable: bool,
) -> GroupOffsets {
    let visible = |t: &str| may(broker, ctx, AclOperation::Describe, ResourceType::Topic, t);
    let Some(topics) = topics else {
        let mut all = fetch_group(broker, group, None, stable);
        all.retain(|(t, _)| visible(t));
        return all;
    };
    let (shown, hidden): (Vec<_>, Vec<_>) = topics.into_iter().partition(|(t, _)| visible(t));
    let mut out = fetch_group(broker, group, Some(shown), stable);
    out.extend(hidden.into_iter().map(|(t, parts)| {
        let refused = parts
            .into_iter()
            .map(|p| (p, Err(ResponseError::TopicAuthorizationFailed)))
            .collect();
        (t, refused)
    }));
    out
}

pub async fn fetch(
    broker: &Broker,
    ctx: &RequestContext,
    request: OffsetFetchRequest,
) -> Result<OffsetFetchResponse> {
    let version = ctx.version;
    if version >= BATCHED_FETCH_VERSION {
        let groups = request
            .groups
            .iter()
            .map(|g| fetch_batched(broker, ctx, g, request.require_stable))
            .collect();
        return Ok(OffsetFetchResponse::default().with_groups(groups));
    }
    let group = request.group_id.as_str();
    let error = if !may(
        broker,
        ctx,
        AclOperation::Describe,
        ResourceType::Group,
        group,
    ) {
        Some(ResponseError::GroupAuthorizationFailed)
    } else {
        not_coordinator(broker, group)
    };
    let topics = request.topics.as_ref().map(|ts| {
        ts.iter()
            .map(|t| (t.name.to_string(), t.partition_indexes.clone()))
            .collect::<Vec<_>>()
    });
    if let Some(e) = error {
        return Ok(refused_fetch(version, topics, e));
    }
    let topics = fetch_visible(broker, ctx, group, topics, request.require_stable)
        .into_iter()
        .map(|(name, parts)| {
            let parts = parts
                .into_iter()
                .map(|(index, v)| {
                    let (offset, epoch, meta, error) = fields(v);
                    let mut p = OffsetFetchResponsePartition::default()
                        .with_partition_index(index)
                        .with_committed_offset(offset)
                        .with_metadata(Some(str_bytes(meta)))
                        .with_error_code(error);
                    if version >= 5 {
                        p.committed_leader_epoch = epoch;
                    }
                    p
                })
                .collect();
            OffsetFetchResponseTopic::default()
                .with_name(topic_name(name))
                .with_partitions(parts)
        })
        .collect();
    Ok(OffsetFetchResponse::default().with_topics(topics))
}

/// A v1–v7 fetch refused whole: the top-level error (v2+), and v1, which has none, on each
/// partition asked for.
fn refused_fetch(
    version: i16,
    topics: Option<Vec<(String, Vec<i32>)>>,
    error: ResponseError,
) -> OffsetFetchResponse {
    if version >= TOP_LEVEL_ERROR_VERSION {
        return OffsetFetchResponse::default().with_error_code(error.code());
    }
    let topics = topics
        .into_iter()
        .flatten()
        .map(|(name, parts)| {
            let parts = parts
                .into_iter()
                .map(|index| {
                    OffsetFetchResponsePartition::default()
                        .with_partition_index(index)
                        .with_committed_offset(-1)
                        .with_metadata(Some(str_bytes("")))
                        .with_error_code(error.code())
                })
                .collect();
            OffsetFetchResponseTopic::default()
                .with_name(topic_name(name))
                .with_partitions(parts)
        })
        .collect();
    OffsetFetchResponse::default().with_topics(topics)
}

/// One group of a v8+ fetch.
fn fetch_batched(
    broker: &Broker,
    ctx: &RequestContext,
    g: &offset_fetch_request::OffsetFetchRequestGroup,
    require_stable: bool,
) -> OffsetFetchResponseGroup {
    let refused = |e: ResponseError| {
        OffsetFetchResponseGroup::default()
            .with_group_id(g.group_id.clone())
            .with_error_code(e.code())
    };
    if !may(
        broker,
        ctx,
        AclOperation::Describe,
        ResourceType::Group,
        &g.group_id,
    ) {
        return refused(ResponseError::GroupAuthorizationFailed);
    }
    if let Some(e) = not_coordinator(broker, &g.group_id) {
        return refused(e);
    }
    // The member check (KIP-848 groups, v9) comes before any offset is read.
    let member = g.member_id.as_deref().unwrap_or_default();
    if let Some(e) = broker
        .groups
        .check_fetch(&g.group_id, member, g.member_epoch)
    {
        return refused(e);
    }
    let topics = g.topics.as_ref().map(|ts| {
        ts.iter()
            .map(|t| (t.name.to_string(), t.partition_indexes.clone()))
            .collect()
    });
    let topics = fetch_visible(broker, ctx, &g.group_id, topics, require_stable)
        .into_iter()
        .map(|(name, parts)| {
            let parts = parts
                .into_iter()
                .map(|(index, v)| {
                    let (offset, epoch, meta, error) = fields(v);
                    OffsetFetchResponsePartitions::default()
                        .with_partition_index(index)
                        .with_committed_offset(offset)
                        .with_committed_leader_epoch(epoch)
                        .with_metadata(Some(str_bytes(meta)))
                        .with_error_code(error)
                })
                .collect();
            OffsetFetchResponseTopics::default()
                .with_name(topic_name(name))
                .with_partitions(parts)
        })
        .collect();
    OffsetFetchResponseGroup::default()
        .with_group_id(g.group_id.clone())
        .with_topics(topics)
}

/// Offset, leader epoch, metadata and error code; -1, -1 and "" when nothing was committed
/// or the topic may not be seen, as Kafka.
fn fields(v: Fetched) -> (i64, i32, String, i16) {
    match v {
        Ok(Some(v)) => (v.offset, v.leader_epoch, v.metadata, 0),
        Ok(None) => (-1, -1, String::new(), 0),
        Err(e) => (-1, -1, String::new(), e.code()),
    }
}

pub async fn delete(
    broker: &Broker,
    ctx: &RequestContext,
    request: OffsetDeleteRequest,
) -> Result<OffsetDeleteResponse> {
    let group = request.group_id.as_str();
    if !may(
        broker,
        ctx,
        AclOperation::Delete,
        ResourceType::Group,
        group,
    ) {
        let error = ResponseError::GroupAuthorizationFailed.code();
        return Ok(OffsetDeleteResponse::default().with_error_code(error));
    }
    let readable: Vec<bool> = request
        .topics
        .iter()
        .map(|t| {
            may(
                broker,
                ctx,
                AclOperation::Read,
                ResourceType::Topic,
                &t.name,
            )
        })
        .collect();
    let partitions: Vec<(String, i32)> = request
        .topics
        .iter()
        .zip(&readable)
        .filter(|(_, readable)| **readable)
        .flat_map(|(t, _)| {
            t.partitions
                .iter()
                .map(|p| (t.name.to_string(), p.partition_index))
        })
        .collect();
    let outcome = match broker.groups.owner_error(&request.group_id) {
        Some(e) => Err(e),
        None => broker
            .groups
            .delete_offsets(&broker.replicas, &request.group_id, &partitions),
    };
    let answers = match outcome {
        Ok(a) => a,
        Err(e) => return Ok(OffsetDeleteResponse::default().with_error_code(e.code())),
    };
    let mut answers = answers.into_iter();
    let topics = request
        .topics
        .iter()
        .zip(readable)
        .map(|(t, readable)| {
            let parts = t
                .partitions
                .iter()
                .map(|p| {
                    let error = if readable {
                        answers.next().flatten()
                    } else {
                        Some(ResponseError::TopicAuthorizationFailed)
                    };
                    OffsetDeleteResponsePartition::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(error.map_or(0, |e| e.code()))
                })
                .collect();
            OffsetDeleteResponseTopic::default()
                .with_name(t.name.clone())
                .with_partitions(parts)
        })
        .collect();
    Ok(OffsetDeleteResponse::default().with_topics(topics))
}
