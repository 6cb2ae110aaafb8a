//! The transaction coordinator at work: each request's change written to
//! `__transaction_state` (acks=all) before it is applied, the COMMIT/ABORT markers written to
//! every partition of a decided transaction (here, or with WriteTxnMarkers to the partition's
//! leader) before the transaction is completed, and the timers that abort transactions open
//! past `transaction.timeout.ms` and forget ids idle past `transactional.id.expiration.ms`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::write_txn_markers_request::{
    WritableTxnMarker, WritableTxnMarkerTopic,
};
use kafka_protocol::messages::{
    ApiKey, ProducerId, WriteTxnMarkersRequest, WriteTxnMarkersResponse,
};
use kafka_protocol::ResponseError;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::metadata::{TxnMetadata, TxnState};
use super::records::encode_key;
use super::{Change, TRANSACTION_TOPIC};
use crate::api::topic_name;
use crate::coordinator::{append_records, OFFSETS_TOPIC};
use crate::log::control::Marker;
use crate::replication::client::BrokerPool;
use crate::{now_ms, Broker};

/// How long a write of the coordinator waits for the ISR.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause before markers that could not be written are tried again.
const MARKER_RETRY: Duration = Duration::from_millis(100);
/// How long AddPartitionsToTxn waits for the previous transaction's markers.
const CONCURRENT_WAIT: Duration = Duration::from_secs(1);
/// WriteTxnMarkers v1 (v0 is gone from Kafka 4).
const WRITE_TXN_MARKERS_VERSION: i16 = 1;

/// Decided transactions waiting for their markers.
#[derive(Debug)]
pub struct MarkerQueue {
    tx: mpsc::UnboundedSender<TxnMetadata>,
    rx: std::sync::Mutex<Option<mpsc::UnboundedReceiver<TxnMetadata>>>,
}

impl Default for MarkerQueue {
    fn default() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        MarkerQueue {
            tx,
            rx: std::sync::Mutex::new(Some(rx)),
        }
    }
}

impl MarkerQueue {
    /// Queues a transaction in PrepareCommit or PrepareAbort.
    pub fn push(&self, txn: TxnMetadata) {
        let _ = self.tx.send(txn);
    }

    fn take(&self) -> Option<mpsc::UnboundedReceiver<TxnMetadata>> {
        self.rx.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// Writes a begun change to the log and applies it (or drops it when the write failed).
pub async fn write(broker: &Broker, change: &Change) -> Result<(), ResponseError> {
    let id = &change.next.transactional_id;
    let value = (change.next.state != TxnState::Dead).then(|| change.next.value().encode());
    let appended = append_records(
        &broker.replicas,
        TRANSACTION_TOPIC,
        change.partition,
        None,
        vec![(encode_key(id), value)],
    );
    let result = match appended {
        Ok(Some(wait)) => {
            let deadline = tokio::time::Instant::now() + WRITE_TIMEOUT;
            wait.done(deadline, &broker.shutdown).await
        }
        Ok(None) => Ok(()),
        Err(e) => Err(e),
    };
    broker.txns.finish(change, result.is_ok());
    result.map_err(|e| match e {
        // Kafka's coordinator answers a failed write so that the client finds it again.
        ResponseError::NotLeaderOrFollower | ResponseError::NotCoordinator => {
            ResponseError::NotCoordinator
        }
        ResponseError::ProducerFenced => e,
        _ => ResponseError::CoordinatorNotAvailable,
    })
}

/// InitProducerId with a transactional id: a new id at epoch 0, or the next epoch of the
/// known one. An open transaction is aborted first, at a bumped epoch that fences the old
/// producer; the caller is told CONCURRENT_TRANSACTIONS and retries.
pub async fn init_producer_id(
    broker: &Broker,
    transactional_id: &str,
    timeout_ms: i32,
    expected: Option<(i64, i16)>,
) -> Result<(i64, i16), ResponseError> {
    if timeout_ms <= 0 || timeout_ms > broker.txns.settings().max_timeout_ms {
        return Err(ResponseError::InvalidTransactionTimeout);
    }
    broker.txns.owner(transactional_id)?;
    let known = broker.txns.get(transactional_id);
    let new_id = match &known {
        Some(m) if !m.epoch_exhausted() => None,
        _ => Some(
            broker
                .cluster
                .allocate_producer_id(broker.config.node_id)
                .await
                .map_err(|_| ResponseError::CoordinatorNotAvailable)?,
        ),
    };
    let now = now_ms();
    let change = broker
        .txns
        .begin(transactional_id, |current| match current {
            None => {
                let pid = new_id.ok_or(ResponseError::CoordinatorNotAvailable)?;
                TxnMetadata::new(transactional_id, pid, timeout_ms, now)
                    .init(None, None, timeout_ms, now)
                    .map(Some)
            }
            Some(m) if m.state == TxnState::Ongoing => Ok(Some(m.fence_and_abort(now))),
            Some(m) => m.init(expected, new_id, timeout_ms, now).map(Some),
        })?;
    let Some(change) = change else {
        return Err(ResponseError::ConcurrentTransactions);
    };
    write(broker, &change).await?;
    let next = &change.next;
    if next.state == TxnState::PrepareAbort {
        tracing::info!(id = transactional_id, "fencing an open transaction");
        broker.txn_markers.push(next.clone());
        return Err(ResponseError::ConcurrentTransactions);
    }
    Ok((next.producer_id, next.producer_epoch))
}

/// AddPartitionsToTxn and AddOffsetsToTxn: the partitions join the producer's transaction.
/// The first of a new transaction usually arrives while the markers of the previous one are
/// still being written: it waits for them (at most CONCURRENT_WAIT) rather than sending the
/// producer into its retry backoff with CONCURRENT_TRANSACTIONS at once.
pub async fn add_partitions(
    broker: &Broker,
    transactional_id: &str,
    producer: (i64, i16),
    partitions: &[(String, i32)],
) -> Result<(), ResponseError> {
    let deadline = tokio::time::Instant::now() + CONCURRENT_WAIT;
    loop {
        let changed = broker.txns.changed().notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        let now = now_ms();
        let change = broker.txns.begin(transactional_id, |current| {
            let m = current.ok_or(ResponseError::InvalidProducerIdMapping)?;
            m.check_producer(producer.0, producer.1)?;
            m.add(partitions, now)
        });
        return match change {
            Err(ResponseError::ConcurrentTransactions)
                if tokio::time::Instant::now() < deadline =>
            {
                tokio::select! {
                    _ = changed => continue,
                    _ = tokio::time::sleep_until(deadline) => continue,
                    _ = broker.shutdown.cancelled() => Err(ResponseError::ConcurrentTransactions),
                }
            }
            Err(e) => Err(e),
            Ok(Some(change)) => write(broker, &change).await,
            Ok(None) => Ok(()),
        };
    }
}

/// EndTxn: the decision is written (PrepareCommit or PrepareAbort), the answer given, and
/// the markers follow.
pub async fn end(
    broker: &Broker,
    transactional_id: &str,
    producer: (i64, i16),
    commit: bool,
) -> Result<(), ResponseError> {
    let now = now_ms();
    let change = broker.txns.begin(transactional_id, |current| {
        let m = current.ok_or(ResponseError::InvalidProducerIdMapping)?;
        if m.producer_id != producer.0 {
            return Err(ResponseError::InvalidProducerIdMapping);
        }
        if m.producer_epoch != producer.1 {
            tracing::debug!(
                id = transactional_id,
                epoch = producer.1,
                current = m.producer_epoch,
                state = m.state.name(),
                "EndTxn from a fenced producer epoch"
            );
            return Err(ResponseError::ProducerFenced);
        }
        m.end(commit, now)
    })?;
    if let Some(change) = change {
        write(broker, &change).await?;
        broker.txn_markers.push(change.next.clone());
    }
    Ok(())
}

/// Writes one marker to a partition this broker leads and waits for its ISR; the group
/// coordinator decides the transaction's offsets when the partition is one of
/// `__consumer_offsets`.
pub async fn write_marker_here(
    broker: &Broker,
    (topic, partition): (&str, i32),
    (producer_id, producer_epoch): (i64, i16),
    marker: Marker,
) -> Result<(), ResponseError> {
    let (_, wait) = broker.replicas.with_leader(topic, partition, None, |p| {
        p.append_marker(producer_id, producer_epoch, marker, now_ms())
    })?;
    if let Some(wait) = wait {
        let deadline = tokio::time::Instant::now() + WRITE_TIMEOUT;
        wait.done(deadline, &broker.shutdown).await?;
    }
    if topic == OFFSETS_TOPIC {
        broker
            .groups
            .complete_txn(producer_id, partition, marker.commit);
    }
    Ok(())
}

/// Connections to the other brokers, for WriteTxnMarkers.
type Clients = BrokerPool;

/// Completes the decided transactions queued on the broker until shutdown.
pub async fn run_markers(broker: Arc<Broker>, token: CancellationToken) {
    let Some(mut rx) = broker.txn_markers.take() else {
        return;
    };
    let clients = Arc::new(BrokerPool::new(
        format!("broker-{}-txn-markers", broker.config.node_id),
        broker.inter_broker.clone(),
    ));
    loop {
        let txn = tokio::select! {
            _ = token.cancelled() => return,
            txn = rx.recv() => match txn {
                Some(t) => t,
                None => return,
            },
        };
        let (broker, clients, token) = (broker.clone(), clients.clone(), token.clone());
        tokio::spawn(async move { complete(&broker, txn, &clients, &token).await });
    }
}

/// Writes a decided transaction's markers until every partition has one (or is gone), then
/// writes the transaction complete.
async fn complete(broker: &Broker, txn: TxnMetadata, clients: &Clients, token: &CancellationToken) {
    let id = txn.transactional_id.clone();
    let partition = broker.txns.partition_for(&id);
    let Some(coordinator_epoch) = broker.txns.owned_epoch(partition) else {
        return;
    };
    let marker = Marker {
        commit: txn.state == TxnState::PrepareCommit,
        coordinator_epoch,
    };
    let producer = (txn.producer_id, txn.producer_epoch);
    let mut left: Vec<(String, i32)> = txn.partitions.iter().cloned().collect();
    while !left.is_empty() {
        if token.is_cancelled() || broker.txns.owned_epoch(partition) != Some(coordinator_epoch) {
            return;
        }
        left = write_markers_once(broker, clients, producer, marker, left).await;
        if !left.is_empty() {
            tokio::select! {
                _ = token.cancelled() => return,
                _ = tokio::time::sleep(MARKER_RETRY) => {}
            }
        }
    }
    let change = broker.txns.begin(&id, |current| {
        Ok(current
            .filter(|m| m.producer_id == txn.producer_id && m.state == txn.state)
            .map(|m| m.complete(now_ms())))
    });
    match change {
        Ok(Some(change)) => {
            if let Err(e) = write(broker, &change).await {
                tracing::warn!(id, error = ?e, "could not complete a transaction");
            }
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(id, error = ?e, "could not complete a transaction"),
    }
}

/// One pass over the partitions still without a marker; returns those to try again.
async fn write_markers_once(
    broker: &Broker,
    clients: &Clients,
    producer: (i64, i16),
    marker: Marker,
    partitions: Vec<(String, i32)>,
) -> Vec<(String, i32)> {
    let me = broker.config.node_id;
    let mut by_leader: BTreeMap<i32, Vec<(String, i32)>> = BTreeMap::new();
    let mut retry = Vec::new();
    for (topic, p) in partitions {
        let leader = broker.cluster.read(|i| {
            i.topics
                .get(&topic)
                .map(|t| t.partitions.get(p as usize).map(|info| info.leader))
        });
        match leader {
            // The topic or partition is gone: nothing left to mark.
            None | Some(None) => {}
            Some(Some(l)) if l < 0 => retry.push((topic, p)),
            Some(Some(l)) => by_leader.entry(l).or_default().push((topic, p)),
        }
    }
    for (leader, list) in by_leader {
        if leader == me {
            for (topic, p) in list {
                if let Err(e) = write_marker_here(broker, (&topic, p), producer, marker).await {
                    if retriable(e) {
                        retry.push((topic, p));
                    } else {
                        tracing::warn!(topic, partition = p, error = ?e, "transaction marker refused");
                    }
                }
            }
        } else {
            retry.extend(write_remote(broker, clients, leader, producer, marker, list).await);
        }
    }
    retry
}

/// Whether a marker that failed with `e` is worth writing again.
fn retriable(e: ResponseError) -> bool {
    !matches!(
        e,
        ResponseError::UnknownTopicOrPartition
            | ResponseError::InvalidProducerEpoch
            | ResponseError::TransactionCoordinatorFenced
    )
}

/// WriteTxnMarkers to another broker; returns the partitions to try again.
async fn write_remote(
    broker: &Broker,
    clients: &Clients,
    leader: i32,
    (producer_id, producer_epoch): (i64, i16),
    marker: Marker,
    list: Vec<(String, i32)>,
) -> Vec<(String, i32)> {
    let Some(addr) = broker.broker_addr(leader) else {
        return list;
    };
    let client = clients.get(leader, &addr).await;
    let mut topics: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for (t, p) in &list {
        topics.entry(t).or_default().push(*p);
    }
    let request =
        WriteTxnMarkersRequest::default().with_markers(vec![WritableTxnMarker::default()
            .with_producer_id(ProducerId(producer_id))
            .with_producer_epoch(producer_epoch)
            .with_transaction_result(marker.commit)
            .with_coordinator_epoch(marker.coordinator_epoch)
            .with_topics(
                topics
                    .into_iter()
                    .map(|(t, ps)| {
                        WritableTxnMarkerTopic::default()
                            .with_name(topic_name(t))
                            .with_partition_indexes(ps)
                    })
                    .collect(),
            )]);
    let answer: std::io::Result<WriteTxnMarkersResponse> = client
        .lock()
        .await
        .call(
            ApiKey::WriteTxnMarkers,
            WRITE_TXN_MARKERS_VERSION,
            &request,
            WRITE_TIMEOUT,
        )
        .await;
    let response = match answer {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!(leader, error = %e, "WriteTxnMarkers failed; retrying");
            return list;
        }
    };
    let mut retry = Vec::new();
    for m in response.markers {
        for t in m.topics {
            for p in t.partitions {
                let Some(e) = ResponseError::try_from_code(p.error_code) else {
                    continue;
                };
                if retriable(e) {
                    retry.push((t.name.0.to_string(), p.partition_index));
                } else {
                    tracing::warn!(topic = %t.name.0, partition = p.partition_index, error = ?e, "transaction marker refused");
                }
            }
        }
    }
    retry
}

/// Aborts transactions open past their timeout, at a bumped epoch that fences their producer
/// (Kafka's `abortTimedOutTransactions`), and removes ids idle past
/// `transactional.id.expiration.ms`, until shutdown.
pub async fn run_timers(broker: Arc<Broker>, token: CancellationToken) {
    let every = |key: &str, default: u64| {
        let ms = broker
            .config
            .str_value(key)
            .parse::<u64>()
            .unwrap_or(default);
        Duration::from_millis(ms.clamp(1, 86_400_000))
    };
    let mut aborts = tokio::time::interval(every(
        "transaction.abort.timed.out.transaction.cleanup.interval.ms",
        10_000,
    ));
    let mut removals = tokio::time::interval(every(
        "transaction.remove.expired.transaction.cleanup.interval.ms",
        3_600_000,
    ));
    loop {
        let abort_pass = tokio::select! {
            _ = token.cancelled() => return,
            _ = aborts.tick() => true,
            _ = removals.tick() => false,
        };
        let now = now_ms();
        let (timed_out, idle) = broker.txns.due(now);
        if abort_pass {
            for txn in timed_out {
                abort_timed_out(&broker, &txn, now).await;
            }
        } else {
            for txn in idle {
                remove_idle(&broker, &txn, now).await;
            }
        }
    }
}

async fn abort_timed_out(broker: &Broker, txn: &TxnMetadata, now: i64) {
    let id = &txn.transactional_id;
    let change = broker.txns.begin(id, |current| {
        Ok(current
            .filter(|m| {
                m.state == TxnState::Ongoing
                    && m.producer_id == txn.producer_id
                    && m.producer_epoch == txn.producer_epoch
            })
            .map(|m| m.fence_and_abort(now)))
    });
    if let Ok(Some(change)) = change {
        tracing::info!(
            id,
            timeout_ms = txn.timeout_ms,
            "aborting a transaction open past its timeout"
        );
        if write(broker, &change).await.is_ok() {
            broker.txn_markers.push(change.next.clone());
        }
    }
}

async fn remove_idle(broker: &Broker, txn: &TxnMetadata, now: i64) {
    let id = &txn.transactional_id;
    let expiration = broker.txns.settings().id_expiration_ms;
    let change = broker.txns.begin(id, |current| {
        Ok(current
            .filter(|m| m.last_update_ms + expiration < now && !m.state.is_prepare())
            .filter(|m| m.state != TxnState::Ongoing)
            .map(|m| {
                let mut dead = m.clone();
                dead.state = TxnState::Dead;
                dead
            }))
    });
    if let Ok(Some(change)) = change {
        if write(broker, &change).await.is_ok() {
            broker.txns.remove(id);
            tracing::info!(id, "transactional id expired");
        }
    }
}
