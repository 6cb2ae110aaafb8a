//! The metadata image: what the replayed metadata log says the cluster is. Only
//! [`ClusterImage::apply`] changes it, one record at a time, as Kafka's `MetadataDelta` does.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::authorizer::{Acl, AclCache, AclOperation, PatternType, PermissionType, ResourceType};

use crate::security::scram::ScramCredential;
use crate::security::Mechanism;

use super::records::{
    EndPoint, MetadataRecord, CONFIG_RESOURCE_BROKER, CONFIG_RESOURCE_GROUP, CONFIG_RESOURCE_TOPIC,
};

/// Kafka's internal topics.
pub const INTERNAL_TOPICS: [&str; 2] = ["__consumer_offsets", "__transaction_state"];

/// A broker as clients see it, with its registration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BrokerInfo {
    pub node_id: i32,
    /// The address of its first listener.
    pub host: String,
    pub port: u16,
    /// Every listener it registered; clients are given the one their request came in on.
    #[serde(default)]
    pub end_points: Vec<EndPoint>,
    pub rack: Option<String>,
    /// The offset of its registration record; heartbeats must name it.
    #[serde(default)]
    pub epoch: i64,
    #[serde(default)]
    pub incarnation_id: Uuid,
    /// Fenced brokers lead nothing and are left out of Metadata.
    #[serde(default)]
    pub fenced: bool,
    #[serde(default)]
    pub in_controlled_shutdown: bool,
}

impl BrokerInfo {
    /// The address of its listener named `listener` (names compare as Kafka's `ListenerName`
    /// does, ignoring case). A registration from before listeners were kept has only its first
    /// address, which serves any listener.
    pub fn end_point(&self, listener: &str) -> Option<(&str, u16)> {
        if self.end_points.is_empty() {
            return Some((self.host.as_str(), self.port));
        }
        self.end_points
            .iter()
            .find(|e| e.name.eq_ignore_ascii_case(listener))
            .map(|e| (e.host.as_str(), e.port))
    }
}

/// One partition's placement and leadership.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PartitionInfo {
    /// -1 while no replica can lead (offline).
    pub leader: i32,
    /// Raised each time leadership changes; stamped into every batch the leader appends.
    pub leader_epoch: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    /// Raised by every change; AlterPartition names it to be applied.
    #[serde(default)]
    pub partition_epoch: i32,
    /// While a reassignment runs: the target's new replicas, and the old ones it drops.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub adding_replicas: Vec<i32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removing_replicas: Vec<i32>,
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
            partition_epoch: 0,
            adding_replicas: Vec::new(),
            removing_replicas: Vec::new(),
        }
    }

    /// Whether some live replica leads it.
    pub fn online(&self) -> bool {
        self.leader >= 0
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
    /// The active controller (the Raft leader), -1 when unknown.
    pub controller_id: i32,
    pub brokers: BTreeMap<i32, BrokerInfo>,
    pub topics: BTreeMap<String, TopicInfo>,
    /// Topic names by id, for the records that name topics by id.
    #[serde(default)]
    pub topic_names: BTreeMap<Uuid, String>,
    /// Dynamic broker configs by broker id ("" for the cluster-wide default).
    #[serde(default)]
    pub broker_configs: BTreeMap<String, BTreeMap<String, String>>,
    /// Group configs (Kafka 4.0's per-group overrides) by group id.
    #[serde(default)]
    pub group_configs: BTreeMap<String, BTreeMap<String, String>>,
    /// The next producer id the controller hands out.
    pub next_producer_id: i64,
    /// The ACLs (AccessControlEntry records), which every broker's authorizer reads.
    #[serde(default)]
    pub acls: AclCache,
    /// SCRAM credentials by user, then by mechanism type code (UserScramCredential records).
    #[serde(default)]
    pub scram_credentials: BTreeMap<String, BTreeMap<i8, ScramCredential>>,
}

impl ClusterImage {
    /// An empty cluster.
    pub fn new(cluster_id: String, controller_id: i32) -> Self {
        ClusterImage {
            cluster_id,
            controller_id,
            brokers: BTreeMap::new(),
            topics: BTreeMap::new(),
            topic_names: BTreeMap::new(),
            broker_configs: BTreeMap::new(),
            group_configs: BTreeMap::new(),
            next_producer_id: 1000,
            acls: AclCache::default(),
            scram_credentials: BTreeMap::new(),
        }
    }

    /// A user's stored SCRAM credential for `mechanism`.
    pub fn scram_credential(&self, user: &str, mechanism: Mechanism) -> Option<ScramCredential> {
        let code = mechanism.scram_type()?;
        self.scram_credentials.get(user)?.get(&code).cloned()
    }

    /// Looks a topic up by its id.
    pub fn topic_by_id(&self, id: &Uuid) -> Option<(&String, &TopicInfo)> {
        let name = self.topic_names.get(id)?;
        self.topics.get_key_value(name)
    }

    /// The ids of the brokers that may lead and host new replicas (registered, unfenced).
    /// The controller id clients are told (Metadata, DescribeCluster): the active controller
    /// when it is a live broker; otherwise, as Kafka answers when the controllers are nodes of
    /// their own that clients cannot reach, a live broker (the lowest id), which forwards what
    /// is meant for the controller. -1 with no live broker.
    pub fn client_controller_id(&self) -> i32 {
        let live = |id: i32| self.brokers.get(&id).is_some_and(|b| !b.fenced);
        if live(self.controller_id) {
            return self.controller_id;
        }
        self.brokers
            .values()
            .find(|b| !b.fenced)
            .map_or(-1, |b| b.node_id)
    }

    pub fn live_brokers(&self) -> Vec<i32> {
        self.brokers
            .values()
            .filter(|b| !b.fenced)
            .map(|b| b.node_id)
            .collect()
    }

    /// Replays one record. Records the controller wrote are valid against the image they
    /// were written for; one that names an unknown topic or broker changes nothing.
    pub fn apply(&mut self, record: &MetadataRecord) {
        match record {
            MetadataRecord::RegisterBroker {
                broker_id,
                incarnation_id,
                broker_epoch,
                end_points,
                rack,
                fenced,
            } => {
                let Some(end_point) = end_points.first() else {
                    return;
                };
                let info = BrokerInfo {
                    node_id: *broker_id,
                    host: end_point.host.clone(),
                    port: end_point.port,
                    end_points: end_points.clone(),
                    rack: rack.clone(),
                    epoch: *broker_epoch,
                    incarnation_id: *incarnation_id,
                    fenced: *fenced,
                    in_controlled_shutdown: false,
                };
                self.brokers.insert(*broker_id, info);
            }
            MetadataRecord::UnregisterBroker { broker_id, .. } => {
                self.brokers.remove(broker_id);
            }
            MetadataRecord::FenceBroker { id, epoch } => self.set_fenced(*id, *epoch, true),
            MetadataRecord::UnfenceBroker { id, epoch } => self.set_fenced(*id, *epoch, false),
            MetadataRecord::BrokerRegistrationChange {
                broker_id,
                broker_epoch,
                in_controlled_shutdown,
            } => {
                if let Some(b) = self.brokers.get_mut(broker_id) {
                    if b.epoch == *broker_epoch {
                        b.in_controlled_shutdown = *in_controlled_shutdown;
                    }
                }
            }
            MetadataRecord::Topic { name, topic_id } => {
                self.topic_names.insert(*topic_id, name.clone());
                self.topics.insert(
                    name.clone(),
                    TopicInfo {
                        id: *topic_id,
                        partitions: Vec::new(),
                        configs: BTreeMap::new(),
                        internal: INTERNAL_TOPICS.contains(&name.as_str()),
                    },
                );
            }
            MetadataRecord::Partition {
                partition_id,
                topic_id,
                replicas,
                isr,
                leader,
                leader_epoch,
                partition_epoch,
            } => {
                let Some(topic) = self.topic_mut(topic_id) else {
                    return;
                };
                let info = PartitionInfo {
                    leader: *leader,
                    leader_epoch: *leader_epoch,
                    replicas: replicas.clone(),
                    isr: isr.clone(),
                    partition_epoch: *partition_epoch,
                    adding_replicas: Vec::new(),
                    removing_replicas: Vec::new(),
                };
                let index = usize::try_from(*partition_id).unwrap_or(usize::MAX);
                match index.cmp(&topic.partitions.len()) {
                    std::cmp::Ordering::Less => topic.partitions[index] = info,
                    std::cmp::Ordering::Equal => topic.partitions.push(info),
                    std::cmp::Ordering::Greater => {}
                }
            }
            MetadataRecord::PartitionChange {
                partition_id,
                topic_id,
                isr,
                leader,
                replicas,
                adding_replicas,
                removing_replicas,
            } => {
                let Some(p) = self
                    .topic_mut(topic_id)
                    .and_then(|t| t.partitions.get_mut(usize::try_from(*partition_id).ok()?))
                else {
                    return;
                };
                if let Some(isr) = isr {
                    p.isr.clone_from(isr);
                }
                if let Some(replicas) = replicas {
                    p.replicas.clone_from(replicas);
                }
                if let Some(adding) = adding_replicas {
                    p.adding_replicas.clone_from(adding);
                }
                if let Some(removing) = removing_replicas {
                    p.removing_replicas.clone_from(removing);
                }
                if let Some(leader) = leader {
                    if *leader != p.leader {
                        p.leader = *leader;
                        p.leader_epoch += 1;
                    }
                }
                p.partition_epoch += 1;
            }
            MetadataRecord::RemoveTopic { topic_id } => {
                if let Some(name) = self.topic_names.remove(topic_id) {
                    self.topics.remove(&name);
                }
            }
            MetadataRecord::Config {
                resource_type,
                resource_name,
                name,
                value,
            } => {
                let configs = match *resource_type {
                    CONFIG_RESOURCE_TOPIC => match self.topics.get_mut(resource_name) {
                        Some(t) => &mut t.configs,
                        None => return,
                    },
                    CONFIG_RESOURCE_BROKER => self
                        .broker_configs
                        .entry(resource_name.clone())
                        .or_default(),
                    CONFIG_RESOURCE_GROUP => {
                        self.group_configs.entry(resource_name.clone()).or_default()
                    }
                    _ => return,
                };
                match value {
                    Some(v) => configs.insert(name.clone(), v.clone()),
                    None => configs.remove(name),
                };
            }
            MetadataRecord::ProducerIds {
                next_producer_id, ..
            } => {
                self.next_producer_id = self.next_producer_id.max(*next_producer_id);
            }
            MetadataRecord::AccessControlEntry { id, .. } => match acl_of(record) {
                Some(acl) => self.acls.insert(*id, acl),
                None => tracing::warn!(%id, "an ACL record with unknown codes was skipped"),
            },
            MetadataRecord::RemoveAccessControlEntry { id } => {
                let _ = self.acls.remove(id);
            }
            MetadataRecord::UserScramCredential {
                name,
                mechanism,
                salt,
                stored_key,
                server_key,
                iterations,
            } => {
                let credential = ScramCredential {
                    salt: salt.clone(),
                    stored_key: stored_key.clone(),
                    server_key: server_key.clone(),
                    iterations: *iterations,
                };
                let user = self.scram_credentials.entry(name.clone()).or_default();
                user.insert(*mechanism, credential);
            }
            MetadataRecord::RemoveUserScramCredential { name, mechanism } => {
                if let Some(user) = self.scram_credentials.get_mut(name) {
                    user.remove(mechanism);
                    if user.is_empty() {
                        self.scram_credentials.remove(name);
                    }
                }
            }
        }
    }

    fn topic_mut(&mut self, id: &Uuid) -> Option<&mut TopicInfo> {
        let name = self.topic_names.get(id)?;
        self.topics.get_mut(name)
    }

    fn set_fenced(&mut self, id: i32, epoch: i64, fenced: bool) {
        if let Some(b) = self.brokers.get_mut(&id) {
            if b.epoch == epoch {
                b.fenced = fenced;
                if !fenced {
                    b.in_controlled_shutdown = false;
                }
            }
        }
    }
}

/// The ACL an AccessControlEntry record holds; `None` for codes Kafka does not define (the
/// controller writes only valid ones).
fn acl_of(record: &MetadataRecord) -> Option<Acl> {
    let MetadataRecord::AccessControlEntry {
        resource_type,
        resource_name,
        pattern_type,
        principal,
        host,
        operation,
        permission_type,
        ..
    } = record
    else {
        return None;
    };
    Some(Acl {
        resource_type: ResourceType::from_code(*resource_type)?,
        resource_name: resource_name.clone(),
        pattern_type: PatternType::from_code(*pattern_type)?,
        principal: principal.clone(),
        host: host.clone(),
        operation: AclOperation::from_code(*operation)?,
        permission_type: PermissionType::from_code(*permission_type)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_replay_into_topics_and_leadership() {
        let mut image = ClusterImage::new("c".into(), 1);
        let id = Uuid::new_v4();
        image.apply(&MetadataRecord::Topic {
            name: "t".into(),
            topic_id: id,
        });
        image.apply(&MetadataRecord::Partition {
            partition_id: 0,
            topic_id: id,
            replicas: vec![1, 2, 3],
            isr: vec![1, 2, 3],
            leader: 1,
            leader_epoch: 0,
            partition_epoch: 0,
        });
        image.apply(&MetadataRecord::PartitionChange {
            partition_id: 0,
            topic_id: id,
            isr: Some(vec![2, 3]),
            leader: Some(2),
            replicas: None,
            adding_replicas: None,
            removing_replicas: None,
        });
        let p = &image.topics["t"].partitions[0];
        assert_eq!((p.leader, p.leader_epoch, p.partition_epoch), (2, 1, 1));
        assert_eq!(p.isr, vec![2, 3]);
        image.apply(&MetadataRecord::PartitionChange {
            partition_id: 0,
            topic_id: id,
            isr: Some(vec![2, 3, 1]),
            leader: None,
            replicas: None,
            adding_replicas: None,
            removing_replicas: None,
        });
        let p = &image.topics["t"].partitions[0];
        assert_eq!((p.leader, p.leader_epoch, p.partition_epoch), (2, 1, 2));
        image.apply(&MetadataRecord::RemoveTopic { topic_id: id });
        assert!(image.topics.is_empty() && image.topic_names.is_empty());
    }
}
