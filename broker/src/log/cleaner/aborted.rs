//! The aborted transactions a pass drops, by producer: a transactional data batch whose base
//! offset lies inside one of its producer's aborted transactions (first offset to ABORT
//! marker) belongs to that transaction. Built from the log's `.txnindex` entries when a pass is
//! planned.

use std::collections::HashMap;

use crate::log::batch::BatchHeader;
use crate::log::txn_index::AbortedTxn;

/// Aborted transactions, as `(first offset, last offset)` per producer, sorted.
#[derive(Debug, Default, Clone)]
pub(super) struct AbortedTxns {
    by_producer: HashMap<i64, Vec<(i64, i64)>>,
}

impl AbortedTxns {
    pub(super) fn new<'a>(txns: impl Iterator<Item = &'a AbortedTxn>) -> Self {
        let mut by_producer: HashMap<i64, Vec<(i64, i64)>> = HashMap::new();
        for t in txns {
            by_producer
                .entry(t.producer_id)
                .or_default()
                .push((t.first_offset, t.last_offset));
        }
        for ranges in by_producer.values_mut() {
            ranges.sort_unstable();
        }
        Self { by_producer }
    }

    /// Whether the batch is data of an aborted transaction.
    pub(super) fn covers(&self, header: &BatchHeader) -> bool {
        if !header.is_transactional() || header.is_control() {
            return false;
        }
        let Some(ranges) = self.by_producer.get(&header.producer_id) else {
            return false;
        };
        let base = header.base_offset;
        let after = ranges.partition_point(|(first, _)| *first <= base);
        after > 0 && base <= ranges[after - 1].1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::batch::parse_header_prefix;
    use crate::log::test_util::batch;

    fn header(base: i64, producer_id: i64, attributes: i16) -> BatchHeader {
        let mut h = parse_header_prefix(&batch(1, 0, 1)).expect("header");
        h.base_offset = base;
        h.producer_id = producer_id;
        h.attributes = attributes;
        h
    }

    #[test]
    fn covers_only_transactional_data_inside_an_abort_of_its_producer() {
        let txn = |p, f, l| AbortedTxn {
            producer_id: p,
            first_offset: f,
            last_offset: l,
            last_stable_offset: f,
        };
        let aborted = AbortedTxns::new([txn(7, 10, 20), txn(7, 40, 45), txn(8, 0, 100)].iter());
        const TXN: i16 = 0x10;
        assert!(aborted.covers(&header(10, 7, TXN)));
        assert!(aborted.covers(&header(20, 7, TXN)));
        assert!(aborted.covers(&header(44, 7, TXN)));
        assert!(!aborted.covers(&header(21, 7, TXN)), "between two aborts");
        assert!(!aborted.covers(&header(9, 7, TXN)));
        assert!(!aborted.covers(&header(15, 9, TXN)), "another producer");
        assert!(!aborted.covers(&header(15, 7, 0)), "not transactional");
        assert!(!aborted.covers(&header(15, 7, TXN | 0x20)), "a marker");
    }
}
