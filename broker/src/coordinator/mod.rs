//! The group coordinator: classic consumer groups (join, sync, heartbeat, leave), their
//! committed offsets, and their persistence as records of the internal compacted topic
//! `__consumer_offsets`, from which the coordinator loads its state on start.
//!
//! All groups sit behind one mutex, held for the length of one request's state change and the
//! append of its records; JoinGroup and SyncGroup answers that must wait are oneshot channels
//! the handler awaits after the lock is released. Time moves by [`GroupCoordinator::tick`].

pub mod group;
mod log;
pub mod member;
pub mod records;

use std::collections::HashMap;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use bytes::Bytes;
use kafka_protocol::ResponseError;

use group::Group;
pub use group::{GroupSettings, GroupState, Reply};
pub use log::{KeyValue, RecordLog};
pub use member::{JoinRequest, JoinResult, JoinedMember, SyncResult};
use records::{GroupValue, OffsetValue, RecordKey};

/// The internal topic holding committed offsets and group metadata.
pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

/// How often sessions, join phases and sync phases are checked.
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
    pub state: GroupState,
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
    /// Partitions of `__consumer_offsets`; 0 until the topic exists.
    partitions: AtomicI32,
    groups: Mutex<HashMap<String, Group>>,
}

impl GroupCoordinator {
    pub fn new(settings: GroupSettings, offsets: OffsetSettings) -> Self {
        GroupCoordinator {
            settings,
            offsets,
            partitions: AtomicI32::new(0),
            groups: Mutex::new(HashMap::new()),
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

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Group>> {
        self.groups.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Rebuilds every group and committed offset from `__consumer_offsets`, replaying its
    /// records in offset order (a later record wins; a null value deletes).
    pub fn load(&self, log: &dyn RecordLog, partitions: i32) -> Result<usize, String> {
        self.set_partitions(partitions);
        let now = Instant::now();
        let mut groups = self.lock();
        groups.clear();
        let mut values: HashMap<String, Option<GroupValue>> = HashMap::new();
        let mut offsets: HashMap<String, group::Offsets> = HashMap::new();
        for partition in 0..partitions {
            for (key, value) in log.read_all(partition)? {
                match RecordKey::decode(&key) {
                    Ok(RecordKey::Offset {
                        group,
                        topic,
                        partition,
                    }) => {
                        let map = offsets.entry(group).or_default();
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
        }
        let now_ms = crate::now_ms();
        for (id, value) in values {
            if let Some(value) = value {
                groups.insert(id.clone(), Group::loaded(&id, value, now));
            }
        }
        for (id, map) in offsets {
            if map.is_empty() {
                continue;
            }
            let group = groups
                .entry(id.clone())
                .or_insert_with(|| Group::new(&id, now_ms));
            group.offsets = map;
        }
        Ok(groups.len())
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
        let mut groups = self.lock();
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
        let mut groups = self.lock();
        let Some(group) = groups.get_mut(group_id) else {
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
        let mut groups = self.lock();
        match groups.get_mut(group_id) {
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
        let mut groups = self.lock();
        let Some(group) = groups.get_mut(group_id) else {
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

    /// Commits offsets; a group-level refusal applies to every partition.
    pub fn commit(
        &self,
        log: &dyn RecordLog,
        group_id: &str,
        from: &CommitFrom,
        commits: Vec<OffsetCommit>,
    ) -> Result<Vec<Option<ResponseError>>, ResponseError> {
        if group_id.is_empty() {
            return Err(ResponseError::InvalidGroupId);
        }
        let mut groups = self.lock();
        let now_ms = crate::now_ms();
        if !groups.contains_key(group_id) {
            if from.generation >= 0 {
                return Err(ResponseError::IllegalGeneration);
            }
            groups.insert(group_id.to_string(), Group::new(group_id, now_ms));
        }
        let Some(group) = groups.get_mut(group_id) else {
            return Err(ResponseError::CoordinatorNotAvailable);
        };
        group.check_commit(
            &from.member_id,
            from.instance_id.as_deref(),
            from.generation,
            Instant::now(),
        )?;
        let mut answers = Vec::with_capacity(commits.len());
        let mut records = Vec::new();
        let mut accepted = Vec::new();
        for c in commits {
            if c.value.metadata.len() > self.offsets.metadata_max_bytes {
                answers.push(Some(ResponseError::OffsetMetadataTooLarge));
                continue;
            }
            answers.push(None);
            let key = RecordKey::Offset {
                group: group_id.to_string(),
                topic: c.topic.clone(),
                partition: c.partition,
            };
            records.push((key.encode(), Some(c.value.encode())));
            accepted.push(c);
        }
        if !records.is_empty() {
            log.append(self.partition_for(group_id), records)?;
        }
        for c in accepted {
            group.offsets.insert((c.topic, c.partition), c.value);
        }
        Ok(answers)
    }

    /// Committed offsets of a group: of the partitions asked, or of all when `topics` is None.
    pub fn fetch_offsets(
        &self,
        group_id: &str,
        topics: Option<&[(String, Vec<i32>)]>,
    ) -> Vec<(String, i32, Option<OffsetValue>)> {
        let groups = self.lock();
        let offsets = groups.get(group_id).map(|g| &g.offsets);
        match topics {
            Some(topics) => topics
                .iter()
                .flat_map(|(topic, parts)| {
                    parts.iter().map(move |p| {
                        let v = offsets.and_then(|o| o.get(&(topic.clone(), *p)).cloned());
                        (topic.clone(), *p, v)
                    })
                })
                .collect(),
            None => offsets
                .into_iter()
                .flatten()
                .map(|((t, p), v)| (t.clone(), *p, Some(v.clone())))
                .collect(),
        }
    }

    /// OffsetDelete: refused per partition while the group subscribes to the topic.
    pub fn delete_offsets(
        &self,
        log: &dyn RecordLog,
        group_id: &str,
        partitions: &[(String, i32)],
    ) -> Result<Vec<Option<ResponseError>>, ResponseError> {
        let mut groups = self.lock();
        let group = match groups.get_mut(group_id) {
            Some(g) if !g.is(GroupState::Dead) => g,
            _ => return Err(ResponseError::GroupIdNotFound),
        };
        let subscribed = if group.is(GroupState::Empty) {
            Some(Default::default())
        } else {
            group.subscribed_topics()
        };
        let Some(subscribed) = subscribed else {
            return Err(ResponseError::NonEmptyGroup);
        };
        let mut answers = Vec::with_capacity(partitions.len());
        let mut tombstones = Vec::new();
        for (topic, partition) in partitions {
            if subscribed.contains(topic) {
                answers.push(Some(ResponseError::GroupSubscribedToTopic));
                continue;
            }
            answers.push(None);
            if group.offsets.remove(&(topic.clone(), *partition)).is_some() {
                let key = RecordKey::Offset {
                    group: group_id.to_string(),
                    topic: topic.clone(),
                    partition: *partition,
                };
                tombstones.push((key.encode(), None));
            }
        }
        if !tombstones.is_empty() {
            log.append(self.partition_for(group_id), tombstones)?;
        }
        Ok(answers)
    }

    pub fn list(&self) -> Vec<GroupListing> {
        let groups = self.lock();
        let mut list: Vec<GroupListing> = groups
            .values()
            .filter(|g| !g.is(GroupState::Dead))
            .map(|g| GroupListing {
                group_id: g.id.clone(),
                protocol_type: g.protocol_type.clone().unwrap_or_default(),
                state: g.state,
            })
            .collect();
        list.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        list
    }

    /// A group's description; None when it does not exist.
    pub fn describe(&self, group_id: &str) -> Option<GroupDescription> {
        let groups = self.lock();
        let g = groups.get(group_id).filter(|g| !g.is(GroupState::Dead))?;
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

    /// DeleteGroups for one group: only an empty group goes, with its offsets.
    pub fn delete(&self, log: &dyn RecordLog, group_id: &str) -> Option<ResponseError> {
        let mut groups = self.lock();
        let group = match groups.get_mut(group_id) {
            Some(g) if !g.is(GroupState::Dead) => g,
            _ => return Some(ResponseError::GroupIdNotFound),
        };
        if !group.is(GroupState::Empty) {
            return Some(ResponseError::NonEmptyGroup);
        }
        if let Err(e) = self.write_deletion(log, group, None) {
            return Some(e);
        }
        group.mark_dead(crate::now_ms());
        groups.remove(group_id);
        None
    }

    /// Tombstones for the group's offsets (all, or those listed) and, when all go, its key.
    fn write_deletion(
        &self,
        log: &dyn RecordLog,
        group: &Group,
        only: Option<&[(String, i32)]>,
    ) -> Result<(), ResponseError> {
        let keys: Vec<(String, i32)> = match only {
            Some(list) => list.to_vec(),
            None => group.offsets.keys().cloned().collect(),
        };
        let mut records: Vec<(Bytes, Option<Bytes>)> = keys
            .into_iter()
            .map(|(topic, partition)| {
                let key = RecordKey::Offset {
                    group: group.id.clone(),
                    topic,
                    partition,
                };
                (key.encode(), None)
            })
            .collect();
        if only.is_none() {
            let key = RecordKey::Group {
                group: group.id.clone(),
            };
            records.push((key.encode(), None));
        }
        log.append(self.partition_for(&group.id), records)
    }

    /// Session expiry and the ends of join and sync phases.
    pub fn tick(&self, log: &dyn RecordLog) {
        let now = Instant::now();
        let now_ms = crate::now_ms();
        let mut groups = self.lock();
        for group in groups.values_mut() {
            group.tick(now, now_ms);
            self.store(log, group);
        }
    }

    /// offsets.retention.minutes (KIP-211): the offsets of a group that has been empty for the
    /// retention period expire, and so does the group with them; offsets committed outside any
    /// group expire that long after their commit; an explicit expire time is honoured.
    pub fn expire_offsets(&self, log: &dyn RecordLog, now_ms: i64) -> usize {
        let retention = self.offsets.retention_ms;
        let mut groups = self.lock();
        let mut expired_total = 0;
        let mut gone = Vec::new();
        for group in groups.values_mut() {
            let empty = group.is(GroupState::Empty);
            let managed = group.protocol_type.is_some();
            let expired: Vec<(String, i32)> = group
                .offsets
                .iter()
                .filter(|(_, v)| match v.expire_timestamp {
                    Some(at) => now_ms >= at,
                    None if empty && managed => now_ms - group.state_since_ms >= retention,
                    None if empty => now_ms - v.commit_timestamp >= retention,
                    None => false,
                })
                .map(|(k, _)| k.clone())
                .collect();
            if expired.is_empty() {
                continue;
            }
            let all = expired.len() == group.offsets.len() && empty;
            let only = if all { None } else { Some(expired.as_slice()) };
            if let Err(e) = self.write_deletion(log, group, only) {
                tracing::error!(group = %group.id, error = ?e, "expiring offsets failed");
                continue;
            }
            expired_total += expired.len();
            for k in &expired {
                group.offsets.remove(k);
            }
            if all {
                gone.push(group.id.clone());
            }
        }
        for id in gone {
            groups.remove(&id);
        }
        expired_total
    }
}

#[cfg(test)]
#[path = "coordinator_tests.rs"]
mod tests;
