//! Fetch: serve stored batches byte-for-byte, long-polling until `min_bytes` are available or
//! `max_wait_ms` has passed.
//!
//! Limits follow Kafka: each partition gets at most `partition_max_bytes`, the response at most
//! `max_bytes`, except that the first batch found is returned whole even when larger (KIP-74),
//! so a consumer can always make progress. A fetch offset inside a batch returns that whole
//! batch; the client skips the records before its offset. Incremental fetch sessions (KIP-227)
//! decide which partitions a request reads and which answers go back (`fetch_session.rs`).
//!
//! With an authorizer, as Kafka: a follower's fetch needs CLUSTER_ACTION on the cluster, a
//! consumer's READ on each topic; a partition it may not read gets TOPIC_AUTHORIZATION_FAILED.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::fetch_request::FetchPartition;
use kafka_protocol::messages::fetch_response::{
    AbortedTransaction, EpochEndOffset, FetchableTopicResponse, PartitionData,
};
use kafka_protocol::messages::{FetchRequest, FetchResponse, ProducerId, TopicName};
use kafka_protocol::ResponseError;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::fetch_session::{Plan, Target};
use super::{auth, RequestContext};
use crate::authorizer::{AclOperation, ResourceType};
use crate::error::Result;
use crate::limits::FETCH_WAIT_MS_MAX;
use crate::Broker;

/// Fetch v13 names topics by id.
const TOPIC_ID_VERSION: i16 = 13;
/// Fetch v6 knows KAFKA_STORAGE_ERROR.
const STORAGE_ERROR_VERSION: i16 = 6;
/// Fetch v9 carries the consumer's view of the leader epoch.
const LEADER_EPOCH_VERSION: i16 = 9;
/// Fetch v15 moved the follower's id into `replica_state` (KIP-903).
const REPLICA_STATE_VERSION: i16 = 15;
const READ_COMMITTED: i8 = 1;

pub async fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: FetchRequest,
) -> Result<FetchResponse> {
    let wait_ms = request.max_wait_ms.clamp(0, FETCH_WAIT_MS_MAX);
    let started = Instant::now();
    let deadline = started + Duration::from_millis(wait_ms as u64);
    let min_bytes = request.min_bytes.max(0) as usize;
    let plan = broker
        .fetch_sessions
        .plan(ctx.version, &request, started.into_std());
    if let Plan::Refused(e) = plan {
        return Ok(FetchResponse::default()
            .with_error_code(e.code())
            .with_session_id(0));
    }
    let denied = denied_topics(broker, ctx, &request, plan.targets());
    // Woken by any of the fetched partitions when it moves; registered with each as it is read.
    let waiter = Arc::new(Notify::new());
    loop {
        let (responses, bytes, any_error) =
            read_all(broker, ctx, &request, (plan.targets(), &denied), &waiter);
        let answer = |responses| {
            FetchResponse::default()
                .with_responses(broker.fetch_sessions.finish(&plan, responses))
                .with_session_id(plan.session_id())
        };
        if bytes >= min_bytes || any_error || Instant::now() >= deadline {
            let elapsed_us = started.elapsed().as_micros() as u64;
            tracing::trace!(bytes, min_bytes, wait_ms, elapsed_us, "fetch answered");
            return Ok(answer(responses));
        }
        tokio::select! {
            _ = waiter.notified() => {}
            _ = tokio::time::sleep_until(deadline) => {}
            // Shutting down: answer with what there is rather than hold the drain up.
            _ = broker.shutdown.cancelled() => return Ok(answer(responses)),
        }
    }
}

/// The broker id of the follower that sent the fetch; `None` for a consumer.
fn follower_of(ctx: &RequestContext, request: &FetchRequest) -> Option<i32> {
    let replica = if ctx.version >= REPLICA_STATE_VERSION {
        request.replica_state.replica_id.0
    } else {
        request.replica_id.0
    };
    (replica >= 0).then_some(replica)
}

/// The topics of `targets` the fetch may not read (decided once, not at every long-poll
/// wake-up): all of them for a follower without CLUSTER_ACTION on the cluster, else those the
/// consumer may not READ.
fn denied_topics(
    broker: &Broker,
    ctx: &RequestContext,
    request: &FetchRequest,
    targets: &[Target],
) -> BTreeSet<String> {
    if !broker.authorizer.enabled() {
        return BTreeSet::new();
    }
    let names = targets
        .iter()
        .filter_map(|t| topic_name_of(broker, ctx, &t.topic, t.topic_id).ok());
    if follower_of(ctx, request).is_some() {
        if auth::allowed_on_cluster(broker, ctx, AclOperation::ClusterAction) {
            return BTreeSet::new();
        }
        return names.collect();
    }
    names
        .filter(|n| !auth::allowed(broker, ctx, AclOperation::Read, ResourceType::Topic, n))
        .collect()
}

/// Reads every partition of `targets` once, grouped by topic as they come, but for the denied
/// topics; returns the responses, the bytes read and whether any partition had an error.
fn read_all(
    broker: &Broker,
    ctx: &RequestContext,
    request: &FetchRequest,
    (targets, denied): (&[Target], &BTreeSet<String>),
    waiter: &Arc<Notify>,
) -> (Vec<FetchableTopicResponse>, usize, bool) {
    let mut budget = request.max_bytes.max(0) as usize;
    let follower = follower_of(ctx, request);
    let mut total = 0usize;
    let mut any_error = false;
    let read_committed = request.isolation_level == READ_COMMITTED;
    let same_topic = |a: &Target, b: &Target| a.topic == b.topic && a.topic_id == b.topic_id;
    let mut responses = Vec::new();
    for topic in targets.chunk_by(same_topic) {
        let first = &topic[0];
        let name = topic_name_of(broker, ctx, &first.topic, first.topic_id);
        let mut partitions = Vec::with_capacity(topic.len());
        for target in topic {
            let p = &target.partition;
            let data = match &name {
                Ok(name) if denied.contains(name) => Err(ResponseError::TopicAuthorizationFailed),
                Ok(name) => {
                    let at = Reading {
                        follower,
                        budget,
                        first: total == 0,
                        read_committed,
                        waiter,
                    };
                    read_partition(broker, ctx, name, p, &at)
                }
                Err(e) => Err(*e),
            };
            let data = data.unwrap_or_else(|e| failed(error_for_version(e, ctx.version)));
            any_error |= data.error_code != 0;
            let n = data.records.as_ref().map_or(0, Bytes::len);
            total += n;
            budget = budget.saturating_sub(n);
            let data = if read_committed {
                data
            } else {
                data.with_aborted_transactions(None)
            };
            partitions.push(data.with_partition_index(p.partition));
        }
        responses.push(
            FetchableTopicResponse::default()
                .with_topic(first.topic.clone())
                .with_topic_id(first.topic_id)
                .with_partitions(partitions),
        );
    }
    (responses, total, any_error)
}

/// The last offset of the last whole batch in `records`.
fn last_offset_in(records: &[u8]) -> Option<i64> {
    crate::log::batch::split_headers(records)
        .map_while(Result::ok)
        .last()
        .map(|(h, _)| h.last_offset())
}

/// A partition that failed, as Kafka answers it: the error, unknown offsets, and an empty
/// record set. Never a null one: librdkafka 2.12 reads a null set as a parse failure
/// ("invalid MessageSetSize -1") and refetches at once instead of handling the error.
fn failed(e: ResponseError) -> PartitionData {
    PartitionData::default()
        .with_error_code(e.code())
        .with_high_watermark(-1)
        .with_last_stable_offset(-1)
        .with_log_start_offset(-1)
        .with_records(Some(Bytes::new()))
}

/// Only the errors the request's version knows (KIP-112: KAFKA_STORAGE_ERROR from Fetch v6).
fn error_for_version(e: ResponseError, version: i16) -> ResponseError {
    match e {
        ResponseError::KafkaStorageError if version < STORAGE_ERROR_VERSION => {
            ResponseError::NotLeaderOrFollower
        }
        other => other,
    }
}

fn topic_name_of(
    broker: &Broker,
    ctx: &RequestContext,
    topic: &TopicName,
    topic_id: uuid::Uuid,
) -> Result<String, ResponseError> {
    if ctx.version >= TOPIC_ID_VERSION {
        broker
            .cluster
            .read(|i| i.topic_by_id(&topic_id).map(|(n, _)| n.clone()))
            .ok_or(ResponseError::UnknownTopicId)
    } else {
        Ok(topic.0.to_string())
    }
}

/// How one partition is read within a fetch.
struct Reading<'a> {
    /// The follower's broker id, for a follower's fetch.
    follower: Option<i32>,
    budget: usize,
    /// Whether nothing was read yet (KIP-74: the first batch comes whatever its size).
    first: bool,
    /// A read_committed consumer: reads below the last stable offset and learns which
    /// transactions in the range were aborted.
    read_committed: bool,
    /// Woken when the partition moves.
    waiter: &'a Arc<Notify>,
}

/// Reads one partition: a consumer below the high watermark, a follower up to the log end,
/// which also tells the leader how far that follower has come.
fn read_partition(
    broker: &Broker,
    ctx: &RequestContext,
    name: &str,
    p: &FetchPartition,
    at: &Reading<'_>,
) -> Result<PartitionData, ResponseError> {
    let (follower, budget, first) = (at.follower, at.budget, at.first);
    let client_epoch = (ctx.version >= LEADER_EPOCH_VERSION).then_some(p.current_leader_epoch);
    let mut effect = None;
    let data = broker
        .replicas
        .with_leader(name, p.partition, client_epoch, |partition| {
            partition.wake_on_change(at.waiter);
            let (start, end) = (partition.log_start_offset(), partition.log_end_offset());
            // A follower whose log diverged may be past the leader's end: it learns where to
            // cut before the offset is checked.
            let diverging = follower
                .and_then(|_| partition.diverging_epoch(p.last_fetched_epoch, p.fetch_offset));
            if let Some((epoch, end_offset)) = diverging {
                let hw = partition.high_watermark();
                return Ok(PartitionData::default()
                    .with_high_watermark(hw)
                    .with_last_stable_offset(hw)
                    .with_log_start_offset(start)
                    .with_diverging_epoch(
                        EpochEndOffset::default()
                            .with_epoch(epoch)
                            .with_end_offset(end_offset),
                    )
                    .with_records(Some(Bytes::new())));
            }
            if follower.is_some() && p.fetch_offset < start {
                // A follower behind the log start learns where it starts (Kafka's follower
                // asks with ListOffsets; ours are told in the answer).
                return Ok(failed(ResponseError::OffsetOutOfRange)
                    .with_log_start_offset(start)
                    .with_high_watermark(partition.high_watermark()));
            }
            if p.fetch_offset < start || p.fetch_offset > end {
                return Err(ResponseError::OffsetOutOfRange);
            }
            let limit = (p.partition_max_bytes.max(0) as usize).min(budget);
            let records = match follower {
                Some(replica) => {
                    if !partition.replication().replicas().contains(&replica) {
                        return Err(ResponseError::NotLeaderOrFollower);
                    }
                    effect = Some((
                        replica,
                        partition.follower_fetched(replica, p.fetch_offset, crate::now_ms()),
                        partition.leader_epoch(),
                        partition.replication().partition_epoch(),
                    ));
                    partition.read(p.fetch_offset, limit, first)?
                }
                None if at.read_committed => partition.read_stable(p.fetch_offset, limit, first)?,
                None => partition.read_visible(p.fetch_offset, limit, first)?,
            };
            let last = at
                .read_committed
                .then(|| last_offset_in(&records))
                .flatten();
            let aborted = match last {
                Some(last) => partition
                    .aborted_between(p.fetch_offset, last + 1)
                    .into_iter()
                    .map(|t| {
                        AbortedTransaction::default()
                            .with_producer_id(ProducerId(t.producer_id))
                            .with_first_offset(t.first_offset)
                    })
                    .collect(),
                _ => Vec::new(),
            };
            Ok(PartitionData::default()
                .with_high_watermark(partition.high_watermark())
                .with_last_stable_offset(partition.last_stable_offset())
                .with_log_start_offset(start)
                .with_aborted_transactions(Some(aborted))
                .with_records(Some(records)))
        });
    if let Some((replica, effect, leader_epoch, partition_epoch)) = effect {
        if let Some(isr) = effect.expand_isr {
            tracing::info!(
                topic = name,
                partition = p.partition,
                replica,
                ?isr,
                "follower caught up; expanding the ISR"
            );
            broker
                .replication
                .propose_isr(name, p.partition, leader_epoch, partition_epoch, isr);
        }
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_errors_are_hidden_from_old_versions() {
        let old = error_for_version(ResponseError::KafkaStorageError, 5);
        assert_eq!(old, ResponseError::NotLeaderOrFollower);
        let new = error_for_version(ResponseError::KafkaStorageError, 6);
        assert_eq!(new, ResponseError::KafkaStorageError);
        let other = error_for_version(ResponseError::OffsetOutOfRange, 4);
        assert_eq!(other, ResponseError::OffsetOutOfRange);
    }
}
