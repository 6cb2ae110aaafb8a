//! DescribeProducers (API 61, KIP-664): the producers a partition's leader keeps state for
//! (idempotent and transactional ones), with each one's epoch, last sequence and timestamp,
//! the epoch of the transaction coordinator that last wrote it a marker, and the offset its
//! open transaction began at. Asked of the leader, as `kafka-transactions.sh
//! describe-producers` asks; the transactions built on it live in [`super::transactions`].

use kafka_protocol::messages::describe_producers_request::TopicRequest;
use kafka_protocol::messages::DescribeProducersRequest;
use serde::Serialize;

use super::admin::topic_name;
use super::cluster::Cluster;
use crate::error::{Error, Result};

/// One producer a partition leader knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProducerState {
    pub producer_id: i64,
    pub producer_epoch: i32,
    pub last_sequence: i32,
    /// Milliseconds since the epoch of its last write; -1 when unknown.
    pub last_timestamp: i64,
    /// The coordinator epoch of the last marker written for it; -1 before any.
    pub coordinator_epoch: i32,
    /// The first offset of its open transaction; -1 without one.
    pub current_txn_start_offset: i64,
}

impl ProducerState {
    /// The offset its open transaction began at, if it has one.
    pub fn open_transaction(&self) -> Option<i64> {
        (self.current_txn_start_offset >= 0).then_some(self.current_txn_start_offset)
    }
}

/// The active producers of `topic`-`partition`, sorted by producer id, as its leader knows
/// them; retried after a leadership move.
pub async fn describe(
    cluster: &Cluster,
    topic: &str,
    partition: i32,
) -> Result<Vec<ProducerState>> {
    let request = DescribeProducersRequest::default().with_topics(vec![TopicRequest::default()
        .with_name(topic_name(topic))
        .with_partition_indexes(vec![partition])]);
    let mut found = cluster
        .retry(|| async {
            let leader = cluster.leader(topic, partition).await?;
            let response = cluster.broker(leader).await?.send(&request).await?;
            let answer = response
                .topics
                .iter()
                .filter(|t| t.name.0.as_str() == topic)
                .flat_map(|t| &t.partitions)
                .find(|p| p.partition_index == partition)
                .ok_or_else(|| Error::Protocol {
                    addr: format!("broker {leader}"),
                    reason: format!("DescribeProducers answered without {topic}-{partition}"),
                })?;
            Error::check(
                || format!("describe producers of {topic}-{partition}"),
                answer.error_code,
                answer.error_message.as_deref(),
            )?;
            Ok(answer
                .active_producers
                .iter()
                .map(|p| ProducerState {
                    producer_id: p.producer_id.0,
                    producer_epoch: p.producer_epoch,
                    last_sequence: p.last_sequence,
                    last_timestamp: p.last_timestamp,
                    coordinator_epoch: p.coordinator_epoch,
                    current_txn_start_offset: p.current_txn_start_offset,
                })
                .collect::<Vec<_>>())
        })
        .await?;
    found.sort_by_key(|p| p.producer_id);
    Ok(found)
}
