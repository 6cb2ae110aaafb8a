//! Idempotent producer state of one partition: for each producer id, its epoch and its last few
//! batches' sequence ranges, so a retried batch is answered with its original offset instead of
//! being written twice, and a gap in sequences is refused (OUT_OF_ORDER_SEQUENCE_NUMBER).

use std::collections::{HashMap, VecDeque};

use kafka_protocol::ResponseError;

use crate::limits::PRODUCER_BATCHES_RETAINED;

/// The sequence range of one appended batch and where it landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchRecord {
    pub first_seq: i32,
    pub last_seq: i32,
    pub base_offset: i64,
}

#[derive(Debug, Default)]
struct Entry {
    epoch: i16,
    batches: VecDeque<BatchRecord>,
}

/// What the sequence check decided for an incoming batch.
#[derive(Debug, PartialEq, Eq)]
pub enum SequenceCheck {
    /// Append it.
    Append,
    /// Already written: answer with this base offset and write nothing.
    Duplicate(i64),
}

/// Producer id → state, for one partition.
#[derive(Debug, Default)]
pub struct ProducerState {
    producers: HashMap<i64, Entry>,
}

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

    /// Records an appended batch.
    pub fn record(&mut self, pid: i64, epoch: i16, batch: BatchRecord) {
        let entry = self.producers.entry(pid).or_default();
        if epoch != entry.epoch {
            entry.epoch = epoch;
            entry.batches.clear();
        }
        if entry.batches.len() == PRODUCER_BATCHES_RETAINED {
            entry.batches.pop_front();
        }
        entry.batches.push_back(batch);
        assert!(entry.batches.len() <= PRODUCER_BATCHES_RETAINED);
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
            },
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
            },
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
            },
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
                },
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
