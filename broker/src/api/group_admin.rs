//! ListGroups (with the states and types filters), DescribeGroups and DeleteGroups.
//!
//! With an authorizer, as Kafka: ListGroups lists every group to a principal with DESCRIBE on
//! the cluster, else only the groups it may DESCRIBE; DescribeGroups needs DESCRIBE and
//! DeleteGroups DELETE on each group (GROUP_AUTHORIZATION_FAILED for that group otherwise).

use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::*;
use kafka_protocol::ResponseError;

use super::auth;
use super::str_bytes;
use super::RequestContext;
use crate::authorizer::{AclOperation, ResourceType};
use crate::coordinator::GroupState;
use crate::error::Result;
use crate::Broker;

/// DescribeGroups v6 reports an unknown group as GROUP_ID_NOT_FOUND instead of "Dead".
const GROUP_NOT_FOUND_VERSION: i16 = 6;

pub async fn list(
    broker: &Broker,
    ctx: &RequestContext,
    request: ListGroupsRequest,
) -> Result<ListGroupsResponse> {
    let states: Vec<String> = request
        .states_filter
        .iter()
        .map(|s| s.to_lowercase())
        .collect();
    let types: Vec<String> = request
        .types_filter
        .iter()
        .map(|s| s.to_lowercase())
        .collect();
    let may = |op, group: &str| auth::allowed(broker, ctx, op, ResourceType::Group, group);
    let every_group = auth::allowed_on_cluster(broker, ctx, AclOperation::Describe);
    let groups = broker
        .groups
        .list()
        .into_iter()
        .filter(|g| types.is_empty() || types.iter().any(|t| t == g.group_type))
        .filter(|g| states.is_empty() || states.contains(&g.state.to_lowercase()))
        .filter(|g| every_group || may(AclOperation::Describe, &g.group_id))
        .map(|g| {
            ListedGroup::default()
                .with_group_id(GroupId(str_bytes(g.group_id)))
                .with_protocol_type(str_bytes(g.protocol_type))
                .with_group_state(str_bytes(g.state))
                .with_group_type(str_bytes(g.group_type))
        })
        .collect();
    Ok(ListGroupsResponse::default().with_groups(groups))
}

pub async fn describe(
    broker: &Broker,
    ctx: &RequestContext,
    request: DescribeGroupsRequest,
) -> Result<DescribeGroupsResponse> {
    let groups = request
        .groups
        .iter()
        .map(|id| {
            if !auth::allowed(broker, ctx, AclOperation::Describe, ResourceType::Group, id) {
                let refused = DescribedGroup::default()
                    .with_group_id(id.clone())
                    .with_error_code(ResponseError::GroupAuthorizationFailed.code());
                // The message field came with v6.
                if ctx.version < GROUP_NOT_FOUND_VERSION {
                    return refused;
                }
                let message = auth::denied(ctx, AclOperation::Describe, ResourceType::Group, id);
                return refused.with_error_message(Some(str_bytes(message)));
            }
            let operations = auth::operations(
                broker,
                ctx,
                request.include_authorized_operations,
                ResourceType::Group,
                id,
            );
            let described = DescribedGroup::default()
                .with_group_id(id.clone())
                .with_authorized_operations(operations);
            if let Some(e) = broker.groups.owner_error(id) {
                return described
                    .with_error_code(e.code())
                    .with_group_state(str_bytes(GroupState::Dead.name()));
            }
            if broker.groups.is_consumer_group(id) {
                // Kafka answers so for every version: the client should use
                // ConsumerGroupDescribe.
                let mut refused = described
                    .with_error_code(ResponseError::GroupIdNotFound.code())
                    .with_group_state(str_bytes(GroupState::Dead.name()));
                if ctx.version >= GROUP_NOT_FOUND_VERSION {
                    refused.error_message = Some(str_bytes(format!(
                        "Group {} is not a classic group.",
                        id.as_str()
                    )));
                }
                return refused;
            }
            match broker.groups.describe(id) {
                Some(d) => described
                    .with_group_state(str_bytes(d.state.name()))
                    .with_protocol_type(str_bytes(d.protocol_type))
                    .with_protocol_data(str_bytes(d.protocol))
                    .with_members(
                        d.members
                            .into_iter()
                            .map(|m| {
                                let mut member = DescribedGroupMember::default()
                                    .with_member_id(str_bytes(m.member_id))
                                    .with_client_id(str_bytes(m.client_id))
                                    .with_client_host(str_bytes(m.client_host))
                                    .with_member_metadata(m.metadata)
                                    .with_member_assignment(m.assignment);
                                if ctx.version >= 4 {
                                    member.group_instance_id = m.instance_id.map(str_bytes);
                                }
                                member
                            })
                            .collect(),
                    ),
                None if ctx.version >= GROUP_NOT_FOUND_VERSION => described
                    .with_error_code(ResponseError::GroupIdNotFound.code())
                    .with_error_message(Some(str_bytes(format!(
                        "Group {} not found.",
                        id.as_str()
                    ))))
                    .with_group_state(str_bytes(GroupState::Dead.name())),
                None => described.with_group_state(str_bytes(GroupState::Dead.name())),
            }
        })
        .collect();
    Ok(DescribeGroupsResponse::default().with_groups(groups))
}

pub async fn delete(
    broker: &Broker,
    ctx: &RequestContext,
    request: DeleteGroupsRequest,
) -> Result<DeleteGroupsResponse> {
    let results = request
        .groups_names
        .iter()
        .map(|id| {
            let error = if auth::allowed(broker, ctx, AclOperation::Delete, ResourceType::Group, id)
            {
                broker
                    .groups
                    .owner_error(id)
                    .or_else(|| broker.groups.delete(&broker.replicas, id))
            } else {
                Some(ResponseError::GroupAuthorizationFailed)
            };
            DeletableGroupResult::default()
                .with_group_id(id.clone())
                .with_error_code(error.map_or(0, |e| e.code()))
        })
        .collect();
    Ok(DeleteGroupsResponse::default().with_results(results))
}
