//! The records of `__transaction_state`, in Kafka's schemas
//! (`transaction-coordinator/src/main/resources/common/message/TransactionLog{Key,Value}.json`),
//! so that Kafka's tools could read the topic: key version 0 = {transactional_id}; value
//! version 0 = {producer_id, producer_epoch, timeout_ms, status:i8, partitions (nullable array
//! of {topic, [partition]}), last_update_ms, start_ms}. A null value is a tombstone. Version 1
//! values (flexible, Kafka 4) are not written here and are refused when read.

use std::collections::BTreeSet;

use bytes::{BufMut, Bytes, BytesMut};

use super::metadata::TxnState;
use crate::coordinator::records::{get_i16, get_i32, get_i64, get_str, need, put_str, RecordError};

const KEY_VERSION: i16 = 0;
const VALUE_VERSION: i16 = 0;

/// What a value holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnValue {
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub timeout_ms: i32,
    pub state: TxnState,
    pub partitions: BTreeSet<(String, i32)>,
    pub last_update_ms: i64,
    pub start_ms: i64,
}

pub fn encode_key(transactional_id: &str) -> Bytes {
    let mut buf = BytesMut::with_capacity(4 + transactional_id.len());
    buf.put_i16(KEY_VERSION);
    put_str(&mut buf, transactional_id);
    buf.freeze()
}

/// The transactional id of a key.
pub fn decode_key(mut buf: &[u8]) -> Result<String, RecordError> {
    let version = get_i16(&mut buf)?;
    if version != KEY_VERSION {
        return Err(RecordError::Version(version));
    }
    get_str(&mut buf)
}

impl TxnValue {
    pub fn encode(&self) -> Bytes {
        let mut buf = BytesMut::with_capacity(64);
        buf.put_i16(VALUE_VERSION);
        buf.put_i64(self.producer_id);
        buf.put_i16(self.producer_epoch);
        buf.put_i32(self.timeout_ms);
        buf.put_i8(self.state.byte());
        let mut topics: Vec<(&str, Vec<i32>)> = Vec::new();
        for (topic, p) in &self.partitions {
            match topics.last_mut() {
                Some((t, list)) if *t == topic.as_str() => list.push(*p),
                _ => topics.push((topic, vec![*p])),
            }
        }
        buf.put_i32(i32::try_from(topics.len()).unwrap_or(i32::MAX));
        for (topic, list) in topics {
            put_str(&mut buf, topic);
            buf.put_i32(i32::try_from(list.len()).unwrap_or(i32::MAX));
            for p in list {
                buf.put_i32(p);
            }
        }
        buf.put_i64(self.last_update_ms);
        buf.put_i64(self.start_ms);
        buf.freeze()
    }

    pub fn decode(mut buf: &[u8]) -> Result<TxnValue, RecordError> {
        let version = get_i16(&mut buf)?;
        if version != VALUE_VERSION {
            return Err(RecordError::Version(version));
        }
        let producer_id = get_i64(&mut buf)?;
        let producer_epoch = get_i16(&mut buf)?;
        let timeout_ms = get_i32(&mut buf)?;
        need(buf, 1)?;
        let status = buf[0] as i8;
        buf = &buf[1..];
        let state = TxnState::from_byte(status).ok_or(RecordError::Version(status.into()))?;
        let mut partitions = BTreeSet::new();
        let topics = get_i32(&mut buf)?;
        for _ in 0..topics.max(0) {
            let topic = get_str(&mut buf)?;
            let count = get_i32(&mut buf)?;
            for _ in 0..count.max(0) {
                partitions.insert((topic.clone(), get_i32(&mut buf)?));
            }
        }
        Ok(TxnValue {
            producer_id,
            producer_epoch,
            timeout_ms,
            state,
            partitions,
            last_update_ms: get_i64(&mut buf)?,
            start_ms: get_i64(&mut buf)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_in_kafkas_layout() {
        let key = encode_key("app-1");
        assert_eq!(&key[..], b"\x00\x00\x00\x05app-1");
        assert_eq!(decode_key(&key).as_deref(), Ok("app-1"));
        let value = TxnValue {
            producer_id: 4000,
            producer_epoch: 3,
            timeout_ms: 60_000,
            state: TxnState::Ongoing,
            partitions: [
                ("a".to_string(), 0),
                ("a".to_string(), 2),
                ("b".to_string(), 1),
            ]
            .into_iter()
            .collect(),
            last_update_ms: 10,
            start_ms: 5,
        };
        let bytes = value.encode();
        // version, pid, epoch, timeout, then the status byte (Ongoing = 1).
        assert_eq!(bytes[2 + 8 + 2 + 4], 1);
        assert_eq!(TxnValue::decode(&bytes), Ok(value));
    }
}
