//! Cluster metadata: brokers, topics with ids, partitions with replicas, leader, leader epoch
//! and ISR, and topic config overrides.
//!
//! The model is a cluster's from the start, although one node runs it today: every partition
//! names its replicas and leader, and all changes go through `Cluster`, which persists the image
//! before it becomes visible. Multi-broker replication will replace the persistence here with a
//! replicated metadata log without changing the image's shape.

mod image;
mod store;

pub use image::{BrokerInfo, ClusterImage, PartitionInfo, TopicInfo};

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use kafka_protocol::ResponseError;
use uuid::Uuid;

use crate::limits::{PARTITIONS_PER_TOPIC_MAX, TOPIC_NAME_BYTES_MAX};

/// Why a metadata change was refused, with the Kafka error code and a message for the client.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub error: ResponseError,
    pub message: String,
}

impl Refusal {
    fn new(error: ResponseError, message: impl Into<String>) -> Self {
        Refusal {
            error,
            message: message.into(),
        }
    }
}

/// Shared handle on the cluster metadata.
#[derive(Debug, Clone)]
pub struct Cluster {
    inner: Arc<RwLock<ClusterImage>>,
    store: Arc<store::Store>,
}

impl Cluster {
    /// Loads the image from `dir`, or starts a new cluster there with this broker in it.
    pub fn open(dir: &Path, me: BrokerInfo) -> std::io::Result<Self> {
        let store = store::Store::new(dir);
        let mut image = match store.load()? {
            Some(image) => image,
            None => ClusterImage::new(new_cluster_id(), me.node_id),
        };
        image.controller_id = me.node_id;
        image.brokers.insert(me.node_id, me);
        store.save(&image)?;
        Ok(Cluster {
            inner: Arc::new(RwLock::new(image)),
            store: Arc::new(store),
        })
    }

    /// A consistent copy-free read of the image.
    pub fn read<T>(&self, f: impl FnOnce(&ClusterImage) -> T) -> T {
        let guard = self.inner.read().unwrap_or_else(|p| p.into_inner());
        f(&guard)
    }

    /// Applies `f` to a copy of the image, persists it, then publishes it.
    fn update<T>(
        &self,
        f: impl FnOnce(&mut ClusterImage) -> Result<T, Refusal>,
    ) -> Result<T, Refusal> {
        let mut guard = self.inner.write().unwrap_or_else(|p| p.into_inner());
        let mut next = guard.clone();
        let out = f(&mut next)?;
        self.store
            .save(&next)
            .map_err(|e| Refusal::new(ResponseError::KafkaStorageError, e.to_string()))?;
        *guard = next;
        Ok(out)
    }

    /// Checks a topic creation without applying it; returns the partitions it would have.
    pub fn plan_topic(&self, spec: &TopicSpec) -> Result<TopicInfo, Refusal> {
        self.read(|image| plan_topic(image, spec))
    }

    /// Creates a topic.
    pub fn create_topic(&self, spec: &TopicSpec) -> Result<TopicInfo, Refusal> {
        self.update(|image| {
            let topic = plan_topic(image, spec)?;
            image.topics.insert(spec.name.clone(), topic.clone());
            Ok(topic)
        })
    }

    /// Deletes a topic; returns its info so the caller can remove its logs.
    pub fn delete_topic(&self, name: &str) -> Result<TopicInfo, Refusal> {
        self.update(|image| image.topics.remove(name).ok_or_else(|| unknown_topic(name)))
    }

    /// Raises a topic's partition count to `count`.
    pub fn add_partitions(
        &self,
        name: &str,
        count: i32,
        validate_only: bool,
    ) -> Result<TopicInfo, Refusal> {
        let apply = |image: &mut ClusterImage| {
            let brokers: Vec<i32> = image.brokers.keys().copied().collect();
            let topic = image
                .topics
                .get_mut(name)
                .ok_or_else(|| unknown_topic(name))?;
            let current = topic.partitions.len() as i32;
            if count <= current {
                let msg = format!("Topic currently has {current} partitions, which is higher than the requested {count}.");
                return Err(Refusal::new(ResponseError::InvalidPartitions, msg));
            }
            if count > PARTITIONS_PER_TOPIC_MAX {
                return Err(Refusal::new(
                    ResponseError::InvalidPartitions,
                    "too many partitions",
                ));
            }
            let rf = topic.partitions.first().map_or(1, |p| p.replicas.len());
            for p in current..count {
                topic
                    .partitions
                    .push(PartitionInfo::assigned(&brokers, p, rf));
            }
            Ok(topic.clone())
        };
        if validate_only {
            let mut copy = self.read(Clone::clone);
            return apply(&mut copy);
        }
        self.update(apply)
    }

    /// Replaces a topic's config overrides.
    pub fn set_topic_configs(
        &self,
        name: &str,
        configs: BTreeMap<String, String>,
    ) -> Result<(), Refusal> {
        self.update(|image| {
            let topic = image
                .topics
                .get_mut(name)
                .ok_or_else(|| unknown_topic(name))?;
            topic.configs = configs;
            Ok(())
        })
    }

    /// Hands out the next producer id (persisted, so ids are never reused across restarts).
    pub fn allocate_producer_id(&self) -> Result<i64, Refusal> {
        self.update(|image| {
            let id = image.next_producer_id;
            image.next_producer_id += 1;
            Ok(id)
        })
    }
}

/// What CreateTopics (or auto-creation) asks for.
#[derive(Debug, Clone)]
pub struct TopicSpec {
    pub name: String,
    pub partitions: i32,
    pub replication_factor: i16,
    /// Manual assignment: replicas per partition, in partition order.
    pub assignments: Vec<Vec<i32>>,
    pub configs: BTreeMap<String, String>,
    pub internal: bool,
}

fn unknown_topic(name: &str) -> Refusal {
    Refusal::new(
        ResponseError::UnknownTopicOrPartition,
        format!("Topic '{name}' does not exist."),
    )
}

fn plan_topic(image: &ClusterImage, spec: &TopicSpec) -> Result<TopicInfo, Refusal> {
    validate_topic_name(&spec.name)?;
    if image.topics.contains_key(&spec.name) {
        let msg = format!("Topic '{}' already exists.", spec.name);
        return Err(Refusal::new(ResponseError::TopicAlreadyExists, msg));
    }
    let brokers: Vec<i32> = image.brokers.keys().copied().collect();
    let partitions = if spec.assignments.is_empty() {
        planned_partitions(&brokers, spec)?
    } else {
        manual_partitions(&brokers, &spec.assignments)?
    };
    Ok(TopicInfo {
        id: Uuid::new_v4(),
        partitions,
        configs: spec.configs.clone(),
        internal: spec.internal,
    })
}

fn planned_partitions(brokers: &[i32], spec: &TopicSpec) -> Result<Vec<PartitionInfo>, Refusal> {
    if spec.partitions < 1 || spec.partitions > PARTITIONS_PER_TOPIC_MAX {
        let msg = format!("Number of partitions must be between 1 and {PARTITIONS_PER_TOPIC_MAX}.");
        return Err(Refusal::new(ResponseError::InvalidPartitions, msg));
    }
    let rf = spec.replication_factor;
    if rf < 1 || rf as usize > brokers.len() {
        let msg = format!(
            "Replication factor: {rf} larger than available brokers: {}.",
            brokers.len()
        );
        return Err(Refusal::new(ResponseError::InvalidReplicationFactor, msg));
    }
    Ok((0..spec.partitions)
        .map(|p| PartitionInfo::assigned(brokers, p, rf as usize))
        .collect())
}

fn manual_partitions(
    brokers: &[i32],
    assignments: &[Vec<i32>],
) -> Result<Vec<PartitionInfo>, Refusal> {
    if assignments.len() as i32 > PARTITIONS_PER_TOPIC_MAX {
        return Err(Refusal::new(
            ResponseError::InvalidPartitions,
            "too many partitions",
        ));
    }
    let mut out = Vec::with_capacity(assignments.len());
    for replicas in assignments {
        if replicas.is_empty() || replicas.iter().any(|b| !brokers.contains(b)) {
            let msg = format!("Replica assignment {replicas:?} names an unknown broker.");
            return Err(Refusal::new(ResponseError::InvalidReplicaAssignment, msg));
        }
        out.push(PartitionInfo {
            leader: replicas[0],
            leader_epoch: 0,
            replicas: replicas.clone(),
            isr: replicas.clone(),
        });
    }
    Ok(out)
}

/// Kafka's topic name rule: 1 to 249 of `[a-zA-Z0-9._-]`, and not `.` or `..`.
pub fn validate_topic_name(name: &str) -> Result<(), Refusal> {
    let bad = |why: &str| {
        Err(Refusal::new(
            ResponseError::InvalidTopicException,
            format!("Topic name '{name}' is illegal, {why}"),
        ))
    };
    if name.is_empty() {
        return bad("it can't be empty");
    }
    if name == "." || name == ".." {
        return bad("it can't be '.' or '..'");
    }
    if name.len() > TOPIC_NAME_BYTES_MAX {
        return bad("it can't be longer than 249 characters");
    }
    if !name
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
    {
        return bad("it contains a character other than ASCII alphanumerics, '.', '_' and '-'");
    }
    Ok(())
}

/// Kafka's cluster ids are a random UUID in URL-safe base64 without padding (22 characters).
fn new_cluster_id() -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Uuid::new_v4().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, partitions: i32, rf: i16) -> TopicSpec {
        TopicSpec {
            name: name.into(),
            partitions,
            replication_factor: rf,
            assignments: vec![],
            configs: BTreeMap::new(),
            internal: false,
        }
    }

    #[test]
    fn topics_persist_across_reopen() {
        let dir = tempfile::tempdir().expect("dir");
        let me = BrokerInfo {
            node_id: 1,
            host: "127.0.0.1".into(),
            port: 9092,
            rack: None,
        };
        let cluster = Cluster::open(dir.path(), me.clone()).expect("open");
        let created = cluster.create_topic(&spec("orders", 3, 1)).expect("create");
        assert!(cluster.create_topic(&spec("orders", 3, 1)).is_err());
        assert!(cluster.create_topic(&spec("bad name", 1, 1)).is_err());
        assert!(cluster.create_topic(&spec("x", 1, 2)).is_err());
        cluster.add_partitions("orders", 5, false).expect("grow");
        assert!(cluster.add_partitions("orders", 4, false).is_err());
        let id = cluster.read(|i| i.cluster_id.clone());
        drop(cluster);
        let again = Cluster::open(dir.path(), me).expect("reopen");
        again.read(|i| {
            assert_eq!(i.cluster_id, id);
            assert_eq!(i.topics["orders"].id, created.id);
            assert_eq!(i.topics["orders"].partitions.len(), 5);
        });
    }
}
