//! Building a cleaned batch from the records it keeps, byte for byte: the kept records' bytes
//! (their offset and timestamp deltas still count from the original header) after a copy of
//! the original header, recompressed with the batch's codec when it had one. The header keeps
//! the base offset, the last offset delta, the first timestamp and the producer fields, as
//! Kafka's cleaner does (`MemoryRecords.filterTo`), so a consumer sees the same offsets and the
//! producer state rebuilt from the log is the same; the record count, the max timestamp, the
//! length and the CRC are set anew. Records are never decoded into structs and re-encoded.

use bytes::BytesMut;
use kafka_protocol::compression::{Compressor, Gzip, Lz4, Snappy, Zstd};

use crate::log::batch::{
    attributes_without_compression, rewrite_header, BatchHeader, Compression, BATCH_HEADER_BYTES,
};
use crate::log::records::RecordView;

/// A record's timestamp: its own under CreateTime, the batch's under LogAppendTime.
pub(super) fn timestamp_of(header: &BatchHeader, record: &RecordView<'_>) -> i64 {
    if header.timestamp_type_log_append() {
        header.max_timestamp
    } else {
        header
            .first_timestamp
            .saturating_add(record.timestamp_delta)
    }
}

fn compress(codec: Compression, plain: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = BytesMut::new();
    let fill = |tmp: &mut BytesMut| {
        tmp.extend_from_slice(plain);
        Ok(())
    };
    let done = match codec {
        Compression::None => return Ok(plain.to_vec()),
        Compression::Gzip => Gzip::compress(&mut out, fill),
        Compression::Snappy => Snappy::compress(&mut out, fill),
        Compression::Lz4 => Lz4::compress(&mut out, fill),
        Compression::Zstd => Zstd::compress(&mut out, fill),
        Compression::Unknown(id) => return Err(format!("unknown compression codec {id}")),
    };
    done.map_err(|e| format!("recompressing a cleaned batch failed: {e}"))?;
    Ok(out.to_vec())
}

/// The batch `original` (whose header is `header`) holding only `kept`, some of its records
/// in their order.
pub(super) fn with_records(
    header: &BatchHeader,
    original: &[u8],
    kept: &[RecordView<'_>],
) -> Result<Vec<u8>, String> {
    assert!(!kept.is_empty() && kept.len() < header.records_count as usize);
    let plain: Vec<u8> = kept.iter().flat_map(|r| r.bytes.iter().copied()).collect();
    let body = compress(header.compression(), &plain)?;
    let mut out = Vec::with_capacity(BATCH_HEADER_BYTES + body.len());
    out.extend_from_slice(&original[..BATCH_HEADER_BYTES]);
    out.extend_from_slice(&body);
    let max_timestamp = kept
        .iter()
        .map(|r| timestamp_of(header, r))
        .max()
        .unwrap_or(header.max_timestamp);
    let count = i32::try_from(kept.len()).expect("fewer records than the original");
    rewrite_header(&mut out, count, max_timestamp, header.attributes);
    Ok(out)
}

/// The header of `original` alone, with no records (Kafka keeps such a batch where it removed
/// every record of a producer's last batch, so the producer's sequence survives).
pub(super) fn empty(header: &BatchHeader, original: &[u8]) -> Vec<u8> {
    let mut out = original[..BATCH_HEADER_BYTES].to_vec();
    let attributes = attributes_without_compression(header.attributes);
    rewrite_header(&mut out, 0, header.max_timestamp, attributes);
    out
}

#[cfg(test)]
mod tests {
    use kafka_protocol::records::Compression as Codec;

    use super::*;
    use crate::log::batch::{parse_header, parse_header_prefix, validate_crc};
    use crate::log::records::{records_section, views};
    use crate::log::test_util::encode_keyed;

    #[test]
    fn a_batch_loses_records_but_keeps_its_offsets_under_every_codec() {
        for codec in [
            Codec::None,
            Codec::Gzip,
            Codec::Snappy,
            Codec::Lz4,
            Codec::Zstd,
        ] {
            let original = encode_keyed(
                &[(Some("a"), 100), (Some("b"), 300), (Some("c"), 200)],
                codec,
            );
            let header = parse_header(&original).expect("header");
            let section = records_section(&header, &original).expect("section");
            let all: Vec<RecordView<'_>> =
                views(&section, 3).collect::<Result<_, _>>().expect("views");
            let kept = [all[0], all[2]];
            let cleaned = with_records(&header, &original, &kept).expect("rebuilt");
            let h = parse_header_prefix(&cleaned).expect("stored header");
            validate_crc(&h, &cleaned).expect("crc");
            assert_eq!(
                (h.base_offset, h.last_offset_delta, h.records_count),
                (0, 2, 2)
            );
            assert_eq!(
                (h.first_timestamp, h.max_timestamp),
                (100, 200),
                "{codec:?}"
            );
            assert_eq!(h.compression(), header.compression());
            // kafka-protocol, an independent decoder, reads the cleaned batch.
            let mut buf = bytes::Bytes::from(cleaned);
            let decoded =
                kafka_protocol::records::RecordBatchDecoder::decode(&mut buf).expect("decode");
            let seen: Vec<(i64, Vec<u8>)> = decoded
                .records
                .iter()
                .map(|r| (r.offset, r.key.clone().expect("key").to_vec()))
                .collect();
            assert_eq!(
                seen,
                vec![(0, b"a".to_vec()), (2, b"c".to_vec())],
                "{codec:?}"
            );
        }
    }

    #[test]
    fn an_empty_batch_is_a_valid_header() {
        let original = encode_keyed(&[(Some("a"), 100), (Some("b"), 300)], Codec::Lz4);
        let header = parse_header(&original).expect("header");
        let cleaned = empty(&header, &original);
        let h = parse_header_prefix(&cleaned).expect("stored header");
        validate_crc(&h, &cleaned).expect("crc");
        assert_eq!(cleaned.len(), BATCH_HEADER_BYTES);
        assert_eq!(
            (h.records_count, h.last_offset(), h.compression()),
            (0, 1, Compression::None)
        );
    }
}
