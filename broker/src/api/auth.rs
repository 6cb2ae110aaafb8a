//! The handlers' side of authorization: each handler asks whether the request's principal,
//! from its address, may perform an operation on a resource, as Kafka's `KafkaApis` asks
//! (the table in docs/broker.md says which API checks what), and words the refusals.
//!
//! Without `authorizer.class.name` every check passes at once.

use super::RequestContext;
use crate::authorizer::{AclOperation, Requester, Resource, ResourceType, CLUSTER_NAME};
use crate::Broker;

/// The request's principal and address.
pub(crate) fn requester(ctx: &RequestContext) -> Requester<'_> {
    Requester {
        principal: &ctx.principal,
        host: ctx.peer.ip(),
    }
}

/// Whether the request may perform `operation` on the resource `name` of `resource_type`.
pub(crate) fn allowed(
    broker: &Broker,
    ctx: &RequestContext,
    operation: AclOperation,
    resource_type: ResourceType,
    name: &str,
) -> bool {
    let resource = Resource {
        resource_type,
        name,
    };
    broker
        .authorizer
        .authorize(requester(ctx), operation, resource)
}

/// Whether the request may perform `operation` on the cluster.
pub(crate) fn allowed_on_cluster(
    broker: &Broker,
    ctx: &RequestContext,
    operation: AclOperation,
) -> bool {
    allowed(broker, ctx, operation, ResourceType::Cluster, CLUSTER_NAME)
}

/// KIP-430's field for one resource: the operations the request's principal may perform on
/// it, when the request asked for them.
pub(crate) fn operations(
    broker: &Broker,
    ctx: &RequestContext,
    requested: bool,
    resource_type: ResourceType,
    name: &str,
) -> i32 {
    let resource = Resource {
        resource_type,
        name,
    };
    broker
        .authorizer
        .authorized_operations(requested, requester(ctx), resource)
}

/// The message of a refusal: "Principal User:alice is not authorized to WRITE topic orders."
pub(crate) fn denied(
    ctx: &RequestContext,
    operation: AclOperation,
    resource_type: ResourceType,
    name: &str,
) -> String {
    let principal = &ctx.principal;
    match resource_type {
        ResourceType::Cluster => {
            format!("Principal {principal} is not authorized to {operation} the cluster.")
        }
        _ => format!(
            "Principal {principal} is not authorized to {operation} {} {name}.",
            resource_type.noun()
        ),
    }
}
