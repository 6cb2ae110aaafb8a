//! The consumer group protocol of KIP-848: ConsumerGroupHeartbeat and ConsumerGroupDescribe.
//! Assignments travel as topic ids; the coordinator sees the cluster's topics through
//! [`ClusterTopics`].
//!
//! With an authorizer, as Kafka 4.1: a heartbeat needs READ on the group and DESCRIBE on every
//! topic it subscribes to by name (TOPIC_AUTHORIZATION_FAILED otherwise); topics matched by a
//! subscription's regex are not filtered by the member's ACLs. ConsumerGroupDescribe needs
//! DESCRIBE on each group.

use std::collections::{BTreeMap, BTreeSet};

use kafka_protocol::messages::consumer_group_describe_response as describe;
use kafka_protocol::messages::consumer_group_heartbeat_response as heartbeat;
use kafka_protocol::messages::*;
use kafka_protocol::ResponseError;
use uuid::Uuid;

use super::auth;
use super::groups::client_host;
use super::RequestContext;
use super::{str_bytes, topic_name};
use crate::authorizer::{AclOperation, ResourceType};
use crate::cluster::Cluster;
use crate::coordinator::{Heartbeat, TopicSource};
use crate::error::Result;
use crate::Broker;

/// ConsumerGroupDescribe v1 tells consumer members (1) from classic ones (0).
const CONSUMER_MEMBER: i8 = 1;

/// The cluster's user topics, as the coordinator's assignors see them.
pub(crate) struct ClusterTopics<'a>(pub(crate) &'a Cluster);

impl TopicSource for ClusterTopics<'_> {
    fn topic(&self, name: &str) -> Option<(Uuid, i32)> {
        self.0.read(|i| {
            i.topics
                .get(name)
                .filter(|t| !t.internal)
                .map(|t| (t.id, i32::try_from(t.partitions.len()).unwrap_or(i32::MAX)))
        })
    }

    fn names(&self) -> Vec<String> {
        self.0.read(|i| {
            i.topics
                .iter()
                .filter(|(_, t)| !t.internal)
                .map(|(n, _)| n.clone())
                .collect()
        })
    }

    fn group_config(&self, group: &str, key: &str) -> Option<String> {
        self.0
            .read(|i| i.group_configs.get(group).and_then(|c| c.get(key)).cloned())
    }
}

pub async fn heartbeat(
    broker: &Broker,
    ctx: &RequestContext,
    request: ConsumerGroupHeartbeatRequest,
) -> Result<ConsumerGroupHeartbeatResponse> {
    let owned = request.topic_partitions.as_ref().map(|tps| {
        tps.iter()
            .map(|tp| (tp.topic_id, tp.partitions.iter().copied().collect()))
            .collect::<BTreeMap<Uuid, BTreeSet<i32>>>()
    });
    let beat = Heartbeat {
        member_id: request.member_id.to_string(),
        member_epoch: request.member_epoch,
        instance_id: request.instance_id.as_ref().map(|s| s.to_string()),
        rack_id: request.rack_id.as_ref().map(|s| s.to_string()),
        client_id: ctx.client_id.clone().unwrap_or_default(),
        client_host: client_host(ctx),
        rebalance_timeout_ms: request.rebalance_timeout_ms,
        subscribed_topics: request
            .subscribed_topic_names
            .as_ref()
            .map(|ts| ts.iter().map(|t| t.to_string()).collect()),
        subscribed_regex: request
            .subscribed_topic_regex
            .as_ref()
            .map(|s| s.to_string()),
        assignor: request.server_assignor.as_ref().map(|s| s.to_string()),
        owned,
    };
    if let Some(refused) = refuse_heartbeat(broker, ctx, &request) {
        return Ok(refused);
    }
    let answer = match broker.ensure_offsets_topic().await {
        Ok(()) if broker.groups.owner_error(&request.group_id).is_some() => {
            let e = broker
                .groups
                .owner_error(&request.group_id)
                .unwrap_or(ResponseError::NotCoordinator);
            return Ok(ConsumerGroupHeartbeatResponse::default().with_error_code(e.code()));
        }
        Ok(()) => broker.groups.consumer_heartbeat(
            &request.group_id,
            &beat,
            &ClusterTopics(&broker.cluster),
        ),
        Err(r) => {
            return Ok(ConsumerGroupHeartbeatResponse::default()
                .with_error_code(ResponseError::CoordinatorNotAvailable.code())
                .with_error_message(Some(str_bytes(r.message))))
        }
    };
    let mut response = ConsumerGroupHeartbeatResponse::default()
        .with_member_id(Some(str_bytes(answer.member_id)))
        .with_member_epoch(answer.member_epoch)
        .with_heartbeat_interval_ms(answer.heartbeat_interval_ms)
        .with_assignment(answer.assignment.map(|a| {
            heartbeat::Assignment::default().with_topic_partitions(
                a.into_iter()
                    .map(|(topic_id, parts)| {
                        heartbeat::TopicPartitions::default()
                            .with_topic_id(topic_id)
                            .with_partitions(parts.into_iter().collect())
                    })
                    .collect(),
            )
        }));
    if let Some((error, message)) = answer.error {
        response = response
            .with_error_code(error.code())
            .with_error_message(Some(str_bytes(message)));
    }
    Ok(response)
}

/// The answer to a heartbeat the principal may not send: no READ on the group, or no
/// DESCRIBE on a topic it subscribes to.
fn refuse_heartbeat(
    broker: &Broker,
    ctx: &RequestContext,
    request: &ConsumerGroupHeartbeatRequest,
) -> Option<ConsumerGroupHeartbeatResponse> {
    let refused = |error: ResponseError, message: String| {
        ConsumerGroupHeartbeatResponse::default()
            .with_error_code(error.code())
            .with_error_message(Some(str_bytes(message)))
    };
    let group = request.group_id.as_str();
    if !auth::allowed(broker, ctx, AclOperation::Read, ResourceType::Group, group) {
        let message = auth::denied(ctx, AclOperation::Read, ResourceType::Group, group);
        return Some(refused(ResponseError::GroupAuthorizationFailed, message));
    }
    let topics = request.subscribed_topic_names.iter().flatten();
    let hidden = topics
        .map(|t| t.as_str())
        .find(|t| !auth::allowed(broker, ctx, AclOperation::Describe, ResourceType::Topic, t))?;
    let message = auth::denied(ctx, AclOperation::Describe, ResourceType::Topic, hidden);
    Some(refused(ResponseError::TopicAuthorizationFailed, message))
}

pub async fn describe(
    broker: &Broker,
    ctx: &RequestContext,
    request: ConsumerGroupDescribeRequest,
) -> Result<ConsumerGroupDescribeResponse> {
    let names: BTreeMap<Uuid, String> = broker
        .cluster
        .read(|i| i.topics.iter().map(|(n, t)| (t.id, n.clone())).collect());
    let assignment = |parts: Vec<(Uuid, Vec<i32>)>| {
        describe::Assignment::default().with_topic_partitions(
            parts
                .into_iter()
                .map(|(id, p)| {
                    describe::TopicPartitions::default()
                        .with_topic_id(id)
                        .with_topic_name(topic_name(names.get(&id).cloned().unwrap_or_default()))
                        .with_partitions(p)
                })
                .collect(),
        )
    };
    let groups = request
        .group_ids
        .iter()
        .map(|id| {
            if !auth::allowed(broker, ctx, AclOperation::Describe, ResourceType::Group, id) {
                return describe::DescribedGroup::default()
                    .with_group_id(id.clone())
                    .with_error_code(ResponseError::GroupAuthorizationFailed.code())
                    .with_error_message(Some(str_bytes(auth::denied(
                        ctx,
                        AclOperation::Describe,
                        ResourceType::Group,
                        id,
                    ))));
            }
            let operations = auth::operations(
                broker,
                ctx,
                request.include_authorized_operations,
                ResourceType::Group,
                id,
            );
            let base = describe::DescribedGroup::default()
                .with_group_id(id.clone())
                .with_authorized_operations(operations);
            if let Some(e) = broker.groups.owner_error(id) {
                return base.with_error_code(e.code());
            }
            let Some(d) = broker.groups.consumer_describe(id) else {
                return base
                    .with_error_code(ResponseError::GroupIdNotFound.code())
                    .with_error_message(Some(str_bytes(format!(
                        "Group {} is not a consumer group.",
                        id.as_str()
                    ))))
                    .with_group_state(str_bytes("Dead"));
            };
            base.with_group_state(str_bytes(d.state))
                .with_group_epoch(d.group_epoch)
                .with_assignment_epoch(d.assignment_epoch)
                .with_assignor_name(str_bytes(d.assignor))
                .with_members(
                    d.members
                        .into_iter()
                        .map(|m| {
                            let mut member = describe::Member::default()
                                .with_member_id(str_bytes(m.member_id))
                                .with_instance_id(m.instance_id.map(str_bytes))
                                .with_rack_id(m.rack_id.map(str_bytes))
                                .with_member_epoch(m.epoch)
                                .with_client_id(str_bytes(m.client_id))
                                .with_client_host(str_bytes(m.client_host))
                                .with_subscribed_topic_names(
                                    m.topics.into_iter().map(topic_name).collect(),
                                )
                                .with_subscribed_topic_regex(m.regex.map(str_bytes))
                                .with_assignment(assignment(m.assignment))
                                .with_target_assignment(assignment(m.target));
                            if ctx.version >= 1 {
                                member.member_type = CONSUMER_MEMBER;
                            }
                            member
                        })
                        .collect(),
                )
        })
        .collect();
    Ok(ConsumerGroupDescribeResponse::default().with_groups(groups))
}
