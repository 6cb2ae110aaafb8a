//! Transactions as an operator sees them (KIP-664; Kafka's Admin and
//! `kafka-transactions.sh`): ListTransactions asked of every broker, each listing the
//! transactional ids it coordinates, merged; DescribeTransactions asked of each id's
//! coordinator (FindCoordinator, key type 1); and the abort of a hanging transaction on one
//! partition: the leader's DescribeProducers ([`super::producers`]) finds the producer whose
//! open transaction starts at the offset given, and WriteTxnMarkers v1 writes an ABORT marker
//! for it at that leader, with its producer id and epoch and the coordinator epoch of its last
//! marker (0 before any), as Kafka's tool does. The coordinator itself is not told: it still
//! holds the transaction until the producer ends it or its timeout aborts it.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::messages::write_txn_markers_request::{
    WritableTxnMarker, WritableTxnMarkerTopic,
};
use kafka_protocol::messages::{
    DescribeTransactionsRequest, ListTransactionsRequest, ProducerId, TransactionalId,
    WriteTxnMarkersRequest,
};
use kafka_protocol::protocol::StrBytes;
use serde::Serialize;

use super::admin::topic_name;
use super::cluster::{Cluster, CoordinatorKind};
use super::producers::{self, ProducerState};
use crate::error::{Error, Result};

/// Kafka's transaction states, as DescribeTransactions and ListTransactions name them.
pub const STATES: [&str; 8] = [
    "Empty",
    "Ongoing",
    "PrepareCommit",
    "PrepareAbort",
    "CompleteCommit",
    "CompleteAbort",
    "Dead",
    "PrepareEpochFence",
];

/// Whether a transaction in `state` is open: begun and not yet complete.
pub fn is_open(state: &str) -> bool {
    matches!(
        state,
        "Ongoing" | "PrepareCommit" | "PrepareAbort" | "PrepareEpochFence"
    )
}

/// Which transactions a listing keeps (empty lists keep all).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    pub states: Vec<String>,
    pub producer_ids: Vec<i64>,
    /// Only those open longer than this many milliseconds (KIP-994; ListTransactions v1+).
    pub duration_ms: Option<i64>,
    /// Only transactional ids matching this regular expression (ListTransactions v2+).
    pub pattern: Option<String>,
}

/// A transaction as ListTransactions lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListedTransaction {
    pub transactional_id: String,
    /// The broker that listed it: its coordinator.
    pub coordinator: i32,
    pub producer_id: i64,
    pub state: String,
}

/// Every broker's answer, merged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// Sorted by transactional id.
    pub transactions: Vec<ListedTransaction>,
    /// State filters a broker did not know.
    pub unknown_states: Vec<String>,
}

/// A partition a transaction has written to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct TxnPartition {
    pub topic: String,
    pub partition: i32,
}

/// A transaction as its coordinator describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransactionDescription {
    pub transactional_id: String,
    pub coordinator: i32,
    pub state: String,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub timeout_ms: i32,
    /// When the current (or last) transaction began, milliseconds since the epoch.
    pub start_time_ms: Option<i64>,
    /// Sorted.
    pub partitions: Vec<TxnPartition>,
}

impl TransactionDescription {
    /// How long the transaction has been open at `now_ms`, if it is open.
    pub fn open_for_ms(&self, now_ms: i64) -> Option<i64> {
        let start = self.start_time_ms.filter(|_| is_open(&self.state))?;
        Some((now_ms - start).max(0))
    }
}

/// One id's answer to a describe.
pub type Described = (String, Result<TransactionDescription>);

/// Every broker's transactions that `filter` keeps, asked of all brokers at once.
pub async fn list(cluster: &Arc<Cluster>, filter: &ListFilter) -> Result<Listing> {
    let metadata = cluster.metadata().await?;
    let mut tasks = tokio::task::JoinSet::new();
    for node in metadata.brokers.keys().copied() {
        let (cluster, filter) = (cluster.clone(), filter.clone());
        let _ =
            tasks.spawn(async move { cluster.retry(|| list_at(&cluster, node, &filter)).await });
    }
    let mut listing = Listing::default();
    while let Some(joined) = tasks.join_next().await {
        let (listed, unknown) =
            joined.map_err(|e| Error::Invalid(format!("ListTransactions task failed: {e}")))??;
        listing.transactions.extend(listed);
        listing.unknown_states.extend(unknown);
    }
    listing.transactions.sort_by(|a, b| {
        (a.transactional_id.as_str(), a.coordinator).cmp(&(&b.transactional_id, b.coordinator))
    });
    listing
        .transactions
        .dedup_by(|a, b| a.transactional_id == b.transactional_id);
    listing.unknown_states.sort();
    listing.unknown_states.dedup();
    Ok(listing)
}

/// ListTransactions at broker `node`: its transactions and the state filters it did not know.
async fn list_at(
    cluster: &Cluster,
    node: i32,
    filter: &ListFilter,
) -> Result<(Vec<ListedTransaction>, Vec<String>)> {
    let conn = cluster.broker(node).await?;
    let version = conn.version_of::<ListTransactionsRequest>()?;
    let needs = |what: &str, v: i16| Error::UnsupportedVersion {
        addr: conn.addr().to_string(),
        api: format!("ListTransactions with {what}"),
        ours: format!("v{v}-v2"),
    };
    if filter.duration_ms.is_some() && version < 1 {
        return Err(needs("a duration filter (KIP-994)", 1));
    }
    if filter.pattern.is_some() && version < 2 {
        return Err(needs("a transactional id pattern", 2));
    }
    let mut request = ListTransactionsRequest::default()
        .with_state_filters(
            filter
                .states
                .iter()
                .map(|s| StrBytes::from_string(s.clone()))
                .collect(),
        )
        .with_producer_id_filters(filter.producer_ids.iter().map(|p| ProducerId(*p)).collect());
    if version >= 1 {
        request.duration_filter = filter.duration_ms.unwrap_or(-1);
    }
    request.transactional_id_pattern = filter.pattern.clone().map(StrBytes::from_string);
    let response = conn.send_at(&request, version).await?;
    Error::check(
        || format!("list transactions on broker {node}"),
        response.error_code,
        None,
    )?;
    let listed = response
        .transaction_states
        .iter()
        .map(|t| ListedTransaction {
            transactional_id: t.transactional_id.0.to_string(),
            coordinator: node,
            producer_id: t.producer_id.0,
            state: t.transaction_state.to_string(),
        })
        .collect();
    let unknown = response
        .unknown_state_filters
        .iter()
        .map(|s| s.to_string())
        .collect();
    Ok((listed, unknown))
}

/// Each of `ids` as its coordinator describes it, in the order given; an id's own error
/// (TRANSACTIONAL_ID_NOT_FOUND, an authorization failure) is its answer, not the whole call's.
pub async fn describe(cluster: &Arc<Cluster>, ids: &[String]) -> Result<Vec<Described>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut found = cluster.retry(|| describe_once(cluster, ids)).await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(answer) = found.remove(id) {
            out.push((id.clone(), answer));
        }
    }
    Ok(out)
}

/// One round of describes, one request per coordinator; a retriable error of any id (its
/// coordinator moved or is loading) fails the round, so that it is retried whole.
async fn describe_once(
    cluster: &Cluster,
    ids: &[String],
) -> Result<BTreeMap<String, Result<TransactionDescription>>> {
    let mut out = BTreeMap::new();
    let by_node = cluster
        .coordinators_of(CoordinatorKind::Transaction, ids)
        .await?;
    for (node, names) in by_node {
        let request = DescribeTransactionsRequest::default().with_transactional_ids(
            names
                .iter()
                .map(|id| TransactionalId(StrBytes::from_string(id.clone())))
                .collect(),
        );
        let response = cluster.broker(node).await?.send(&request).await?;
        for t in &response.transaction_states {
            let id = t.transactional_id.0.to_string();
            let checked = Error::check(
                || format!("describe transactional id '{id}'"),
                t.error_code,
                None,
            );
            if let Err(e) = checked {
                if e.is_retriable() {
                    cluster.forget_coordinator_of(CoordinatorKind::Transaction, &id);
                    return Err(e);
                }
                let _ = out.insert(id, Err(e));
                continue;
            }
            let _ = out.insert(id.clone(), Ok(description(id, node, t)));
        }
    }
    Ok(out)
}

fn description(
    id: String,
    coordinator: i32,
    t: &kafka_protocol::messages::describe_transactions_response::TransactionState,
) -> TransactionDescription {
    let mut partitions: Vec<TxnPartition> = t
        .topics
        .iter()
        .flat_map(|topic| {
            topic.partitions.iter().map(|p| TxnPartition {
                topic: topic.topic.0.to_string(),
                partition: *p,
            })
        })
        .collect();
    partitions.sort();
    TransactionDescription {
        transactional_id: id,
        coordinator,
        state: t.transaction_state.to_string(),
        producer_id: t.producer_id.0,
        producer_epoch: t.producer_epoch,
        timeout_ms: t.transaction_timeout_ms,
        start_time_ms: (t.transaction_start_time_ms >= 0).then_some(t.transaction_start_time_ms),
        partitions,
    }
}

/// What an abort writes: an ABORT marker on one partition for one producer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AbortSpec {
    pub topic: String,
    pub partition: i32,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub coordinator_epoch: i32,
}

impl AbortSpec {
    /// The abort of `producer`'s transaction on `topic`-`partition`. A producer no marker has
    /// been written for has coordinator epoch -1; 0 is used, which no coordinator epoch is
    /// below (Kafka's tool does the same).
    pub fn for_producer(topic: &str, partition: i32, producer: &ProducerState) -> Result<Self> {
        let producer_epoch =
            i16::try_from(producer.producer_epoch).map_err(|_| Error::Protocol {
                addr: format!("the leader of {topic}-{partition}"),
                reason: format!(
                    "producer {} has epoch {}, beyond a Kafka epoch's range",
                    producer.producer_id, producer.producer_epoch
                ),
            })?;
        Ok(AbortSpec {
            topic: topic.to_string(),
            partition,
            producer_id: producer.producer_id,
            producer_epoch,
            coordinator_epoch: producer.coordinator_epoch.max(0),
        })
    }
}

/// `kafka-transactions.sh abort --topic T --partition P --start-offset N`: aborts the open
/// transaction that starts at `start_offset` of `topic`-`partition`; returns what it wrote.
pub async fn abort(
    cluster: &Cluster,
    topic: &str,
    partition: i32,
    start_offset: i64,
) -> Result<AbortSpec> {
    let active = producers::describe(cluster, topic, partition).await?;
    let Some(producer) = active
        .iter()
        .find(|p| p.open_transaction() == Some(start_offset))
    else {
        let open: Vec<String> = active
            .iter()
            .filter_map(|p| {
                let at = p.open_transaction()?;
                Some(format!("{at} (producer {})", p.producer_id))
            })
            .collect();
        let which = if open.is_empty() {
            "it has none".to_string()
        } else {
            format!("open ones start at {}", open.join(", "))
        };
        return Err(Error::Invalid(format!(
            "no open transaction starts at offset {start_offset} of {topic}-{partition}: {which} (`ktui producers describe --topic {topic} --partition {partition}`)"
        )));
    };
    let spec = AbortSpec::for_producer(topic, partition, producer)?;
    write_abort(cluster, &spec).await?;
    Ok(spec)
}

/// WriteTxnMarkers v1 at the partition's leader: an ABORT marker as `spec` says; retried
/// after a leadership move.
pub async fn write_abort(cluster: &Cluster, spec: &AbortSpec) -> Result<()> {
    let request =
        WriteTxnMarkersRequest::default().with_markers(vec![WritableTxnMarker::default()
            .with_producer_id(ProducerId(spec.producer_id))
            .with_producer_epoch(spec.producer_epoch)
            .with_transaction_result(false)
            .with_coordinator_epoch(spec.coordinator_epoch)
            .with_topics(vec![WritableTxnMarkerTopic::default()
                .with_name(topic_name(&spec.topic))
                .with_partition_indexes(vec![spec.partition])])]);
    let (topic, partition) = (spec.topic.as_str(), spec.partition);
    cluster
        .retry(|| async {
            let leader = cluster.leader(topic, partition).await?;
            let response = cluster.broker(leader).await?.send(&request).await?;
            let code = response
                .markers
                .iter()
                .filter(|m| m.producer_id.0 == spec.producer_id)
                .flat_map(|m| &m.topics)
                .filter(|t| t.name.0.as_str() == topic)
                .flat_map(|t| &t.partitions)
                .find(|p| p.partition_index == partition)
                .map(|p| p.error_code)
                .ok_or_else(|| Error::Protocol {
                    addr: format!("broker {leader}"),
                    reason: format!("WriteTxnMarkers answered without {topic}-{partition}"),
                })?;
            Error::check(
                || {
                    format!(
                        "abort the transaction of producer {} (epoch {}) on {topic}-{partition}",
                        spec.producer_id, spec.producer_epoch
                    )
                },
                code,
                None,
            )
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_transactions_have_a_duration_and_aborts_use_epoch_zero_at_least() {
        let mut d = TransactionDescription {
            transactional_id: "t".into(),
            coordinator: 1,
            state: "Ongoing".into(),
            producer_id: 7,
            producer_epoch: 2,
            timeout_ms: 60_000,
            start_time_ms: Some(1_000),
            partitions: Vec::new(),
        };
        assert_eq!(d.open_for_ms(5_000), Some(4_000));
        d.state = "CompleteCommit".into();
        assert_eq!(d.open_for_ms(5_000), None);
        assert!(STATES.iter().filter(|s| is_open(s)).count() == 4);
        let fresh = ProducerState {
            producer_id: 7,
            producer_epoch: 2,
            last_sequence: 0,
            last_timestamp: 1,
            coordinator_epoch: -1,
            current_txn_start_offset: 4,
        };
        let spec = AbortSpec::for_producer("t", 0, &fresh).expect("spec");
        assert_eq!((spec.producer_epoch, spec.coordinator_epoch), (2, 0));
        let odd = ProducerState {
            producer_epoch: 40_000,
            ..fresh
        };
        assert!(AbortSpec::for_producer("t", 0, &odd).is_err());
    }
}
