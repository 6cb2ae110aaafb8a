//! Produce: validate each partition's record batch and append it as received.
//!
//! acks=0 gets no response at all; acks=1 is answered after the leader's append; acks=-1 once
//! the high watermark has passed the batch, that is once every ISR member has it, or with
//! REQUEST_TIMED_OUT after the request's timeout (Kafka's produce purgatory: the request waits
//! on its partitions' high watermarks, not on a thread). An ISR smaller than
//! `min.insync.replicas` refuses acks=-1 with NOT_ENOUGH_REPLICAS, as Kafka does. A failed
//! acks=0 produce closes the connection, as Kafka does. Produce v13 names topics by id.
//!
//! A transactional batch that would open a transaction on its partition is first verified
//! with the producer's transaction coordinator (KIP-890, `coordinator/transactions/verify`).
//!
//! With an authorizer, as Kafka: a transactional produce needs WRITE on its transactional id
//! (else every partition gets TRANSACTIONAL_ID_AUTHORIZATION_FAILED), and each topic WRITE
//! (else its partitions get TOPIC_AUTHORIZATION_FAILED, whether the topic exists or not).

use std::collections::HashMap;

use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::produce_response::{
    BatchIndexAndErrorMessage, PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::{auth, RequestContext};
use crate::authorizer::{AclOperation, ResourceType};
use crate::coordinator::transactions::verify;
use crate::error::Result;
use crate::partition::replication::IsrWait;
use crate::partition::validate::Rejected;
use crate::partition::{Appended, PendingVerification, TxnVerification};
use crate::{now_ms, Broker};

/// Each partition's verification outcome, by topic name and index.
type Verifications = HashMap<(String, i32), Result<TxnVerification, ResponseError>>;

/// Produce v13 moved from topic names to topic ids.
const TOPIC_ID_VERSION: i16 = 13;
/// KAFKA_STORAGE_ERROR exists from v4 (KIP-112).
const STORAGE_ERROR_VERSION: i16 = 4;
/// INVALID_RECORD, `record_errors` and `error_message` exist from v8 (KIP-467); older clients
/// get CORRUPT_MESSAGE for the same failure, and no detail.
const INVALID_RECORD_VERSION: i16 = 8;

pub async fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: ProduceRequest,
) -> Result<Option<ProduceResponse>> {
    tracing::trace!(
        topics = request.topic_data.len(),
        bytes = request
            .topic_data
            .iter()
            .flat_map(|t| &t.partition_data)
            .map(|p| p.records.as_ref().map_or(0, |r| r.len()))
            .sum::<usize>(),
        "produce"
    );
    let acks = request.acks;
    let bad_acks = !matches!(acks, -1..=1);
    let transactional = request.transactional_id.as_deref();
    let refused_id = transactional.filter(|id| {
        !auth::allowed(
            broker,
            ctx,
            AclOperation::Write,
            ResourceType::TransactionalId,
            id,
        )
    });
    let verifying = verify::enabled(broker);
    let verifications = match transactional.filter(|_| refused_id.is_none() && verifying) {
        Some(id) if !bad_acks => verify_partitions(broker, ctx, &request, id).await,
        _ => HashMap::new(),
    };
    // With verification on, a transactional batch nobody verified (no transactional id in
    // the request) may join its producer's open transaction but not open one, as Kafka.
    let unverified = if verifying {
        TxnVerification::Checked(None)
    } else {
        TxnVerification::Off
    };
    // Most produces verify nothing: no key is built for them.
    let verification = |name: &str, index: i32| {
        if verifications.is_empty() {
            return Ok(unverified);
        }
        verifications
            .get(&(name.to_string(), index))
            .copied()
            .unwrap_or(Ok(unverified))
    };
    let mut responses = Vec::with_capacity(request.topic_data.len());
    let mut waits = Vec::new();
    let now = now_ms();
    for (t, topic) in request.topic_data.iter().enumerate() {
        let (response, topic_waits) = match refused_id {
            Some(id) => (refused_topic(ctx, topic, id), Vec::new()),
            None => produce_topic(broker, ctx, topic, acks, bad_acks, now, &verification),
        };
        responses.push(response);
        waits.extend(topic_waits.into_iter().map(|(p, w)| (t, p, w)));
    }
    let timeout = std::time::Duration::from_millis(request.timeout_ms.max(0) as u64);
    let deadline = tokio::time::Instant::now() + timeout;
    for (t, p, wait) in waits {
        if let Err(e) = wait.done(deadline, &broker.shutdown).await {
            let response = &mut responses[t].partition_responses[p];
            response.error_code = e.code();
            response.base_offset = -1;
        }
    }
    if acks == 0 {
        // No response will tell the producer; Kafka closes the connection instead so that the
        // client notices, refreshes its metadata and retries.
        let failed = responses
            .iter()
            .flat_map(|t| &t.partition_responses)
            .find(|p| p.error_code != 0);
        if let Some(p) = failed {
            return Err(crate::error::Error::AcksZeroFailure(p.error_code));
        }
        return Ok(None);
    }
    Ok(Some(ProduceResponse::default().with_responses(responses)))
}

/// The topic a produce names, by id from v13.
fn topic_name_of(
    broker: &Broker,
    ctx: &RequestContext,
    topic: &TopicProduceData,
) -> Option<String> {
    if ctx.version >= TOPIC_ID_VERSION {
        broker
            .cluster
            .read(|i| i.topic_by_id(&topic.topic_id).map(|(n, _)| n.clone()))
    } else {
        Some(topic.name.0.to_string())
    }
}

/// Verifies with the coordinator the partitions whose batch would open a transaction there
/// (KIP-890). A produce carries one producer's batches.
async fn verify_partitions(
    broker: &Broker,
    ctx: &RequestContext,
    request: &ProduceRequest,
    transactional_id: &str,
) -> Verifications {
    let mut out = Verifications::new();
    let mut to_ask: Vec<((String, i32), PendingVerification)> = Vec::new();
    for topic in &request.topic_data {
        let Some(name) = topic_name_of(broker, ctx, topic) else {
            continue;
        };
        for data in &topic.partition_data {
            let Some(records) = data.records.as_deref() else {
                continue;
            };
            let pending = broker.replicas.with_leader(&name, data.index, None, |p| {
                Ok::<_, ResponseError>(p.begin_verification(records))
            });
            match pending {
                Ok(Some(p)) if p.guard.is_some() => to_ask.push(((name.clone(), data.index), p)),
                Ok(Some(p)) => {
                    out.insert(
                        (name.clone(), data.index),
                        Ok(TxnVerification::Checked(p.guard)),
                    );
                }
                // Not transactional, or refused at append anyway.
                _ => {}
            }
        }
    }
    let Some((_, first)) = to_ask.first() else {
        return out;
    };
    let producer = (first.producer_id, first.producer_epoch);
    let partitions: Vec<(String, i32)> = to_ask.iter().map(|(k, _)| k.clone()).collect();
    let answer = verify::verify(broker, transactional_id, producer, &partitions).await;
    for (key, pending) in to_ask {
        let same_producer = (pending.producer_id, pending.producer_epoch) == producer;
        let outcome = match &answer {
            Ok(()) if same_producer => Ok(TxnVerification::Checked(pending.guard)),
            Ok(()) => Err(ResponseError::InvalidProducerIdMapping),
            Err(e) => Err(verify::for_produce(*e)),
        };
        out.insert(key, outcome);
    }
    out
}

fn produce_topic(
    broker: &Broker,
    ctx: &RequestContext,
    topic: &TopicProduceData,
    acks: i16,
    bad_acks: bool,
    now: i64,
    verification: &dyn Fn(&str, i32) -> Result<TxnVerification, ResponseError>,
) -> (TopicProduceResponse, Vec<(usize, IsrWait)>) {
    let name = topic_name_of(broker, ctx, topic);
    let denied = name
        .as_deref()
        .filter(|name| !auth::allowed(broker, ctx, AclOperation::Write, ResourceType::Topic, name));
    let mut waits = Vec::new();
    let mut partitions = Vec::with_capacity(topic.partition_data.len());
    for (i, data) in topic.partition_data.iter().enumerate() {
        let result = if bad_acks {
            Err(ResponseError::InvalidRequiredAcks.into())
        } else if let Some(name) = denied {
            let message = auth::denied(ctx, AclOperation::Write, ResourceType::Topic, name);
            Err(refusal(ResponseError::TopicAuthorizationFailed, message))
        } else {
            match &name {
                Some(name) => verification(name, data.index)
                    .map_err(Rejected::from)
                    .and_then(|v| produce_partition(broker, name, data, acks, now, v)),
                None => Err(ResponseError::UnknownTopicId.into()),
            }
        };
        let result = result.map(|(appended, wait)| {
            if let Some(wait) = wait {
                waits.push((i, wait));
            }
            appended
        });
        partitions.push(partition_response(ctx.version, data.index, result));
    }
    let response = TopicProduceResponse::default()
        .with_name(topic.name.clone())
        .with_topic_id(topic.topic_id)
        .with_partition_responses(partitions);
    (response, waits)
}

/// An authorization failure, with its message (Produce v8+ carries it).
fn refusal(error: ResponseError, message: String) -> Rejected {
    Rejected {
        error,
        record_errors: Vec::new(),
        message: Some(message),
    }
}

/// A topic of a transactional produce whose transactional id the principal may not WRITE.
fn refused_topic(ctx: &RequestContext, topic: &TopicProduceData, id: &str) -> TopicProduceResponse {
    let message = auth::denied(ctx, AclOperation::Write, ResourceType::TransactionalId, id);
    let partitions = topic
        .partition_data
        .iter()
        .map(|data| {
            let rejected = refusal(
                ResponseError::TransactionalIdAuthorizationFailed,
                message.clone(),
            );
            partition_response(ctx.version, data.index, Err(rejected))
        })
        .collect();
    TopicProduceResponse::default()
        .with_name(topic.name.clone())
        .with_topic_id(topic.topic_id)
        .with_partition_responses(partitions)
}

fn produce_partition(
    broker: &Broker,
    name: &str,
    data: &PartitionProduceData,
    acks: i16,
    now: i64,
    verification: TxnVerification,
) -> Result<(Appended, Option<IsrWait>), Rejected> {
    let (internal, isr, min_isr) = broker
        .cluster
        .read(|i| {
            let t = i.topics.get(name)?;
            let p = t.partitions.get(usize::try_from(data.index).ok()?)?;
            // min.insync.replicas matters only for acks=-1; resolve it only then.
            let min_isr = if acks == -1 {
                min_insync_replicas(broker, &t.configs)
            } else {
                0
            };
            Some((t.internal, p.isr.len(), min_isr))
        })
        .ok_or(ResponseError::UnknownTopicOrPartition)?;
    if internal {
        return Err(ResponseError::InvalidTopicException.into());
    }
    if isr < min_isr {
        return Err(ResponseError::NotEnoughReplicas.into());
    }
    let records = data
        .records
        .as_deref()
        .ok_or(ResponseError::CorruptMessage)?;
    broker
        .replicas
        .with_leader(name, data.index, None, |partition| {
            let appended = partition.append(records, now, verification)?;
            let wait = if acks == -1 {
                partition.isr_wait(appended.last_offset)
            } else {
                None
            };
            Ok((appended, wait))
        })
}

fn min_insync_replicas(
    broker: &Broker,
    overrides: &std::collections::BTreeMap<String, String>,
) -> usize {
    broker
        .config
        .topic_value("min.insync.replicas", overrides)
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

fn partition_response(
    version: i16,
    index: i32,
    result: Result<Appended, Rejected>,
) -> PartitionProduceResponse {
    let base = PartitionProduceResponse::default().with_index(index);
    match result {
        Ok(a) => base
            .with_base_offset(a.base_offset)
            .with_log_append_time_ms(a.log_append_time)
            .with_log_start_offset(a.log_start_offset),
        Err(rejected) => {
            let e = error_for_version(rejected.error, version);
            let base = base
                .with_error_code(e.code())
                .with_base_offset(-1)
                .with_log_start_offset(-1);
            if version < INVALID_RECORD_VERSION {
                return base;
            }
            let record_errors = rejected
                .record_errors
                .into_iter()
                .map(|r| {
                    BatchIndexAndErrorMessage::default()
                        .with_batch_index(r.batch_index)
                        .with_batch_index_error_message(Some(StrBytes::from_string(r.message)))
                })
                .collect();
            base.with_record_errors(record_errors)
                .with_error_message(rejected.message.map(StrBytes::from_string))
        }
    }
}

/// Only the errors the request's version knows.
fn error_for_version(e: ResponseError, version: i16) -> ResponseError {
    match e {
        ResponseError::InvalidRecord if version < INVALID_RECORD_VERSION => {
            ResponseError::CorruptMessage
        }
        ResponseError::UnknownTopicId if version < TOPIC_ID_VERSION => {
            ResponseError::UnknownTopicOrPartition
        }
        // KIP-112: clients before Produce v4 know a failed log dir as a lost leader.
        ResponseError::KafkaStorageError if version < STORAGE_ERROR_VERSION => {
            ResponseError::NotLeaderOrFollower
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(version: i16, e: ResponseError) -> i16 {
        partition_response(version, 0, Err(e.into())).error_code
    }

    #[test]
    fn errors_follow_the_request_version() {
        assert_eq!(
            code(7, ResponseError::InvalidRecord),
            ResponseError::CorruptMessage.code()
        );
        assert_eq!(
            code(8, ResponseError::InvalidRecord),
            ResponseError::InvalidRecord.code()
        );
        assert_eq!(
            code(3, ResponseError::KafkaStorageError),
            ResponseError::NotLeaderOrFollower.code()
        );
        assert_eq!(
            code(4, ResponseError::KafkaStorageError),
            ResponseError::KafkaStorageError.code()
        );
        assert_eq!(
            code(12, ResponseError::UnknownTopicId),
            ResponseError::UnknownTopicOrPartition.code()
        );
        assert_eq!(
            code(13, ResponseError::UnknownTopicId),
            ResponseError::UnknownTopicId.code()
        );
    }
}
