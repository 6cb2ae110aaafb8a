//! The records of the metadata log, named and shaped as Kafka's `metadata/*.json` records are
//! (KIP-631): what the controller writes and every broker replays into its image.
//!
//! Kafka encodes these with its own schema in `__cluster_metadata-0`; here each entry of the
//! Raft log holds a batch of them as JSON, so the names and fields are Kafka's and the bytes
//! are not.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::security::Secret;

/// Kafka's `ConfigResource.Type` numbers, as ConfigRecord stores them.
pub const CONFIG_RESOURCE_TOPIC: i8 = 2;
pub const CONFIG_RESOURCE_BROKER: i8 = 4;
pub const CONFIG_RESOURCE_GROUP: i8 = 32;

/// One listener of a registered broker.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EndPoint {
    pub name: String,
    pub host: String,
    pub port: u16,
    pub security_protocol: i16,
}

/// A metadata record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "type")]
pub enum MetadataRecord {
    /// A broker joins (fenced until it has caught up); `broker_epoch` is the offset of this
    /// record in the metadata log, so every registration has a new one.
    RegisterBroker {
        broker_id: i32,
        incarnation_id: Uuid,
        broker_epoch: i64,
        end_points: Vec<EndPoint>,
        rack: Option<String>,
        fenced: bool,
    },
    UnregisterBroker {
        broker_id: i32,
        broker_epoch: i64,
    },
    FenceBroker {
        id: i32,
        epoch: i64,
    },
    UnfenceBroker {
        id: i32,
        epoch: i64,
    },
    /// KIP-841's registration change: entering controlled shutdown.
    BrokerRegistrationChange {
        broker_id: i32,
        broker_epoch: i64,
        in_controlled_shutdown: bool,
    },
    Topic {
        name: String,
        topic_id: Uuid,
    },
    Partition {
        partition_id: i32,
        topic_id: Uuid,
        replicas: Vec<i32>,
        isr: Vec<i32>,
        leader: i32,
        leader_epoch: i32,
        partition_epoch: i32,
    },
    /// A change of leader, ISR or replicas; absent fields are unchanged. A new leader raises
    /// the leader epoch; every change raises the partition epoch.
    PartitionChange {
        partition_id: i32,
        topic_id: Uuid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        isr: Option<Vec<i32>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        leader: Option<i32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        replicas: Option<Vec<i32>>,
        /// A reassignment's replicas being added and removed (empty: none in progress).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        adding_replicas: Option<Vec<i32>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        removing_replicas: Option<Vec<i32>>,
    },
    RemoveTopic {
        topic_id: Uuid,
    },
    /// A config set (`value` Some) or removed (None) on a topic or broker resource; a broker
    /// resource with an empty name is the cluster-wide default.
    Config {
        resource_type: i8,
        resource_name: String,
        name: String,
        value: Option<String>,
    },
    /// The next producer id the controller will hand out (a block was given to a broker).
    ProducerIds {
        broker_id: i32,
        broker_epoch: i64,
        next_producer_id: i64,
    },
    /// An ACL (Kafka's AccessControlEntryRecord, metadata record type 18), with the codes of
    /// Kafka's ResourceType, PatternType, AclOperation and AclPermissionType.
    AccessControlEntry {
        id: Uuid,
        resource_type: i8,
        resource_name: String,
        pattern_type: i8,
        principal: String,
        host: String,
        operation: i8,
        permission_type: i8,
    },
    /// An ACL removed (RemoveAccessControlEntryRecord, type 19).
    RemoveAccessControlEntry {
        id: Uuid,
    },
    /// A user's SCRAM credential for one mechanism (Kafka's UserScramCredentialRecord, type
    /// 11): the mechanism's type code (1 SCRAM-SHA-256, 2 SCRAM-SHA-512), salt, StoredKey,
    /// ServerKey and iterations, never the password. Replaces any earlier one.
    UserScramCredential {
        name: String,
        mechanism: i8,
        salt: Secret,
        stored_key: Secret,
        server_key: Secret,
        iterations: i32,
    },
    /// A user's SCRAM credential for one mechanism removed (RemoveUserScramCredentialRecord).
    RemoveUserScramCredential {
        name: String,
        mechanism: i8,
    },
}
