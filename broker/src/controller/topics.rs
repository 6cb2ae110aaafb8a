//! Topic decisions: creation with Kafka's replica placement, deletion, more partitions,
//! config overrides, and blocks of producer ids.

use std::collections::BTreeMap;

use kafka_protocol::ResponseError;
use uuid::Uuid;

use super::{ControllerResponse, Decision};
use crate::cluster::records::{
    MetadataRecord, CONFIG_RESOURCE_BROKER, CONFIG_RESOURCE_GROUP, CONFIG_RESOURCE_TOPIC,
};
use crate::cluster::{
    validate_topic_name, ClusterImage, PartitionInfo, Refusal, TopicInfo, TopicSpec,
};
use crate::limits::PARTITIONS_PER_TOPIC_MAX;

/// Producer ids handed to a broker at a time, as Kafka's controller hands them out.
pub const PRODUCER_ID_BLOCK: i64 = 1000;

pub(super) fn create(
    image: &ClusterImage,
    spec: &TopicSpec,
    validate_only: bool,
) -> Result<Decision, Refusal> {
    let topic = plan_topic(image, spec)?;
    let records = if validate_only {
        Vec::new()
    } else {
        topic_records(&spec.name, &topic)
    };
    Ok(Decision {
        records,
        response: ControllerResponse::Topic(topic),
    })
}

fn topic_records(name: &str, topic: &TopicInfo) -> Vec<MetadataRecord> {
    let mut records = vec![MetadataRecord::Topic {
        name: name.to_string(),
        topic_id: topic.id,
    }];
    records.extend(topic.configs.iter().map(|(k, v)| MetadataRecord::Config {
        resource_type: CONFIG_RESOURCE_TOPIC,
        resource_name: name.to_string(),
        name: k.clone(),
        value: Some(v.clone()),
    }));
    records.extend(
        topic
            .partitions
            .iter()
            .enumerate()
            .map(|(i, p)| partition_record(topic.id, i as i32, p)),
    );
    records
}

fn partition_record(topic_id: Uuid, index: i32, p: &PartitionInfo) -> MetadataRecord {
    MetadataRecord::Partition {
        partition_id: index,
        topic_id,
        replicas: p.replicas.clone(),
        isr: p.isr.clone(),
        leader: p.leader,
        leader_epoch: p.leader_epoch,
        partition_epoch: p.partition_epoch,
    }
}

pub(super) fn delete(image: &ClusterImage, name: &str) -> Result<Decision, Refusal> {
    let topic = image.topics.get(name).ok_or_else(|| unknown_topic(name))?;
    Ok(Decision {
        records: vec![MetadataRecord::RemoveTopic { topic_id: topic.id }],
        response: ControllerResponse::Topic(topic.clone()),
    })
}

pub(super) fn add_partitions(
    image: &ClusterImage,
    name: &str,
    count: i32,
    validate_only: bool,
) -> Result<Decision, Refusal> {
    let topic = image.topics.get(name).ok_or_else(|| unknown_topic(name))?;
    let current = topic.partitions.len() as i32;
    if count <= current {
        let msg = format!(
            "Topic currently has {current} partitions, which is higher than the requested {count}."
        );
        return Err(Refusal::new(ResponseError::InvalidPartitions, msg));
    }
    if count > PARTITIONS_PER_TOPIC_MAX {
        return Err(Refusal::new(
            ResponseError::InvalidPartitions,
            "too many partitions",
        ));
    }
    let brokers = placement_order(image);
    let rf = topic.partitions.first().map_or(1, |p| p.replicas.len());
    if rf > brokers.len() {
        let msg = format!(
            "Replication factor: {rf} larger than available brokers: {}.",
            brokers.len()
        );
        return Err(Refusal::new(ResponseError::InvalidReplicationFactor, msg));
    }
    let mut grown = topic.clone();
    let start = placement_start(name, brokers.len());
    let mut records = Vec::new();
    for index in current..count {
        let p = PartitionInfo::assigned(&brokers, index + start, rf);
        records.push(partition_record(topic.id, index, &p));
        grown.partitions.push(p);
    }
    if validate_only {
        records.clear();
    }
    Ok(Decision {
        records,
        response: ControllerResponse::Topic(grown),
    })
}

pub(super) fn alter_configs(
    image: &ClusterImage,
    name: &str,
    configs: &BTreeMap<String, String>,
) -> Result<Decision, Refusal> {
    let topic = image.topics.get(name).ok_or_else(|| unknown_topic(name))?;
    let records = config_records(CONFIG_RESOURCE_TOPIC, name, &topic.configs, configs);
    let mut changed = topic.clone();
    changed.configs.clone_from(configs);
    Ok(Decision {
        records,
        response: ControllerResponse::Topic(changed),
    })
}

/// Dynamic broker configs (KIP-226) of broker `name`, or the cluster-wide default (`""`);
/// or the configs of group `name`.
pub(super) fn alter_resource_configs(
    image: &ClusterImage,
    resource_type: i8,
    name: &str,
    configs: &BTreeMap<String, String>,
) -> Result<Decision, Refusal> {
    let current = match resource_type {
        CONFIG_RESOURCE_BROKER => {
            let known = name.is_empty()
                || name
                    .parse::<i32>()
                    .is_ok_and(|id| image.brokers.contains_key(&id));
            if !known {
                return Err(Refusal::new(
                    ResponseError::InvalidRequest,
                    format!("Broker {name} is not registered."),
                ));
            }
            image.broker_configs.get(name)
        }
        CONFIG_RESOURCE_GROUP => image.group_configs.get(name),
        other => {
            return Err(Refusal::new(
                ResponseError::InvalidRequest,
                format!("Unsupported resource type {other}."),
            ))
        }
    };
    let current = current.cloned().unwrap_or_default();
    let records = config_records(resource_type, name, &current, configs);
    Ok(Decision {
        records,
        response: ControllerResponse::Configs(configs.clone()),
    })
}

/// The Config records that turn `current` into `next` for one resource.
fn config_records(
    resource_type: i8,
    name: &str,
    current: &BTreeMap<String, String>,
    next: &BTreeMap<String, String>,
) -> Vec<MetadataRecord> {
    let config = |key: &String, value: Option<&String>| MetadataRecord::Config {
        resource_type,
        resource_name: name.to_string(),
        name: key.clone(),
        value: value.cloned(),
    };
    let mut records: Vec<MetadataRecord> = current
        .keys()
        .filter(|k| !next.contains_key(*k))
        .map(|k| config(k, None))
        .collect();
    records.extend(
        next.iter()
            .filter(|(k, v)| current.get(*k) != Some(*v))
            .map(|(k, v)| config(k, Some(v))),
    );
    records
}

pub(super) fn producer_ids(image: &ClusterImage) -> Decision {
    let first = image.next_producer_id;
    Decision {
        records: vec![MetadataRecord::ProducerIds {
            broker_id: -1,
            broker_epoch: -1,
            next_producer_id: first + PRODUCER_ID_BLOCK,
        }],
        response: ControllerResponse::ProducerIds {
            first,
            count: PRODUCER_ID_BLOCK,
        },
    }
}

fn unknown_topic(name: &str) -> Refusal {
    Refusal::new(
        ResponseError::UnknownTopicOrPartition,
        format!("Topic '{name}' does not exist."),
    )
}

/// The live brokers in the order replicas are placed round-robin: by id, or, when every one
/// has a `broker.rack`, alternating between racks (Kafka's rack-aware order), so that the
/// replicas of a partition land on as many racks as there are.
fn placement_order(image: &ClusterImage) -> Vec<i32> {
    let live = image.live_brokers();
    let racks: Vec<Option<&String>> = live
        .iter()
        .map(|id| image.brokers.get(id).and_then(|b| b.rack.as_ref()))
        .collect();
    if live.is_empty() || racks.iter().any(Option::is_none) {
        return live;
    }
    let mut by_rack: BTreeMap<&String, Vec<i32>> = BTreeMap::new();
    for (id, rack) in live.iter().zip(&racks) {
        if let Some(rack) = rack {
            by_rack.entry(rack).or_default().push(*id);
        }
    }
    let mut order = Vec::with_capacity(live.len());
    for round in 0.. {
        let before = order.len();
        order.extend(by_rack.values().filter_map(|ids| ids.get(round).copied()));
        if order.len() == before {
            break;
        }
    }
    order
}

/// Where a topic's round-robin placement starts: spread by its name, so that the first
/// partitions of many topics do not all land on the first broker (Kafka starts at random).
fn placement_start(name: &str, brokers: usize) -> i32 {
    (crc32c::crc32c(name.as_bytes()) as usize % brokers.max(1)) as i32
}

/// Checks a topic creation against the image; returns the topic it would be.
pub fn plan_topic(image: &ClusterImage, spec: &TopicSpec) -> Result<TopicInfo, Refusal> {
    validate_topic_name(&spec.name)?;
    if image.topics.contains_key(&spec.name) {
        let msg = format!("Topic '{}' already exists.", spec.name);
        return Err(Refusal::new(ResponseError::TopicAlreadyExists, msg));
    }
    let brokers = placement_order(image);
    let partitions = if spec.assignments.is_empty() {
        planned_partitions(&brokers, spec)?
    } else {
        manual_partitions(image, &spec.assignments)?
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
    let start = placement_start(&spec.name, brokers.len());
    Ok((0..spec.partitions)
        .map(|p| PartitionInfo::assigned(brokers, p + start, rf as usize))
        .collect())
}

fn manual_partitions(
    image: &ClusterImage,
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
        if replicas.is_empty() || replicas.iter().any(|b| !image.brokers.contains_key(b)) {
            let msg = format!("Replica assignment {replicas:?} names an unknown broker.");
            return Err(Refusal::new(ResponseError::InvalidReplicaAssignment, msg));
        }
        let isr: Vec<i32> = replicas
            .iter()
            .copied()
            .filter(|r| image.brokers.get(r).is_some_and(|b| !b.fenced))
            .collect();
        out.push(PartitionInfo {
            leader: isr.first().copied().unwrap_or(-1),
            leader_epoch: 0,
            replicas: replicas.clone(),
            isr: if isr.is_empty() {
                replicas.clone()
            } else {
                isr
            },
            partition_epoch: 0,
            adding_replicas: Vec::new(),
            removing_replicas: Vec::new(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::records::EndPoint;

    fn cluster(racks: &[Option<&str>]) -> ClusterImage {
        let mut image = ClusterImage::new("c".into(), 0);
        for (id, rack) in racks.iter().enumerate() {
            image.apply(&MetadataRecord::RegisterBroker {
                broker_id: id as i32,
                incarnation_id: Uuid::new_v4(),
                broker_epoch: id as i64,
                end_points: vec![EndPoint {
                    name: "PLAINTEXT".into(),
                    host: "127.0.0.1".into(),
                    port: 9092,
                    security_protocol: 0,
                }],
                rack: rack.map(str::to_string),
                fenced: false,
            });
        }
        image
    }

    fn spec(rf: i16) -> TopicSpec {
        TopicSpec {
            name: "placed".into(),
            partitions: 12,
            replication_factor: rf,
            assignments: Vec::new(),
            configs: BTreeMap::new(),
            internal: false,
        }
    }

    #[test]
    fn replicas_spread_over_racks() {
        let racks = [
            Some("a"),
            Some("a"),
            Some("b"),
            Some("b"),
            Some("c"),
            Some("c"),
        ];
        let image = cluster(&racks);
        let topic = plan_topic(&image, &spec(3)).expect("planned");
        for p in &topic.partitions {
            let mut used: Vec<&str> = p
                .replicas
                .iter()
                .map(|r| racks[*r as usize].unwrap_or_default())
                .collect();
            used.sort_unstable();
            assert_eq!(used, vec!["a", "b", "c"], "{:?}", p.replicas);
        }
        let mut leaders: Vec<i32> = topic.partitions.iter().map(|p| p.leader).collect();
        leaders.sort_unstable();
        leaders.dedup();
        assert_eq!(leaders.len(), 6, "leaders spread over every broker");
    }

    #[test]
    fn too_few_brokers_is_invalid_replication_factor() {
        let image = cluster(&[None, None]);
        let refused = plan_topic(&image, &spec(3)).expect_err("refused");
        assert_eq!(refused.error, ResponseError::InvalidReplicationFactor);
    }
}
