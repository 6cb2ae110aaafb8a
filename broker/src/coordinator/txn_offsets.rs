//! Offsets committed inside a transaction (TxnOffsetCommit, KIP-98 and KIP-447): written to
//! `__consumer_offsets` as records of the producer's transaction, held apart from the group's
//! offsets until the transaction coordinator's marker decides them (COMMIT: they become the
//! group's offsets; ABORT: they are dropped). Meanwhile an OffsetFetch that asks for stable
//! offsets gets UNSTABLE_OFFSET_COMMIT for those partitions, as Kafka answers it.

use std::time::Instant;

use kafka_protocol::ResponseError;

use super::group::{Group, GroupState};
use super::{CommitFrom, GroupCoordinator, OffsetCommit, RecordLog, TxnProducer};

impl GroupCoordinator {
    /// TxnOffsetCommit: checks the member as OffsetCommit does (a group unknown here is
    /// taken with generation -1, as a producer outside the group commits), writes the
    /// offsets in the producer's transaction, and holds them until the marker.
    pub fn txn_commit(
        &self,
        log: &dyn RecordLog,
        group_id: &str,
        producer: TxnProducer,
        from: &CommitFrom,
        commits: Vec<OffsetCommit>,
    ) -> Result<Vec<Option<ResponseError>>, ResponseError> {
        if group_id.is_empty() {
            return Err(ResponseError::InvalidGroupId);
        }
        let mut guard = self.lock();
        let groups = &mut *guard;
        if let Some(g) = groups.consumer.get(group_id) {
            if from.generation >= 0 || !from.member_id.is_empty() {
                g.check_commit(&from.member_id, from.generation)?;
            }
        } else if let Some(g) = groups.classic.get_mut(group_id) {
            if from.generation >= 0 || !from.member_id.is_empty() {
                g.check_commit(
                    &from.member_id,
                    from.instance_id.as_deref(),
                    from.generation,
                    Instant::now(),
                )?;
            }
        } else if from.generation >= 0 {
            return Err(ResponseError::IllegalGeneration);
        }
        let (answers, records, accepted) = self.offset_records(group_id, commits);
        if !records.is_empty() {
            log.append_transactional(self.partition_for(group_id), producer, records)?;
        }
        let pending = groups
            .pending_txn
            .entry(producer.producer_id)
            .or_default()
            .entry(group_id.to_string())
            .or_default();
        for c in accepted {
            pending.insert((c.topic, c.partition), c.value);
        }
        Ok(answers)
    }

    /// The marker of `producer_id`'s transaction reached `partition` of `__consumer_offsets`:
    /// its offsets for the groups of that partition are committed or dropped.
    pub fn complete_txn(&self, producer_id: i64, partition: i32, commit: bool) {
        let mut guard = self.lock();
        let groups = &mut *guard;
        let Some(pending) = groups.pending_txn.get_mut(&producer_id) else {
            return;
        };
        let decided: Vec<String> = pending
            .keys()
            .filter(|g| self.partition_for(g) == partition)
            .cloned()
            .collect();
        for group_id in decided {
            let Some(offsets) = pending.remove(&group_id) else {
                continue;
            };
            if !commit {
                continue;
            }
            if let Some(g) = groups.consumer.get_mut(&group_id) {
                g.offsets.extend(offsets);
                continue;
            }
            let group = groups
                .classic
                .entry(group_id.clone())
                .or_insert_with(|| Group::new(&group_id, crate::now_ms()));
            if group.is(GroupState::Dead) {
                *group = Group::new(&group_id, crate::now_ms());
            }
            group.offsets.extend(offsets);
        }
        if pending.is_empty() {
            groups.pending_txn.remove(&producer_id);
        }
    }

    /// Whether an undecided transaction holds an offset of the group's partition
    /// (OffsetFetch with `require_stable` answers UNSTABLE_OFFSET_COMMIT).
    pub fn has_pending_offset(&self, group_id: &str, topic: &str, partition: i32) -> bool {
        let key = (topic.to_string(), partition);
        self.lock()
            .pending_txn
            .values()
            .any(|groups| groups.get(group_id).is_some_and(|o| o.contains_key(&key)))
    }
}
