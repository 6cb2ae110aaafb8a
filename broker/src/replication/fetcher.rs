//! One follower fetcher per leader (Kafka's ReplicaFetcherThread): a Fetch for the
//! partitions followed from that leader at this replica's log end, in an incremental fetch
//! session (`session.rs`: only what moved is named after the first fetch), long-polled for
//! `replica.fetch.wait.max.ms`; the batches that come back are appended with the leader's
//! offsets, and the leader's high watermark is taken. Each fetch names the last epoch this
//! replica holds; when the leader says the logs diverged there, the tail is cut first
//! (KIP-320). A partition the leader refuses (it no longer leads it, or the epochs differ)
//! waits for the metadata to move on.

use std::sync::{Arc, Weak};
use std::time::Duration;

use std::collections::BTreeMap;

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic, ForgottenTopic};
use kafka_protocol::messages::{ApiKey, BrokerId, FetchRequest, FetchResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use tokio_util::sync::CancellationToken;

use super::client::BrokerClient;
use super::session::{FetchSession, Key, Plan, Position};
use super::FetcherShared;
use crate::replica::lock;
use crate::Broker;

/// Fetch v12: topics by name, the follower's id in `replica_id`, diverging epochs.
const FETCH_VERSION: i16 = 12;
/// Pause after a failed exchange or a refused partition.
const BACKOFF_MS: i64 = 100;

pub(super) async fn run(
    broker: Weak<Broker>,
    leader: i32,
    shared: Arc<FetcherShared>,
    token: CancellationToken,
) {
    let mut client: Option<BrokerClient> = None;
    let mut session = FetchSession::default();
    loop {
        if token.is_cancelled() {
            return;
        }
        let Some(b) = broker.upgrade() else {
            return;
        };
        let now = crate::now_ms();
        let wanted: Vec<((String, i32), i32)> = shared
            .lock()
            .iter()
            .filter(|(_, f)| f.retry_at_ms <= now)
            .map(|(k, f)| (k.clone(), f.leader_epoch))
            .collect();
        let addr = b.broker_addr(leader);
        let (Some(addr), false) = (addr, wanted.is_empty()) else {
            drop(b);
            wait(&shared, &token, Duration::from_millis(BACKOFF_MS as u64)).await;
            continue;
        };
        if client.as_ref().is_none_or(|c| c.addr() != addr) {
            client = Some(BrokerClient::new(
                addr,
                format!("broker-{}-fetcher-{leader}", b.config.node_id),
                b.inter_broker.clone(),
            ));
            session.reset();
        }
        let Some(c) = client.as_mut() else {
            continue;
        };
        let plan = session.plan(&positions(&b, &wanted));
        let request = fetch_request(&b, &plan);
        let timeout =
            Duration::from_millis(b.config.replica_fetch_wait_max_ms.max(0) as u64 + 10_000);
        let node_id = b.config.node_id;
        drop(b);
        let response: Result<FetchResponse, _> = tokio::select! {
            _ = token.cancelled() => return,
            r = c.call(ApiKey::Fetch, FETCH_VERSION, &request, timeout) => r,
        };
        let Some(b) = broker.upgrade() else {
            return;
        };
        match response {
            Ok(response) => {
                session.answered(plan, response.session_id, response.error_code);
                apply(&b, &shared, &response);
            }
            Err(e) => {
                session.reset();
                tracing::debug!(leader, node_id, error = %e, "follower fetch failed");
                drop(b);
                wait(&shared, &token, Duration::from_millis(BACKOFF_MS as u64)).await;
            }
        }
    }
}

/// Waits for a change to the followed partitions, at most `pause`.
async fn wait(shared: &FetcherShared, token: &CancellationToken, pause: Duration) {
    tokio::select! {
        _ = token.cancelled() => {}
        _ = shared.changed.notified() => {}
        _ = tokio::time::sleep(pause) => {}
    }
}

/// This replica's position in each wanted partition hosted here.
fn positions(broker: &Broker, wanted: &[((String, i32), i32)]) -> BTreeMap<Key, Position> {
    wanted
        .iter()
        .filter_map(|((topic, index), epoch)| {
            let shared = broker.replicas.get(topic, *index)?;
            let p = lock(&shared);
            let position = Position {
                fetch_offset: p.log_end_offset(),
                log_start_offset: p.log_start_offset(),
                leader_epoch: *epoch,
                last_fetched_epoch: p.last_epoch(),
            };
            Some(((topic.clone(), *index), position))
        })
        .collect()
}

fn fetch_request(broker: &Broker, plan: &Plan) -> FetchRequest {
    let config = &broker.config;
    let mut topics: Vec<FetchTopic> = Vec::new();
    for ((topic, index), at) in &plan.send {
        let partition = FetchPartition::default()
            .with_partition(*index)
            .with_current_leader_epoch(at.leader_epoch)
            .with_last_fetched_epoch(at.last_fetched_epoch)
            .with_fetch_offset(at.fetch_offset)
            .with_log_start_offset(at.log_start_offset)
            .with_partition_max_bytes(config.replica_fetch_max_bytes);
        match topics.last_mut() {
            Some(t) if t.topic.0.as_str() == topic => t.partitions.push(partition),
            _ => topics.push(
                FetchTopic::default()
                    .with_topic(TopicName(StrBytes::from_string(topic.clone())))
                    .with_partitions(vec![partition]),
            ),
        }
    }
    let mut forgotten: Vec<ForgottenTopic> = Vec::new();
    for (topic, index) in &plan.forget {
        match forgotten.last_mut() {
            Some(t) if t.topic.0.as_str() == topic => t.partitions.push(*index),
            _ => forgotten.push(
                ForgottenTopic::default()
                    .with_topic(TopicName(StrBytes::from_string(topic.clone())))
                    .with_partitions(vec![*index]),
            ),
        }
    }
    FetchRequest::default()
        .with_replica_id(BrokerId(config.node_id))
        .with_max_wait_ms(config.replica_fetch_wait_max_ms)
        .with_min_bytes(1)
        .with_max_bytes(config.replica_fetch_response_max_bytes)
        .with_session_id(plan.session_id)
        .with_session_epoch(plan.epoch)
        .with_topics(topics)
        .with_forgotten_topics_data(forgotten)
}

/// Appends what came back; partitions the leader refused wait a little.
fn apply(broker: &Broker, shared: &FetcherShared, response: &FetchResponse) {
    let now = crate::now_ms();
    for topic in &response.responses {
        let name = topic.topic.0.as_str();
        for data in &topic.partitions {
            let index = data.partition_index;
            let Some(partition) = broker.replicas.get(name, index) else {
                continue;
            };
            let mut p = lock(&partition);
            if p.is_leader() {
                continue;
            }
            let error = ResponseError::try_from_code(data.error_code);
            let diverging = &data.diverging_epoch;
            let diverged = diverging.epoch >= 0 || diverging.end_offset >= 0;
            let result = match error {
                None if diverged => p
                    .truncate_diverged(diverging.epoch, diverging.end_offset)
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
                None => {
                    let records = data.records.as_deref().unwrap_or_default();
                    p.append_replicated(records, data.high_watermark, now)
                        .map_err(|e| e.to_string())
                }
                // Behind the leader's log start (retention or DeleteRecords removed what this
                // replica still needs): start over there, as Kafka's follower does.
                Some(ResponseError::OffsetOutOfRange)
                    if data.log_start_offset > p.log_end_offset() =>
                {
                    tracing::info!(
                        topic = name,
                        partition = index,
                        log_end_offset = p.log_end_offset(),
                        leader_log_start = data.log_start_offset,
                        "behind the leader's log start; starting over there"
                    );
                    p.restart_at(data.log_start_offset)
                        .map_err(|e| e.to_string())
                }
                Some(e) => Err(format!("{e:?}")),
            };
            drop(p);
            if let Err(e) = result {
                tracing::debug!(topic = name, partition = index, error = %e, "follower fetch refused");
                if let Some(f) = shared.lock().get_mut(&(name.to_string(), index)) {
                    f.retry_at_ms = now + BACKOFF_MS;
                }
            }
        }
    }
}
