//! Kafka's produce-side checks of one partition's records (Kafka's `LogValidator`): exactly one
//! v2 batch, within `max.message.bytes`, a valid CRC, then record by record: a key on
//! compacted topics, a CreateTime timestamp within `message.timestamp.before.max.ms` and
//! `message.timestamp.after.max.ms` of now, and inner offsets that count up from 0.
//!
//! A batch with invalid records is refused whole, and the refusal names each invalid record by
//! its index in the batch with its own message (KIP-467), so that a client can fail those
//! records with their reason and the others as "part of a batch with invalid records".

use kafka_protocol::ResponseError;

use super::PartitionSettings;
use crate::log::batch::{self, BatchHeader};
use crate::log::records::{self, RecordInfo};

/// Kafka's `RecordBatch.NO_TIMESTAMP`: a record without a timestamp is never out of range.
const NO_TIMESTAMP: i64 = -1;
/// Record errors shown in the partition-level message, as Kafka shows at most three.
const MESSAGE_ERRORS_MAX: usize = 3;

/// One invalid record: its index in the batch and why (Produce v8+ `record_errors`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    pub batch_index: i32,
    pub message: String,
}

/// Why an append was refused: the partition's error code, and for record-level failures the
/// records at fault and a partition-level message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub error: ResponseError,
    pub record_errors: Vec<RecordError>,
    pub message: Option<String>,
}

impl From<ResponseError> for Rejected {
    fn from(error: ResponseError) -> Self {
        Rejected {
            error,
            record_errors: Vec::new(),
            message: None,
        }
    }
}

/// The time bounds a CreateTime record must keep, from the topic's configs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimestampBounds {
    pub before_max_ms: i64,
    pub after_max_ms: i64,
}

/// Checks the records of one produce request for one partition; returns the batch's header.
pub fn validate(
    records: &[u8],
    settings: &PartitionSettings,
    now_ms: i64,
) -> Result<BatchHeader, Rejected> {
    // Headers first: size is checked before the CRC is computed (once, below), as Kafka does.
    let mut batches = batch::split_headers(records);
    let (header, range) = match batches.next() {
        Some(Ok(found)) => found,
        Some(Err(_)) | None => return Err(ResponseError::CorruptMessage.into()),
    };
    if batches.next().is_some() {
        // Kafka: produce v3+ carries exactly one record batch per partition.
        return Err(ResponseError::InvalidRecord.into());
    }
    let bytes = &records[range];
    if bytes.len() > settings.max_message_bytes {
        return Err(ResponseError::MessageTooLarge.into());
    }
    // parse_header already refused record counts that disagree with the last offset delta.
    batch::validate_crc(&header, bytes).map_err(|_| ResponseError::CorruptMessage)?;
    let errors = record_errors(&header, bytes, settings, now_ms)?;
    if errors.is_empty() {
        Ok(header)
    } else {
        Err(rejected(errors))
    }
}

/// Every invalid record of the batch, each with the first check it fails. A batch whose
/// records cannot be read at all is CORRUPT_MESSAGE.
fn record_errors(
    header: &BatchHeader,
    bytes: &[u8],
    settings: &PartitionSettings,
    now_ms: i64,
) -> Result<Vec<(ResponseError, RecordError)>, ResponseError> {
    let section =
        records::records_section(header, bytes).map_err(|_| ResponseError::CorruptMessage)?;
    let bounds = (!settings.log_append_time && !header.timestamp_type_log_append()).then(|| {
        (
            now_ms.saturating_sub(settings.timestamps.before_max_ms),
            now_ms.saturating_add(settings.timestamps.after_max_ms),
        )
    });
    let mut errors = Vec::new();
    for record in records::walk(&section, header.records_count) {
        let record = record.map_err(|_| ResponseError::CorruptMessage)?;
        if let Some(found) = check_record(header, &record, settings.compacted, bounds) {
            errors.push(found);
        }
    }
    Ok(errors)
}

fn check_record(
    header: &BatchHeader,
    record: &RecordInfo,
    compacted: bool,
    bounds: Option<(i64, i64)>,
) -> Option<(ResponseError, RecordError)> {
    let error = |code, message: String| {
        let batch_index = record.index;
        Some((
            code,
            RecordError {
                batch_index,
                message,
            },
        ))
    };
    if record.offset_delta != record.index {
        let message = format!(
            "Inner record {} has offset delta {}, expected {}: offsets in a batch must count up from 0.",
            record.index, record.offset_delta, record.index
        );
        return error(ResponseError::InvalidRecord, message);
    }
    if compacted && !record.has_key {
        let message = "Compacted topic cannot accept message without key.".to_string();
        return error(ResponseError::InvalidRecord, message);
    }
    let timestamp = header
        .first_timestamp
        .saturating_add(record.timestamp_delta);
    match bounds {
        Some((low, high)) if timestamp != NO_TIMESTAMP && (timestamp < low || timestamp > high) => {
            let message = format!(
                "Timestamp {timestamp} of message with offset {} is out of range. The timestamp should be within [{low}, {high}]",
                record.offset_delta
            );
            error(ResponseError::InvalidTimestamp, message)
        }
        _ => None,
    }
}

/// Kafka's `processRecordErrors`: INVALID_TIMESTAMP if any record's timestamp is at fault,
/// else INVALID_RECORD, with a message that shows the first few record errors.
fn rejected(errors: Vec<(ResponseError, RecordError)>) -> Rejected {
    let timestamp = errors
        .iter()
        .any(|(code, _)| *code == ResponseError::InvalidTimestamp);
    let record_errors: Vec<RecordError> = errors.into_iter().map(|(_, e)| e).collect();
    let (error, message) = if timestamp {
        let message = "One or more records have been rejected due to invalid timestamp";
        (ResponseError::InvalidTimestamp, message.to_string())
    } else {
        let shown: Vec<String> = record_errors
            .iter()
            .take(MESSAGE_ERRORS_MAX)
            .map(|e| format!("record {}: {}", e.batch_index, e.message))
            .collect();
        let message = format!(
            "One or more records have been rejected due to {} record errors in total, and only showing the first three errors at most: [{}]",
            record_errors.len(),
            shown.join("; ")
        );
        (ResponseError::InvalidRecord, message)
    };
    Rejected {
        error,
        record_errors,
        message: Some(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::LogConfig;
    use kafka_protocol::records::Compression;

    const NOW: i64 = 1_800_000_000_000;

    fn settings(compacted: bool) -> PartitionSettings {
        PartitionSettings {
            compacted,
            max_message_bytes: 1 << 20,
            log_append_time: false,
            timestamps: TimestampBounds {
                before_max_ms: i64::MAX,
                after_max_ms: 3_600_000,
            },
            log: LogConfig::default(),
        }
    }

    fn batch(records: &[(Option<&str>, i64)], compression: Compression) -> Vec<u8> {
        crate::log::test_util::encode_keyed(records, compression)
    }

    fn indexes(rejected: &Rejected) -> Vec<i32> {
        rejected
            .record_errors
            .iter()
            .map(|e| e.batch_index)
            .collect()
    }

    #[test]
    fn keyless_records_on_a_compacted_topic_are_named() {
        for codec in [Compression::None, Compression::Lz4] {
            let records: Vec<(Option<&str>, i64)> = (0..10)
                .map(|i| (if i % 3 == 0 { None } else { Some("k") }, NOW))
                .collect();
            let bytes = batch(&records, codec);
            let rejected = validate(&bytes, &settings(true), NOW).expect_err("refused");
            assert_eq!(rejected.error, ResponseError::InvalidRecord);
            assert_eq!(indexes(&rejected), vec![0, 3, 6, 9]);
            assert!(rejected
                .message
                .expect("message")
                .contains("4 record errors"));
            assert!(validate(&bytes, &settings(false), NOW).is_ok());
        }
    }

    #[test]
    fn timestamps_out_of_bounds_are_named() {
        let hour = 3_600_000;
        let records = [
            (Some("a"), NOW),
            (Some("b"), NOW + hour + 1),
            (Some("c"), NOW - 10 * hour),
            (Some("d"), NO_TIMESTAMP),
        ];
        let bytes = batch(&records, Compression::None);
        let rejected = validate(&bytes, &settings(false), NOW).expect_err("refused");
        assert_eq!(rejected.error, ResponseError::InvalidTimestamp);
        assert_eq!(indexes(&rejected), vec![1]);
        let mut strict = settings(false);
        strict.timestamps.before_max_ms = hour;
        let rejected = validate(&bytes, &strict, NOW).expect_err("refused");
        assert_eq!(indexes(&rejected), vec![1, 2]);
        let mut appended = settings(false);
        appended.log_append_time = true;
        assert!(
            validate(&bytes, &appended, NOW).is_ok(),
            "the broker's time replaces them"
        );
    }

    #[test]
    fn inner_offsets_must_count_up() {
        let mut bytes = batch(&[(Some("a"), NOW), (Some("b"), NOW)], Compression::None);
        // The second record's offset delta (after its length, attributes and a 1-byte
        // timestamp delta) from 1 to 2 (zigzag 4), then the CRC made valid again.
        let second = bytes.len() - (bytes.len() - 61) / 2;
        assert_eq!(bytes[second + 3], 2, "zigzag 1");
        bytes[second + 3] = 4;
        let crc = crc32c::crc32c(&bytes[batch::CRC_START..]);
        bytes[17..21].copy_from_slice(&crc.to_be_bytes());
        let rejected = validate(&bytes, &settings(false), NOW).expect_err("refused");
        assert_eq!(rejected.error, ResponseError::InvalidRecord);
        assert_eq!(indexes(&rejected), vec![1]);
    }
}
