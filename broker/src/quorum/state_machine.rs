//! The state machine of the metadata quorum: committed records replayed into the
//! [`ClusterImage`], and each change handed to the broker's listener (Kafka's metadata
//! publishers) on a thread of its own; whoever waits for a change's offset to be published
//! sees its effects. Snapshots are the image as JSON in `snapshot.json`.

use std::collections::BTreeSet;
use std::io::{self, Cursor};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use openraft::storage::RaftStateMachine;
use openraft::{
    EntryPayload, LogId, OptionalSend, RaftSnapshotBuilder, Snapshot, SnapshotMeta, StorageError,
    StorageIOError, StoredMembership,
};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::log_store::write_atomically;
use super::{Applied, Entry, Node, NodeId, TypeConfig};
use crate::cluster::records::{MetadataRecord, CONFIG_RESOURCE_BROKER, CONFIG_RESOURCE_TOPIC};
use crate::cluster::{ClusterImage, TopicInfo};

const SNAPSHOT_FILE: &str = "snapshot.json";

/// What one applied batch changed, for the listener.
#[derive(Debug, Default)]
pub struct Delta {
    /// A snapshot replaced the image: look at everything.
    pub everything: bool,
    /// Partitions created or changed, by topic name and index.
    pub partitions: BTreeSet<(String, i32)>,
    /// Topics removed, as they were.
    pub removed_topics: Vec<(String, TopicInfo)>,
    /// Topics whose configs changed.
    pub topic_configs: BTreeSet<String>,
    /// Some broker registered, was fenced or unfenced.
    pub brokers: bool,
    /// Some dynamic broker config changed.
    pub broker_configs: bool,
}

impl Delta {
    fn everything() -> Self {
        Delta {
            everything: true,
            ..Delta::default()
        }
    }

    /// Adds a later change to this one.
    fn merge(&mut self, later: Delta) {
        self.everything |= later.everything;
        self.partitions.extend(later.partitions);
        self.removed_topics.extend(later.removed_topics);
        self.topic_configs.extend(later.topic_configs);
        self.brokers |= later.brokers;
        self.broker_configs |= later.broker_configs;
    }

    fn is_empty(&self) -> bool {
        !self.everything
            && !self.brokers
            && self.partitions.is_empty()
            && self.removed_topics.is_empty()
            && self.topic_configs.is_empty()
            && !self.broker_configs
    }

    fn note(&mut self, image: &ClusterImage, record: &MetadataRecord) {
        match record {
            MetadataRecord::Partition {
                topic_id,
                partition_id,
                ..
            }
            | MetadataRecord::PartitionChange {
                topic_id,
                partition_id,
                ..
            } => {
                if let Some(name) = image.topic_names.get(topic_id) {
                    let _ = self.partitions.insert((name.clone(), *partition_id));
                }
            }
            MetadataRecord::RemoveTopic { topic_id } => {
                if let Some((name, info)) = image.topic_by_id(topic_id) {
                    self.removed_topics.push((name.clone(), info.clone()));
                }
            }
            MetadataRecord::Config {
                resource_type: CONFIG_RESOURCE_TOPIC,
                resource_name,
                ..
            } => {
                let _ = self.topic_configs.insert(resource_name.clone());
            }
            MetadataRecord::RegisterBroker { .. }
            | MetadataRecord::UnregisterBroker { .. }
            | MetadataRecord::FenceBroker { .. }
            | MetadataRecord::UnfenceBroker { .. }
            | MetadataRecord::BrokerRegistrationChange { .. } => self.brokers = true,
            MetadataRecord::Config {
                resource_type: CONFIG_RESOURCE_BROKER,
                ..
            } => self.broker_configs = true,
            MetadataRecord::Topic { .. }
            | MetadataRecord::Config { .. }
            | MetadataRecord::ProducerIds { .. } => {}
            // The authorizer reads ACLs from the image at each decision.
            MetadataRecord::AccessControlEntry { .. }
            | MetadataRecord::RemoveAccessControlEntry { .. } => {}
            // Authentication reads SCRAM credentials from the image at each login.
            MetadataRecord::UserScramCredential { .. }
            | MetadataRecord::RemoveUserScramCredential { .. } => {}
        }
    }
}

/// Reacts to metadata changes (the broker opens logs, changes leadership, starts fetchers).
pub trait MetadataListener: Send + Sync + std::fmt::Debug {
    fn publish(&self, image: &ClusterImage, delta: &Delta);
}

/// The image and the applied offset, shared by the state machine and the broker.
///
/// The broker's reaction to a change (opening thousands of logs for a new topic, say) runs on
/// a thread of its own, so that the Raft tasks never wait on the disk for it; `published` is
/// the offset whose changes it has finished, which is what a broker waits for after a change
/// it asked for.
#[derive(Debug)]
pub struct MetadataState {
    image: RwLock<ClusterImage>,
    applied: watch::Sender<u64>,
    published: watch::Sender<u64>,
    publisher: Mutex<Option<std::sync::mpsc::Sender<(u64, Delta)>>>,
}

impl MetadataState {
    fn new(image: ClusterImage, applied: u64) -> Self {
        MetadataState {
            image: RwLock::new(image),
            applied: watch::channel(applied).0,
            published: watch::channel(applied).0,
            publisher: Mutex::new(None),
        }
    }

    /// Reads the image.
    pub fn read<T>(&self, f: impl FnOnce(&ClusterImage) -> T) -> T {
        let guard = self.image.read().unwrap_or_else(|p| p.into_inner());
        f(&guard)
    }

    fn write<T>(&self, f: impl FnOnce(&mut ClusterImage) -> T) -> T {
        let mut guard = self.image.write().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    /// Sets the active controller shown to clients.
    pub fn set_controller(&self, id: i32) {
        self.write(|image| image.controller_id = id);
    }

    /// The offset of the last applied entry.
    pub fn applied(&self) -> u64 {
        *self.applied.borrow()
    }

    /// Watches the applied offset.
    pub fn watch_applied(&self) -> watch::Receiver<u64> {
        self.applied.subscribe()
    }

    /// The offset whose changes the broker has taken in.
    pub fn published(&self) -> u64 {
        *self.published.borrow()
    }

    /// Watches the offset whose changes the broker has taken in.
    pub fn watch_published(&self) -> watch::Receiver<u64> {
        self.published.subscribe()
    }

    /// Installs the listener: it looks at the whole image at once, here, and then at every
    /// change on its own thread, in order, so that no change falls between.
    pub fn set_listener(self: &Arc<Self>, listener: Arc<dyn MetadataListener>) {
        let mut slot = self.publisher.lock().unwrap_or_else(|p| p.into_inner());
        self.read(|image| listener.publish(image, &Delta::everything()));
        self.published.send_replace(self.applied());
        let (tx, rx) = std::sync::mpsc::channel::<(u64, Delta)>();
        let state = Arc::downgrade(self);
        let spawned = std::thread::Builder::new()
            .name("metadata-publisher".into())
            .spawn(move || {
                while let Ok((mut offset, mut delta)) = rx.recv() {
                    // Changes that queued up meanwhile are taken in together.
                    while let Ok((next, more)) = rx.try_recv() {
                        offset = next;
                        delta.merge(more);
                    }
                    let Some(state) = state.upgrade() else {
                        return;
                    };
                    // A copy, so that the state machine never waits for this to finish.
                    let image = state.read(Clone::clone);
                    listener.publish(&image, &delta);
                    state.published.send_replace(offset);
                }
            });
        match spawned {
            Ok(_) => *slot = Some(tx),
            Err(e) => tracing::error!(error = %e, "could not start the metadata publisher"),
        }
    }

    /// Hands a change to the publisher, or marks it published when there is none yet.
    fn publish(&self, offset: u64, delta: Delta) {
        let slot = self.publisher.lock().unwrap_or_else(|p| p.into_inner());
        match slot.as_ref() {
            Some(tx) if !delta.is_empty() => {
                if tx.send((offset, delta)).is_err() {
                    self.published.send_replace(offset);
                }
            }
            _ => {
                self.published.send_replace(offset);
            }
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredSnapshot {
    meta: SnapshotMeta<NodeId, Node>,
    image: ClusterImage,
}

/// openraft's state machine over [`MetadataState`].
#[derive(Debug)]
pub struct StateMachine {
    dir: PathBuf,
    state: Arc<MetadataState>,
    last_applied: Option<LogId<NodeId>>,
    membership: StoredMembership<NodeId, Node>,
    snapshot: Option<StoredSnapshot>,
}

impl StateMachine {
    /// Loads the latest snapshot from `dir`, or starts from `initial`.
    pub fn open(dir: &Path, initial: ClusterImage) -> io::Result<Self> {
        let snapshot: Option<StoredSnapshot> = match std::fs::read(dir.join(SNAPSHOT_FILE)) {
            Ok(bytes) => Some(serde_json::from_slice(&bytes).map_err(io::Error::other)?),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let (image, last_applied, membership) = match &snapshot {
            Some(s) => (
                s.image.clone(),
                s.meta.last_log_id,
                s.meta.last_membership.clone(),
            ),
            None => (initial, None, StoredMembership::default()),
        };
        let applied = last_applied.map_or(0, |l| l.index);
        Ok(StateMachine {
            dir: dir.to_path_buf(),
            state: Arc::new(MetadataState::new(image, applied)),
            last_applied,
            membership,
            snapshot,
        })
    }

    /// The shared image.
    pub fn state(&self) -> Arc<MetadataState> {
        self.state.clone()
    }
}

fn read_error(e: impl std::error::Error + 'static) -> StorageError<NodeId> {
    StorageIOError::read_state_machine(&e).into()
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachine {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError<NodeId>> {
        let image = self.state.read(Clone::clone);
        let id = self.last_applied.map_or_else(
            || "0-0".to_string(),
            |l| format!("{}-{}", l.leader_id, l.index),
        );
        let stored = StoredSnapshot {
            meta: SnapshotMeta {
                last_log_id: self.last_applied,
                last_membership: self.membership.clone(),
                snapshot_id: id,
            },
            image,
        };
        let bytes = serde_json::to_vec(&stored).map_err(read_error)?;
        write_atomically(&self.dir.join(SNAPSHOT_FILE), &bytes)
            .map_err(|e| StorageIOError::write_snapshot(Some(stored.meta.signature()), &e))?;
        let meta = stored.meta.clone();
        self.snapshot = Some(stored);
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(bytes)),
        })
    }
}

/// The snapshot builder works on a copy taken when openraft asks for it.
#[derive(Debug)]
pub struct Builder(StateMachine);

impl RaftSnapshotBuilder<TypeConfig> for Builder {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError<NodeId>> {
        self.0.build_snapshot().await
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = Builder;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId<NodeId>>, StoredMembership<NodeId, Node>), StorageError<NodeId>> {
        Ok((self.last_applied, self.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Applied>, StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut out = Vec::new();
        let mut delta = Delta::default();
        for entry in entries {
            let index = entry.log_id.index;
            match entry.payload {
                EntryPayload::Blank => {}
                EntryPayload::Normal(batch) => self.state.write(|image| {
                    for mut record in batch.records {
                        if let MetadataRecord::RegisterBroker { broker_epoch, .. } = &mut record {
                            // A broker's epoch is the offset of its registration.
                            *broker_epoch = index as i64;
                        }
                        delta.note(image, &record);
                        image.apply(&record);
                    }
                }),
                EntryPayload::Membership(m) => {
                    self.membership = StoredMembership::new(Some(entry.log_id), m);
                }
            }
            self.last_applied = Some(entry.log_id);
            out.push(Applied { index });
        }
        if let Some(last) = self.last_applied {
            self.state.applied.send_replace(last.index);
            self.state.publish(last.index, delta);
        }
        Ok(out)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        Builder(StateMachine {
            dir: self.dir.clone(),
            state: Arc::new(MetadataState::new(
                self.state.read(Clone::clone),
                self.state.applied(),
            )),
            last_applied: self.last_applied,
            membership: self.membership.clone(),
            snapshot: None,
        })
    }

    async fn begin_receiving_snapshot(
        &mut self,
    ) -> Result<Box<Cursor<Vec<u8>>>, StorageError<NodeId>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, Node>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError<NodeId>> {
        let bytes = snapshot.into_inner();
        let stored: StoredSnapshot = serde_json::from_slice(&bytes)
            .map_err(|e| StorageIOError::read_snapshot(Some(meta.signature()), &e))?;
        write_atomically(&self.dir.join(SNAPSHOT_FILE), &bytes)
            .map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), &e))?;
        let controller = self.state.read(|i| i.controller_id);
        self.state.write(|image| {
            *image = stored.image.clone();
            image.controller_id = controller;
        });
        self.last_applied = meta.last_log_id;
        self.membership = meta.last_membership.clone();
        self.snapshot = Some(stored);
        let offset = meta.last_log_id.map_or(0, |l| l.index);
        self.state.applied.send_replace(offset);
        self.state.publish(offset, Delta::everything());
        Ok(())
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> Result<Option<Snapshot<TypeConfig>>, StorageError<NodeId>> {
        let Some(stored) = &self.snapshot else {
            return Ok(None);
        };
        let bytes = serde_json::to_vec(stored).map_err(read_error)?;
        Ok(Some(Snapshot {
            meta: stored.meta.clone(),
            snapshot: Box::new(Cursor::new(bytes)),
        }))
    }
}
