//! The group coordinator: classic consumer groups (join, sync, heartbeat, leave), consumer
//! groups of KIP-848 (`consumer.rs`), their committed offsets (`offsets.rs`), and their
//! persistence as records of the internal compacted topic `__consumer_offsets`, from which the
//! coordinator loads its state on start.
//!
//! All groups sit behind one mutex, held for the length of one request's state change and the
//! append of its records; JoinGroup and SyncGroup answers that must wait are oneshot channels
//! the handler awaits after the lock is released. Time moves by [`GroupCoordinator::tick`].

pub mod assignor;
mod consumer;
pub mod consumer_group;
pub mod group;
mod log;
pub mod member;
mod offsets;
pub mod records;
pub mod transactions;
mod txn_offsets;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use bytes::Bytes;
use kafka_protocol::ResponseError;

pub use consumer::ConsumerGroupDescription;
use consumer_group::ConsumerGroup;
pub use consumer_group::{ConsumerSettings, Heartbeat, HeartbeatAnswer, TopicSource};
use group::Group;
pub use group::{GroupSettings, GroupState, Reply};
pub use log::{append_records, read_records, KeyValue, Logged, RecordLog, TxnProducer};
pub use member::{JoinRequest, JoinResult, JoinedMember, SyncResult};
use records::{GroupValue, OffsetValue, RecordKey};

/// The internal topic holding committed offsets and group metadata.
pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

/// The longest the group timers sleep between passes; they wake earlier for the next deadline.
pub const TICK_MS: u64 = 100;

/// Offset limits from the broker config (`offsets.*`, `offset.metadata.max.bytes`).
#[derive(Debug, Clone)]
pub struct OffsetSettings {
    pub retention_ms: i64,
    pub metadata_max_bytes: usize,
}

/// A group as ListGroups shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupListing {
    pub group_id: String,
    pub protocol_type: String,
    pub state: &'static str,
    /// `classic` or `consumer` (ListGroups v5).
    pub group_type: &'static str,
}

/// A member as DescribeGroups shows it.
#[derive(Debug, Clone)]
pub struct MemberDescription {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub metadata: Bytes,
    pub assignment: Bytes,
}

/// A group as DescribeGroups shows it.
#[derive(Debug, Clone)]
pub struct GroupDescription {
    pub state: GroupState,
    pub protocol_type: String,
    pub protocol: String,
    pub members: Vec<MemberDescription>,
}

/// One partition's offset to commit.
#[derive(Debug, Clone)]
pub struct OffsetCommit {
    pub topic: String,
    pub partition: i32,
    pub value: OffsetValue,
}

/// What a commit needs besides the offsets.
#[derive(Debug, Clone)]
pub struct CommitFrom {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub generation: i32,
}

/// The classic group coordinator of this broker.
#[derive(Debug)]
pub struct GroupCoordinator {
    settings: GroupSettings,
    offsets: OffsetSettings,
    consumer: ConsumerSettings,
    /// Partitions of `__consumer_offsets`; 0 until the topic exists.
    partitions: AtomicI32,
    groups: Mutex<Groups>,
}

/// Every group this broker coordinates, by protocol; a group id is in at most one of the
/// maps. `owned` are the partitions of `__consumer_offsets` whose groups these are.
#[derive(Debug, Default)]
struct Groups {
    classic: HashMap<String, Group>,
    consumer: HashMap<String, ConsumerGroup>,
    owned: HashSet<i32>,
    /// Partitions this broker leads and is still loading (COORDINATOR_LOAD_IN_PROGRESS).
    loading: HashSet<i32>,
    /// Loads begun and then cancelled by a resignation, until the load notices.
    load_cancelled: HashSet<i32>,
    /// Offsets committed in transactions not yet decided (TxnOffsetCommit): producer id →
    /// group → offsets. A COMMIT marker makes them the groups' offsets; an ABORT drops them.
    pending_txn: HashMap<i64, HashMap<String, group::Offsets>>,
}

impl Groups {
    /// For a load begun with `begin_loading`: whether it is still wanted (None: no load was
    /// begun, as at a single node's start).
    fn loading_wanted(&self, partition: i32) -> Option<bool> {
        if self.loading.contains(&partition) {
            Some(true)
        } else if self.load_cancelled.contains(&partition) {
            Some(false)
        } else {
            None
        }
    }
}

impl GroupCoordinator {
    pub fn new(
        settings: GroupSettings,
        offsets: OffsetSettings,
        consumer: ConsumerSettings,
    ) -> Self {
        GroupCoordinator {
            settings,
            offsets,
            consumer,
            partitions: AtomicI32::new(0),
            groups: Mutex::new(Groups::default()),
        }
    }

    /// Partitions of `__consumer_offsets` (0 while it does not exist).
    pub fn partitions(&self) -> i32 {
        self.partitions.load(Ordering::Acquire)
    }

    /// Records that `__consumer_offsets` exists with `partitions` partitions.
    pub fn set_partitions(&self, partitions: i32) {
        self.partitions.store(partitions, Ordering::Release);
    }

    /// The `__consumer_offsets` partition of a group.
    pub fn partition_for(&self, group_id: &str) -> i32 {
        records::partition_for(group_id, self.partitions())
    }

    fn lock(&self) -> MutexGuard<'_, Groups> {
        self.groups.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Loads every partition of `__consumer_offsets`, as a single broker that leads them all
    /// does; returns the number of groups.
    pub fn load(&self, log: &dyn RecordLog, partitions: i32) -> Result<usize, String> {
        self.set_partitions(partitions);
        let mut total = 0;
        for partition in 0..partitions {
            total += self.take_over(log, partition)?;
        }
        Ok(total)
    }

    /// Marks a partition this broker now leads as loading: its groups' requests are answered
    /// COORDINATOR_LOAD_IN_PROGRESS until [`Self::take_over`] has read it.
    pub fn begin_loading(&self, partition: i32) {
        let mut guard = self.lock();
        guard.load_cancelled.remove(&partition);
        guard.loading.insert(partition);
    }

    /// Whether `partition` is being loaded (a resignation cancels a load).
    pub fn is_loading(&self, partition: i32) -> bool {
        self.lock().loading.contains(&partition)
    }

    /// Becomes the coordinator of the groups of one `__consumer_offsets` partition (this
    /// broker now leads it): replays its records in offset order (a later record wins; a
    /// null value deletes) and serves those groups from then on. Returns how many it has.
    pub fn take_over(&self, log: &dyn RecordLog, partition: i32) -> Result<usize, String> {
        let records = log.read_all(partition)?;
        let now = Instant::now();
        let now_ms = crate::now_ms();
        let mut values: HashMap<String, Option<GroupValue>> = HashMap::new();
        let mut offsets: HashMap<String, group::Offsets> = HashMap::new();
        let mut pending: HashMap<i64, HashMap<String, group::Offsets>> = HashMap::new();
        for logged in records {
            let (key, value, txn) = match logged {
                Logged::Plain((key, value)) => (key, value, None),
                Logged::Txn {
                    producer_id,
                    record: (key, value),
                } => (key, value, Some(producer_id)),
                Logged::Marker {
                    producer_id,
                    commit,
                } => {
                    let decided = pending.remove(&producer_id).unwrap_or_default();
                    if commit {
                        for (group, map) in decided {
                            offsets.entry(group).or_default().extend(map);
                        }
                    }
                    continue;
                }
            };
            match RecordKey::decode(&key) {
                Ok(RecordKey::Offset {
                    group,
                    topic,
                    partition,
                }) => {
                    let map = match txn {
                        Some(pid) => pending.entry(pid).or_default().entry(group).or_default(),
                        None => offsets.entry(group).or_default(),
                    };
                    match value.map(|v| OffsetValue::decode(&v)) {
                        Some(Ok(v)) => {
                            map.insert((topic, partition), v);
                        }
                        None => {
                            map.remove(&(topic, partition));
                        }
                        Some(Err(e)) => tracing::warn!(error = %e, "unreadable offset record"),
                    }
                }
                Ok(RecordKey::Group { group }) => match value.map(|v| GroupValue::decode(&v)) {
                    Some(Ok(v)) => {
                        values.insert(group, Some(v));
                    }
                    None => {
                        values.insert(group.clone(), None);
                        offsets.remove(&group);
                    }
                    Some(Err(e)) => tracing::warn!(error = %e, "unreadable group record"),
                },
                Ok(RecordKey::Other(version)) => {
                    tracing::debug!(version, "record kind not kept by this coordinator");
                }
                Err(e) => tracing::warn!(error = %e, "unreadable key in __consumer_offsets"),
            }
        }
        let mut guard = self.lock();
        if let Some(false) = guard.loading_wanted(partition) {
            // Resigned while loading: another broker leads it now.
            guard.load_cancelled.remove(&partition);
            return Ok(0);
        }
        self.drop_partition(&mut guard, partition);
        let mut loaded = 0;
        for (id, value) in values {
            if let Some(value) = value {
                guard
                    .classic
                    .insert(id.clone(), Group::loaded(&id, value, now));
                loaded += 1;
            }
        }
        for (id, map) in offsets {
            if map.is_empty() {
                continue;
            }
            let group = guard.classic.entry(id.clone()).or_insert_with(|| {
                loaded += 1;
                Group::new(&id, now_ms)
            });
            group.offsets = map;
        }
        for (pid, groups) in pending {
            let entry = guard.pending_txn.entry(pid).or_default();
            entry.extend(groups);
        }
        guard.loading.remove(&partition);
        guard.load_cancelled.remove(&partition);
        guard.owned.insert(partition);
        Ok(loaded)
    }

    /// Stops coordinating the groups of a partition this broker no longer leads; their state
    /// stays in the log for the next leader.
    pub fn resign(&self, partition: i32) {
        let mut guard = self.lock();
        if guard.loading.remove(&partition) {
            guard.load_cancelled.insert(partition);
        }
        if guard.owned.remove(&partition) {
            self.drop_partition(&mut guard, partition);
        }
    }

    fn drop_partition(&self, groups: &mut Groups, partition: i32) {
        for pending in groups.pending_txn.values_mut() {
            pending.retain(|id, _| self.partition_for(id) != partition);
        }
        groups.pending_txn.retain(|_, p| !p.is_empty());
        groups
            .classic
            .retain(|id, _| self.partition_for(id) != partition);
        groups
            .consumer
            .retain(|id, _| self.partition_for(id) != partition);
    }

    /// Whether this broker coordinates the groups of `partition`.
    pub fn owns(&self, partition: i32) -> bool {
        self.lock().owned.contains(&partition)
    }

    /// NOT_COORDINATOR unless this broker coordinates `group_id` (the leader of its
    /// partition of `__consumer_offsets`), as a client must then find the coordinator again;
    /// COORDINATOR_LOAD_IN_PROGRESS while it loads that partition, as Kafka answers.
    pub fn owner_error(&self, group_id: &str) -> Option<ResponseError> {
        if self.partitions() == 0 {
            return Some(ResponseError::CoordinatorNotAvailable);
        }
        let partition = self.partition_for(group_id);
        let guard = self.lock();
        if guard.loading.contains(&partition) {
            Some(ResponseError::CoordinatorLoadInProgress)
        } else if guard.owned.contains(&partition) {
            None
        } else {
            Some(ResponseError::NotCoordinator)
        }
    }

    fn store(&self, log: &dyn RecordLog, group: &mut Group) {
        if !group.take_store() {
            return;
        }
        let key = RecordKey::Group {
            group: group.id.clone(),
        }
        .encode();
        let value = group.value().encode();
        if let Err(e) = log.append(self.partition_for(&group.id), vec![(key, Some(value))]) {
            tracing::error!(group = %group.id, error = ?e, "storing group metadata failed");
        }
    }

    fn check_session_timeout(&self, ms: i32) -> Result<(), ResponseError> {
        if ms < self.settings.min_session_timeout_ms || ms > self.settings.max_session_timeout_ms {
            Err(ResponseError::InvalidSessionTimeout)
        } else {
            Ok(())
        }
    }

    pub fn join(&self, log: &dyn RecordLog, request: &JoinRequest) -> Reply<JoinResult> {
        let fail = |e| Reply::Ready(JoinResult::error(e, &request.member_id));
        if request.group_id.is_empty() {
            return fail(ResponseError::InvalidGroupId);
        }
        if let Err(e) = self.check_session_timeout(request.session_timeout_ms) {
            return fail(e);
        }
        let mut guard = self.lock();
        if let Some(consumer) = guard.consumer.get(&request.group_id) {
            if !consumer.members.is_empty() {
                return fail(ResponseError::InconsistentGroupProtocol);
            }
            // An empty consumer group becomes a classic one, keeping its offsets.
            if let Some(old) = guard.consumer.remove(&request.group_id) {
                let mut classic = Group::new(&request.group_id, crate::now_ms());
                classic.offsets = old.offsets;
                guard.classic.insert(request.group_id.clone(), classic);
            }
        }
        let groups = &mut guard.classic;
        if !request.member_id.is_empty() && !groups.contains_key(&request.group_id) {
            return fail(ResponseError::UnknownMemberId);
        }
        let now_ms = crate::now_ms();
        let group = groups
            .entry(request.group_id.clone())
            .or_insert_with(|| Group::new(&request.group_id, now_ms));
        let reply = group.join(request, Instant::now(), now_ms, &self.settings);
        self.store(log, group);
        reply
    }

    #[allow(clippy::too_many_arguments)]
    pub fn sync(
        &self,
        log: &dyn RecordLog,
        group_id: &str,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        protocol_type: Option<&str>,
        protocol: Option<&str>,
        assignments: Vec<(String, Bytes)>,
    ) -> Reply<SyncResult> {
        let mut guard = self.lock();
        let Some(group) = guard.classic.get_mut(group_id) else {
            return Reply::Ready(SyncResult::error(ResponseError::UnknownMemberId));
        };
        let reply = group.sync(
            member_id,
            instance_id,
            generation,
            protocol_type,
            protocol,
            assignments,
            Instant::now(),
            crate::now_ms(),
        );
        self.store(log, group);
        reply
    }

    pub fn heartbeat(
        &self,
        group_id: &str,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
    ) -> Option<ResponseError> {
        let mut guard = self.lock();
        match guard.classic.get_mut(group_id) {
            Some(group) => group.heartbeat(member_id, instance_id, generation, Instant::now()),
            None => Some(ResponseError::UnknownMemberId),
        }
    }

    /// Removes members; one answer per member.
    pub fn leave(
        &self,
        log: &dyn RecordLog,
        group_id: &str,
        members: &[(String, Option<String>)],
    ) -> Result<Vec<Option<ResponseError>>, ResponseError> {
        let mut guard = self.lock();
        let Some(group) = guard.classic.get_mut(group_id) else {
            return Err(ResponseError::UnknownMemberId);
        };
        let now = Instant::now();
        let now_ms = crate::now_ms();
        let answers = members
            .iter()
            .map(|(id, instance)| group.leave(id, instance.as_deref(), now, now_ms))
            .collect();
        self.store(log, group);
        Ok(answers)
    }

    pub fn list(&self) -> Vec<GroupListing> {
        let groups = self.lock();
        let classic = groups
            .classic
            .values()
            .filter(|g| !g.is(GroupState::Dead))
            .map(|g| GroupListing {
                group_id: g.id.clone(),
                protocol_type: g.protocol_type.clone().unwrap_or_default(),
                state: g.state.name(),
                group_type: "classic",
            });
        let consumer = groups.consumer.values().map(|g| GroupListing {
            group_id: g.id.clone(),
            protocol_type: "consumer".to_string(),
            state: g.state_name(),
            group_type: "consumer",
        });
        let mut list: Vec<GroupListing> = classic.chain(consumer).collect();
        list.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        list
    }

    /// A group's description; None when it does not exist.
    pub fn describe(&self, group_id: &str) -> Option<GroupDescription> {
        let groups = self.lock();
        let g = groups
            .classic
            .get(group_id)
            .filter(|g| !g.is(GroupState::Dead))?;
        let stable = g.is(GroupState::Stable);
        let protocol = g.protocol.clone().unwrap_or_default();
        Some(GroupDescription {
            state: g.state,
            protocol_type: g.protocol_type.clone().unwrap_or_default(),
            protocol: if stable {
                protocol.clone()
            } else {
                String::new()
            },
            members: g
                .members
                .values()
                .map(|m| MemberDescription {
                    member_id: m.id.clone(),
                    instance_id: m.instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    metadata: if stable {
                        m.metadata(&protocol)
                    } else {
                        Bytes::new()
                    },
                    assignment: if stable {
                        m.assignment.clone()
                    } else {
                        Bytes::new()
                    },
                })
                .collect(),
        })
    }

    /// DeleteGroups for one group: only an empty group goes, with its offsets. Sessions that
    /// have ended are ended first, so a request arriving between a deadline and the timers'
    /// next pass sees the group as Kafka's exact timers would leave it.
    pub fn delete(&self, log: &dyn RecordLog, group_id: &str) -> Option<ResponseError> {
        let (now, now_ms) = (Instant::now(), crate::now_ms());
        let mut groups = self.lock();
        if let Some(g) = groups.classic.get_mut(group_id) {
            g.tick(now, now_ms);
            self.store(log, g);
        }
        if let Some(g) = groups.consumer.get_mut(group_id) {
            g.tick(now, now_ms);
        }
        if let Some(g) = groups.consumer.get(group_id) {
            if !g.members.is_empty() {
                return Some(ResponseError::NonEmptyGroup);
            }
            let keys: Vec<(String, i32)> = g.offsets.keys().cloned().collect();
            if let Err(e) = self.write_deletion(log, group_id, &keys, true) {
                return Some(e);
            }
            groups.consumer.remove(group_id);
            return None;
        }
        let group = match groups.classic.get_mut(group_id) {
            Some(g) if !g.is(GroupState::Dead) => g,
            _ => return Some(ResponseError::GroupIdNotFound),
        };
        if !group.is(GroupState::Empty) {
            return Some(ResponseError::NonEmptyGroup);
        }
        let keys: Vec<(String, i32)> = group.offsets.keys().cloned().collect();
        if let Err(e) = self.write_deletion(log, group_id, &keys, true) {
            return Some(e);
        }
        groups.classic.remove(group_id);
        None
    }

    /// Session expiry, the ends of join and sync phases, and consumer-group members that did
    /// not revoke in time.
    pub fn tick(&self, log: &dyn RecordLog) {
        let now = Instant::now();
        let now_ms = crate::now_ms();
        let mut groups = self.lock();
        for group in groups.classic.values_mut() {
            group.tick(now, now_ms);
            self.store(log, group);
        }
        for group in groups.consumer.values_mut() {
            group.tick(now, now_ms);
        }
    }

    /// When [`Self::tick`] next has work: the earliest deadline of any group, so that sessions
    /// end when they time out, as Kafka's timers end them, rather than at the next periodic
    /// pass.
    pub fn next_deadline(&self) -> Option<Instant> {
        let groups = self.lock();
        let classic = groups.classic.values().filter_map(|g| g.next_deadline());
        let consumer = groups.consumer.values().filter_map(|g| g.next_deadline());
        classic.chain(consumer).min()
    }
}

#[cfg(test)]
#[path = "coordinator_tests.rs"]
mod tests;
