//! The transaction APIs a producer uses, answered by the transaction coordinator
//! (`coordinator/transactions`): AddPartitionsToTxn (v0–3 from producers; v4+ batched, as
//! brokers send it), AddOffsetsToTxn, EndTxn, and TxnOffsetCommit to the group coordinator.
//! InitProducerId with a transactional id is in `producer_id.rs`.
//!
//! With an authorizer, as Kafka: WRITE on the transactional id for each of them; WRITE on
//! each topic added; READ on the group for AddOffsetsToTxn and TxnOffsetCommit.

use kafka_protocol::messages::add_partitions_to_txn_request::{
    AddPartitionsToTxnTopic, AddPartitionsToTxnTransaction,
};
use kafka_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnResult, AddPartitionsToTxnTopicResult,
};
use kafka_protocol::messages::txn_offset_commit_response::{
    TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use kafka_protocol::messages::{
    AddOffsetsToTxnRequest, AddOffsetsToTxnResponse, AddPartitionsToTxnRequest,
    AddPartitionsToTxnResponse, EndTxnRequest, EndTxnResponse, TxnOffsetCommitRequest,
    TxnOffsetCommitResponse,
};
use kafka_protocol::ResponseError;

use super::offsets::known_partition;
use super::{auth, topic_name, RequestContext};
use crate::authorizer::{AclOperation, ResourceType};
use crate::coordinator::records::OffsetValue;
use crate::coordinator::transactions::{service, verify};
use crate::coordinator::{CommitFrom, OffsetCommit, TxnProducer, OFFSETS_TOPIC};
use crate::error::Result;
use crate::Broker;

/// AddPartitionsToTxn v4 batches transactions (for brokers).
const BATCHED_VERSION: i16 = 4;
/// Versions before 2 know PRODUCER_FENCED as INVALID_PRODUCER_EPOCH (KIP-588).
const PRODUCER_FENCED_VERSION: i16 = 2;

/// PRODUCER_FENCED as the request's version knows it.
fn fenced_for(version: i16, e: ResponseError) -> ResponseError {
    if e == ResponseError::ProducerFenced && version < PRODUCER_FENCED_VERSION {
        ResponseError::InvalidProducerEpoch
    } else {
        e
    }
}

fn may_write_id(broker: &Broker, ctx: &RequestContext, id: &str) -> bool {
    auth::allowed(
        broker,
        ctx,
        AclOperation::Write,
        ResourceType::TransactionalId,
        id,
    )
}

pub async fn add_partitions(
    broker: &Broker,
    ctx: &RequestContext,
    request: AddPartitionsToTxnRequest,
) -> Result<AddPartitionsToTxnResponse> {
    if ctx.version >= BATCHED_VERSION {
        let mut results = Vec::with_capacity(request.transactions.len());
        for txn in &request.transactions {
            let topic_results = add_one(broker, ctx, txn).await;
            results.push(
                AddPartitionsToTxnResult::default()
                    .with_transactional_id(txn.transactional_id.clone())
                    .with_topic_results(topic_results),
            );
        }
        return Ok(AddPartitionsToTxnResponse::default().with_results_by_transaction(results));
    }
    let txn = AddPartitionsToTxnTransaction::default()
        .with_transactional_id(request.v3_and_below_transactional_id.clone())
        .with_producer_id(request.v3_and_below_producer_id)
        .with_producer_epoch(request.v3_and_below_producer_epoch)
        .with_topics(request.v3_and_below_topics.clone());
    let results = add_one(broker, ctx, &txn).await;
    Ok(AddPartitionsToTxnResponse::default().with_results_by_topic_v3_and_below(results))
}

/// One transaction's partitions: each gets the transaction's error, or UNKNOWN_TOPIC_OR_PARTITION
/// / TOPIC_AUTHORIZATION_FAILED alone while the others get OPERATION_NOT_ATTEMPTED, as Kafka.
async fn add_one(
    broker: &Broker,
    ctx: &RequestContext,
    txn: &AddPartitionsToTxnTransaction,
) -> Vec<AddPartitionsToTxnTopicResult> {
    let id = txn.transactional_id.as_str();
    let answer = |per: &dyn Fn(&str, i32) -> ResponseError| -> Vec<AddPartitionsToTxnTopicResult> {
        txn.topics
            .iter()
            .map(|t| topic_result(t, |p| per(t.name.as_str(), p)))
            .collect()
    };
    if !may_write_id(broker, ctx, id) {
        return answer(&|_, _| ResponseError::TransactionalIdAuthorizationFailed);
    }
    let mut problems = std::collections::HashMap::new();
    for t in &txn.topics {
        let name = t.name.as_str();
        let denied = !auth::allowed(broker, ctx, AclOperation::Write, ResourceType::Topic, name);
        let count = broker
            .cluster
            .read(|i| i.topics.get(name).map(|info| info.partitions.len() as i32));
        for &p in &t.partitions {
            let problem = if denied {
                Some(ResponseError::TopicAuthorizationFailed)
            } else if !count.is_some_and(|n| (0..n).contains(&p)) {
                Some(ResponseError::UnknownTopicOrPartition)
            } else {
                None
            };
            if let Some(e) = problem {
                problems.insert((name.to_string(), p), e);
            }
        }
    }
    if !problems.is_empty() {
        return answer(&|t, p| {
            problems
                .get(&(t.to_string(), p))
                .copied()
                .unwrap_or(ResponseError::OperationNotAttempted)
        });
    }
    let partitions: Vec<(String, i32)> = txn
        .topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(|p| (t.name.to_string(), *p)))
        .collect();
    let producer = (txn.producer_id.0, txn.producer_epoch);
    let result = if txn.verify_only {
        verify::check_here(broker, id, producer, &partitions)
    } else {
        service::add_partitions(broker, id, producer, &partitions).await
    };
    let error = result.err().map(|e| fenced_for(ctx.version, e));
    answer(&|_, _| error.unwrap_or(ResponseError::UnknownServerError))
        .into_iter()
        .map(|mut t| {
            if error.is_none() {
                for p in &mut t.results_by_partition {
                    p.partition_error_code = 0;
                }
            }
            t
        })
        .collect()
}

fn topic_result(
    t: &AddPartitionsToTxnTopic,
    error: impl Fn(i32) -> ResponseError,
) -> AddPartitionsToTxnTopicResult {
    AddPartitionsToTxnTopicResult::default()
        .with_name(t.name.clone())
        .with_results_by_partition(
            t.partitions
                .iter()
                .map(|&p| {
                    AddPartitionsToTxnPartitionResult::default()
                        .with_partition_index(p)
                        .with_partition_error_code(error(p).code())
                })
                .collect(),
        )
}

pub async fn add_offsets(
    broker: &Broker,
    ctx: &RequestContext,
    request: AddOffsetsToTxnRequest,
) -> Result<AddOffsetsToTxnResponse> {
    let id = request.transactional_id.as_str();
    let group = request.group_id.as_str();
    let error = if !may_write_id(broker, ctx, id) {
        Some(ResponseError::TransactionalIdAuthorizationFailed)
    } else if !auth::allowed(broker, ctx, AclOperation::Read, ResourceType::Group, group) {
        Some(ResponseError::GroupAuthorizationFailed)
    } else {
        let added = match broker.ensure_offsets_topic().await {
            Ok(()) => {
                let partition = (
                    OFFSETS_TOPIC.to_string(),
                    broker.groups.partition_for(group),
                );
                let producer = (request.producer_id.0, request.producer_epoch);
                service::add_partitions(broker, id, producer, &[partition]).await
            }
            Err(r) => Err(r.error),
        };
        added.err().map(|e| fenced_for(ctx.version, e))
    };
    Ok(AddOffsetsToTxnResponse::default().with_error_code(error.map_or(0, |e| e.code())))
}

pub async fn end(
    broker: &Broker,
    ctx: &RequestContext,
    request: EndTxnRequest,
) -> Result<EndTxnResponse> {
    let id = request.transactional_id.as_str();
    let error = if !may_write_id(broker, ctx, id) {
        Some(ResponseError::TransactionalIdAuthorizationFailed)
    } else {
        let producer = (request.producer_id.0, request.producer_epoch);
        service::end(broker, id, producer, request.committed)
            .await
            .err()
            .map(|e| fenced_for(ctx.version, e))
    };
    Ok(EndTxnResponse::default()
        .with_error_code(error.map_or(0, |e| e.code()))
        .with_producer_id(request.producer_id)
        .with_producer_epoch(request.producer_epoch))
}

/// TxnOffsetCommit: the offsets join the producer's transaction in the group coordinator.
pub async fn commit_offsets(
    broker: &Broker,
    ctx: &RequestContext,
    request: TxnOffsetCommitRequest,
) -> Result<TxnOffsetCommitResponse> {
    let id = request.transactional_id.as_str();
    let group = request.group_id.as_str();
    let whole = if !may_write_id(broker, ctx, id) {
        Some(ResponseError::TransactionalIdAuthorizationFailed)
    } else if !auth::allowed(broker, ctx, AclOperation::Read, ResourceType::Group, group) {
        Some(ResponseError::GroupAuthorizationFailed)
    } else if let Err(r) = broker.ensure_offsets_topic().await {
        Some(r.error)
    } else {
        broker.groups.owner_error(group)
    };
    let mut commits = Vec::new();
    // Refused before the group coordinator sees them: topics the principal may not READ,
    // partitions that do not exist.
    let mut refused = std::collections::HashMap::new();
    for t in &request.topics {
        let name = t.name.to_string();
        let readable = auth::allowed(broker, ctx, AclOperation::Read, ResourceType::Topic, &name);
        for p in &t.partitions {
            let index = p.partition_index;
            if !readable {
                refused.insert(
                    (name.clone(), index),
                    ResponseError::TopicAuthorizationFailed,
                );
                continue;
            }
            if !known_partition(broker, &name, index) {
                refused.insert(
                    (name.clone(), index),
                    ResponseError::UnknownTopicOrPartition,
                );
                continue;
            }
            let leader_epoch = if ctx.version >= 2 {
                p.committed_leader_epoch
            } else {
                -1
            };
            commits.push(OffsetCommit {
                topic: name.clone(),
                partition: index,
                value: OffsetValue::committed(
                    p.committed_offset,
                    leader_epoch,
                    p.committed_metadata.as_deref(),
                    crate::now_ms(),
                    None,
                ),
            });
        }
    }
    let producer = TxnProducer {
        producer_id: request.producer_id.0,
        producer_epoch: request.producer_epoch,
    };
    let from = CommitFrom {
        member_id: request.member_id.to_string(),
        instance_id: request.group_instance_id.as_ref().map(|s| s.to_string()),
        generation: if ctx.version >= 3 {
            request.generation_id
        } else {
            -1
        },
    };
    let answers = match whole {
        Some(e) => Err(e),
        None => {
            let keys: Vec<(String, i32)> = commits
                .iter()
                .map(|c| (c.topic.clone(), c.partition))
                .collect();
            broker
                .groups
                .txn_commit(&broker.replicas, group, producer, &from, commits)
                .map(|answers| keys.into_iter().zip(answers).collect::<Vec<_>>())
        }
    };
    let error_of = |topic: &str, p: i32| -> Option<ResponseError> {
        if let Some(e) = refused.get(&(topic.to_string(), p)) {
            return Some(*e);
        }
        match &answers {
            Err(e) if *e == ResponseError::ProducerFenced && ctx.version < 3 => {
                Some(ResponseError::InvalidProducerEpoch)
            }
            Err(e) => Some(*e),
            Ok(list) => list
                .iter()
                .find(|((t, q), _)| t == topic && *q == p)
                .map_or(Some(ResponseError::UnknownServerError), |(_, e)| *e),
        }
    };
    let topics = request
        .topics
        .iter()
        .map(|t| {
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let e = error_of(t.name.as_str(), p.partition_index);
                    TxnOffsetCommitResponsePartition::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(e.map_or(0, |e| e.code()))
                })
                .collect();
            TxnOffsetCommitResponseTopic::default()
                .with_name(topic_name(t.name.to_string()))
                .with_partitions(partitions)
        })
        .collect();
    Ok(TxnOffsetCommitResponse::default().with_topics(topics))
}
