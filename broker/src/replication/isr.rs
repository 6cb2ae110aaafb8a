//! The leader's ISR changes (Kafka's AlterPartition manager): proposals are sent to the
//! controller together, those made while one request is out going in the next; a refused one
//! is forgotten so that it can be made again. Every
//! `replica.lag.time.max.ms / 2` the partitions this broker leads are checked for followers
//! that have not caught up within `replica.lag.time.max.ms`.

use std::sync::Weak;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::Proposal;
use crate::controller::{ControllerRequest, ControllerResponse, IsrChange};
use crate::replica::lock;
use crate::Broker;

pub(super) async fn run(
    broker: Weak<Broker>,
    mut proposals: mpsc::UnboundedReceiver<Proposal>,
    token: CancellationToken,
) {
    let lag_max_ms = match broker.upgrade() {
        Some(b) => b.config.replica_lag_time_max_ms,
        None => return,
    };
    let period = Duration::from_millis((lag_max_ms / 2).clamp(100, 60_000) as u64);
    let mut check = tokio::time::interval(period);
    loop {
        let mut batch = tokio::select! {
            _ = token.cancelled() => return,
            p = proposals.recv() => match p {
                Some(p) => vec![p],
                None => return,
            },
            _ = check.tick() => Vec::new(),
        };
        let Some(broker) = broker.upgrade() else {
            return;
        };
        if batch.is_empty() {
            batch = lagging(&broker, lag_max_ms);
        }
        // Everything proposed meanwhile goes in the same request, as Kafka batches them.
        while let Ok(p) = proposals.try_recv() {
            batch.push(p);
        }
        if !batch.is_empty() {
            submit(&broker, batch).await;
        }
    }
}

/// Shrink proposals for the partitions led here with lagging ISR members.
fn lagging(broker: &Broker, lag_max_ms: i64) -> Vec<Proposal> {
    let now = crate::now_ms();
    let mut out = Vec::new();
    for (topic, partition) in broker.replicas.hosted() {
        let Some(shared) = broker.replicas.get(&topic, partition) else {
            continue;
        };
        let mut p = lock(&shared);
        if let Some(isr) = p.shrink_isr(now, lag_max_ms) {
            tracing::info!(topic = %topic, partition, ?isr, "followers lag; shrinking the ISR");
            out.push(Proposal {
                topic,
                partition,
                leader_epoch: p.leader_epoch(),
                partition_epoch: p.replication().partition_epoch(),
                isr,
            });
        }
    }
    out
}

async fn submit(broker: &Broker, batch: Vec<Proposal>) {
    let changes: Vec<IsrChange> = batch
        .into_iter()
        .map(|p| IsrChange {
            topic: p.topic,
            partition: p.partition,
            leader_epoch: p.leader_epoch,
            partition_epoch: p.partition_epoch,
            new_isr: p.isr,
        })
        .collect();
    let request = ControllerRequest::AlterPartition {
        broker_id: broker.config.node_id,
        broker_epoch: broker.replication.broker_epoch(),
        changes: changes.clone(),
    };
    let refused: Vec<(String, i32, String)> = match broker.cluster.submit(request).await {
        Ok(ControllerResponse::IsrChanges(outcomes)) => outcomes
            .into_iter()
            .filter(|o| o.error != 0)
            .map(|o| (o.topic, o.partition, o.message.unwrap_or_default()))
            .collect(),
        Ok(_) => Vec::new(),
        Err(r) => changes
            .into_iter()
            .map(|c| (c.topic, c.partition, r.message.clone()))
            .collect(),
    };
    for (topic, partition, message) in refused {
        tracing::info!(topic = %topic, partition, error = %message, "ISR change refused");
        if let Some(shared) = broker.replicas.get(&topic, partition) {
            lock(&shared).forget_pending_isr();
        }
    }
}
