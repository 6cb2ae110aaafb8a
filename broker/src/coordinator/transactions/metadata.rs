//! One transactional id's state (Kafka's `TransactionMetadata`) and the transitions the
//! coordinator allows between Kafka's states:
//!
//! ```text
//! Empty ──AddPartitions──▶ Ongoing ──EndTxn──▶ PrepareCommit ──markers──▶ CompleteCommit
//!   ▲                        │   └──EndTxn/timeout/fence──▶ PrepareAbort ──▶ CompleteAbort
//!   └──InitProducerId── CompleteCommit / CompleteAbort ──AddPartitions──▶ Ongoing
//! ```
//!
//! PrepareEpochFence is Kafka's in-memory step of fencing an open transaction; here the
//! fence writes PrepareAbort at the bumped epoch directly, and the state is read, never
//! written. Dead is an id that expired.

use std::collections::BTreeSet;

use kafka_protocol::ResponseError;

use super::records::TxnValue;

/// Kafka's transaction states, with their status bytes in `__transaction_state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxnState {
    Empty,
    Ongoing,
    PrepareCommit,
    PrepareAbort,
    CompleteCommit,
    CompleteAbort,
    Dead,
    PrepareEpochFence,
}

impl TxnState {
    pub const ALL: [TxnState; 8] = [
        TxnState::Empty,
        TxnState::Ongoing,
        TxnState::PrepareCommit,
        TxnState::PrepareAbort,
        TxnState::CompleteCommit,
        TxnState::CompleteAbort,
        TxnState::Dead,
        TxnState::PrepareEpochFence,
    ];

    pub fn byte(self) -> i8 {
        match self {
            TxnState::Empty => 0,
            TxnState::Ongoing => 1,
            TxnState::PrepareCommit => 2,
            TxnState::PrepareAbort => 3,
            TxnState::CompleteCommit => 4,
            TxnState::CompleteAbort => 5,
            TxnState::Dead => 6,
            TxnState::PrepareEpochFence => 7,
        }
    }

    pub fn from_byte(b: i8) -> Option<TxnState> {
        TxnState::ALL.into_iter().find(|s| s.byte() == b)
    }

    /// The name DescribeTransactions and ListTransactions give.
    pub fn name(self) -> &'static str {
        match self {
            TxnState::Empty => "Empty",
            TxnState::Ongoing => "Ongoing",
            TxnState::PrepareCommit => "PrepareCommit",
            TxnState::PrepareAbort => "PrepareAbort",
            TxnState::CompleteCommit => "CompleteCommit",
            TxnState::CompleteAbort => "CompleteAbort",
            TxnState::Dead => "Dead",
            TxnState::PrepareEpochFence => "PrepareEpochFence",
        }
    }

    pub fn is_prepare(self) -> bool {
        matches!(self, TxnState::PrepareCommit | TxnState::PrepareAbort)
    }
}

/// One transactional id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnMetadata {
    pub transactional_id: String,
    pub producer_id: i64,
    /// The epoch before the last bump, so a producer retrying a lost InitProducerId answer
    /// (KIP-360) is recognised; -1 when unknown.
    pub last_producer_epoch: i16,
    pub producer_epoch: i16,
    pub timeout_ms: i32,
    pub state: TxnState,
    pub partitions: BTreeSet<(String, i32)>,
    /// When the open transaction started; -1 when none is open.
    pub start_ms: i64,
    pub last_update_ms: i64,
    /// A change is being written to the log: other requests wait (CONCURRENT_TRANSACTIONS).
    pub pending: bool,
}

/// Epochs stop short of i16::MAX; past it a producer gets a new id (Kafka's rule).
const EPOCH_MAX: i16 = i16::MAX - 1;

impl TxnMetadata {
    pub fn new(id: &str, producer_id: i64, timeout_ms: i32, now_ms: i64) -> Self {
        TxnMetadata {
            transactional_id: id.to_string(),
            producer_id,
            last_producer_epoch: -1,
            producer_epoch: -1,
            timeout_ms,
            state: TxnState::Empty,
            partitions: BTreeSet::new(),
            start_ms: -1,
            last_update_ms: now_ms,
            pending: false,
        }
    }

    pub fn from_value(id: &str, v: TxnValue) -> Self {
        TxnMetadata {
            transactional_id: id.to_string(),
            producer_id: v.producer_id,
            last_producer_epoch: -1,
            producer_epoch: v.producer_epoch,
            timeout_ms: v.timeout_ms,
            state: v.state,
            partitions: v.partitions,
            start_ms: v.start_ms,
            last_update_ms: v.last_update_ms,
            pending: false,
        }
    }

    pub fn value(&self) -> TxnValue {
        TxnValue {
            producer_id: self.producer_id,
            producer_epoch: self.producer_epoch,
            timeout_ms: self.timeout_ms,
            state: self.state,
            partitions: self.partitions.clone(),
            last_update_ms: self.last_update_ms,
            start_ms: self.start_ms,
        }
    }

    /// Whether the epoch can be bumped in place, or the producer needs a new id.
    pub fn epoch_exhausted(&self) -> bool {
        self.producer_epoch >= EPOCH_MAX
    }

    /// InitProducerId on an id with no open transaction: the next epoch (or `new_id` at
    /// epoch 0 when the epochs ran out), state Empty. `expected` is the producer's own
    /// (id, epoch) when it sends them (KIP-360).
    pub fn init(
        &self,
        expected: Option<(i64, i16)>,
        new_id: Option<i64>,
        timeout_ms: i32,
        now_ms: i64,
    ) -> Result<TxnMetadata, ResponseError> {
        if self.state.is_prepare() || self.pending {
            return Err(ResponseError::ConcurrentTransactions);
        }
        if let Some((pid, epoch)) = expected {
            let current = pid == self.producer_id && epoch == self.producer_epoch;
            let retried = pid == self.producer_id
                && epoch == self.last_producer_epoch
                && self.state == TxnState::Empty;
            if retried {
                return Ok(self.clone());
            }
            if !current {
                return Err(ResponseError::ProducerFenced);
            }
        }
        let mut next = self.clone();
        match new_id {
            Some(id) => {
                next.producer_id = id;
                next.producer_epoch = 0;
                next.last_producer_epoch = -1;
            }
            None => {
                next.last_producer_epoch = self.producer_epoch;
                next.producer_epoch = self.producer_epoch + 1;
            }
        }
        next.timeout_ms = timeout_ms;
        next.state = TxnState::Empty;
        next.partitions.clear();
        next.start_ms = -1;
        next.last_update_ms = now_ms;
        Ok(next)
    }

    /// The checks every request of a producer in a transaction passes first.
    pub fn check_producer(&self, producer_id: i64, epoch: i16) -> Result<(), ResponseError> {
        if producer_id != self.producer_id {
            return Err(ResponseError::InvalidProducerIdMapping);
        }
        if epoch != self.producer_epoch {
            return Err(ResponseError::ProducerFenced);
        }
        if self.pending || self.state.is_prepare() {
            return Err(ResponseError::ConcurrentTransactions);
        }
        Ok(())
    }

    /// AddPartitionsToTxn / AddOffsetsToTxn: the transaction is open with these partitions
    /// too. None when nothing changes (they are all in already).
    pub fn add(
        &self,
        partitions: &[(String, i32)],
        now_ms: i64,
    ) -> Result<Option<TxnMetadata>, ResponseError> {
        match self.state {
            TxnState::Empty
            | TxnState::Ongoing
            | TxnState::CompleteCommit
            | TxnState::CompleteAbort => {}
            _ => return Err(ResponseError::ConcurrentTransactions),
        }
        if self.state == TxnState::Ongoing && partitions.iter().all(|p| self.partitions.contains(p))
        {
            return Ok(None);
        }
        let mut next = self.clone();
        if self.state != TxnState::Ongoing {
            next.partitions.clear();
            next.start_ms = now_ms;
        }
        next.state = TxnState::Ongoing;
        next.partitions.extend(partitions.iter().cloned());
        next.last_update_ms = now_ms;
        Ok(Some(next))
    }

    /// EndTxn from the producer: Ongoing goes to PrepareCommit or PrepareAbort. A retry of a
    /// completed end is answered again (None: nothing to write).
    pub fn end(&self, commit: bool, now_ms: i64) -> Result<Option<TxnMetadata>, ResponseError> {
        match (self.state, commit) {
            (TxnState::Ongoing, _) => Ok(Some(self.prepare(commit, now_ms))),
            (TxnState::CompleteCommit, true) | (TxnState::CompleteAbort, false) => Ok(None),
            (TxnState::PrepareCommit, true) | (TxnState::PrepareAbort, false) => {
                Err(ResponseError::ConcurrentTransactions)
            }
            // Aborting with nothing open is harmless in Kafka's TV1 too.
            (TxnState::Empty, false) => Ok(None),
            _ => Err(ResponseError::InvalidTxnState),
        }
    }

    /// The open transaction aborted by the coordinator: a timeout, or a new producer with the
    /// same id. The epoch is bumped so that the old producer is fenced at every partition.
    pub fn fence_and_abort(&self, now_ms: i64) -> TxnMetadata {
        let mut next = self.prepare(false, now_ms);
        if !self.epoch_exhausted() {
            next.last_producer_epoch = self.producer_epoch;
            next.producer_epoch = self.producer_epoch + 1;
        }
        next
    }

    fn prepare(&self, commit: bool, now_ms: i64) -> TxnMetadata {
        let mut next = self.clone();
        next.state = if commit {
            TxnState::PrepareCommit
        } else {
            TxnState::PrepareAbort
        };
        next.last_update_ms = now_ms;
        next
    }

    /// Every marker is written: the transaction is complete.
    pub fn complete(&self, now_ms: i64) -> TxnMetadata {
        let mut next = self.clone();
        next.state = if self.state == TxnState::PrepareCommit {
            TxnState::CompleteCommit
        } else {
            TxnState::CompleteAbort
        };
        next.partitions.clear();
        next.start_ms = -1;
        next.last_update_ms = now_ms;
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(m: &TxnMetadata) -> TxnMetadata {
        m.add(&[("t".to_string(), 0)], 10)
            .expect("add")
            .expect("changed")
    }

    #[test]
    fn a_transaction_goes_through_kafkas_states() {
        let m = TxnMetadata::new("id", 7, 60_000, 0);
        let m = m.init(None, None, 60_000, 1).expect("init");
        assert_eq!((m.producer_epoch, m.state), (0, TxnState::Empty));
        let m = open(&m);
        assert_eq!((m.state, m.start_ms), (TxnState::Ongoing, 10));
        assert_eq!(m.add(&[("t".to_string(), 0)], 11), Ok(None));
        assert_eq!(
            m.check_producer(8, 0),
            Err(ResponseError::InvalidProducerIdMapping)
        );
        assert_eq!(m.check_producer(7, 1), Err(ResponseError::ProducerFenced));
        let p = m.end(true, 20).expect("end").expect("changed");
        assert_eq!(p.state, TxnState::PrepareCommit);
        assert_eq!(
            p.check_producer(7, 0),
            Err(ResponseError::ConcurrentTransactions)
        );
        assert_eq!(
            p.init(None, None, 1, 1),
            Err(ResponseError::ConcurrentTransactions)
        );
        let c = p.complete(30);
        assert_eq!((c.state, c.partitions.len()), (TxnState::CompleteCommit, 0));
        assert_eq!(c.end(true, 31), Ok(None));
        assert_eq!(c.end(false, 31), Err(ResponseError::InvalidTxnState));
    }

    #[test]
    fn fencing_bumps_the_epoch_and_kip_360_retries_are_recognised() {
        let m = open(
            &TxnMetadata::new("id", 7, 1000, 0)
                .init(None, None, 1000, 0)
                .expect("i"),
        );
        let fenced = m.fence_and_abort(50);
        assert_eq!(
            (fenced.state, fenced.producer_epoch),
            (TxnState::PrepareAbort, 1)
        );
        let done = fenced.complete(60);
        let again = done.init(Some((7, 1)), None, 1000, 70).expect("bump");
        assert_eq!(again.producer_epoch, 2);
        assert_eq!(again.init(Some((7, 1)), None, 1000, 71), Ok(again.clone()));
        assert_eq!(
            again.init(Some((7, 0)), None, 1000, 71),
            Err(ResponseError::ProducerFenced)
        );
        let mut worn = again.clone();
        worn.producer_epoch = EPOCH_MAX;
        assert!(worn.epoch_exhausted());
        let renewed = worn.init(None, Some(9), 1000, 80).expect("new id");
        assert_eq!((renewed.producer_id, renewed.producer_epoch), (9, 0));
    }
}
