//! Producer state of one partition (Kafka's `ProducerStateManager`): for each producer id, its
//! epoch and its last few batches' sequence ranges, so a retried batch is answered with its
//! original offset instead of being written twice and a gap in sequences is refused
//! (OUT_OF_ORDER_SEQUENCE_NUMBER); and the transactions that are open here, from which the
//! last stable offset (LSO) follows: the first offset of the oldest transaction not yet
//! decided, or decided by a marker the ISR does not have yet.

use std::collections::{BTreeMap, HashMap, VecDeque};

use kafka_protocol::ResponseError;

use crate::limits::PRODUCER_BATCHES_RETAINED;

/// The sequence range of one appended batch and where it landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchRecord {
    pub first_seq: i32,
    pub last_seq: i32,
    pub base_offset: i64,
    /// Records in the batch less one (the batch's last offset delta).
    pub offset_delta: i32,
}

impl BatchRecord {
    pub(crate) fn last_offset(&self) -> i64 {
        self.base_offset + i64::from(self.offset_delta)
    }
}

/// What is known of one producer here.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) epoch: i16,
    pub(crate) batches: VecDeque<BatchRecord>,
    /// Max timestamp of its last batch.
    pub(crate) last_timestamp: i64,
    /// Epoch of the coordinator that wrote its last marker here (-1: none).
    pub(crate) coordinator_epoch: i32,
    /// First offset of its open transaction here.
    pub(crate) txn_first_offset: Option<i64>,
}

/// What the sequence check decided for an incoming batch.
#[derive(Debug, PartialEq, Eq)]
pub enum SequenceCheck {
    /// Append it.
    Append,
    /// Already written: answer with this base offset and write nothing.
    Duplicate(i64),
}

/// One producer as DescribeProducers shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveProducer {
    pub producer_id: i64,
    pub epoch: i16,
    pub last_sequence: i32,
    pub last_timestamp: i64,
    pub coordinator_epoch: i32,
    /// First offset of its open transaction, -1 when none.
    pub txn_start_offset: i64,
}

/// A transaction a marker just ended here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompletedTxn {
    pub producer_id: i64,
    pub first_offset: i64,
    pub marker_offset: i64,
    /// The LSO once this transaction is out of the way (Kafka's `AbortedTxn.lastStableOffset`).
    pub last_stable_offset: i64,
}

/// Producer id → state, and the open transactions, for one partition.
#[derive(Debug, Default)]
pub struct ProducerState {
    producers: HashMap<i64, Entry>,
    /// First offset of each open transaction → its producer.
    ongoing: BTreeMap<i64, i64>,
    /// Marker offset → first offset, of decided transactions whose marker is not yet below
    /// the high watermark (until then they still hold the LSO back).
    unreplicated: BTreeMap<i64, i64>,
    /// Producers being verified with their coordinator before they open a transaction here
    /// (KIP-890): producer → (epoch, guard). A marker or the transaction's first batch ends
    /// the entry, so a batch verified before a marker cannot open a transaction after it.
    verifying: HashMap<i64, (i16, u64)>,
}

/// Verification guards, unique in the process (a partition's state may be rebuilt while a
/// verified produce is in flight; its guard must not match a new one).
static LAST_GUARD: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl ProducerState {
    /// Checks a batch from `pid` at `epoch` covering `first_seq..=last_seq`.
    pub fn check(
        &self,
        pid: i64,
        epoch: i16,
        first_seq: i32,
        last_seq: i32,
    ) -> Result<SequenceCheck, ResponseError> {
        let Some(entry) = self.producers.get(&pid) else {
            // Unknown producer (new, or its state predates a restart): accept and start tracking.
            return Ok(SequenceCheck::Append);
        };
        if epoch < entry.epoch {
            return Err(ResponseError::InvalidProducerEpoch);
        }
        if epoch > entry.epoch {
            // A bumped epoch restarts the sequence at zero.
            return if first_seq == 0 {
                Ok(SequenceCheck::Append)
            } else {
                Err(ResponseError::OutOfOrderSequenceNumber)
            };
        }
        if entry.batches.is_empty() {
            // Known only from a marker: nothing to compare with.
            return Ok(SequenceCheck::Append);
        }
        if let Some(dup) = entry
            .batches
            .iter()
            .find(|b| b.first_seq == first_seq && b.last_seq == last_seq)
        {
            return Ok(SequenceCheck::Duplicate(dup.base_offset));
        }
        let expected = entry
            .batches
            .back()
            .map_or(first_seq, |b| next_seq(b.last_seq));
        if first_seq == expected {
            Ok(SequenceCheck::Append)
        } else {
            Err(ResponseError::OutOfOrderSequenceNumber)
        }
    }

    /// Kafka refuses a plain batch from a producer whose transaction is open here, and a
    /// transactional batch from an epoch older than the producer's.
    pub fn check_transactional(
        &self,
        pid: i64,
        epoch: i16,
        transactional: bool,
    ) -> Result<(), ResponseError> {
        match self.producers.get(&pid) {
            Some(e) if epoch < e.epoch => Err(ResponseError::InvalidProducerEpoch),
            Some(e) if !transactional && e.txn_first_offset.is_some() => {
                Err(ResponseError::InvalidTxnState)
            }
            _ => Ok(()),
        }
    }

    /// Records an appended batch (`transactional`: it belongs to the producer's transaction).
    pub fn record(
        &mut self,
        pid: i64,
        epoch: i16,
        batch: BatchRecord,
        transactional: bool,
        timestamp: i64,
    ) {
        let entry = self.producers.entry(pid).or_insert_with(|| Entry {
            coordinator_epoch: -1,
            ..Entry::default()
        });
        if epoch != entry.epoch {
            entry.epoch = epoch;
            entry.batches.clear();
        }
        entry.last_timestamp = timestamp;
        if batch.first_seq >= 0 {
            if entry.batches.len() == PRODUCER_BATCHES_RETAINED {
                entry.batches.pop_front();
            }
            entry.batches.push_back(batch);
            assert!(entry.batches.len() <= PRODUCER_BATCHES_RETAINED);
        }
        if transactional && entry.txn_first_offset.is_none() {
            entry.txn_first_offset = Some(batch.base_offset);
            self.ongoing.insert(batch.base_offset, pid);
            self.verifying.remove(&pid);
        }
    }

    /// Starts (or joins) the verification of `pid`'s batch at `epoch` that would open a
    /// transaction here; None when its transaction is already open here.
    pub fn begin_verification(&mut self, pid: i64, epoch: i16) -> Option<u64> {
        if self.has_open_txn(pid) {
            return None;
        }
        match self.verifying.get(&pid) {
            Some(&(e, guard)) if e == epoch => Some(guard),
            _ => {
                let guard = LAST_GUARD.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                self.verifying.insert(pid, (epoch, guard));
                Some(guard)
            }
        }
    }

    /// Whether a transactional batch of `pid` may be appended: it joins the producer's open
    /// transaction, or it was verified under `guard` and nothing has ended the verification.
    pub fn verified(&self, pid: i64, guard: Option<u64>) -> bool {
        self.has_open_txn(pid)
            || guard.is_some_and(|g| self.verifying.get(&pid).is_some_and(|&(_, v)| v == g))
    }

    fn has_open_txn(&self, pid: i64) -> bool {
        self.producers
            .get(&pid)
            .is_some_and(|e| e.txn_first_offset.is_some())
    }

    /// Checks a transaction marker from the coordinator: an older producer epoch is
    /// INVALID_PRODUCER_EPOCH, an older coordinator epoch TRANSACTION_COORDINATOR_FENCED.
    pub fn check_marker(
        &self,
        pid: i64,
        epoch: i16,
        coordinator_epoch: i32,
    ) -> Result<(), ResponseError> {
        match self.producers.get(&pid) {
            Some(e) if epoch < e.epoch => Err(ResponseError::InvalidProducerEpoch),
            Some(e) if coordinator_epoch < e.coordinator_epoch => {
                Err(ResponseError::TransactionCoordinatorFenced)
            }
            _ => Ok(()),
        }
    }

    /// A marker at `marker_offset` ended `pid`'s transaction here (or found none open). The
    /// marker's epoch becomes the producer's, whose sequences then start again.
    pub fn complete(
        &mut self,
        pid: i64,
        epoch: i16,
        coordinator_epoch: i32,
        marker_offset: i64,
        timestamp: i64,
    ) -> Option<CompletedTxn> {
        let entry = self.producers.entry(pid).or_insert_with(|| Entry {
            coordinator_epoch: -1,
            ..Entry::default()
        });
        if epoch > entry.epoch {
            entry.epoch = epoch;
            entry.batches.clear();
        }
        entry.coordinator_epoch = coordinator_epoch;
        entry.last_timestamp = timestamp;
        self.verifying.remove(&pid);
        let first = entry.txn_first_offset.take()?;
        self.ongoing.remove(&first);
        let last_stable_offset = self
            .ongoing
            .keys()
            .next()
            .map_or(marker_offset + 1, |&o| o.min(marker_offset + 1));
        self.unreplicated.insert(marker_offset, first);
        Some(CompletedTxn {
            producer_id: pid,
            first_offset: first,
            marker_offset,
            last_stable_offset,
        })
    }

    /// The high watermark moved: decided transactions whose marker is below it no longer
    /// hold the LSO back.
    pub fn high_watermark_moved(&mut self, high_watermark: i64) {
        while let Some((&marker, _)) = self.unreplicated.first_key_value() {
            if marker >= high_watermark {
                break;
            }
            self.unreplicated.pop_first();
        }
    }

    /// The first offset that is not yet stable: the start of the oldest open transaction, or
    /// of a decided one whose marker is not below `high_watermark`; None when every offset is.
    pub fn first_unstable_offset(&self, high_watermark: i64) -> Option<i64> {
        let open = self.ongoing.keys().next().copied();
        let undecided = self
            .unreplicated
            .range(high_watermark..)
            .map(|(_, f)| *f)
            .min();
        match (open, undecided) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Every producer, for DescribeProducers.
    pub fn active(&self) -> Vec<ActiveProducer> {
        let mut list: Vec<ActiveProducer> = self
            .producers
            .iter()
            .map(|(&pid, e)| ActiveProducer {
                producer_id: pid,
                epoch: e.epoch,
                last_sequence: e.batches.back().map_or(-1, |b| b.last_seq),
                last_timestamp: e.last_timestamp,
                coordinator_epoch: e.coordinator_epoch,
                txn_start_offset: e.txn_first_offset.unwrap_or(-1),
            })
            .collect();
        list.sort_by_key(|p| p.producer_id);
        list
    }

    /// Takes a snapshot over a state replayed from the same log up to the snapshot's offset:
    /// a producer the replay did not see comes from the snapshot whole; one it saw keeps the
    /// replay's sequence ranges (more of them) and takes the snapshot's open transaction and
    /// coordinator epoch (the replay may have started after that transaction began).
    pub(crate) fn merge_snapshot(&mut self, snapshot: ProducerState) {
        let mut merged: Vec<(i64, Entry)> = Vec::with_capacity(self.producers.len());
        let mut seen = std::mem::take(&mut self.producers);
        for (pid, from_snapshot) in snapshot.producers {
            match seen.remove(&pid) {
                Some(mut replayed) if replayed.epoch == from_snapshot.epoch => {
                    replayed.txn_first_offset = from_snapshot.txn_first_offset;
                    replayed.coordinator_epoch = from_snapshot.coordinator_epoch;
                    merged.push((pid, replayed));
                }
                _ => merged.push((pid, from_snapshot)),
            }
        }
        merged.extend(seen);
        let unreplicated = std::mem::take(&mut self.unreplicated);
        *self = ProducerState::from_entries(merged);
        self.unreplicated = unreplicated;
    }

    /// The entries, for a snapshot.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (i64, &Entry)> {
        self.producers.iter().map(|(k, v)| (*k, v))
    }

    /// Rebuilds the state from a snapshot's entries.
    pub(crate) fn from_entries(entries: impl IntoIterator<Item = (i64, Entry)>) -> Self {
        let mut state = ProducerState::default();
        for (pid, entry) in entries {
            if let Some(first) = entry.txn_first_offset {
                state.ongoing.insert(first, pid);
            }
            state.producers.insert(pid, entry);
        }
        state
    }
}

/// Sequences wrap from i32::MAX to 0, as Kafka's do.
fn next_seq(seq: i32) -> i32 {
    if seq == i32::MAX {
        0
    } else {
        seq + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_gaps_and_epochs() {
        let mut s = ProducerState::default();
        assert_eq!(s.check(7, 0, 0, 9), Ok(SequenceCheck::Append));
        s.record(
            7,
            0,
            BatchRecord {
                first_seq: 0,
                last_seq: 9,
                base_offset: 100,
                offset_delta: 0,
            },
            false,
            0,
        );
        assert_eq!(s.check(7, 0, 0, 9), Ok(SequenceCheck::Duplicate(100)));
        assert_eq!(
            s.check(7, 0, 12, 13),
            Err(ResponseError::OutOfOrderSequenceNumber)
        );
        assert_eq!(s.check(7, 0, 10, 19), Ok(SequenceCheck::Append));
        s.record(
            7,
            0,
            BatchRecord {
                first_seq: 10,
                last_seq: 19,
                base_offset: 110,
                offset_delta: 0,
            },
            false,
            0,
        );
        assert_eq!(
            s.check(7, 1, 5, 6),
            Err(ResponseError::OutOfOrderSequenceNumber)
        );
        assert_eq!(s.check(7, 1, 0, 0), Ok(SequenceCheck::Append));
        s.record(
            7,
            1,
            BatchRecord {
                first_seq: 0,
                last_seq: 0,
                base_offset: 120,
                offset_delta: 0,
            },
            false,
            0,
        );
        assert_eq!(
            s.check(7, 0, 20, 20),
            Err(ResponseError::InvalidProducerEpoch)
        );
    }

    #[test]
    fn only_the_last_five_batches_are_remembered() {
        let mut s = ProducerState::default();
        for i in 0..7 {
            s.record(
                1,
                0,
                BatchRecord {
                    first_seq: i,
                    last_seq: i,
                    base_offset: i64::from(i),
                    offset_delta: 0,
                },
                false,
                0,
            );
        }
        assert_eq!(s.check(1, 0, 6, 6), Ok(SequenceCheck::Duplicate(6)));
        assert_eq!(
            s.check(1, 0, 0, 0),
            Err(ResponseError::OutOfOrderSequenceNumber)
        );
        assert_eq!(next_seq(i32::MAX), 0);
    }
}

#[cfg(test)]
mod txn_tests {
    use super::*;

    fn batch(seq: i32, offset: i64) -> BatchRecord {
        BatchRecord {
            first_seq: seq,
            last_seq: seq,
            base_offset: offset,
            offset_delta: 0,
        }
    }

    #[test]
    fn open_transactions_hold_the_lso_until_their_marker_is_replicated() {
        let mut s = ProducerState::default();
        assert_eq!(s.first_unstable_offset(0), None);
        s.record(1, 0, batch(0, 10), true, 0);
        s.record(2, 0, batch(0, 11), true, 0);
        s.record(1, 0, batch(1, 12), true, 0);
        assert_eq!(s.first_unstable_offset(0), Some(10));
        assert_eq!(
            s.check_transactional(1, 0, false),
            Err(ResponseError::InvalidTxnState)
        );
        let done = s.complete(1, 0, 3, 13, 0).expect("an open transaction");
        assert_eq!((done.first_offset, done.last_stable_offset), (10, 11));
        // The marker at 13 is not below the high watermark yet.
        assert_eq!(s.first_unstable_offset(13), Some(10));
        assert_eq!(s.first_unstable_offset(14), Some(11));
        s.high_watermark_moved(14);
        assert_eq!(s.first_unstable_offset(0), Some(11));
        assert_eq!(s.complete(2, 1, 3, 14, 0).map(|t| t.first_offset), Some(11));
        s.high_watermark_moved(15);
        assert_eq!(s.first_unstable_offset(0), None);
        // The marker bumped producer 2's epoch: its old epoch is fenced.
        assert_eq!(
            s.check_transactional(2, 0, true),
            Err(ResponseError::InvalidProducerEpoch)
        );
        assert_eq!(
            s.check_marker(2, 1, 2),
            Err(ResponseError::TransactionCoordinatorFenced)
        );
        let p1 = &s.active()[0];
        assert_eq!(
            (p1.producer_id, p1.txn_start_offset, p1.coordinator_epoch),
            (1, -1, 3)
        );
    }

    #[test]
    fn a_verification_holds_until_a_marker_or_the_transactions_first_batch() {
        let mut s = ProducerState::default();
        let guard = s.begin_verification(1, 0);
        assert!(guard.is_some());
        assert_eq!(
            s.begin_verification(1, 0),
            guard,
            "a second produce joins it"
        );
        assert!(s.verified(1, guard));
        assert!(!s.verified(1, None), "unverified");
        assert!(!s.verified(2, guard), "another producer's guard");
        // A marker between the check and the append (the transaction was aborted): the
        // verified batch may no longer open a transaction.
        s.complete(1, 0, 0, 5, 0);
        assert!(!s.verified(1, guard));
        // Verified again, the first batch opens the transaction; its next batches join it
        // with nothing to verify.
        let again = s.begin_verification(1, 0);
        assert_ne!(again, guard);
        assert!(s.verified(1, again));
        s.record(1, 0, batch(0, 6), true, 0);
        assert_eq!(s.begin_verification(1, 0), None);
        assert!(s.verified(1, None));
        // A bumped epoch is verified afresh.
        s.complete(1, 0, 0, 7, 0);
        let first = s.begin_verification(1, 0);
        assert_ne!(s.begin_verification(1, 1), first);
    }
}
