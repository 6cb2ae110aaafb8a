//! The transaction APIs of operators and coordinators: WriteTxnMarkers (the coordinator, or
//! `kafka-transactions.sh abort`, writing markers at a partition's leader), DescribeTransactions
//! and ListTransactions (KIP-664, with KIP-994's duration filter), and DescribeProducers
//! (KIP-664: the producers a partition leader knows, with their open transactions).
//!
//! With an authorizer, as Kafka: WriteTxnMarkers needs CLUSTER_ACTION on the cluster;
//! DescribeTransactions and ListTransactions show only ids the principal may DESCRIBE;
//! DescribeProducers needs READ on the topic.

use kafka_protocol::messages::describe_producers_response::{
    PartitionResponse, ProducerState, TopicResponse,
};
use kafka_protocol::messages::describe_transactions_response::{TopicData, TransactionState};
use kafka_protocol::messages::list_transactions_response::TransactionState as Listed;
use kafka_protocol::messages::write_txn_markers_response::{
    WritableTxnMarkerPartitionResult, WritableTxnMarkerResult, WritableTxnMarkerTopicResult,
};
use kafka_protocol::messages::{
    DescribeProducersRequest, DescribeProducersResponse, DescribeTransactionsRequest,
    DescribeTransactionsResponse, ListTransactionsRequest, ListTransactionsResponse, ProducerId,
    WriteTxnMarkersRequest, WriteTxnMarkersResponse,
};
use kafka_protocol::ResponseError;

use super::{auth, str_bytes, topic_name, RequestContext};
use crate::authorizer::{AclOperation, ResourceType};
use crate::coordinator::transactions::service::write_marker_here;
use crate::coordinator::transactions::{TxnMetadata, TxnState};
use crate::error::Result;
use crate::log::control::Marker;
use crate::Broker;

pub async fn write_markers(
    broker: &Broker,
    ctx: &RequestContext,
    request: WriteTxnMarkersRequest,
) -> Result<WriteTxnMarkersResponse> {
    let allowed = auth::allowed_on_cluster(broker, ctx, AclOperation::ClusterAction);
    let mut markers = Vec::with_capacity(request.markers.len());
    for m in &request.markers {
        let marker = Marker {
            commit: m.transaction_result,
            coordinator_epoch: m.coordinator_epoch,
        };
        let producer = (m.producer_id.0, m.producer_epoch);
        let mut topics = Vec::with_capacity(m.topics.len());
        for t in &m.topics {
            let mut partitions = Vec::with_capacity(t.partition_indexes.len());
            for &p in &t.partition_indexes {
                let result = if allowed {
                    write_marker_here(broker, (t.name.as_str(), p), producer, marker).await
                } else {
                    Err(ResponseError::ClusterAuthorizationFailed)
                };
                partitions.push(
                    WritableTxnMarkerPartitionResult::default()
                        .with_partition_index(p)
                        .with_error_code(result.err().map_or(0, |e| e.code())),
                );
            }
            topics.push(
                WritableTxnMarkerTopicResult::default()
                    .with_name(t.name.clone())
                    .with_partitions(partitions),
            );
        }
        markers.push(
            WritableTxnMarkerResult::default()
                .with_producer_id(m.producer_id)
                .with_topics(topics),
        );
    }
    Ok(WriteTxnMarkersResponse::default().with_markers(markers))
}

fn may_describe(broker: &Broker, ctx: &RequestContext, id: &str) -> bool {
    auth::allowed(
        broker,
        ctx,
        AclOperation::Describe,
        ResourceType::TransactionalId,
        id,
    )
}

pub async fn describe(
    broker: &Broker,
    ctx: &RequestContext,
    request: DescribeTransactionsRequest,
) -> Result<DescribeTransactionsResponse> {
    let states = request
        .transactional_ids
        .iter()
        .map(|id| {
            let base = TransactionState::default()
                .with_transactional_id(id.clone())
                .with_transaction_state(str_bytes(""))
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1)
                .with_transaction_start_time_ms(-1);
            if !may_describe(broker, ctx, id) {
                let e = ResponseError::TransactionalIdAuthorizationFailed;
                return base.with_error_code(e.code());
            }
            let known = broker.txns.owner(id).and_then(|_| {
                broker
                    .txns
                    .get(id)
                    .ok_or(ResponseError::TransactionalIdNotFound)
            });
            match known {
                Ok(m) => described(base, &m),
                Err(e) => base.with_error_code(e.code()),
            }
        })
        .collect();
    Ok(DescribeTransactionsResponse::default().with_transaction_states(states))
}

fn described(base: TransactionState, m: &TxnMetadata) -> TransactionState {
    let mut topics: Vec<TopicData> = Vec::new();
    for (topic, p) in &m.partitions {
        match topics.last_mut() {
            Some(t) if t.topic.as_str() == topic => t.partitions.push(*p),
            _ => topics.push(
                TopicData::default()
                    .with_topic(topic_name(topic.clone()))
                    .with_partitions(vec![*p]),
            ),
        }
    }
    base.with_transaction_state(str_bytes(m.state.name()))
        .with_transaction_timeout_ms(m.timeout_ms)
        .with_transaction_start_time_ms(m.start_ms)
        .with_producer_id(ProducerId(m.producer_id))
        .with_producer_epoch(m.producer_epoch)
        .with_topics(topics)
}

pub async fn list(
    broker: &Broker,
    ctx: &RequestContext,
    request: ListTransactionsRequest,
) -> Result<ListTransactionsResponse> {
    let wanted: Vec<String> = request
        .state_filters
        .iter()
        .map(|s| s.to_string())
        .collect();
    let unknown: Vec<_> = request
        .state_filters
        .iter()
        .filter(|s| !TxnState::ALL.iter().any(|k| k.name() == s.as_str()))
        .cloned()
        .collect();
    let now = crate::now_ms();
    let pattern = request
        .transactional_id_pattern
        .as_ref()
        .filter(|p| !p.is_empty())
        .map(|p| regex::Regex::new(&format!("^(?:{p})$")));
    let pattern = match pattern {
        Some(Err(_)) => {
            return Ok(ListTransactionsResponse::default()
                .with_error_code(ResponseError::InvalidRegularExpression.code()))
        }
        Some(Ok(r)) => Some(r),
        None => None,
    };
    let states = broker
        .txns
        .all()
        .into_iter()
        .filter(|m| wanted.is_empty() || wanted.iter().any(|w| w == m.state.name()))
        .filter(|m| {
            request.producer_id_filters.is_empty()
                || request
                    .producer_id_filters
                    .contains(&ProducerId(m.producer_id))
        })
        // KIP-994: only transactions running longer than the filter.
        .filter(|m| {
            request.duration_filter < 0
                || (m.start_ms >= 0 && now - m.start_ms > request.duration_filter)
        })
        .filter(|m| {
            pattern
                .as_ref()
                .is_none_or(|r| r.is_match(&m.transactional_id))
        })
        .filter(|m| may_describe(broker, ctx, &m.transactional_id))
        .map(|m| {
            Listed::default()
                .with_transactional_id(str_bytes(m.transactional_id.clone()).into())
                .with_producer_id(ProducerId(m.producer_id))
                .with_transaction_state(str_bytes(m.state.name()))
        })
        .collect();
    Ok(ListTransactionsResponse::default()
        .with_unknown_state_filters(unknown)
        .with_transaction_states(states))
}

pub async fn describe_producers(
    broker: &Broker,
    ctx: &RequestContext,
    request: DescribeProducersRequest,
) -> Result<DescribeProducersResponse> {
    let topics = request
        .topics
        .iter()
        .map(|t| {
            let name = t.name.as_str();
            let readable =
                auth::allowed(broker, ctx, AclOperation::Read, ResourceType::Topic, name);
            let partitions = t
                .partition_indexes
                .iter()
                .map(|&p| {
                    let base = PartitionResponse::default().with_partition_index(p);
                    let found = if readable {
                        broker
                            .replicas
                            .with_leader(name, p, None, |part| Ok(part.active_producers()))
                    } else {
                        Err(ResponseError::TopicAuthorizationFailed)
                    };
                    match found {
                        Ok(list) => base.with_active_producers(
                            list.into_iter()
                                .map(|a| {
                                    ProducerState::default()
                                        .with_producer_id(ProducerId(a.producer_id))
                                        .with_producer_epoch(i32::from(a.epoch))
                                        .with_last_sequence(a.last_sequence)
                                        .with_last_timestamp(a.last_timestamp)
                                        .with_coordinator_epoch(a.coordinator_epoch)
                                        .with_current_txn_start_offset(a.txn_start_offset)
                                })
                                .collect(),
                        ),
                        Err(e) => base.with_error_code(e.code()),
                    }
                })
                .collect();
            TopicResponse::default()
                .with_name(t.name.clone())
                .with_partitions(partitions)
        })
        .collect();
    Ok(DescribeProducersResponse::default().with_topics(topics))
}
