//! FindCoordinator, and the classic group protocol: JoinGroup, SyncGroup, Heartbeat and
//! LeaveGroup. The state machine is the coordinator's; this module maps versions and fields.
//!
//! With an authorizer, as Kafka: FindCoordinator needs DESCRIBE on the group (or on the
//! transactional id) of each key; JoinGroup, SyncGroup, Heartbeat and LeaveGroup need READ on
//! the group (GROUP_AUTHORIZATION_FAILED otherwise).

use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::str_bytes;
use super::{auth, RequestContext};
use crate::authorizer::{AclOperation, ResourceType};
use crate::coordinator::transactions::TRANSACTION_TOPIC;
use crate::coordinator::{JoinRequest, JoinResult, Reply, SyncResult, OFFSETS_TOPIC};
use crate::error::Result;
use crate::Broker;

/// FindCoordinator v4 batches keys.
const BATCHED_COORDINATOR_VERSION: i16 = 4;
/// JoinGroup v4 answers an unknown member with MEMBER_ID_REQUIRED (KIP-394).
const MEMBER_ID_REQUIRED_VERSION: i16 = 4;
/// JoinGroup v7 makes the protocol name nullable.
const NULLABLE_PROTOCOL_VERSION: i16 = 7;
/// LeaveGroup v3 removes a batch of members, each with its own answer.
const BATCHED_LEAVE_VERSION: i16 = 3;
/// FindCoordinator key types.
const KEY_TYPE_GROUP: i8 = 0;
const KEY_TYPE_TRANSACTION: i8 = 1;

/// How Kafka prints a client's address in group descriptions.
pub(crate) fn client_host(ctx: &RequestContext) -> String {
    format!("/{}", ctx.peer.ip())
}

fn opt_str(s: &Option<StrBytes>) -> Option<String> {
    s.as_ref().map(|s| s.to_string())
}

async fn resolve<T>(reply: Reply<T>, gone: impl FnOnce() -> T) -> T {
    match reply {
        Reply::Ready(v) => v,
        Reply::Wait(rx) => rx.await.unwrap_or_else(|_| gone()),
    }
}

pub async fn find_coordinator(
    broker: &Broker,
    ctx: &RequestContext,
    request: FindCoordinatorRequest,
) -> Result<FindCoordinatorResponse> {
    let keys: Vec<StrBytes> = if ctx.version >= BATCHED_COORDINATOR_VERSION {
        request.coordinator_keys.clone()
    } else {
        vec![request.key.clone()]
    };
    let mut found: Vec<Coordinator> = Vec::with_capacity(keys.len());
    for key in keys {
        let refused = refuse_key(broker, ctx, request.key_type, &key);
        found.push(match refused {
            Some(c) => c,
            None => locate(broker, &ctx.listener, request.key_type, key).await,
        });
    }
    if ctx.version >= BATCHED_COORDINATOR_VERSION {
        return Ok(FindCoordinatorResponse::default().with_coordinators(found));
    }
    let c = found.into_iter().next().unwrap_or_default();
    let mut response = FindCoordinatorResponse::default()
        .with_error_code(c.error_code)
        .with_node_id(c.node_id)
        .with_host(c.host)
        .with_port(c.port);
    if ctx.version >= 1 {
        response.error_message = c.error_message;
    }
    Ok(response)
}

/// The answer for a key the principal may not DESCRIBE.
fn refuse_key(
    broker: &Broker,
    ctx: &RequestContext,
    key_type: i8,
    key: &StrBytes,
) -> Option<Coordinator> {
    let (resource_type, error) = match key_type {
        KEY_TYPE_GROUP => (ResourceType::Group, ResponseError::GroupAuthorizationFailed),
        KEY_TYPE_TRANSACTION => (
            ResourceType::TransactionalId,
            ResponseError::TransactionalIdAuthorizationFailed,
        ),
        _ => return None,
    };
    if auth::allowed(broker, ctx, AclOperation::Describe, resource_type, key) {
        return None;
    }
    let message = auth::denied(ctx, AclOperation::Describe, resource_type, key);
    Some(
        Coordinator::default()
            .with_key(key.clone())
            .with_node_id(BrokerId(-1))
            .with_host(str_bytes(""))
            .with_port(-1)
            .with_error_code(error.code())
            .with_error_message(Some(str_bytes(message))),
    )
}

/// Whether the request may READ `group` (JoinGroup, SyncGroup, Heartbeat, LeaveGroup).
fn may_read(broker: &Broker, ctx: &RequestContext, group: &str) -> bool {
    auth::allowed(broker, ctx, AclOperation::Read, ResourceType::Group, group)
}

async fn locate(broker: &Broker, listener: &str, key_type: i8, key: StrBytes) -> Coordinator {
    let refuse = |error: ResponseError, message: &str| {
        Coordinator::default()
            .with_key(key.clone())
            .with_node_id(BrokerId(-1))
            .with_host(str_bytes(""))
            .with_port(-1)
            .with_error_code(error.code())
            .with_error_message(Some(str_bytes(message)))
    };
    if key.is_empty() {
        return refuse(ResponseError::InvalidRequest, "the key is empty");
    }
    let (topic, partition) = match key_type {
        KEY_TYPE_GROUP => {
            if let Err(r) = broker.ensure_offsets_topic().await {
                return refuse(ResponseError::CoordinatorNotAvailable, &r.message);
            }
            (OFFSETS_TOPIC, broker.groups.partition_for(&key))
        }
        KEY_TYPE_TRANSACTION => {
            if let Err(r) = broker.ensure_transaction_topic().await {
                return refuse(ResponseError::CoordinatorNotAvailable, &r.message);
            }
            (TRANSACTION_TOPIC, broker.txns.partition_for(&key))
        }
        _ => return refuse(ResponseError::InvalidRequest, "unknown key type"),
    };
    let leader = broker.cluster.read(|i| {
        let p = i.topics.get(topic)?.partitions.get(partition as usize)?;
        let b = i.brokers.get(&p.leader)?;
        let (host, port) = b.end_point(listener)?;
        Some((b.node_id, host.to_string(), port))
    });
    match leader {
        Some((node_id, host, port)) => Coordinator::default()
            .with_key(key)
            .with_node_id(BrokerId(node_id))
            .with_host(str_bytes(host))
            .with_port(i32::from(port)),
        None => refuse(ResponseError::CoordinatorNotAvailable, "no leader yet"),
    }
}

pub async fn join(
    broker: &Broker,
    ctx: &RequestContext,
    request: JoinGroupRequest,
) -> Result<JoinGroupResponse> {
    let join = JoinRequest {
        group_id: request.group_id.to_string(),
        member_id: request.member_id.to_string(),
        instance_id: opt_str(&request.group_instance_id),
        client_id: ctx.client_id.clone().unwrap_or_default(),
        client_host: client_host(ctx),
        session_timeout_ms: request.session_timeout_ms,
        rebalance_timeout_ms: if ctx.version >= 1 {
            request.rebalance_timeout_ms
        } else {
            request.session_timeout_ms
        },
        protocol_type: request.protocol_type.to_string(),
        protocols: request
            .protocols
            .iter()
            .map(|p| (p.name.to_string(), p.metadata.clone()))
            .collect(),
        require_known_member_id: ctx.version >= MEMBER_ID_REQUIRED_VERSION,
    };
    if !may_read(broker, ctx, &join.group_id) {
        let refused = JoinResult::error(ResponseError::GroupAuthorizationFailed, &join.member_id);
        return Ok(join_response(ctx.version, refused));
    }
    let result = match broker.ensure_offsets_topic().await {
        Ok(()) if broker.groups.owner_error(&join.group_id).is_some() => {
            let e = broker.groups.owner_error(&join.group_id);
            JoinResult::error(e.unwrap_or(ResponseError::NotCoordinator), &join.member_id)
        }
        Ok(()) => {
            let reply = broker.groups.join(&broker.replicas, &join);
            resolve(reply, || {
                JoinResult::error(ResponseError::UnknownMemberId, &join.member_id)
            })
            .await
        }
        Err(_) => JoinResult::error(ResponseError::CoordinatorNotAvailable, &join.member_id),
    };
    Ok(join_response(ctx.version, result))
}

fn join_response(version: i16, r: JoinResult) -> JoinGroupResponse {
    let protocol = match (r.protocol, version >= NULLABLE_PROTOCOL_VERSION) {
        (Some(p), _) => Some(str_bytes(p)),
        (None, true) => None,
        (None, false) => Some(str_bytes("")),
    };
    let members = r
        .members
        .into_iter()
        .map(|m| {
            let mut member = JoinGroupResponseMember::default()
                .with_member_id(str_bytes(m.member_id))
                .with_metadata(m.metadata);
            if version >= 5 {
                member.group_instance_id = m.instance_id.map(str_bytes);
            }
            member
        })
        .collect();
    let mut response = JoinGroupResponse::default()
        .with_error_code(r.error.map_or(0, |e| e.code()))
        .with_generation_id(r.generation)
        .with_protocol_name(protocol)
        .with_leader(str_bytes(r.leader))
        .with_member_id(str_bytes(r.member_id))
        .with_members(members);
    if version >= NULLABLE_PROTOCOL_VERSION {
        response.protocol_type = r.protocol_type.map(str_bytes);
    }
    response
}

pub async fn sync(
    broker: &Broker,
    ctx: &RequestContext,
    request: SyncGroupRequest,
) -> Result<SyncGroupResponse> {
    if !may_read(broker, ctx, &request.group_id) {
        let error = ResponseError::GroupAuthorizationFailed.code();
        return Ok(SyncGroupResponse::default().with_error_code(error));
    }
    let assignments = request
        .assignments
        .iter()
        .map(|a| (a.member_id.to_string(), a.assignment.clone()))
        .collect();
    if let Some(e) = broker.groups.owner_error(&request.group_id) {
        return Ok(SyncGroupResponse::default().with_error_code(e.code()));
    }
    let reply = broker.groups.sync(
        &broker.replicas,
        &request.group_id,
        &request.member_id,
        request.group_instance_id.as_deref(),
        request.generation_id,
        request.protocol_type.as_deref(),
        request.protocol_name.as_deref(),
        assignments,
    );
    let r = resolve(reply, || SyncResult::error(ResponseError::UnknownMemberId)).await;
    let mut response = SyncGroupResponse::default()
        .with_error_code(r.error.map_or(0, |e| e.code()))
        .with_assignment(r.assignment);
    if ctx.version >= 5 {
        response.protocol_type = r.protocol_type.map(str_bytes);
        response.protocol_name = r.protocol.map(str_bytes);
    }
    Ok(response)
}

pub async fn heartbeat(
    broker: &Broker,
    ctx: &RequestContext,
    request: HeartbeatRequest,
) -> Result<HeartbeatResponse> {
    if !may_read(broker, ctx, &request.group_id) {
        let error = ResponseError::GroupAuthorizationFailed.code();
        return Ok(HeartbeatResponse::default().with_error_code(error));
    }
    if let Some(e) = broker.groups.owner_error(&request.group_id) {
        return Ok(HeartbeatResponse::default().with_error_code(e.code()));
    }
    let error = broker.groups.heartbeat(
        &request.group_id,
        &request.member_id,
        request.group_instance_id.as_deref(),
        request.generation_id,
    );
    Ok(HeartbeatResponse::default().with_error_code(error.map_or(0, |e| e.code())))
}

pub async fn leave(
    broker: &Broker,
    ctx: &RequestContext,
    request: LeaveGroupRequest,
) -> Result<LeaveGroupResponse> {
    let members: Vec<(String, Option<String>)> = if ctx.version >= BATCHED_LEAVE_VERSION {
        request
            .members
            .iter()
            .map(|m| (m.member_id.to_string(), opt_str(&m.group_instance_id)))
            .collect()
    } else {
        vec![(request.member_id.to_string(), None)]
    };
    let answers = match broker.groups.owner_error(&request.group_id) {
        _ if !may_read(broker, ctx, &request.group_id) => {
            Err(ResponseError::GroupAuthorizationFailed)
        }
        Some(e) => Err(e),
        None => broker
            .groups
            .leave(&broker.replicas, &request.group_id, &members),
    };
    let response = LeaveGroupResponse::default();
    if ctx.version < BATCHED_LEAVE_VERSION {
        let error = match answers {
            Ok(a) => a.into_iter().next().flatten(),
            Err(e) => Some(e),
        };
        return Ok(response.with_error_code(error.map_or(0, |e| e.code())));
    }
    Ok(match answers {
        Err(e) => response.with_error_code(e.code()),
        Ok(answers) => response.with_members(
            members
                .into_iter()
                .zip(answers)
                .map(|((id, instance), error)| {
                    MemberResponse::default()
                        .with_member_id(str_bytes(id))
                        .with_group_instance_id(instance.map(str_bytes))
                        .with_error_code(error.map_or(0, |e| e.code()))
                })
                .collect(),
        ),
    })
}
