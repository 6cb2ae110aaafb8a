//! OffsetCommit, OffsetFetch (one group, or many from v8) and OffsetDelete.

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

use super::RequestContext;
use super::{str_bytes, topic_name};
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

fn known_partition(broker: &Broker, topic: &str, partition: i32) -> bool {
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
    let now = crate::now_ms();
    let expire = (ctx.version <= RETENTION_FIELD_LAST_VERSION && request.retention_time_ms >= 0)
        .then(|| now.saturating_add(request.retention_time_ms));
    // Per partition: Some(error) decided here, None = sent to the coordinator.
    let mut decided: Vec<Vec<Option<ResponseError>>> = Vec::new();
    let mut commits = Vec::new();
    for t in &request.topics {
        let mut row = Vec::new();
        for p in &t.partitions {
            if !known_partition(broker, &t.name, p.partition_index) {
                row.push(Some(ResponseError::UnknownTopicOrPartition));
                continue;
            }
            row.push(None);
            commits.push(OffsetCommit {
                topic: t.name.to_string(),
                partition: p.partition_index,
                value: OffsetValue {
                    offset: p.committed_offset,
                    leader_epoch: if ctx.version >= 6 {
                        p.committed_leader_epoch
                    } else {
                        -1
                    },
                    metadata: p
                        .committed_metadata
                        .as_ref()
                        .map(|m| m.to_string())
                        .unwrap_or_default(),
                    commit_timestamp: now,
                    expire_timestamp: expire,
                },
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

/// NOT_COORDINATOR when another broker coordinates `group`. Before `__consumer_offsets`
/// exists nothing is committed anywhere, and a fetch answers so.
fn not_coordinator(broker: &Broker, group: &str) -> Option<ResponseError> {
    broker
        .groups
        .owner_error(group)
        .filter(|e| *e == ResponseError::NotCoordinator)
}

/// The committed offsets of one group, as (topic, [(partition, value)]) in request order.
type GroupOffsets = Vec<(String, Vec<(i32, Option<OffsetValue>)>)>;

fn fetch_group(
    broker: &Broker,
    group: &str,
    topics: Option<Vec<(String, Vec<i32>)>>,
) -> GroupOffsets {
    let rows = broker.groups.fetch_offsets(group, topics.as_deref());
    let mut out: GroupOffsets = Vec::new();
    for (topic, partition, value) in rows {
        match out.last_mut() {
            Some((t, parts)) if *t == topic => parts.push((partition, value)),
            _ => out.push((topic, vec![(partition, value)])),
        }
    }
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
            .map(|g| {
                if let Some(e) = not_coordinator(broker, &g.group_id) {
                    return OffsetFetchResponseGroup::default()
                        .with_group_id(g.group_id.clone())
                        .with_error_code(e.code());
                }
                // The member check (KIP-848 groups, v9) comes before any offset is read.
                let member = g.member_id.as_deref().unwrap_or_default();
                if let Some(e) = broker
                    .groups
                    .check_fetch(&g.group_id, member, g.member_epoch)
                {
                    return OffsetFetchResponseGroup::default()
                        .with_group_id(g.group_id.clone())
                        .with_error_code(e.code());
                }
                let topics = g.topics.as_ref().map(|ts| {
                    ts.iter()
                        .map(|t| (t.name.to_string(), t.partition_indexes.clone()))
                        .collect()
                });
                let topics = fetch_group(broker, &g.group_id, topics)
                    .into_iter()
                    .map(|(name, parts)| {
                        OffsetFetchResponseTopics::default()
                            .with_name(topic_name(name))
                            .with_partitions(
                                parts
                                    .into_iter()
                                    .map(|(index, v)| {
                                        let (offset, epoch, meta) = fields(v);
                                        OffsetFetchResponsePartitions::default()
                                            .with_partition_index(index)
                                            .with_committed_offset(offset)
                                            .with_committed_leader_epoch(epoch)
                                            .with_metadata(Some(str_bytes(meta)))
                                    })
                                    .collect(),
                            )
                    })
                    .collect();
                OffsetFetchResponseGroup::default()
                    .with_group_id(g.group_id.clone())
                    .with_topics(topics)
            })
            .collect();
        return Ok(OffsetFetchResponse::default().with_groups(groups));
    }
    if let Some(e) = not_coordinator(broker, &request.group_id) {
        return Ok(OffsetFetchResponse::default().with_error_code(e.code()));
    }
    let topics = request.topics.as_ref().map(|ts| {
        ts.iter()
            .map(|t| (t.name.to_string(), t.partition_indexes.clone()))
            .collect()
    });
    let topics = fetch_group(broker, &request.group_id, topics)
        .into_iter()
        .map(|(name, parts)| {
            OffsetFetchResponseTopic::default()
                .with_name(topic_name(name))
                .with_partitions(
                    parts
                        .into_iter()
                        .map(|(index, v)| {
                            let (offset, epoch, meta) = fields(v);
                            let mut p = OffsetFetchResponsePartition::default()
                                .with_partition_index(index)
                                .with_committed_offset(offset)
                                .with_metadata(Some(str_bytes(meta)));
                            if version >= 5 {
                                p.committed_leader_epoch = epoch;
                            }
                            p
                        })
                        .collect(),
                )
        })
        .collect();
    Ok(OffsetFetchResponse::default().with_topics(topics))
}

/// Offset, leader epoch and metadata; -1, -1 and "" when nothing was committed, as Kafka.
fn fields(v: Option<OffsetValue>) -> (i64, i32, String) {
    match v {
        Some(v) => (v.offset, v.leader_epoch, v.metadata),
        None => (-1, -1, String::new()),
    }
}

pub async fn delete(
    broker: &Broker,
    _ctx: &RequestContext,
    request: OffsetDeleteRequest,
) -> Result<OffsetDeleteResponse> {
    let partitions: Vec<(String, i32)> = request
        .topics
        .iter()
        .flat_map(|t| {
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
        .map(|t| {
            let parts = t
                .partitions
                .iter()
                .map(|p| {
                    let error = answers.next().flatten();
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
