//! Transaction markers (Kafka's control batches, `EndTransactionMarker`): a batch with the
//! control and transactional attribute bits, the producer's id and epoch, and one record whose
//! key is `version:i16 (0) | type:i16 (0 ABORT, 1 COMMIT)` and whose value is
//! `version:i16 (0) | coordinator_epoch:i32`. The coordinator's WriteTxnMarkers puts one in
//! every partition of a transaction; a read_committed reader learns from them where
//! transactions end.

use bytes::Bytes;
use indexmap::IndexMap;
use kafka_protocol::records::{Compression, Record, TimestampType};

use super::batch::{parse_header, BATCH_HEADER_BYTES};
use super::encode::one_batch;

/// What a marker says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marker {
    pub commit: bool,
    pub coordinator_epoch: i32,
}

/// The marker batch for `producer_id` at `producer_epoch`, its offset unset (the log assigns
/// it).
pub fn encode_marker(
    producer_id: i64,
    producer_epoch: i16,
    marker: Marker,
    now_ms: i64,
) -> Result<Vec<u8>, String> {
    let mut key = Vec::with_capacity(4);
    key.extend_from_slice(&0i16.to_be_bytes());
    key.extend_from_slice(&i16::from(marker.commit).to_be_bytes());
    let mut value = Vec::with_capacity(6);
    value.extend_from_slice(&0i16.to_be_bytes());
    value.extend_from_slice(&marker.coordinator_epoch.to_be_bytes());
    let record = Record {
        transactional: true,
        control: true,
        delete_horizon: false,
        partition_leader_epoch: -1,
        producer_id,
        producer_epoch,
        timestamp_type: TimestampType::Creation,
        offset: 0,
        sequence: -1,
        timestamp: now_ms,
        key: Some(Bytes::from(key)),
        value: Some(Bytes::from(value)),
        headers: IndexMap::new(),
    };
    one_batch(vec![record], Compression::None).map(|b| b.to_vec())
}

/// The marker a control batch carries; None for any other batch or an unreadable one.
pub fn marker_of(batch: &[u8]) -> Option<Marker> {
    let header = parse_header(batch).ok()?;
    if !header.is_control() || header.is_compressed() || header.records_count < 1 {
        return None;
    }
    let mut at = BATCH_HEADER_BYTES;
    let _length = varint(batch, &mut at)?;
    at += 1; // record attributes
    let _timestamp_delta = varint(batch, &mut at)?;
    let _offset_delta = varint(batch, &mut at)?;
    let key_len = usize::try_from(varint(batch, &mut at)?).ok()?;
    let key = batch.get(at..at + key_len)?;
    at += key_len;
    if key.len() < 4 {
        return None;
    }
    let kind = i16::from_be_bytes([key[2], key[3]]);
    let value_len = usize::try_from(varint(batch, &mut at)?).ok();
    let coordinator_epoch = value_len
        .and_then(|len| batch.get(at..at + len))
        .filter(|v| v.len() >= 6)
        .map_or(-1, |v| i32::from_be_bytes([v[2], v[3], v[4], v[5]]));
    match kind {
        0 | 1 => Some(Marker {
            commit: kind == 1,
            coordinator_epoch,
        }),
        _ => None,
    }
}

/// A zigzag varint (or varlong) at `at`, which moves past it.
fn varint(buf: &[u8], at: &mut usize) -> Option<i64> {
    let mut raw: u64 = 0;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*at)?;
        *at += 1;
        raw |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some((raw >> 1) as i64 ^ -((raw & 1) as i64));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::batch::parse_header;

    #[test]
    fn a_marker_reads_back_and_carries_kafkas_attributes() {
        for commit in [true, false] {
            let marker = Marker {
                commit,
                coordinator_epoch: 300,
            };
            let bytes = encode_marker(42, 7, marker, 1_000).expect("encode");
            let header = parse_header(&bytes).expect("header");
            assert!(header.is_control() && header.is_transactional());
            assert_eq!((header.producer_id, header.producer_epoch), (42, 7));
            assert_eq!(header.records_count, 1);
            assert_eq!(marker_of(&bytes), Some(marker));
        }
        let plain = one_batch(
            vec![Record {
                control: false,
                transactional: false,
                ..kafka_protocol::records::Record {
                    transactional: false,
                    control: false,
                    delete_horizon: false,
                    partition_leader_epoch: -1,
                    producer_id: -1,
                    producer_epoch: -1,
                    timestamp_type: TimestampType::Creation,
                    offset: 0,
                    sequence: -1,
                    timestamp: 0,
                    key: None,
                    value: None,
                    headers: IndexMap::new(),
                }
            }],
            Compression::None,
        )
        .expect("plain");
        assert_eq!(marker_of(&plain), None);
    }
}
