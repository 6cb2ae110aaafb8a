//! Ending a transactional id's open transaction from outside (KIP-618's `fenceProducers`, as
//! `kafka-transactions.sh force-terminate` does): InitProducerId for the id at its coordinator.
//! The coordinator aborts the open transaction at a bumped epoch, so its producer is fenced
//! at every partition, and answers CONCURRENT_TRANSACTIONS until the abort is complete; the
//! call is retried until it is. The producer that held the id must initialise again.

use kafka_protocol::messages::{InitProducerIdRequest, ProducerId, TransactionalId};
use kafka_protocol::protocol::StrBytes;
use serde::Serialize;

use super::cluster::{Cluster, CoordinatorKind};
use crate::error::{Error, Result};

/// The id's producer id and the epoch it now has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fenced {
    pub transactional_id: String,
    pub producer_id: i64,
    pub producer_epoch: i16,
}

/// Fences `transactional_id`, aborting its open transaction if it has one.
pub async fn fence(cluster: &Cluster, transactional_id: &str) -> Result<Fenced> {
    // As Kafka's FenceProducersHandler: no producer id or epoch of our own, and the shortest
    // timeout, since nothing will be written in this producer's name.
    let request = InitProducerIdRequest::default()
        .with_transactional_id(Some(TransactionalId(StrBytes::from_string(
            transactional_id.to_string(),
        ))))
        .with_transaction_timeout_ms(1)
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    let ids = [transactional_id.to_string()];
    let deadline = tokio::time::Instant::now() + cluster.request_timeout();
    loop {
        let answer = attempt(cluster, transactional_id, &ids, &request).await;
        match answer {
            // The abort it started is being completed: ask again, as Kafka's admin does.
            Err(e)
                if e.code() == Some(CONCURRENT_TRANSACTIONS)
                    && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(CONCURRENT_RETRY).await;
            }
            other => return other,
        }
    }
}

/// Pause between asks while the coordinator completes the abort.
const CONCURRENT_RETRY: std::time::Duration = std::time::Duration::from_millis(20);
/// Kafka's CONCURRENT_TRANSACTIONS.
const CONCURRENT_TRANSACTIONS: i16 = 51;

/// One InitProducerId at the id's coordinator, retried across coordinator moves.
async fn attempt(
    cluster: &Cluster,
    transactional_id: &str,
    ids: &[String],
    request: &InitProducerIdRequest,
) -> Result<Fenced> {
    cluster
        .retry(|| async {
            let by_node = cluster
                .coordinators_of(CoordinatorKind::Transaction, ids)
                .await?;
            let node = by_node
                .keys()
                .next()
                .copied()
                .ok_or_else(|| Error::Protocol {
                    addr: "cluster".to_string(),
                    reason: format!(
                        "no coordinator found for transactional id '{transactional_id}'"
                    ),
                })?;
            let response = cluster.broker(node).await?.send(request).await?;
            let checked = Error::check(
                || format!("fence transactional id '{transactional_id}'"),
                response.error_code,
                None,
            );
            if let Err(e) = checked {
                if e.is_stale_metadata() || e.is_retriable() {
                    cluster.forget_coordinator_of(CoordinatorKind::Transaction, transactional_id);
                }
                return Err(e);
            }
            Ok(Fenced {
                transactional_id: transactional_id.to_string(),
                producer_id: response.producer_id.0,
                producer_epoch: response.producer_epoch,
            })
        })
        .await
}
