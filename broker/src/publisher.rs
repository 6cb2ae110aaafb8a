//! The broker's reaction to metadata (Kafka's metadata publishers): after each applied batch
//! of records, the partitions placed here are opened or removed, and take the leadership,
//! epochs and ISR the image gives them; followers are handed to the fetcher of their leader;
//! the group coordinator takes over or drops the groups of `__consumer_offsets` partitions as
//! their leadership comes and goes; removed topics lose their logs; changed topic configs
//! reach their partitions.

use std::collections::BTreeSet;
use std::sync::{Arc, Weak};

use crate::cluster::ClusterImage;
use crate::config::DynamicConfigs;
use crate::coordinator::transactions::TRANSACTION_TOPIC;
use crate::coordinator::{read_records, Logged, OFFSETS_TOPIC};
use crate::quorum::{Delta, MetadataListener};
use crate::Broker;

/// Publishes metadata changes to a broker.
#[derive(Debug)]
pub(crate) struct Publisher {
    broker: Weak<Broker>,
}

impl Publisher {
    pub(crate) fn new(broker: Weak<Broker>) -> Self {
        Publisher { broker }
    }
}

impl MetadataListener for Publisher {
    fn publish(&self, image: &ClusterImage, delta: &Delta) {
        let Some(broker) = self.broker.upgrade() else {
            return;
        };
        let replicas = &broker.replicas;
        for (name, info) in &delta.removed_topics {
            for index in 0..info.partitions.len() as i32 {
                broker.replication.unfollow(name, index);
            }
            replicas.delete_topic(name);
            tracing::info!(topic = %name, "topic deleted");
        }
        if delta.everything || delta.broker_configs {
            // Dynamic broker configs are topic defaults too. Set before partitions open, so
            // new ones take them; open ones are re-resolved in one pass over them when the
            // defaults changed, or when a snapshot replaced the whole image.
            let me = broker.config.node_id.to_string();
            let changed = broker.config.set_dynamic(DynamicConfigs {
                broker: image.broker_configs.get(&me).cloned().unwrap_or_default(),
                cluster: image.broker_configs.get("").cloned().unwrap_or_default(),
            });
            if changed || delta.everything {
                replicas.update_all_configs(&broker.config, |t| {
                    image.topics.get(t).map(|t| &t.configs)
                });
            }
        }
        let partitions: Vec<(String, i32)> = if delta.everything {
            let present: BTreeSet<(String, i32)> = image
                .topics
                .iter()
                .flat_map(|(n, t)| (0..t.partitions.len() as i32).map(move |i| (n.clone(), i)))
                .collect();
            for (name, index) in replicas.hosted() {
                if !present.contains(&(name.clone(), index)) {
                    broker.replication.unfollow(&name, index);
                    replicas.remove_partition(&name, index);
                }
            }
            present.into_iter().collect()
        } else {
            delta.partitions.iter().cloned().collect()
        };
        for (name, index) in partitions {
            let Some(topic) = image.topics.get(&name) else {
                continue;
            };
            let Some(info) = topic.partitions.get(index as usize) else {
                continue;
            };
            if name == OFFSETS_TOPIC {
                broker.groups.set_partitions(topic.partitions.len() as i32);
            }
            if name == TRANSACTION_TOPIC {
                broker.txns.set_partitions(topic.partitions.len() as i32);
            }
            match replicas.apply_partition(&broker.config, &name, index, info, &topic.configs) {
                Ok(Some(_)) if info.leader != broker.config.node_id => {
                    broker
                        .replication
                        .follow(&name, index, info.leader, info.leader_epoch);
                }
                Ok(_) => broker.replication.unfollow(&name, index),
                Err(e) => {
                    tracing::error!(topic = %name, partition = index, error = %e, "could not open a partition");
                }
            }
            if name == OFFSETS_TOPIC {
                coordinate(&broker, index, info.leader == broker.config.node_id);
            }
            if name == TRANSACTION_TOPIC {
                let leads = info.leader == broker.config.node_id;
                coordinate_transactions(&broker, index, leads.then_some(info.leader_epoch));
            }
        }
        for name in &delta.topic_configs {
            if let Some(topic) = image.topics.get(name) {
                replicas.update_topic_configs(&broker.config, name, &topic.configs);
            }
        }
    }
}

/// The group coordinator follows the leadership of its `__consumer_offsets` partitions: a new
/// leader loads the partition's groups before it answers for them (COORDINATOR_LOAD_IN_PROGRESS
/// meanwhile, as Kafka answers), a former one drops them. The load runs on a blocking thread,
/// so a large partition does not hold up the rest of the metadata.
fn coordinate(broker: &Arc<Broker>, partition: i32, leads: bool) {
    let groups = &broker.groups;
    if leads && !groups.owns(partition) && !groups.is_loading(partition) {
        groups.begin_loading(partition);
        in_background(broker, move |broker| {
            match broker.groups.take_over(&broker.replicas, partition) {
                Ok(loaded) => tracing::info!(
                    partition,
                    groups = loaded,
                    "coordinating the groups of a __consumer_offsets partition"
                ),
                Err(e) => {
                    broker.groups.resign(partition);
                    tracing::error!(partition, error = %e, "could not load a __consumer_offsets partition")
                }
            }
        });
    } else if !leads && (groups.owns(partition) || groups.is_loading(partition)) {
        groups.resign(partition);
        tracing::info!(
            partition,
            "no longer coordinating the groups of a __consumer_offsets partition"
        );
    }
}

/// The transaction coordinator follows the leadership of its `__transaction_state`
/// partitions: a new leader (or the same one at a new epoch) loads the partition's ids
/// (COORDINATOR_LOAD_IN_PROGRESS meanwhile) and writes again the markers of transactions that
/// were decided and not completed; a former leader drops them. The coordinator epoch is the
/// partition's leader epoch.
fn coordinate_transactions(broker: &Arc<Broker>, partition: i32, leader_epoch: Option<i32>) {
    let txns = &broker.txns;
    match leader_epoch {
        Some(epoch)
            if txns.owned_epoch(partition) != Some(epoch)
                && txns.loading_epoch(partition) != Some(epoch) =>
        {
            txns.begin_loading(partition, epoch);
            in_background(broker, move |broker| {
                let records = match read_records(&broker.replicas, TRANSACTION_TOPIC, partition) {
                    Ok(r) => r,
                    Err(e) => {
                        broker.txns.resign(partition);
                        tracing::error!(partition, error = %e, "could not load a __transaction_state partition");
                        return;
                    }
                };
                let plain = records
                    .into_iter()
                    .filter_map(|r| match r {
                        Logged::Plain(kv) => Some(kv),
                        _ => None,
                    })
                    .collect();
                let unfinished = broker.txns.take_over(partition, epoch, plain);
                tracing::info!(
                    partition,
                    epoch,
                    unfinished = unfinished.len(),
                    "coordinating the transactions of a __transaction_state partition"
                );
                for txn in unfinished {
                    broker.txn_markers.push(txn);
                }
            });
        }
        Some(_) => {}
        None if txns.owned_epoch(partition).is_some()
            || txns.loading_epoch(partition).is_some() =>
        {
            txns.resign(partition);
            tracing::info!(
                partition,
                "no longer coordinating a __transaction_state partition"
            );
        }
        None => {}
    }
}

/// Runs a coordinator's load on tokio's blocking threads, or here without a runtime.
fn in_background(broker: &Arc<Broker>, load: impl FnOnce(&Broker) + Send + 'static) {
    let broker = broker.clone();
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => {
            handle.spawn_blocking(move || load(&broker));
        }
        Err(_) => load(&broker),
    }
}
