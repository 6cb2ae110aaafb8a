//! Which transaction markers a pass may drop, as Kafka's cleaner decides it
//! (`CleanedTransactionMetadata`): a marker may go once no batch of its transaction is left in
//! the log before it (every batch of it read in this pass, kept or not, keeps it for another
//! pass) and `delete.retention.ms` has passed since it was written, so that a reader that saw
//! the transaction's records has had that long to see its end. The filter also keeps the
//! producer's last marker in a segment, whose epoch the producer state replays.

use std::collections::HashSet;

use crate::log::batch::BatchHeader;

/// The producers with a transactional batch read since their last marker, in offset order
/// over one pass.
#[derive(Debug, Default)]
pub(super) struct Markers {
    with_batches: HashSet<i64>,
}

impl Markers {
    /// A data batch read in the pass.
    pub(super) fn saw_batch(&mut self, header: &BatchHeader) {
        if header.is_transactional() && !header.is_control() {
            self.with_batches.insert(header.producer_id);
        }
    }

    /// A marker read in the pass: whether it may go (its transaction has no batch left and
    /// it was written before `horizon_ms`).
    pub(super) fn may_drop(&mut self, marker: &BatchHeader, horizon_ms: i64) -> bool {
        let had_batches = self.with_batches.remove(&marker.producer_id);
        !had_batches && marker.max_timestamp < horizon_ms
    }
}
