//! DescribeAcls (API 29), CreateAcls (30) and DeleteAcls (31), as Kafka's `AclApis` answers
//! them: SECURITY_DISABLED without `authorizer.class.name`; CLUSTER_AUTHORIZATION_FAILED for
//! a principal without DESCRIBE (DescribeAcls) or ALTER (Create/DeleteAcls) on the cluster;
//! INVALID_REQUEST for a binding or filter Kafka would refuse.
//!
//! DescribeAcls answers from this broker's image. Creations and deletions go to the active
//! controller, which writes them to the metadata log, and are answered once applied here.

use std::collections::BTreeMap;

use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::create_acls_response::AclCreationResult;
use kafka_protocol::messages::delete_acls_request::DeleteAclsFilter;
use kafka_protocol::messages::delete_acls_response::{
    DeleteAclsFilterResult, DeleteAclsMatchingAcl,
};
use kafka_protocol::messages::describe_acls_response::{AclDescription, DescribeAclsResource};
use kafka_protocol::messages::*;
use kafka_protocol::ResponseError;

use super::{auth, str_bytes, RequestContext};
use crate::authorizer::{Acl, AclFilter, AclOperation, Codes, PatternType, ResourceType};
use crate::cluster::Refusal;
use crate::controller::{ControllerRequest, ControllerResponse};
use crate::error::Result;
use crate::Broker;

/// Why the whole request is refused, if it is: no authorizer, or no permission.
fn refusal(broker: &Broker, ctx: &RequestContext, operation: AclOperation) -> Option<Refusal> {
    if !broker.authorizer.enabled() {
        return Some(Refusal::new(
            ResponseError::SecurityDisabled,
            "No Authorizer is configured on the broker (set authorizer.class.name).",
        ));
    }
    if !auth::allowed_on_cluster(broker, ctx, operation) {
        let message = auth::denied(ctx, operation, ResourceType::Cluster, "");
        return Some(Refusal::new(
            ResponseError::ClusterAuthorizationFailed,
            message,
        ));
    }
    None
}

pub async fn describe(
    broker: &Broker,
    ctx: &RequestContext,
    request: DescribeAclsRequest,
) -> Result<DescribeAclsResponse> {
    let refused = |r: Refusal| {
        DescribeAclsResponse::default()
            .with_error_code(r.error.code())
            .with_error_message(Some(str_bytes(r.message)))
    };
    if let Some(r) = refusal(broker, ctx, AclOperation::Describe) {
        return Ok(refused(r));
    }
    let codes = Codes {
        resource_type: request.resource_type_filter,
        pattern_type: request.pattern_type_filter,
        operation: request.operation,
        permission_type: request.permission_type,
    };
    let filter = AclFilter::from_wire(
        codes,
        request.resource_name_filter.as_deref(),
        request.principal_filter.as_deref(),
        request.host_filter.as_deref(),
    );
    let filter = match filter {
        Ok(f) => f,
        Err(m) => return Ok(refused(Refusal::new(ResponseError::InvalidRequest, m))),
    };
    let acls: Vec<Acl> = broker.cluster.read(|image| {
        image
            .acls
            .matching(&filter)
            .map(|(_, acl)| acl.clone())
            .collect()
    });
    Ok(DescribeAclsResponse::default().with_resources(by_resource(acls)))
}

/// ACLs grouped by resource pattern, as DescribeAcls returns them.
fn by_resource(acls: Vec<Acl>) -> Vec<DescribeAclsResource> {
    let mut grouped: BTreeMap<(ResourceType, String, PatternType), Vec<AclDescription>> =
        BTreeMap::new();
    for acl in acls {
        let description = AclDescription::default()
            .with_principal(str_bytes(acl.principal))
            .with_host(str_bytes(acl.host))
            .with_operation(acl.operation.code())
            .with_permission_type(acl.permission_type.code());
        grouped
            .entry((acl.resource_type, acl.resource_name, acl.pattern_type))
            .or_default()
            .push(description);
    }
    grouped
        .into_iter()
        .map(|((resource_type, name, pattern_type), acls)| {
            DescribeAclsResource::default()
                .with_resource_type(resource_type.code())
                .with_resource_name(str_bytes(name))
                .with_pattern_type(pattern_type.code())
                .with_acls(acls)
        })
        .collect()
}

pub async fn create(
    broker: &Broker,
    ctx: &RequestContext,
    request: CreateAclsRequest,
) -> Result<CreateAclsResponse> {
    let failed = |r: &Refusal| {
        AclCreationResult::default()
            .with_error_code(r.error.code())
            .with_error_message(Some(str_bytes(r.message.clone())))
    };
    if let Some(r) = refusal(broker, ctx, AclOperation::Alter) {
        let results = request.creations.iter().map(|_| failed(&r)).collect();
        return Ok(CreateAclsResponse::default().with_results(results));
    }
    let checked: Vec<std::result::Result<Acl, Refusal>> =
        request.creations.iter().map(binding_of).collect();
    let valid: Vec<Acl> = checked.iter().filter_map(|c| c.clone().ok()).collect();
    let outcome = if valid.is_empty() {
        Ok(())
    } else {
        match broker
            .cluster
            .submit(ControllerRequest::CreateAcls { acls: valid })
            .await
        {
            Ok(_) => Ok(()),
            Err(r) => Err(r),
        }
    };
    let results = checked
        .iter()
        .map(|c| match (c, &outcome) {
            (Err(r), _) | (Ok(_), Err(r)) => failed(r),
            (Ok(_), Ok(())) => AclCreationResult::default(),
        })
        .collect();
    Ok(CreateAclsResponse::default().with_results(results))
}

fn binding_of(creation: &AclCreation) -> std::result::Result<Acl, Refusal> {
    let codes = Codes {
        resource_type: creation.resource_type,
        pattern_type: creation.resource_pattern_type,
        operation: creation.operation,
        permission_type: creation.permission_type,
    };
    Acl::new_binding(
        codes,
        &creation.resource_name,
        &creation.principal,
        &creation.host,
    )
    .map_err(|m| Refusal::new(ResponseError::InvalidRequest, m))
}

pub async fn delete(
    broker: &Broker,
    ctx: &RequestContext,
    request: DeleteAclsRequest,
) -> Result<DeleteAclsResponse> {
    let failed = |r: &Refusal| {
        DeleteAclsFilterResult::default()
            .with_error_code(r.error.code())
            .with_error_message(Some(str_bytes(r.message.clone())))
    };
    if let Some(r) = refusal(broker, ctx, AclOperation::Alter) {
        let results = request.filters.iter().map(|_| failed(&r)).collect();
        return Ok(DeleteAclsResponse::default().with_filter_results(results));
    }
    let checked: Vec<std::result::Result<AclFilter, Refusal>> =
        request.filters.iter().map(filter_of).collect();
    let valid: Vec<AclFilter> = checked.iter().filter_map(|c| c.clone().ok()).collect();
    let outcome = if valid.is_empty() {
        Ok(Vec::new())
    } else {
        let request = ControllerRequest::DeleteAcls { filters: valid };
        match broker.cluster.submit(request).await {
            Ok(ControllerResponse::AclsDeleted(per_filter)) => Ok(per_filter),
            Ok(other) => Err(Refusal::new(
                ResponseError::UnknownServerError,
                format!("the controller answered {other:?}"),
            )),
            Err(r) => Err(r),
        }
    };
    let mut deleted = match &outcome {
        Ok(per_filter) => per_filter.clone().into_iter(),
        Err(_) => Vec::new().into_iter(),
    };
    let results = checked
        .iter()
        .map(|c| match (c, &outcome) {
            (Err(r), _) | (Ok(_), Err(r)) => failed(r),
            (Ok(_), Ok(_)) => DeleteAclsFilterResult::default().with_matching_acls(
                deleted
                    .next()
                    .unwrap_or_default()
                    .into_iter()
                    .map(matching)
                    .collect(),
            ),
        })
        .collect();
    Ok(DeleteAclsResponse::default().with_filter_results(results))
}

fn filter_of(f: &DeleteAclsFilter) -> std::result::Result<AclFilter, Refusal> {
    let codes = Codes {
        resource_type: f.resource_type_filter,
        pattern_type: f.pattern_type_filter,
        operation: f.operation,
        permission_type: f.permission_type,
    };
    AclFilter::from_wire(
        codes,
        f.resource_name_filter.as_deref(),
        f.principal_filter.as_deref(),
        f.host_filter.as_deref(),
    )
    .map_err(|m| Refusal::new(ResponseError::InvalidRequest, m))
}

fn matching(acl: Acl) -> DeleteAclsMatchingAcl {
    DeleteAclsMatchingAcl::default()
        .with_resource_type(acl.resource_type.code())
        .with_resource_name(str_bytes(acl.resource_name))
        .with_pattern_type(acl.pattern_type.code())
        .with_principal(str_bytes(acl.principal))
        .with_host(str_bytes(acl.host))
        .with_operation(acl.operation.code())
        .with_permission_type(acl.permission_type.code())
}
