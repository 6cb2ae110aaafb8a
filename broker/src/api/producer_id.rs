//! InitProducerId: for an idempotent producer a fresh producer id at epoch 0 (or its next
//! epoch when it asks, KIP-360); for a transactional id, the transaction coordinator's answer
//! (`coordinator/transactions/service.rs`).
//!
//! With an authorizer, as Kafka: a transactional id needs WRITE on it; an idempotent producer
//! needs IDEMPOTENT_WRITE on the cluster or WRITE on some topic (CLUSTER_AUTHORIZATION_FAILED
//! otherwise).

use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};
use kafka_protocol::ResponseError;

use super::{auth, RequestContext};
use crate::authorizer::{AclOperation, ResourceType};
use crate::coordinator::transactions::service;
use crate::error::Result;
use crate::Broker;

/// InitProducerId v3 carries the producer's own id and epoch (KIP-360).
const KIP_360_VERSION: i16 = 3;
/// Versions before 4 know PRODUCER_FENCED as INVALID_PRODUCER_EPOCH (KIP-588).
const PRODUCER_FENCED_VERSION: i16 = 4;

pub async fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: InitProducerIdRequest,
) -> Result<InitProducerIdResponse> {
    let refuse = |e: ResponseError| {
        InitProducerIdResponse::default()
            .with_error_code(e.code())
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1)
    };
    if let Some(id) = request.transactional_id.as_deref() {
        if !auth::allowed(
            broker,
            ctx,
            AclOperation::Write,
            ResourceType::TransactionalId,
            id,
        ) {
            return Ok(refuse(ResponseError::TransactionalIdAuthorizationFailed));
        }
        let expected = (ctx.version >= KIP_360_VERSION
            && request.producer_id.0 >= 0
            && request.producer_epoch >= 0)
            .then_some((request.producer_id.0, request.producer_epoch));
        let timeout = request.transaction_timeout_ms;
        return Ok(
            match service::init_producer_id(broker, id, timeout, expected).await {
                Ok((pid, epoch)) => InitProducerIdResponse::default()
                    .with_producer_id(ProducerId(pid))
                    .with_producer_epoch(epoch),
                Err(ResponseError::ProducerFenced) if ctx.version < PRODUCER_FENCED_VERSION => {
                    refuse(ResponseError::InvalidProducerEpoch)
                }
                Err(e) => refuse(e),
            },
        );
    }
    if !may_write_idempotently(broker, ctx) {
        return Ok(refuse(ResponseError::ClusterAuthorizationFailed));
    }
    // An idempotent producer that asks to bump its epoch keeps its id at the next epoch.
    if request.producer_id.0 >= 0 && request.producer_epoch >= 0 {
        let epoch = request.producer_epoch.checked_add(1);
        return Ok(match epoch {
            Some(epoch) => InitProducerIdResponse::default()
                .with_producer_id(request.producer_id)
                .with_producer_epoch(epoch),
            None => {
                let id = broker
                    .cluster
                    .allocate_producer_id(broker.config.node_id)
                    .await
                    .map_err(|r| crate::error::Error::Storage(r.message))?;
                InitProducerIdResponse::default()
                    .with_producer_id(ProducerId(id))
                    .with_producer_epoch(0)
            }
        });
    }
    match broker
        .cluster
        .allocate_producer_id(broker.config.node_id)
        .await
    {
        Ok(id) => Ok(InitProducerIdResponse::default()
            .with_producer_id(ProducerId(id))
            .with_producer_epoch(0)),
        Err(_) => Ok(refuse(ResponseError::CoordinatorNotAvailable)),
    }
}

/// IDEMPOTENT_WRITE on the cluster, or WRITE on at least one topic (Kafka's
/// `authorizeByResourceType`).
fn may_write_idempotently(broker: &Broker, ctx: &RequestContext) -> bool {
    auth::allowed_on_cluster(broker, ctx, AclOperation::IdempotentWrite)
        || broker.authorizer.authorize_by_resource_type(
            auth::requester(ctx),
            AclOperation::Write,
            ResourceType::Topic,
        )
}
