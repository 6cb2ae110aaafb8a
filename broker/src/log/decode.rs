//! Record-level reads of one stored batch, for the few lookups that must look inside a batch
//! (offsets for a timestamp, the offset of the max timestamp). The hot read path never calls
//! this: the log stores and serves batches without decoding them.
//!
//! A LogAppendTime batch's records all carry the batch's max timestamp, whatever their deltas
//! say, as in Kafka's `DefaultRecordBatch`.

use super::batch::BatchHeader;
use super::records;

/// The offset and timestamp of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordTime {
    pub(crate) offset: i64,
    pub(crate) timestamp: i64,
}

/// Every record of the batch `bytes` (whose header is `header`), in offset order.
pub(crate) fn record_times(header: &BatchHeader, bytes: &[u8]) -> Result<Vec<RecordTime>, String> {
    let section = records::records_section(header, bytes)?;
    let log_append = header.timestamp_type_log_append();
    records::walk(&section, header.records_count)
        .map(|r| {
            r.map(|r| RecordTime {
                offset: header.base_offset + i64::from(r.offset_delta),
                timestamp: if log_append {
                    header.max_timestamp
                } else {
                    header.first_timestamp + r.timestamp_delta
                },
            })
        })
        .collect()
}

/// Kafka's `searchForTimestamp` inside one batch: the first record at or after `min_offset`
/// whose timestamp is at least `timestamp`.
pub(crate) fn first_at_or_after(
    records: &[RecordTime],
    timestamp: i64,
    min_offset: i64,
) -> Option<RecordTime> {
    records
        .iter()
        .find(|r| r.timestamp >= timestamp && r.offset >= min_offset)
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::batch::{parse_header, stamp_log_append_time};
    use crate::log::test_util::batch;

    #[test]
    fn create_time_records_keep_their_own_timestamps() {
        let bytes = batch(3, 1_000, 4);
        let header = parse_header(&bytes).expect("header");
        let times = record_times(&header, &bytes).expect("decode");
        assert_eq!(times.len(), 3);
        assert_eq!(times[0].offset, header.base_offset);
        let hit = first_at_or_after(&times, times[1].timestamp, 0).expect("found");
        assert_eq!(hit, times[1]);
        assert_eq!(
            first_at_or_after(&times, 0, times[2].offset),
            Some(times[2])
        );
        assert_eq!(first_at_or_after(&times, times[2].timestamp + 1, 0), None);
    }

    #[test]
    fn log_append_time_records_all_carry_the_batch_time() {
        let mut bytes = batch(3, 1_000, 4);
        stamp_log_append_time(&mut bytes, 5_000);
        let header = parse_header(&bytes).expect("header");
        let times = record_times(&header, &bytes).expect("decode");
        assert!(times.iter().all(|t| t.timestamp == 5_000));
    }
}
