//! The transaction coordinator (Kafka's `TransactionCoordinator` and
//! `TransactionStateManager`): the state of every transactional id whose partition of
//! `__transaction_state` this broker leads, loaded from that partition when it takes the
//! leadership, and the checks and transitions of InitProducerId, AddPartitionsToTxn,
//! AddOffsetsToTxn and EndTxn (`metadata.rs`).
//!
//! A change is made in two steps, as Kafka's pending state does: [`TransactionCoordinator::
//! begin`] checks it under the lock and marks the id busy, the record is written to the log
//! (and replicated) with no lock held, then [`TransactionCoordinator::finish`] applies it.
//! Writing the markers and timing transactions out are in `service.rs`.

pub mod metadata;
pub mod records;
pub mod service;
pub mod verify;

use std::collections::HashMap;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Mutex, MutexGuard};

use bytes::Bytes;
use kafka_protocol::ResponseError;

use crate::coordinator::records::partition_for;
pub use metadata::{TxnMetadata, TxnState};
use records::{decode_key, TxnValue};

/// The internal topic holding transaction state.
pub const TRANSACTION_TOPIC: &str = "__transaction_state";

/// Limits from the broker config.
#[derive(Debug, Clone)]
pub struct TxnSettings {
    /// `transaction.max.timeout.ms`: a longer `transaction.timeout.ms` is refused.
    pub max_timeout_ms: i32,
    /// `transactional.id.expiration.ms`: an id idle this long is forgotten.
    pub id_expiration_ms: i64,
}

/// A change begun and not yet written.
#[derive(Debug, Clone)]
pub struct Change {
    pub partition: i32,
    pub coordinator_epoch: i32,
    pub next: TxnMetadata,
    /// The id was unknown before this change.
    was_new: bool,
}

/// The transaction coordinator of this broker.
#[derive(Debug)]
pub struct TransactionCoordinator {
    settings: TxnSettings,
    /// Partitions of `__transaction_state`; 0 until the topic exists.
    partitions: AtomicI32,
    inner: Mutex<Inner>,
    /// Woken whenever a change ends: requests that found their id busy wait on it.
    changed: tokio::sync::Notify,
}

#[derive(Debug, Default)]
struct Inner {
    txns: HashMap<String, TxnMetadata>,
    /// The partitions this broker coordinates, with their coordinator epoch (the leader
    /// epoch of the partition when this broker took it over).
    owned: HashMap<i32, i32>,
    /// Partitions being loaded, with the epoch they will be coordinated at
    /// (COORDINATOR_LOAD_IN_PROGRESS until then).
    loading: HashMap<i32, i32>,
}

impl TransactionCoordinator {
    pub fn new(settings: TxnSettings) -> Self {
        TransactionCoordinator {
            settings,
            partitions: AtomicI32::new(0),
            inner: Mutex::new(Inner::default()),
            changed: tokio::sync::Notify::new(),
        }
    }

    /// Woken when any change ends (see [`Self::finish`]).
    pub fn changed(&self) -> &tokio::sync::Notify {
        &self.changed
    }

    pub fn settings(&self) -> &TxnSettings {
        &self.settings
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn partitions(&self) -> i32 {
        self.partitions.load(Ordering::Acquire)
    }

    pub fn set_partitions(&self, partitions: i32) {
        self.partitions.store(partitions, Ordering::Release);
    }

    /// The `__transaction_state` partition of a transactional id (Kafka's hash of the id).
    pub fn partition_for(&self, transactional_id: &str) -> i32 {
        partition_for(transactional_id, self.partitions())
    }

    /// The partition and coordinator epoch of an id this broker coordinates; NOT_COORDINATOR
    /// otherwise (COORDINATOR_NOT_AVAILABLE while the topic does not exist).
    pub fn owner(&self, transactional_id: &str) -> Result<(i32, i32), ResponseError> {
        if self.partitions() == 0 {
            return Err(ResponseError::CoordinatorNotAvailable);
        }
        let partition = self.partition_for(transactional_id);
        let inner = self.lock();
        if inner.loading.contains_key(&partition) {
            return Err(ResponseError::CoordinatorLoadInProgress);
        }
        let epoch = inner.owned.get(&partition).copied();
        epoch
            .map(|e| (partition, e))
            .ok_or(ResponseError::NotCoordinator)
    }

    /// Marks a partition this broker now leads (at `epoch`) as loading.
    pub fn begin_loading(&self, partition: i32, epoch: i32) {
        self.lock().loading.insert(partition, epoch);
    }

    /// The epoch a partition is being loaded at, if it is.
    pub fn loading_epoch(&self, partition: i32) -> Option<i32> {
        self.lock().loading.get(&partition).copied()
    }

    /// The metadata of an id, if this broker knows it.
    pub fn get(&self, transactional_id: &str) -> Option<TxnMetadata> {
        self.lock().txns.get(transactional_id).cloned()
    }

    /// Begins a change of `transactional_id`: `decide` sees its metadata (None when unknown)
    /// and returns the next one, or None when nothing is to be written. The id is busy until
    /// [`Self::finish`].
    pub fn begin(
        &self,
        transactional_id: &str,
        decide: impl FnOnce(Option<&TxnMetadata>) -> Result<Option<TxnMetadata>, ResponseError>,
    ) -> Result<Option<Change>, ResponseError> {
        let (partition, coordinator_epoch) = self.owner(transactional_id)?;
        let mut inner = self.lock();
        let current = inner.txns.get(transactional_id);
        if current.is_some_and(|m| m.pending) {
            return Err(ResponseError::ConcurrentTransactions);
        }
        let was_new = current.is_none();
        let Some(mut next) = decide(current)? else {
            return Ok(None);
        };
        next.pending = false;
        let mut busy = current.cloned().unwrap_or_else(|| next.clone());
        busy.pending = true;
        inner.txns.insert(transactional_id.to_string(), busy);
        Ok(Some(Change {
            partition,
            coordinator_epoch,
            next,
            was_new,
        }))
    }

    /// Ends a change: applied when it was written and this broker still coordinates the id
    /// at the same epoch; otherwise the id goes back to what it was.
    pub fn finish(&self, change: &Change, written: bool) {
        self.finish_locked(change, written);
        self.changed.notify_waiters();
    }

    fn finish_locked(&self, change: &Change, written: bool) {
        let mut inner = self.lock();
        let same_epoch = inner.owned.get(&change.partition) == Some(&change.coordinator_epoch);
        let id = &change.next.transactional_id;
        if !same_epoch {
            return;
        }
        if written {
            inner.txns.insert(id.clone(), change.next.clone());
        } else if change.was_new {
            inner.txns.remove(id);
        } else if let Some(m) = inner.txns.get_mut(id) {
            m.pending = false;
        }
    }

    /// Forgets an id whose tombstone was written.
    pub fn remove(&self, transactional_id: &str) {
        self.lock().txns.remove(transactional_id);
    }

    /// Becomes the coordinator of the ids of one partition from its records, in offset order
    /// (a later record wins; a null value deletes), if the load [`Self::begin_loading`]
    /// began at `coordinator_epoch` is still wanted. Returns the transactions caught between
    /// PrepareCommit/PrepareAbort and their completion, whose markers must be written again.
    pub fn take_over(
        &self,
        partition: i32,
        coordinator_epoch: i32,
        records: Vec<(Bytes, Option<Bytes>)>,
    ) -> Vec<TxnMetadata> {
        let mut loaded: HashMap<String, TxnMetadata> = HashMap::new();
        for (key, value) in records {
            let id = match decode_key(&key) {
                Ok(id) => id,
                Err(e) => {
                    tracing::warn!(error = %e, "unreadable key in __transaction_state");
                    continue;
                }
            };
            match value.map(|v| TxnValue::decode(&v)) {
                None => {
                    loaded.remove(&id);
                }
                Some(Ok(v)) => {
                    loaded.insert(id.clone(), TxnMetadata::from_value(&id, v));
                }
                Some(Err(e)) => tracing::warn!(error = %e, id, "unreadable transaction record"),
            }
        }
        let unfinished = loaded
            .values()
            .filter(|m| m.state.is_prepare())
            .cloned()
            .collect();
        let mut inner = self.lock();
        if inner.loading.get(&partition) != Some(&coordinator_epoch) {
            // Resigned since the load began, or a newer load is under way.
            return Vec::new();
        }
        inner.loading.remove(&partition);
        let partitions = self.partitions();
        inner
            .txns
            .retain(|id, _| partition_for(id, partitions) != partition);
        inner.txns.extend(loaded);
        inner.owned.insert(partition, coordinator_epoch);
        unfinished
    }

    /// Stops coordinating the ids of a partition this broker no longer leads.
    pub fn resign(&self, partition: i32) {
        let partitions = self.partitions();
        let mut inner = self.lock();
        inner.loading.remove(&partition);
        if inner.owned.remove(&partition).is_some() {
            inner
                .txns
                .retain(|id, _| partition_for(id, partitions) != partition);
        }
    }

    /// Whether this broker coordinates the ids of `partition`, and at which epoch.
    pub fn owned_epoch(&self, partition: i32) -> Option<i32> {
        self.lock().owned.get(&partition).copied()
    }

    /// Every id this broker coordinates.
    pub fn all(&self) -> Vec<TxnMetadata> {
        let mut list: Vec<TxnMetadata> = self.lock().txns.values().cloned().collect();
        list.sort_by(|a, b| a.transactional_id.cmp(&b.transactional_id));
        list
    }

    /// Open transactions older than their timeout (Kafka aborts them), and ids idle longer
    /// than `transactional.id.expiration.ms` with nothing open (Kafka forgets them).
    pub fn due(&self, now_ms: i64) -> (Vec<TxnMetadata>, Vec<TxnMetadata>) {
        let inner = self.lock();
        let mut timed_out = Vec::new();
        let mut idle = Vec::new();
        for m in inner.txns.values().filter(|m| !m.pending) {
            match m.state {
                TxnState::Ongoing if m.start_ms + i64::from(m.timeout_ms) < now_ms => {
                    timed_out.push(m.clone())
                }
                TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort
                    if m.last_update_ms + self.settings.id_expiration_ms < now_ms =>
                {
                    idle.push(m.clone())
                }
                _ => {}
            }
        }
        (timed_out, idle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coordinator() -> TransactionCoordinator {
        let c = TransactionCoordinator::new(TxnSettings {
            max_timeout_ms: 900_000,
            id_expiration_ms: 1_000,
        });
        c.set_partitions(1);
        c
    }

    #[test]
    fn a_change_is_busy_until_finished_and_lost_with_the_partition() {
        let c = coordinator();
        assert_eq!(c.owner("a").err(), Some(ResponseError::NotCoordinator));
        c.begin_loading(0, 4);
        assert_eq!(
            c.owner("a").err(),
            Some(ResponseError::CoordinatorLoadInProgress)
        );
        assert!(c.take_over(0, 4, Vec::new()).is_empty());
        let change = c
            .begin("a", |m| {
                assert!(m.is_none());
                Ok(Some(TxnMetadata::new("a", 1, 100, 0)))
            })
            .expect("begin")
            .expect("a change");
        assert_eq!(change.coordinator_epoch, 4);
        let again = c.begin("a", |_| Ok(None));
        assert_eq!(again.err(), Some(ResponseError::ConcurrentTransactions));
        c.finish(&change, true);
        assert!(!c.get("a").expect("known").pending);
        // An id whose first write failed is forgotten.
        let change = c
            .begin("b", |_| Ok(Some(TxnMetadata::new("b", 2, 100, 0))))
            .expect("begin")
            .expect("a change");
        c.finish(&change, false);
        assert!(c.get("b").is_none());
        c.resign(0);
        assert!(c.get("a").is_none());
        assert_eq!(c.owner("a").err(), Some(ResponseError::NotCoordinator));
        // A load cancelled by a resignation installs nothing.
        c.begin_loading(0, 5);
        c.resign(0);
        c.take_over(0, 5, Vec::new());
        assert_eq!(c.owner("a").err(), Some(ResponseError::NotCoordinator));
    }

    #[test]
    fn loading_keeps_the_last_record_and_finds_unfinished_transactions() {
        let c = coordinator();
        let mut m = TxnMetadata::new("a", 1, 100, 0);
        m.state = TxnState::PrepareCommit;
        m.partitions.insert(("t".to_string(), 0));
        let n = TxnMetadata::new("gone", 2, 100, 0);
        let records = vec![
            (
                records::encode_key("a"),
                Some(TxnMetadata::new("a", 1, 100, 0).value().encode()),
            ),
            (records::encode_key("a"), Some(m.value().encode())),
            (records::encode_key("gone"), Some(n.value().encode())),
            (records::encode_key("gone"), None),
        ];
        c.begin_loading(0, 1);
        let unfinished = c.take_over(0, 1, records);
        assert_eq!(unfinished.len(), 1);
        assert_eq!(unfinished[0].state, TxnState::PrepareCommit);
        assert!(c.get("gone").is_none());
        let (timed_out, idle) = c.due(10_000);
        assert!(timed_out.is_empty());
        assert!(idle.is_empty(), "a transaction being completed is not idle");
    }
}
