//! Kafka's isolation levels (KIP-98): the `isolation_level` ListOffsets and Fetch send, and
//! what `read_committed` hides from the batches a Fetch returns. A broker answers a
//! read_committed Fetch only up to the last stable offset (LSO), with the transactions aborted
//! in that range (producer id and first offset); the reader drops their batches itself. This
//! module is that reader's rule, Kafka's consumer's algorithm (`CompletedFetch`): the aborted
//! transactions wait in a min-heap by first offset; a batch of a producer whose aborted
//! transaction has begun is dropped, until that producer's ABORT marker. Which records reach a
//! caller, control records included, is the tail's choice ([`super::tail`]).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::fmt;

use serde::Serialize;

use crate::error::{Error, Result};

/// What a reader sees of transactional writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IsolationLevel {
    /// Every record up to the high watermark, aborted transactions' too (Kafka's default).
    #[default]
    ReadUncommitted,
    /// Records up to the last stable offset, without those of aborted transactions.
    ReadCommitted,
}

impl IsolationLevel {
    /// The value ListOffsets (v2+) and Fetch (v4+) carry.
    pub fn code(self) -> i8 {
        match self {
            IsolationLevel::ReadUncommitted => 0,
            IsolationLevel::ReadCommitted => 1,
        }
    }

    /// Kafka's name (`isolation.level`'s values).
    pub fn as_str(self) -> &'static str {
        match self {
            IsolationLevel::ReadUncommitted => "read_uncommitted",
            IsolationLevel::ReadCommitted => "read_committed",
        }
    }

    /// Parses Kafka's name, in any case, `-` or `_` between the words.
    pub fn parse(text: &str) -> Result<Self> {
        match text.to_ascii_lowercase().replace('-', "_").as_str() {
            "read_uncommitted" => Ok(IsolationLevel::ReadUncommitted),
            "read_committed" => Ok(IsolationLevel::ReadCommitted),
            _ => Err(Error::Invalid(format!(
                "isolation level '{text}' is neither read_committed nor read_uncommitted"
            ))),
        }
    }

    /// The other level (the console's toggle).
    pub fn toggled(self) -> Self {
        match self {
            IsolationLevel::ReadUncommitted => IsolationLevel::ReadCommitted,
            IsolationLevel::ReadCommitted => IsolationLevel::ReadUncommitted,
        }
    }
}

impl fmt::Display for IsolationLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An aborted transaction as a Fetch response lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortedTxn {
    pub producer_id: i64,
    /// The offset of the transaction's first batch in the partition.
    pub first_offset: i64,
}

/// What a control record says (its key: version, then type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    Abort,
    Commit,
}

impl Marker {
    /// The marker a control record's key holds: a version (i16, 0) and a type (i16: 0 abort,
    /// 1 commit); `None` for anything else (another control type, or a short key).
    pub fn of_key(key: &[u8]) -> Option<Marker> {
        let kind = i16::from_be_bytes([*key.get(2)?, *key.get(3)?]);
        match kind {
            0 => Some(Marker::Abort),
            1 => Some(Marker::Commit),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Marker::Abort => "ABORT",
            Marker::Commit => "COMMIT",
        }
    }
}

/// A batch as the filter needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchView {
    /// -1 for a batch written without a producer id.
    pub producer_id: i64,
    pub transactional: bool,
    pub control: bool,
    /// Whether the batch (a control batch) holds an ABORT marker.
    pub abort_marker: bool,
    pub last_offset: i64,
}

/// read_committed's rule over one Fetch response's batches of one partition, in offset order.
#[derive(Debug, Default)]
pub struct AbortedFilter {
    /// Aborted transactions not yet reached, smallest first offset first.
    pending: BinaryHeap<Reverse<(i64, i64)>>,
    /// Producers inside an aborted transaction: their batches are dropped until their ABORT.
    aborted: HashSet<i64>,
}

impl AbortedFilter {
    /// A filter for a response listing `aborted`.
    pub fn new(aborted: impl IntoIterator<Item = AbortedTxn>) -> Self {
        let pending = aborted
            .into_iter()
            .map(|a| Reverse((a.first_offset, a.producer_id)))
            .collect();
        AbortedFilter {
            pending,
            aborted: HashSet::new(),
        }
    }

    /// Whether `batch`, the next in offset order, belongs to an aborted transaction and is to
    /// be dropped. An ABORT marker ends its producer's aborted transaction (the marker itself
    /// is not dropped here: it is a control record, which readers leave out anyway).
    pub fn drops(&mut self, batch: &BatchView) -> bool {
        if batch.producer_id < 0 {
            return false;
        }
        while let Some(Reverse((first, producer))) = self.pending.peek().copied() {
            if first > batch.last_offset {
                break;
            }
            let _ = self.pending.pop();
            let _ = self.aborted.insert(producer);
        }
        if batch.control {
            if batch.abort_marker {
                let _ = self.aborted.remove(&batch.producer_id);
            }
            return false;
        }
        batch.transactional && self.aborted.contains(&batch.producer_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(producer_id: i64, last_offset: i64) -> BatchView {
        BatchView {
            producer_id,
            transactional: producer_id >= 0,
            control: false,
            abort_marker: false,
            last_offset,
        }
    }

    fn marker(producer_id: i64, offset: i64, abort: bool) -> BatchView {
        BatchView {
            producer_id,
            transactional: true,
            control: true,
            abort_marker: abort,
            last_offset: offset,
        }
    }

    /// Two producers interleaved: 7's transaction is aborted, 8's committed; 7 writes a new
    /// transaction after its ABORT marker, which is read; a plain batch is always read.
    #[test]
    fn aborted_batches_are_dropped_until_their_marker() {
        let mut filter = AbortedFilter::new([AbortedTxn {
            producer_id: 7,
            first_offset: 10,
        }]);
        let batches = [
            (data(8, 9), false),
            (data(7, 11), true),
            (data(-1, 12), false),
            (data(8, 13), false),
            (data(7, 15), true),
            (marker(8, 16, false), false),
            (marker(7, 17, true), false),
            (data(7, 18), false),
        ];
        for (i, (batch, dropped)) in batches.iter().enumerate() {
            assert_eq!(filter.drops(batch), *dropped, "batch {i}: {batch:?}");
        }
    }

    /// An aborted transaction that began before the fetch offset still drops its batches.
    #[test]
    fn a_transaction_begun_before_the_first_batch_is_dropped() {
        let mut filter = AbortedFilter::new([
            AbortedTxn {
                producer_id: 3,
                first_offset: 0,
            },
            AbortedTxn {
                producer_id: 4,
                first_offset: 50,
            },
        ]);
        assert!(filter.drops(&data(3, 40)));
        assert!(!filter.drops(&data(4, 45)), "4's abort begins at 50");
        assert!(filter.drops(&data(4, 55)));
        assert!(!filter.drops(&marker(3, 56, true)));
        assert!(!filter.drops(&data(3, 57)));
    }

    #[test]
    fn levels_and_markers_read_kafkas_names() {
        assert_eq!(
            IsolationLevel::parse("READ_COMMITTED").ok(),
            Some(IsolationLevel::ReadCommitted)
        );
        assert_eq!(
            IsolationLevel::parse("read-uncommitted").ok(),
            Some(IsolationLevel::ReadUncommitted)
        );
        assert!(IsolationLevel::parse("dirty").is_err_and(|e| e.to_string().contains("'dirty'")));
        assert_eq!(IsolationLevel::ReadCommitted.code(), 1);
        assert_eq!(Marker::of_key(&[0, 0, 0, 0]), Some(Marker::Abort));
        assert_eq!(Marker::of_key(&[0, 0, 0, 1]), Some(Marker::Commit));
        assert_eq!(Marker::of_key(&[0, 0]), None);
    }
}
