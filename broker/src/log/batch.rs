//! Record batch v2 (magic 2) headers, parsed by hand from raw bytes.
//!
//! The layout is the one in Kafka's documentation (Implementation → Message Format → Record
//! Batch); the producer id, producer epoch, base sequence and the transactional and control
//! bits came with KIP-98 (idempotence and transactions), the partition leader epoch with
//! KIP-101. This module owns that 61-byte header: reading the fields, checking the bounds, the
//! magic byte and the CRC-32C, walking a buffer of concatenated batches, and patching the two
//! fields the broker assigns (base offset and partition leader epoch), which sit outside the
//! CRC. It never decodes or decompresses records: that is left to
//! the client and to whoever needs record-level data.
//!
//! Two rules for the record count: a produced batch holds exactly one record per offset of its
//! span (Kafka's `LogValidator`), while a stored batch may hold fewer, down to none, once the
//! cleaner removed some of its records (it keeps the batch's base and last offsets, as Kafka's
//! cleaner does, so that producer state survives). [`split_batches`] and [`split_headers`] check
//! the first rule (appends); [`parse_header_prefix`] and [`split_stored`] the second (reads,
//! recovery, replication).

use std::ops::Range;

/// Size of the fixed v2 header (`RECORD_BATCH_OVERHEAD` in Kafka).
pub const BATCH_HEADER_BYTES: usize = 61;
/// Bytes before the region counted by the length field: base offset (8) + length (4).
pub const LOG_OVERHEAD_BYTES: usize = 12;
/// Smallest legal value of the length field: a header with no records.
pub const BATCH_LENGTH_MIN: i32 = (BATCH_HEADER_BYTES - LOG_OVERHEAD_BYTES) as i32;
/// The only record format this broker stores.
pub const MAGIC_V2: i8 = 2;
/// First byte covered by the CRC (the attributes field).
pub const CRC_START: usize = 21;

const BASE_OFFSET_AT: usize = 0;
const LENGTH_AT: usize = 8;
const LEADER_EPOCH_AT: usize = 12;
const MAGIC_AT: usize = 16;
const CRC_AT: usize = 17;
const ATTRIBUTES_AT: usize = 21;
const LAST_OFFSET_DELTA_AT: usize = 23;
const FIRST_TIMESTAMP_AT: usize = 27;
const MAX_TIMESTAMP_AT: usize = 35;
const PRODUCER_ID_AT: usize = 43;
const PRODUCER_EPOCH_AT: usize = 51;
const BASE_SEQUENCE_AT: usize = 53;
const RECORDS_COUNT_AT: usize = 57;

const COMPRESSION_MASK: i16 = 0x07;
const TIMESTAMP_TYPE_BIT: i16 = 0x08;
const TRANSACTIONAL_BIT: i16 = 0x10;
const CONTROL_BIT: i16 = 0x20;

const _: () = assert!(RECORDS_COUNT_AT + 4 == BATCH_HEADER_BYTES);
const _: () = assert!(CRC_AT + 4 == CRC_START && CRC_START == ATTRIBUTES_AT);

/// Why a buffer is not a valid v2 record batch. Every variant maps to Kafka's
/// `CORRUPT_MESSAGE` / `INVALID_RECORD` on the produce path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    #[error("record batch is truncated: it needs {needed} bytes but only {available} are present")]
    Truncated { needed: u64, available: u64 },
    #[error("record batch length field {0} is below the minimum of {BATCH_LENGTH_MIN}")]
    LengthTooSmall(i32),
    #[error("record batch magic {0} is not supported; only magic 2 batches are accepted")]
    UnsupportedMagic(i8),
    #[error(
        "record batch CRC mismatch: header says {stored:#010x}, content hashes to {computed:#010x}"
    )]
    CrcMismatch { stored: u32, computed: u32 },
    #[error("record batch last offset delta {0} is negative")]
    NegativeOffsetDelta(i32),
    #[error("record batch holds {count} records but its offsets span {span}")]
    InconsistentCount { count: i32, span: i64 },
}

/// The compression codec named by the low three attribute bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
    /// Codec ids 5..=7 are unassigned; the batch is stored as is but cannot be decoded.
    Unknown(u8),
}

/// The parsed fixed header of one v2 batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    pub base_offset: i64,
    /// Bytes after the length field; the whole batch is `length + 12` bytes.
    pub length: i32,
    pub partition_leader_epoch: i32,
    pub magic: i8,
    pub crc: u32,
    pub attributes: i16,
    pub last_offset_delta: i32,
    pub first_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub records_count: i32,
}

impl BatchHeader {
    /// Offset of the last record in the batch.
    pub fn last_offset(&self) -> i64 {
        self.base_offset
            .saturating_add(i64::from(self.last_offset_delta))
    }

    /// Total size of the batch in bytes, header included.
    pub fn total_bytes(&self) -> usize {
        debug_assert!(self.length >= BATCH_LENGTH_MIN);
        LOG_OVERHEAD_BYTES + usize::try_from(self.length).unwrap_or(0)
    }

    pub fn compression(&self) -> Compression {
        match self.attributes & COMPRESSION_MASK {
            0 => Compression::None,
            1 => Compression::Gzip,
            2 => Compression::Snappy,
            3 => Compression::Lz4,
            4 => Compression::Zstd,
            other => Compression::Unknown(other as u8),
        }
    }

    pub fn is_compressed(&self) -> bool {
        self.compression() != Compression::None
    }

    pub fn is_transactional(&self) -> bool {
        self.attributes & TRANSACTIONAL_BIT != 0
    }

    pub fn is_control(&self) -> bool {
        self.attributes & CONTROL_BIT != 0
    }

    /// True when the timestamps are the broker's append time rather than the producer's.
    pub fn timestamp_type_log_append(&self) -> bool {
        self.attributes & TIMESTAMP_TYPE_BIT != 0
    }
}

fn read_array<const N: usize>(buf: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&buf[at..at + N]);
    out
}

fn i16_at(buf: &[u8], at: usize) -> i16 {
    i16::from_be_bytes(read_array(buf, at))
}

fn i32_at(buf: &[u8], at: usize) -> i32 {
    i32::from_be_bytes(read_array(buf, at))
}

fn u32_at(buf: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(read_array(buf, at))
}

fn i64_at(buf: &[u8], at: usize) -> i64 {
    i64::from_be_bytes(read_array(buf, at))
}

/// Parses the 61-byte header at the start of `buf` without requiring the rest of the batch to
/// be present. Checks the length field, the magic byte and the offset/count fields (a stored
/// batch's rule: at most one record per offset); not the CRC.
pub fn parse_header_prefix(buf: &[u8]) -> Result<BatchHeader, BatchError> {
    if buf.len() < BATCH_HEADER_BYTES {
        return Err(BatchError::Truncated {
            needed: BATCH_HEADER_BYTES as u64,
            available: buf.len() as u64,
        });
    }
    let length = i32_at(buf, LENGTH_AT);
    if length < BATCH_LENGTH_MIN {
        return Err(BatchError::LengthTooSmall(length));
    }
    let magic = buf[MAGIC_AT] as i8;
    if magic != MAGIC_V2 {
        return Err(BatchError::UnsupportedMagic(magic));
    }
    let header = BatchHeader {
        base_offset: i64_at(buf, BASE_OFFSET_AT),
        length,
        partition_leader_epoch: i32_at(buf, LEADER_EPOCH_AT),
        magic,
        crc: u32_at(buf, CRC_AT),
        attributes: i16_at(buf, ATTRIBUTES_AT),
        last_offset_delta: i32_at(buf, LAST_OFFSET_DELTA_AT),
        first_timestamp: i64_at(buf, FIRST_TIMESTAMP_AT),
        max_timestamp: i64_at(buf, MAX_TIMESTAMP_AT),
        producer_id: i64_at(buf, PRODUCER_ID_AT),
        producer_epoch: i16_at(buf, PRODUCER_EPOCH_AT),
        base_sequence: i32_at(buf, BASE_SEQUENCE_AT),
        records_count: i32_at(buf, RECORDS_COUNT_AT),
    };
    check_stored_count(&header)?;
    Ok(header)
}

/// A stored batch's rule: between none and one record per offset of its span (the cleaner
/// removes records but keeps the batch's offsets).
fn check_stored_count(header: &BatchHeader) -> Result<(), BatchError> {
    if header.last_offset_delta < 0 {
        return Err(BatchError::NegativeOffsetDelta(header.last_offset_delta));
    }
    let span = i64::from(header.last_offset_delta) + 1;
    if header.records_count < 0 || i64::from(header.records_count) > span {
        return Err(BatchError::InconsistentCount {
            count: header.records_count,
            span,
        });
    }
    Ok(())
}

/// Kafka's `LogValidator` rule for a produced v2 batch: the offset span equals the record count.
fn check_produced_count(header: &BatchHeader) -> Result<(), BatchError> {
    let span = i64::from(header.last_offset_delta) + 1;
    if i64::from(header.records_count) != span {
        return Err(BatchError::InconsistentCount {
            count: header.records_count,
            span,
        });
    }
    Ok(())
}

/// Parses the header of a produced batch at the start of `buf` and checks that the whole batch
/// fits in `buf` and holds one record per offset.
pub fn parse_header(buf: &[u8]) -> Result<BatchHeader, BatchError> {
    let header = parse_stored_header(buf)?;
    check_produced_count(&header)?;
    Ok(header)
}

/// Parses the header of a stored batch (maybe cleaned) at the start of `buf` and checks that
/// the whole batch fits in `buf`.
pub(crate) fn parse_stored_header(buf: &[u8]) -> Result<BatchHeader, BatchError> {
    let header = parse_header_prefix(buf)?;
    let total = header.total_bytes();
    if total > buf.len() {
        return Err(BatchError::Truncated {
            needed: total as u64,
            available: buf.len() as u64,
        });
    }
    Ok(header)
}

/// Checks the CRC-32C of one whole batch (`batch` must be exactly the batch's bytes).
pub fn validate_crc(header: &BatchHeader, batch: &[u8]) -> Result<(), BatchError> {
    if batch.len() < BATCH_HEADER_BYTES {
        return Err(BatchError::Truncated {
            needed: BATCH_HEADER_BYTES as u64,
            available: batch.len() as u64,
        });
    }
    let computed = crc32c::crc32c(&batch[CRC_START..]);
    if computed != header.crc {
        return Err(BatchError::CrcMismatch {
            stored: header.crc,
            computed,
        });
    }
    Ok(())
}

/// Writes the broker-assigned base offset and partition leader epoch into the batch at the
/// start of `buf`. Both fields are outside the CRC, so the batch stays valid.
pub fn patch(buf: &mut [u8], base_offset: i64, leader_epoch: i32) {
    assert!(
        buf.len() >= BATCH_HEADER_BYTES,
        "patch needs a whole batch header"
    );
    buf[BASE_OFFSET_AT..BASE_OFFSET_AT + 8].copy_from_slice(&base_offset.to_be_bytes());
    buf[LEADER_EPOCH_AT..LEADER_EPOCH_AT + 4].copy_from_slice(&leader_epoch.to_be_bytes());
}

/// Iterator over concatenated batches; see [`split_batches`].
#[derive(Debug)]
pub struct SplitBatches<'a> {
    buf: &'a [u8],
    position: usize,
    check_crc: bool,
    /// Produced batches must hold one record per offset; stored ones may hold fewer.
    produced: bool,
    failed: bool,
}

impl Iterator for SplitBatches<'_> {
    type Item = Result<(BatchHeader, Range<usize>), BatchError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.position >= self.buf.len() {
            return None;
        }
        let rest = &self.buf[self.position..];
        let parse = if self.produced {
            parse_header
        } else {
            parse_stored_header
        };
        let item = parse(rest).and_then(|header| {
            let range = self.position..self.position + header.total_bytes();
            if self.check_crc {
                validate_crc(&header, &self.buf[range.clone()])?;
            }
            Ok((header, range))
        });
        match &item {
            Ok((_, range)) => self.position = range.end,
            Err(_) => self.failed = true,
        }
        Some(item)
    }
}

/// Marks the batch as LogAppendTime with `now_ms` as its max timestamp and recomputes its CRC
/// (both fields are inside the CRC, unlike base offset and leader epoch).
pub fn stamp_log_append_time(buf: &mut [u8], now_ms: i64) {
    assert!(
        buf.len() >= BATCH_HEADER_BYTES,
        "stamping needs a whole batch header"
    );
    let attributes = i16_at(buf, ATTRIBUTES_AT) | TIMESTAMP_TYPE_BIT;
    buf[ATTRIBUTES_AT..ATTRIBUTES_AT + 2].copy_from_slice(&attributes.to_be_bytes());
    buf[MAX_TIMESTAMP_AT..MAX_TIMESTAMP_AT + 8].copy_from_slice(&now_ms.to_be_bytes());
    let crc = crc32c::crc32c(&buf[CRC_START..]);
    buf[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_be_bytes());
}

/// Walks a buffer of concatenated batches (a produce request's records), yielding each header
/// and its byte range, with the CRC checked. After the first error the iterator ends.
pub fn split_batches(buf: &[u8]) -> SplitBatches<'_> {
    SplitBatches {
        buf,
        position: 0,
        check_crc: true,
        produced: true,
        failed: false,
    }
}

/// Like [`split_batches`] but without the CRC check, for bytes that were already validated.
pub(crate) fn split_headers(buf: &[u8]) -> SplitBatches<'_> {
    SplitBatches {
        buf,
        position: 0,
        check_crc: false,
        produced: true,
        failed: false,
    }
}

/// Walks batches as a log stores them (a leader's, to a follower): CRCs not checked, and a
/// cleaned batch may hold fewer records than offsets.
pub(crate) fn split_stored(buf: &[u8]) -> SplitBatches<'_> {
    SplitBatches {
        buf,
        position: 0,
        check_crc: false,
        produced: false,
        failed: false,
    }
}

/// Turns `buf`, which starts with a copy of a batch's header followed by a new records section,
/// into a valid batch: sets the length from `buf`'s size, the record count, the max timestamp
/// and the attributes, and recomputes the CRC. Base offset, last offset delta, first timestamp
/// and producer fields stay the original batch's (the cleaner keeps a batch's offsets).
pub(crate) fn rewrite_header(
    buf: &mut [u8],
    records_count: i32,
    max_timestamp: i64,
    attributes: i16,
) {
    assert!(
        buf.len() >= BATCH_HEADER_BYTES,
        "a rewritten batch needs a whole header"
    );
    assert!(
        records_count >= 0 && records_count <= i32_at(buf, LAST_OFFSET_DELTA_AT).saturating_add(1),
        "a rewritten batch holds at most one record per offset"
    );
    let length = i32::try_from(buf.len() - LOG_OVERHEAD_BYTES).expect("a batch fits an i32 length");
    buf[LENGTH_AT..LENGTH_AT + 4].copy_from_slice(&length.to_be_bytes());
    buf[ATTRIBUTES_AT..ATTRIBUTES_AT + 2].copy_from_slice(&attributes.to_be_bytes());
    buf[MAX_TIMESTAMP_AT..MAX_TIMESTAMP_AT + 8].copy_from_slice(&max_timestamp.to_be_bytes());
    buf[RECORDS_COUNT_AT..RECORDS_COUNT_AT + 4].copy_from_slice(&records_count.to_be_bytes());
    let crc = crc32c::crc32c(&buf[CRC_START..]);
    buf[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_be_bytes());
}

/// The attribute bits of a batch with `compression` replaced by none (an empty batch).
pub(crate) fn attributes_without_compression(attributes: i16) -> i16 {
    attributes & !COMPRESSION_MASK
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::test_util::{encode_batch, BatchSpec};

    fn sample() -> Vec<u8> {
        encode_batch(&BatchSpec {
            records: 3,
            timestamp: 1_000,
            value_bytes: 10,
        })
    }

    #[test]
    fn parses_header_fields() {
        let buf = sample();
        let header = parse_header(&buf).expect("valid header");
        assert_eq!(header.base_offset, 0);
        assert_eq!(header.total_bytes(), buf.len());
        assert_eq!(header.magic, MAGIC_V2);
        assert_eq!(header.last_offset_delta, 2);
        assert_eq!(header.last_offset(), 2);
        assert_eq!(header.records_count, 3);
        assert_eq!(header.first_timestamp, 1_000);
        assert_eq!(header.max_timestamp, 1_002);
        assert_eq!(header.compression(), Compression::None);
        assert!(!header.is_compressed());
        assert!(!header.is_transactional());
        assert!(!header.is_control());
        assert!(!header.timestamp_type_log_append());
        validate_crc(&header, &buf).expect("crc matches");
    }

    #[test]
    fn short_buffer_is_an_error() {
        let buf = sample();
        for len in 0..buf.len() {
            let result = parse_header(&buf[..len]);
            assert!(
                matches!(result, Err(BatchError::Truncated { .. })),
                "len {len}: {result:?}"
            );
        }
    }

    #[test]
    fn negative_or_small_length_is_an_error() {
        for bad in [-1i32, i32::MIN, 0, BATCH_LENGTH_MIN - 1] {
            let mut buf = sample();
            buf[LENGTH_AT..LENGTH_AT + 4].copy_from_slice(&bad.to_be_bytes());
            assert_eq!(parse_header(&buf), Err(BatchError::LengthTooSmall(bad)));
        }
    }

    #[test]
    fn length_past_buffer_is_truncated() {
        let mut buf = sample();
        buf[LENGTH_AT..LENGTH_AT + 4].copy_from_slice(&i32::MAX.to_be_bytes());
        assert!(matches!(
            parse_header(&buf),
            Err(BatchError::Truncated { .. })
        ));
    }

    #[test]
    fn magic_one_is_rejected() {
        let mut buf = sample();
        buf[MAGIC_AT] = 1;
        assert_eq!(parse_header(&buf), Err(BatchError::UnsupportedMagic(1)));
    }

    #[test]
    fn inconsistent_count_is_rejected() {
        let mut buf = sample();
        buf[RECORDS_COUNT_AT..RECORDS_COUNT_AT + 4].copy_from_slice(&7i32.to_be_bytes());
        assert!(matches!(
            parse_header(&buf),
            Err(BatchError::InconsistentCount { .. })
        ));
        let mut buf = sample();
        buf[LAST_OFFSET_DELTA_AT..LAST_OFFSET_DELTA_AT + 4].copy_from_slice(&(-2i32).to_be_bytes());
        assert_eq!(parse_header(&buf), Err(BatchError::NegativeOffsetDelta(-2)));
    }

    /// A cleaned batch keeps its offsets but may hold fewer records, down to none: stored
    /// batches accept that, produced ones never do, and neither accepts more records than
    /// offsets.
    #[test]
    fn stored_batches_may_hold_fewer_records_than_offsets() {
        for (count, produced_ok, stored_ok) in [
            (3, true, true),
            (2, false, true),
            (0, false, true),
            (4, false, false),
            (-1, false, false),
        ] {
            let mut buf = sample();
            rewrite_header(&mut buf, count.clamp(0, 3), 1_002, 0);
            buf[RECORDS_COUNT_AT..RECORDS_COUNT_AT + 4].copy_from_slice(&count.to_be_bytes());
            assert_eq!(parse_header(&buf).is_ok(), produced_ok, "{count} produced");
            assert_eq!(
                parse_header_prefix(&buf).is_ok(),
                stored_ok,
                "{count} stored"
            );
            assert_eq!(
                split_stored(&buf).all(|b| b.is_ok()),
                stored_ok,
                "{count} split"
            );
            assert_eq!(
                split_headers(&buf).all(|b| b.is_ok()),
                produced_ok,
                "{count} split"
            );
        }
    }

    #[test]
    fn rewriting_a_header_keeps_the_batch_valid() {
        let original = sample();
        let mut buf = original[..BATCH_HEADER_BYTES].to_vec();
        rewrite_header(&mut buf, 0, 1_000, attributes_without_compression(0x13));
        let header = parse_header_prefix(&buf).expect("valid");
        validate_crc(&header, &buf).expect("crc recomputed");
        assert_eq!(header.total_bytes(), BATCH_HEADER_BYTES);
        assert_eq!((header.records_count, header.last_offset_delta), (0, 2));
        assert_eq!(
            header.attributes, 0x10,
            "transactional kept, compression gone"
        );
        assert_eq!(header.max_timestamp, 1_000);
    }

    #[test]
    fn every_flipped_byte_after_crc_start_fails_crc() {
        let original = sample();
        for at in CRC_START..original.len() {
            let mut buf = original.clone();
            buf[at] ^= 0x5a;
            let result = parse_header(&buf).and_then(|h| validate_crc(&h, &buf));
            assert!(result.is_err(), "flip at {at} went unnoticed");
        }
    }

    #[test]
    fn bad_crc_is_reported() {
        let mut buf = sample();
        buf[CRC_AT] ^= 0xff;
        let header = parse_header(&buf).expect("header still parses");
        assert!(matches!(
            validate_crc(&header, &buf),
            Err(BatchError::CrcMismatch { .. })
        ));
    }

    #[test]
    fn stamping_log_append_time_keeps_the_batch_valid() {
        let mut buf = sample();
        assert!(!parse_header(&buf)
            .expect("header")
            .timestamp_type_log_append());
        stamp_log_append_time(&mut buf, 1_800_000_000_000);
        let header = parse_header(&buf).expect("valid header");
        assert!(header.timestamp_type_log_append());
        assert_eq!(header.max_timestamp, 1_800_000_000_000);
        validate_crc(&header, &buf).expect("crc recomputed");
    }

    #[test]
    fn patch_keeps_crc_valid() {
        let mut buf = sample();
        patch(&mut buf, 1_234_567, 42);
        let header = parse_header(&buf).expect("valid header");
        assert_eq!(header.base_offset, 1_234_567);
        assert_eq!(header.partition_leader_epoch, 42);
        assert_eq!(header.last_offset(), 1_234_569);
        validate_crc(&header, &buf).expect("crc unaffected by patch");
    }

    #[test]
    fn split_walks_concatenated_batches() {
        let a = sample();
        let b = encode_batch(&BatchSpec {
            records: 1,
            timestamp: 5,
            value_bytes: 100,
        });
        let mut buf = a.clone();
        buf.extend_from_slice(&b);
        let items: Vec<_> = split_batches(&buf)
            .collect::<Result<_, _>>()
            .expect("valid");
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].1, 0..a.len());
        assert_eq!(items[1].1, a.len()..a.len() + b.len());
        assert_eq!(items[1].0.records_count, 1);
    }

    #[test]
    fn split_stops_at_first_error() {
        let a = sample();
        let mut buf = a.clone();
        buf.extend_from_slice(&a);
        let last = buf.len() - 1;
        buf[last] ^= 1;
        let items: Vec<_> = split_batches(&buf).collect();
        assert_eq!(items.len(), 2);
        assert!(items[0].is_ok());
        assert!(matches!(items[1], Err(BatchError::CrcMismatch { .. })));
        // Trailing garbage shorter than a header is an error too.
        let mut buf = a.clone();
        buf.extend_from_slice(&[0u8; 7]);
        let items: Vec<_> = split_batches(&buf).collect();
        assert!(matches!(
            items.last(),
            Some(Err(BatchError::Truncated { .. }))
        ));
        // Without the CRC check the flipped byte is not noticed.
        let mut buf = a.clone();
        buf[last.min(a.len() - 1)] ^= 1;
        assert!(split_headers(&buf).all(|item| item.is_ok()));
    }
}
