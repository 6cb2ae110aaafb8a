//! The metadata image: a plain value, cloned and replaced whole on every change.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A broker as clients see it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BrokerInfo {
    pub node_id: i32,
    pub host: String,
    pub port: u16,
    pub rack: Option<String>,
}

/// One partition's placement and leadership.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PartitionInfo {
    pub leader: i32,
    /// Raised each time leadership changes; stamped into every batch the leader appends.
    pub leader_epoch: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
}

impl PartitionInfo {
    /// Round-robin placement of `rf` replicas for partition `index`, as Kafka's default
    /// assignor does on a rack-less cluster.
    pub fn assigned(brokers: &[i32], index: i32, rf: usize) -> Self {
        assert!(!brokers.is_empty(), "a cluster has at least one broker");
        let n = brokers.len();
        let replicas: Vec<i32> = (0..rf.min(n))
            .map(|r| brokers[(index as usize + r) % n])
            .collect();
        PartitionInfo {
            leader: replicas[0],
            leader_epoch: 0,
            isr: replicas.clone(),
            replicas,
        }
    }
}

/// A topic: its id, partitions and config overrides.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TopicInfo {
    pub id: Uuid,
    pub partitions: Vec<PartitionInfo>,
    pub configs: BTreeMap<String, String>,
    pub internal: bool,
}

/// The whole cluster's metadata.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterImage {
    pub cluster_id: String,
    pub controller_id: i32,
    pub brokers: BTreeMap<i32, BrokerInfo>,
    pub topics: BTreeMap<String, TopicInfo>,
    /// The next producer id InitProducerId hands out.
    pub next_producer_id: i64,
}

impl ClusterImage {
    /// An empty cluster.
    pub fn new(cluster_id: String, controller_id: i32) -> Self {
        ClusterImage {
            cluster_id,
            controller_id,
            brokers: BTreeMap::new(),
            topics: BTreeMap::new(),
            next_producer_id: 1000,
        }
    }

    /// Looks a topic up by its id.
    pub fn topic_by_id(&self, id: &Uuid) -> Option<(&String, &TopicInfo)> {
        self.topics.iter().find(|(_, t)| &t.id == id)
    }
}
