//! KIP-890 part 1, transaction verification: before a partition leader appends a
//! transactional batch that would open a transaction on that partition, it asks the
//! producer's transaction coordinator whether the partition is in the producer's open
//! transaction at that producer id and epoch (AddPartitionsToTxn v4+, `verify_only`). A late
//! batch (a retry after its transaction was aborted) or a stray one is refused instead of
//! opening a transaction no coordinator knows, which would hold the partition's LSO, and
//! every read_committed consumer with it, until an operator aborts it. Kafka 3.6+ does the
//! same; `transaction.partition.verification.enable=false` turns it off.
//!
//! The coordinator may be this broker (asked directly) or another (asked over the
//! inter-broker listener).

use kafka_protocol::messages::add_partitions_to_txn_request::{
    AddPartitionsToTxnTopic, AddPartitionsToTxnTransaction,
};
use kafka_protocol::messages::{
    AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, ApiKey, ProducerId, TopicName,
    TransactionalId,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::TRANSACTION_TOPIC;
use crate::coordinator::records::partition_for;
use crate::Broker;

/// The AddPartitionsToTxn version brokers verify with (v4 batches transactions and has
/// `verify_only`).
const VERIFY_VERSION: i16 = 4;
/// How long a leader waits for the coordinator's answer.
const VERIFY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Whether this broker verifies transactional batches (`transaction.partition.verification.enable`).
pub fn enabled(broker: &Broker) -> bool {
    !broker
        .config
        .str_value("transaction.partition.verification.enable")
        .eq_ignore_ascii_case("false")
}

/// The check at the coordinator: the partitions are in the producer's open transaction.
pub fn check_here(
    broker: &Broker,
    transactional_id: &str,
    (producer_id, epoch): (i64, i16),
    partitions: &[(String, i32)],
) -> Result<(), ResponseError> {
    broker.txns.owner(transactional_id)?;
    let m = broker
        .txns
        .get(transactional_id)
        .ok_or(ResponseError::InvalidProducerIdMapping)?;
    if m.producer_id != producer_id {
        return Err(ResponseError::InvalidProducerIdMapping);
    }
    if m.producer_epoch != epoch {
        return Err(ResponseError::ProducerFenced);
    }
    if partitions.iter().all(|p| m.partitions.contains(p)) {
        Ok(())
    } else {
        Err(ResponseError::InvalidTxnState)
    }
}

/// Asks the producer's coordinator, here or on its broker, whether `partitions` are in its
/// open transaction.
pub async fn verify(
    broker: &Broker,
    transactional_id: &str,
    producer: (i64, i16),
    partitions: &[(String, i32)],
) -> Result<(), ResponseError> {
    let coordinator = broker.cluster.read(|i| {
        let topic = i.topics.get(TRANSACTION_TOPIC)?;
        let count = i32::try_from(topic.partitions.len()).ok()?;
        let partition = partition_for(transactional_id, count);
        topic
            .partitions
            .get(usize::try_from(partition).ok()?)
            .map(|p| p.leader)
    });
    match coordinator {
        None | Some(-1) => Err(ResponseError::CoordinatorNotAvailable),
        Some(leader) if leader == broker.config.node_id => {
            check_here(broker, transactional_id, producer, partitions)
        }
        Some(leader) => ask(broker, leader, transactional_id, producer, partitions).await,
    }
}

/// AddPartitionsToTxn v4 with `verify_only` to the coordinator on broker `leader`.
async fn ask(
    broker: &Broker,
    leader: i32,
    transactional_id: &str,
    (producer_id, epoch): (i64, i16),
    partitions: &[(String, i32)],
) -> Result<(), ResponseError> {
    let addr = broker
        .broker_addr(leader)
        .ok_or(ResponseError::CoordinatorNotAvailable)?;
    let mut topics: Vec<AddPartitionsToTxnTopic> = Vec::new();
    for (topic, partition) in partitions {
        match topics.iter_mut().find(|t| t.name.0.as_str() == topic) {
            Some(t) => t.partitions.push(*partition),
            None => topics.push(
                AddPartitionsToTxnTopic::default()
                    .with_name(TopicName(StrBytes::from_string(topic.clone())))
                    .with_partitions(vec![*partition]),
            ),
        }
    }
    let request = AddPartitionsToTxnRequest::default().with_transactions(vec![
        AddPartitionsToTxnTransaction::default()
            .with_transactional_id(TransactionalId(StrBytes::from_string(
                transactional_id.to_string(),
            )))
            .with_producer_id(ProducerId(producer_id))
            .with_producer_epoch(epoch)
            .with_verify_only(true)
            .with_topics(topics),
    ]);
    let client = broker.txn_brokers.get(leader, &addr).await;
    let answer: std::io::Result<AddPartitionsToTxnResponse> = client
        .lock()
        .await
        .call(
            ApiKey::AddPartitionsToTxn,
            VERIFY_VERSION,
            &request,
            VERIFY_TIMEOUT,
        )
        .await;
    let response = answer.map_err(|e| {
        tracing::debug!(leader, error = %e, "transaction verification failed");
        ResponseError::NetworkException
    })?;
    if let Some(e) = ResponseError::try_from_code(response.error_code) {
        return Err(e);
    }
    let first_error = response
        .results_by_transaction
        .iter()
        .flat_map(|t| &t.topic_results)
        .flat_map(|t| &t.results_by_partition)
        .find_map(|p| ResponseError::try_from_code(p.partition_error_code));
    first_error.map_or(Ok(()), Err)
}

/// A verification failure as the producer gets it on Produce, as Kafka answers: a partition
/// not in the transaction is INVALID_TXN_STATE; a fenced producer INVALID_PRODUCER_EPOCH (what
/// producers expect on Produce: librdkafka and Java take it as fatal, PRODUCER_FENCED there
/// only as abortable); a failure to ask is NOT_ENOUGH_REPLICAS, which every producer retries
/// without refreshing its metadata (older producers do not retry CONCURRENT_TRANSACTIONS on
/// Produce).
pub fn for_produce(e: ResponseError) -> ResponseError {
    match e {
        ResponseError::ProducerFenced => ResponseError::InvalidProducerEpoch,
        ResponseError::ConcurrentTransactions
        | ResponseError::NetworkException
        | ResponseError::CoordinatorLoadInProgress
        | ResponseError::CoordinatorNotAvailable
        | ResponseError::NotCoordinator => ResponseError::NotEnoughReplicas,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verification_failures_reach_producers_as_kafka_maps_them() {
        let cases = [
            (
                ResponseError::InvalidTxnState,
                ResponseError::InvalidTxnState,
            ),
            (
                ResponseError::ProducerFenced,
                ResponseError::InvalidProducerEpoch,
            ),
            (
                ResponseError::InvalidProducerIdMapping,
                ResponseError::InvalidProducerIdMapping,
            ),
            (
                ResponseError::ConcurrentTransactions,
                ResponseError::NotEnoughReplicas,
            ),
            (
                ResponseError::CoordinatorLoadInProgress,
                ResponseError::NotEnoughReplicas,
            ),
            (
                ResponseError::NotCoordinator,
                ResponseError::NotEnoughReplicas,
            ),
            (
                ResponseError::NetworkException,
                ResponseError::NotEnoughReplicas,
            ),
        ];
        for (from, to) in cases {
            assert_eq!(for_produce(from), to, "{from:?}");
        }
    }
}
