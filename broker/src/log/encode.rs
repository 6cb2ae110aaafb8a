//! Records the broker writes itself (coordinator records, batches the cleaner rewrote) encoded
//! as one v2 batch with kafka-protocol.
//!
//! kafka-protocol's encoder starts a new batch whenever a record's offset minus its sequence
//! changes. Sequences are therefore made to rise with the offsets from the first record's, so
//! the records stay one batch whose base sequence is the first record's (-1: no idempotence).

use bytes::BytesMut;
use kafka_protocol::records::{Compression, Record, RecordBatchEncoder, RecordEncodeOptions};

/// Encodes `records` (offsets set, rising) as one batch.
pub fn one_batch(mut records: Vec<Record>, compression: Compression) -> Result<BytesMut, String> {
    if let Some(first) = records.first().map(|r| (r.offset, r.sequence)) {
        for r in &mut records {
            let delta = i32::try_from(r.offset - first.0).unwrap_or(i32::MAX);
            r.sequence = first.1.wrapping_add(delta);
        }
    }
    let options = RecordEncodeOptions {
        version: 2,
        compression,
    };
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(&mut buf, records.iter(), &options).map_err(|e| e.to_string())?;
    Ok(buf)
}
