//! Hanging transactions (KIP-664's `kafka-transactions.sh find-hanging`): a producer that has
//! had an open transaction on a partition for longer than any transaction may last, which its
//! coordinator does not know as open on that partition. The partition's last stable offset
//! stays behind it, so read_committed consumers stop there, until `transactions abort` writes
//! the missing marker.
//!
//! The partitions' leaders are asked for their producers (DescribeProducers); those with an
//! open transaction whose last write is older than `max_timeout_ms` are candidates; every
//! broker is asked which transactional ids those producer ids have (ListTransactions), and the
//! coordinators describe them (DescribeTransactions). A candidate is hanging unless a
//! transaction of its producer is open and includes the partition.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use super::cluster::Cluster;
use super::producers;
use super::transactions::{self, is_open, ListFilter, TxnPartition};
use crate::error::Result;

/// One hanging transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HangingTransaction {
    pub topic: String,
    pub partition: i32,
    pub producer_id: i64,
    pub producer_epoch: i32,
    pub coordinator_epoch: i32,
    /// The offset it began at: `transactions abort --start-offset` takes it.
    pub start_offset: i64,
    /// Its last write, milliseconds since the epoch.
    pub last_timestamp: i64,
    /// Milliseconds since that write.
    pub duration_ms: i64,
}

/// The hanging transactions on `partitions`, at `now_ms`.
pub async fn find(
    cluster: &Arc<Cluster>,
    partitions: &[TxnPartition],
    max_timeout_ms: i64,
    now_ms: i64,
) -> Result<Vec<HangingTransaction>> {
    let mut candidates = Vec::new();
    for p in partitions {
        for producer in producers::describe(cluster, &p.topic, p.partition).await? {
            let Some(start_offset) = producer.open_transaction() else {
                continue;
            };
            let idle = now_ms - producer.last_timestamp;
            if idle > max_timeout_ms {
                candidates.push(HangingTransaction {
                    topic: p.topic.clone(),
                    partition: p.partition,
                    producer_id: producer.producer_id,
                    producer_epoch: producer.producer_epoch,
                    coordinator_epoch: producer.coordinator_epoch,
                    start_offset,
                    last_timestamp: producer.last_timestamp,
                    duration_ms: idle,
                });
            }
        }
    }
    if candidates.is_empty() {
        return Ok(candidates);
    }
    let filter = ListFilter {
        producer_ids: candidates.iter().map(|c| c.producer_id).collect(),
        ..ListFilter::default()
    };
    let listing = transactions::list(cluster, &filter).await?;
    let ids: Vec<String> = listing
        .transactions
        .iter()
        .map(|t| t.transactional_id.clone())
        .collect();
    // Producer id → the partitions its open transactions include, as their coordinators say.
    let mut open: BTreeMap<i64, Vec<TxnPartition>> = BTreeMap::new();
    for (_, described) in transactions::describe(cluster, &ids).await? {
        let Ok(d) = described else { continue };
        if is_open(&d.state) {
            open.entry(d.producer_id)
                .or_default()
                .extend(d.partitions.iter().cloned());
        }
    }
    candidates.retain(|c| {
        let here = TxnPartition {
            topic: c.topic.clone(),
            partition: c.partition,
        };
        !open
            .get(&c.producer_id)
            .is_some_and(|ps| ps.contains(&here))
    });
    Ok(candidates)
}
