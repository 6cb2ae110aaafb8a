//! The records inside one v2 batch, walked without allocating: each record's index, offset
//! delta, timestamp delta and whether it has a key. Compressed batches are decompressed first
//! (with kafka-protocol's codecs) into one buffer. The produce checks (keys on compacted
//! topics, timestamp bounds, inner offsets), the timestamp lookups and the log cleaner (keys,
//! null values and each record's bytes, through [`views`]) read records through this one
//! walker; nothing else in the broker looks inside a batch.

use std::borrow::Cow;

use bytes::Bytes;
use kafka_protocol::compression::{Decompressor, Gzip, Lz4, Snappy, Zstd};

use super::batch::{BatchHeader, Compression, BATCH_HEADER_BYTES};

/// What the checks and lookups need of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordInfo {
    /// Position in the batch, from 0 (KIP-467's `batch_index`).
    pub index: i32,
    pub offset_delta: i32,
    pub timestamp_delta: i64,
    pub has_key: bool,
}

/// One record seen in place: what the cleaner needs to decide on it, and its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordView<'a> {
    pub(crate) offset_delta: i32,
    pub(crate) timestamp_delta: i64,
    pub(crate) key: Option<&'a [u8]>,
    /// A null value: the record is a tombstone.
    pub(crate) value_is_null: bool,
    /// The whole record, its length prefix included; offsets and timestamps inside it are
    /// deltas from the batch header, so it can be copied as is into a batch with that header.
    pub(crate) bytes: &'a [u8],
}

/// The records section of `batch` (header included in `batch`), decompressed if needed.
pub fn records_section<'a>(header: &BatchHeader, batch: &'a [u8]) -> Result<Cow<'a, [u8]>, String> {
    let body = batch
        .get(BATCH_HEADER_BYTES..header.total_bytes().min(batch.len()))
        .ok_or_else(|| "the batch is shorter than its header".to_string())?;
    // Only a compressed body is copied (the codecs read from `Bytes`): the produce path walks
    // every uncompressed batch in place.
    let input = || Bytes::copy_from_slice(body);
    let plain = |b: &mut Bytes| Ok(b.clone());
    let out = match header.compression() {
        Compression::None => return Ok(Cow::Borrowed(body)),
        Compression::Gzip => Gzip::decompress(&mut input(), plain),
        Compression::Snappy => Snappy::decompress(&mut input(), plain),
        Compression::Lz4 => Lz4::decompress(&mut input(), plain),
        Compression::Zstd => Zstd::decompress(&mut input(), plain),
        Compression::Unknown(id) => return Err(format!("unknown compression codec {id}")),
    };
    out.map(|b| Cow::Owned(b.to_vec()))
        .map_err(|e| format!("cannot decompress the batch: {e}"))
}

/// Walks the `count` records of a records section.
pub fn walk(section: &[u8], count: i32) -> RecordWalk<'_> {
    RecordWalk {
        buf: section,
        at: 0,
        index: 0,
        count,
    }
}

/// Walks the `count` records of a records section, each with its key and bytes.
pub(crate) fn views(section: &[u8], count: i32) -> RecordViews<'_> {
    RecordViews {
        walk: walk(section, count),
    }
}

pub(crate) struct RecordViews<'a> {
    walk: RecordWalk<'a>,
}

impl<'a> Iterator for RecordViews<'a> {
    type Item = Result<RecordView<'a>, String>;

    fn next(&mut self) -> Option<Self::Item> {
        self.walk.next_view()
    }
}

pub struct RecordWalk<'a> {
    buf: &'a [u8],
    at: usize,
    index: i32,
    count: i32,
}

impl Iterator for RecordWalk<'_> {
    type Item = Result<RecordInfo, String>;

    fn next(&mut self) -> Option<Self::Item> {
        let index = self.index;
        self.next_view().map(|item| {
            item.map(|view| RecordInfo {
                index,
                offset_delta: view.offset_delta,
                timestamp_delta: view.timestamp_delta,
                has_key: view.key.is_some(),
            })
        })
    }
}

impl<'a> RecordWalk<'a> {
    fn next_view(&mut self) -> Option<Result<RecordView<'a>, String>> {
        if self.index >= self.count {
            return None;
        }
        let item = self.read_one();
        if item.is_err() {
            // One error ends the walk: the bytes after a bad length mean nothing.
            self.index = self.count;
        } else {
            self.index += 1;
        }
        Some(item)
    }

    fn read_one(&mut self) -> Result<RecordView<'a>, String> {
        let index = self.index;
        let bad = |what: &str| format!("record {index}: {what}");
        let start = self.at;
        let length = varint(self.buf, &mut self.at).ok_or_else(|| bad("bad length"))?;
        let length = usize::try_from(length).map_err(|_| bad("negative length"))?;
        let end = self
            .at
            .checked_add(length)
            .filter(|end| *end <= self.buf.len())
            .ok_or_else(|| bad("runs past the batch"))?;
        let record: &'a [u8] = &self.buf[..end];
        let mut at = self.at + 1; // attributes, unused
        let timestamp_delta = varlong(record, &mut at).ok_or_else(|| bad("bad timestamp"))?;
        let offset_delta = varint(record, &mut at).ok_or_else(|| bad("bad offset delta"))?;
        let key = sized(record, &mut at).ok_or_else(|| bad("bad key"))?;
        let value_length = varint(record, &mut at).ok_or_else(|| bad("bad value length"))?;
        self.at = end;
        Ok(RecordView {
            offset_delta,
            timestamp_delta,
            key,
            value_is_null: value_length < 0,
            bytes: &self.buf[start..end],
        })
    }
}

/// A varint length followed by that many bytes; a negative length is null.
fn sized<'a>(buf: &'a [u8], at: &mut usize) -> Option<Option<&'a [u8]>> {
    let Ok(length) = usize::try_from(varint(buf, at)?) else {
        return Some(None);
    };
    let end = at.checked_add(length).filter(|end| *end <= buf.len())?;
    let bytes = &buf[*at..end];
    *at = end;
    Some(Some(bytes))
}

/// A zigzag varint of at most 5 bytes (Kafka's `ByteUtils.readVarint`).
fn varint(buf: &[u8], at: &mut usize) -> Option<i32> {
    let raw = unsigned(buf, at, 5)?;
    let raw = u32::try_from(raw).ok()?;
    Some(((raw >> 1) as i32) ^ -((raw & 1) as i32))
}

/// A zigzag varlong of at most 10 bytes.
fn varlong(buf: &[u8], at: &mut usize) -> Option<i64> {
    let raw = unsigned(buf, at, 10)?;
    Some(((raw >> 1) as i64) ^ -((raw & 1) as i64))
}

fn unsigned(buf: &[u8], at: &mut usize, max_bytes: usize) -> Option<u64> {
    let mut value = 0u64;
    for i in 0..max_bytes {
        let byte = *buf.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::batch::parse_header;
    use crate::log::test_util::encode_batch_with;
    use kafka_protocol::records::Compression as Codec;

    #[test]
    fn walks_every_codec() {
        let timestamps = [1_000, 999, 5_000, 1_000_000_000_000];
        for codec in [
            Codec::None,
            Codec::Gzip,
            Codec::Snappy,
            Codec::Lz4,
            Codec::Zstd,
        ] {
            let batch = encode_batch_with(&timestamps, 30, codec);
            let header = parse_header(&batch).expect("header");
            let section = records_section(&header, &batch).expect("section");
            let records: Vec<RecordInfo> = walk(&section, header.records_count)
                .collect::<Result<_, _>>()
                .expect("walk");
            assert_eq!(records.len(), 4, "{codec:?}");
            for (i, r) in records.iter().enumerate() {
                assert_eq!(r.index as usize, i);
                assert_eq!(r.offset_delta as usize, i);
                assert_eq!(header.first_timestamp + r.timestamp_delta, timestamps[i]);
                assert!(r.has_key);
            }
        }
    }

    #[test]
    fn views_give_keys_tombstones_and_whole_record_bytes() {
        use crate::log::test_util::encode_keyed;
        for codec in [Codec::None, Codec::Lz4] {
            let batch = encode_keyed(&[(Some("a"), 5), (None, 6), (Some("bc"), 7)], codec);
            let header = parse_header(&batch).expect("header");
            let section = records_section(&header, &batch).expect("section");
            let seen: Vec<RecordView<'_>> = views(&section, header.records_count)
                .collect::<Result<_, _>>()
                .expect("views");
            let keys: Vec<Option<&[u8]>> = seen.iter().map(|v| v.key).collect();
            assert_eq!(keys, vec![Some(&b"a"[..]), None, Some(&b"bc"[..])]);
            assert!(seen.iter().all(|v| !v.value_is_null));
            // The records' bytes tile the section: copying them rebuilds it.
            let joined: Vec<u8> = seen.iter().flat_map(|v| v.bytes.iter().copied()).collect();
            assert_eq!(&joined[..], &section[..], "{codec:?}");
            assert_eq!(seen[2].offset_delta, 2);
        }
    }

    #[test]
    fn truncated_records_are_an_error_not_a_panic() {
        let batch = encode_batch_with(&[1, 2, 3], 30, Codec::None);
        let header = parse_header(&batch).expect("header");
        let section = records_section(&header, &batch).expect("section");
        for cut in 0..section.len() {
            let results: Vec<_> = walk(&section[..cut], 3).collect();
            assert!(results.iter().any(Result::is_err), "cut at {cut}");
        }
        let too_many: Vec<_> = walk(&section, 4).collect();
        assert!(too_many[3].is_err());
        for cut in 0..section.len() {
            let results: Vec<_> = views(&section[..cut], 3).collect();
            assert!(results.iter().any(Result::is_err), "views cut at {cut}");
        }
    }

    #[test]
    fn varints_follow_zigzag() {
        let mut at = 0;
        assert_eq!(varint(&[0x01], &mut at), Some(-1));
        at = 0;
        assert_eq!(varint(&[0x02], &mut at), Some(1));
        at = 0;
        assert_eq!(varint(&[0xff, 0xff, 0xff, 0xff, 0xff, 0x01], &mut at), None);
        at = 0;
        assert_eq!(varlong(&[0x80, 0x01], &mut at), Some(64));
    }
}
