//! Committed offsets of both kinds of group: commit (with the group's own member checks),
//! fetch, delete, and expiry after `offsets.retention.minutes` (KIP-211). Every change is a
//! record of `__consumer_offsets` first and a change of memory second.

use std::collections::HashSet;
use std::time::Instant;

use bytes::Bytes;
use kafka_protocol::ResponseError;

use super::group::{Group, GroupState, Offsets};
use super::records::{OffsetValue, RecordKey};
use super::{CommitFrom, GroupCoordinator, KeyValue, OffsetCommit, RecordLog};

impl GroupCoordinator {
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
        if commits.is_empty() {
            // Nothing to store (the handler refused every partition): no group appears.
            return Ok(Vec::new());
        }
        let mut guard = self.lock();
        let groups = &mut *guard;
        let offsets: &mut Offsets = if let Some(g) = groups.consumer.get_mut(group_id) {
            g.check_commit(&from.member_id, from.generation)?;
            &mut g.offsets
        } else {
            if !groups.classic.contains_key(group_id) {
                if from.generation >= 0 {
                    return Err(ResponseError::IllegalGeneration);
                }
                let group = Group::new(group_id, crate::now_ms());
                groups.classic.insert(group_id.to_string(), group);
            }
            let Some(group) = groups.classic.get_mut(group_id) else {
                return Err(ResponseError::CoordinatorNotAvailable);
            };
            group.check_commit(
                &from.member_id,
                from.instance_id.as_deref(),
                from.generation,
                Instant::now(),
            )?;
            &mut group.offsets
        };
        let (answers, records, accepted) = self.offset_records(group_id, commits);
        if !records.is_empty() {
            log.append(self.partition_for(group_id), records)?;
        }
        for c in accepted {
            offsets.insert((c.topic, c.partition), c.value);
        }
        Ok(answers)
    }

    /// The records of a commit: one answer per offset (metadata longer than
    /// `offset.metadata.max.bytes` is refused), the records to write and the offsets they hold.
    pub(super) fn offset_records(
        &self,
        group_id: &str,
        commits: Vec<OffsetCommit>,
    ) -> (Vec<Option<ResponseError>>, Vec<KeyValue>, Vec<OffsetCommit>) {
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
        (answers, records, accepted)
    }

    /// OffsetFetch v9's member check for consumer groups: the member must exist at its epoch.
    pub fn check_fetch(
        &self,
        group_id: &str,
        member_id: &str,
        epoch: i32,
    ) -> Option<ResponseError> {
        if member_id.is_empty() || epoch < 0 {
            return None;
        }
        let groups = self.lock();
        let group = groups.consumer.get(group_id)?;
        group.check_commit(member_id, epoch).err()
    }

    /// Committed offsets of a group: of the partitions asked, or of all when `topics` is None.
    pub fn fetch_offsets(
        &self,
        group_id: &str,
        topics: Option<&[(String, Vec<i32>)]>,
    ) -> Vec<(String, i32, Option<OffsetValue>)> {
        let groups = self.lock();
        let offsets = groups
            .consumer
            .get(group_id)
            .map(|g| &g.offsets)
            .or_else(|| groups.classic.get(group_id).map(|g| &g.offsets));
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
        let mut guard = self.lock();
        let groups = &mut *guard;
        let (subscribed, offsets): (HashSet<String>, &mut Offsets) =
            if let Some(g) = groups.consumer.get_mut(group_id) {
                (g.subscribed_topics().into_iter().collect(), &mut g.offsets)
            } else {
                let group = match groups.classic.get_mut(group_id) {
                    Some(g) if !g.is(GroupState::Dead) => g,
                    _ => return Err(ResponseError::GroupIdNotFound),
                };
                let subscribed = if group.is(GroupState::Empty) {
                    Some(HashSet::new())
                } else {
                    group.subscribed_topics()
                };
                let Some(subscribed) = subscribed else {
                    return Err(ResponseError::NonEmptyGroup);
                };
                (subscribed, &mut group.offsets)
            };
        let mut answers = Vec::with_capacity(partitions.len());
        let mut gone = Vec::new();
        for (topic, partition) in partitions {
            if subscribed.contains(topic) {
                answers.push(Some(ResponseError::GroupSubscribedToTopic));
                continue;
            }
            answers.push(None);
            if offsets.contains_key(&(topic.clone(), *partition)) {
                gone.push((topic.clone(), *partition));
            }
        }
        if !gone.is_empty() {
            self.write_deletion(log, group_id, &gone, false)?;
            for k in &gone {
                offsets.remove(k);
            }
        }
        Ok(answers)
    }

    /// Tombstones for offsets of a group and, with `group_key`, for the group itself.
    pub(super) fn write_deletion(
        &self,
        log: &dyn RecordLog,
        group_id: &str,
        offsets: &[(String, i32)],
        group_key: bool,
    ) -> Result<(), ResponseError> {
        let mut records: Vec<(Bytes, Option<Bytes>)> = offsets
            .iter()
            .map(|(topic, partition)| {
                let key = RecordKey::Offset {
                    group: group_id.to_string(),
                    topic: topic.clone(),
                    partition: *partition,
                };
                (key.encode(), None)
            })
            .collect();
        if group_key {
            let key = RecordKey::Group {
                group: group_id.to_string(),
            };
            records.push((key.encode(), None));
        }
        log.append(self.partition_for(group_id), records)
    }

    /// offsets.retention.minutes (KIP-211): the offsets of a group that has been empty for the
    /// retention period expire, and so does the group with them; offsets committed outside any
    /// group expire that long after their commit; an explicit expire time is honoured.
    pub fn expire_offsets(&self, log: &dyn RecordLog, now_ms: i64) -> usize {
        let retention = self.offsets.retention_ms;
        let mut guard = self.lock();
        let groups = &mut *guard;
        let mut expired_total = 0;
        // (group id, empty, managed by a protocol, empty since, offsets)
        let mut views: Vec<(String, bool, bool, i64, &mut Offsets)> = Vec::new();
        for g in groups.classic.values_mut() {
            let empty = g.is(GroupState::Empty);
            views.push((
                g.id.clone(),
                empty,
                g.protocol_type.is_some(),
                g.state_since_ms,
                &mut g.offsets,
            ));
        }
        for g in groups.consumer.values_mut() {
            let empty = g.members.is_empty();
            views.push((g.id.clone(), empty, true, g.state_since_ms, &mut g.offsets));
        }
        let mut gone = Vec::new();
        for (id, empty, managed, since, offsets) in views {
            let expired: Vec<(String, i32)> = offsets
                .iter()
                .filter(|(_, v)| match v.expire_timestamp {
                    Some(at) => now_ms >= at,
                    None if empty && managed => now_ms - since >= retention,
                    None if empty => now_ms - v.commit_timestamp >= retention,
                    None => false,
                })
                .map(|(k, _)| k.clone())
                .collect();
            if expired.is_empty() {
                continue;
            }
            let all = expired.len() == offsets.len() && empty;
            if let Err(e) = self.write_deletion(log, &id, &expired, all) {
                tracing::error!(group = %id, error = ?e, "expiring offsets failed");
                continue;
            }
            expired_total += expired.len();
            for k in &expired {
                offsets.remove(k);
            }
            if all {
                gone.push(id);
            }
        }
        for id in gone {
            groups.classic.remove(&id);
            groups.consumer.remove(&id);
        }
        expired_total
    }
}
