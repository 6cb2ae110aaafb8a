//! Test helpers for the log module: builds real v2 batches (with real CRCs) through the
//! `kafka-protocol` encoder, so the hand-written parser is checked against an independent one.

#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use indexmap::IndexMap;
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

/// What the test batch should contain: `records` records with timestamps `timestamp`,
/// `timestamp + 1`, ..., each with a value of `value_bytes` bytes.
pub(crate) struct BatchSpec {
    pub(crate) records: usize,
    pub(crate) timestamp: i64,
    pub(crate) value_bytes: usize,
}

fn record(index: usize, timestamp: i64, value_bytes: usize) -> Record {
    let key = format!("key-{index}");
    keyed_record(index, timestamp, Some(&key), value_bytes)
}

fn keyed_record(index: usize, timestamp: i64, key: Option<&str>, value_bytes: usize) -> Record {
    let fill = u8::try_from(index % 251).unwrap();
    Record {
        transactional: false,
        control: false,
        delete_horizon: false,
        partition_leader_epoch: -1,
        producer_id: -1,
        producer_epoch: -1,
        timestamp_type: TimestampType::Creation,
        offset: i64::try_from(index).unwrap(),
        sequence: i32::try_from(index).unwrap(),
        timestamp,
        key: key.map(|k| Bytes::from(k.to_string())),
        value: Some(Bytes::from(vec![fill; value_bytes])),
        headers: IndexMap::new(),
    }
}

/// Encodes one uncompressed v2 batch with base offset 0.
pub(crate) fn encode_batch(spec: &BatchSpec) -> Vec<u8> {
    let timestamps: Vec<i64> = (0..spec.records)
        .map(|i| spec.timestamp + i64::try_from(i).unwrap())
        .collect();
    encode_batch_with(&timestamps, spec.value_bytes, Compression::None)
}

/// Encodes one v2 batch holding one record per timestamp.
pub(crate) fn encode_batch_with(
    timestamps: &[i64],
    value_bytes: usize,
    compression: Compression,
) -> Vec<u8> {
    let records: Vec<Record> = timestamps
        .iter()
        .enumerate()
        .map(|(i, ts)| record(i, *ts, value_bytes))
        .collect();
    let mut buf = Vec::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression,
    };
    RecordBatchEncoder::encode(&mut buf, records.iter(), &options).unwrap();
    buf
}

/// Encodes one v2 batch holding one record per (key, timestamp), values of one byte.
pub(crate) fn encode_keyed(records: &[(Option<&str>, i64)], compression: Compression) -> Vec<u8> {
    let records: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, (key, ts))| keyed_record(i, *ts, *key, 1))
        .collect();
    let mut buf = Vec::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression,
    };
    RecordBatchEncoder::encode(&mut buf, records.iter(), &options).unwrap();
    buf
}

/// Encodes one uncompressed batch of `records` records, timestamps from `timestamp`.
pub(crate) fn batch(records: usize, timestamp: i64, value_bytes: usize) -> Vec<u8> {
    encode_batch(&BatchSpec {
        records,
        timestamp,
        value_bytes,
    })
}

/// A config with small segments and a small index interval, and nothing deleted by time.
pub(crate) fn small_config(segment_bytes: u64) -> super::LogConfig {
    super::LogConfig {
        segment_bytes,
        index_interval_bytes: 100,
        retention_ms: -1,
        ..super::LogConfig::default()
    }
}

/// Names of the files in `dir`, sorted.
pub(crate) fn file_names(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
