//! The keys and values the group coordinator writes to `__consumer_offsets`, in Kafka's own
//! schemas (`group-coordinator/src/main/resources/common/message/*.json`), so that tools which
//! read that topic (Burrow, kafka-console-consumer with the offsets formatter) understand it.
//!
//! Keys: version 1 = OffsetCommitKey {group, topic, partition}; version 2 = GroupMetadataKey
//! {group}. Values: OffsetCommitValue v3 (v1 when an expire timestamp is set) and
//! GroupMetadataValue v3, the versions Kafka 2.3+ writes. Versions 0–3 of both values are read;
//! a null value is a tombstone. These records are not protocol messages, so the `kafka-protocol`
//! crate has no types for them; this module is their only encoder and decoder.

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// Key version of an offset commit (0 is the legacy form with the same fields).
const OFFSET_KEY_VERSION: i16 = 1;
/// Key version of group metadata.
const GROUP_KEY_VERSION: i16 = 2;
/// Value versions written.
const OFFSET_VALUE_VERSION: i16 = 3;
const OFFSET_VALUE_EXPIRING_VERSION: i16 = 1;
const GROUP_VALUE_VERSION: i16 = 3;
/// Highest non-flexible value version read.
const VALUE_VERSION_MAX: i16 = 3;

/// A record key of `__consumer_offsets`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordKey {
    Offset {
        group: String,
        topic: String,
        partition: i32,
    },
    Group {
        group: String,
    },
    /// A record of a kind this coordinator does not keep (KIP-848, share or streams groups).
    Other(i16),
}

/// A committed offset, as OffsetCommitValue holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetValue {
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: String,
    pub commit_timestamp: i64,
    /// Set only by OffsetCommit v2–v4 with an explicit retention time.
    pub expire_timestamp: Option<i64>,
}

/// One member, as GroupMetadataValue holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberValue {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout: i32,
    pub session_timeout: i32,
    pub subscription: Bytes,
    pub assignment: Bytes,
}

/// A classic group's metadata after a rebalance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupValue {
    pub protocol_type: String,
    pub generation: i32,
    pub protocol: Option<String>,
    pub leader: Option<String>,
    pub current_state_timestamp: i64,
    pub members: Vec<MemberValue>,
}

/// Why a record could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RecordError {
    #[error("record ends early")]
    Truncated,
    #[error("string is not UTF-8")]
    NotUtf8,
    #[error("negative length {0}")]
    BadLength(i32),
    #[error("value version {0} not supported")]
    Version(i16),
}

impl RecordKey {
    pub fn encode(&self) -> Bytes {
        let mut buf = BytesMut::new();
        match self {
            RecordKey::Offset {
                group,
                topic,
                partition,
            } => {
                buf.put_i16(OFFSET_KEY_VERSION);
                put_str(&mut buf, group);
                put_str(&mut buf, topic);
                buf.put_i32(*partition);
            }
            RecordKey::Group { group } => {
                buf.put_i16(GROUP_KEY_VERSION);
                put_str(&mut buf, group);
            }
            RecordKey::Other(version) => buf.put_i16(*version),
        }
        buf.freeze()
    }

    pub fn decode(mut buf: &[u8]) -> Result<RecordKey, RecordError> {
        let version = get_i16(&mut buf)?;
        Ok(match version {
            0 | 1 => RecordKey::Offset {
                group: get_str(&mut buf)?,
                topic: get_str(&mut buf)?,
                partition: get_i32(&mut buf)?,
            },
            2 => RecordKey::Group {
                group: get_str(&mut buf)?,
            },
            other => RecordKey::Other(other),
        })
    }
}

impl OffsetValue {
    /// An offset as a commit request carries it (`leader_epoch` -1 for versions without one,
    /// no metadata read as empty), committed at `now`.
    pub fn committed(
        offset: i64,
        leader_epoch: i32,
        metadata: Option<&str>,
        now: i64,
        expire_timestamp: Option<i64>,
    ) -> Self {
        OffsetValue {
            offset,
            leader_epoch,
            metadata: metadata.unwrap_or_default().to_string(),
            commit_timestamp: now,
            expire_timestamp,
        }
    }

    pub fn encode(&self) -> Bytes {
        let mut buf = BytesMut::new();
        match self.expire_timestamp {
            Some(expire) => {
                buf.put_i16(OFFSET_VALUE_EXPIRING_VERSION);
                buf.put_i64(self.offset);
                put_str(&mut buf, &self.metadata);
                buf.put_i64(self.commit_timestamp);
                buf.put_i64(expire);
            }
            None => {
                buf.put_i16(OFFSET_VALUE_VERSION);
                buf.put_i64(self.offset);
                buf.put_i32(self.leader_epoch);
                put_str(&mut buf, &self.metadata);
                buf.put_i64(self.commit_timestamp);
            }
        }
        buf.freeze()
    }

    pub fn decode(mut buf: &[u8]) -> Result<OffsetValue, RecordError> {
        let version = get_i16(&mut buf)?;
        if !(0..=VALUE_VERSION_MAX).contains(&version) {
            return Err(RecordError::Version(version));
        }
        let offset = get_i64(&mut buf)?;
        let leader_epoch = if version >= 3 { get_i32(&mut buf)? } else { -1 };
        let metadata = get_str(&mut buf)?;
        let commit_timestamp = get_i64(&mut buf)?;
        let expire_timestamp = if version == 1 {
            Some(get_i64(&mut buf)?).filter(|t| *t >= 0)
        } else {
            None
        };
        Ok(OffsetValue {
            offset,
            leader_epoch,
            metadata,
            commit_timestamp,
            expire_timestamp,
        })
    }
}

impl GroupValue {
    pub fn encode(&self) -> Bytes {
        let mut buf = BytesMut::new();
        buf.put_i16(GROUP_VALUE_VERSION);
        put_str(&mut buf, &self.protocol_type);
        buf.put_i32(self.generation);
        put_nullable_str(&mut buf, self.protocol.as_deref());
        put_nullable_str(&mut buf, self.leader.as_deref());
        buf.put_i64(self.current_state_timestamp);
        buf.put_i32(i32::try_from(self.members.len()).unwrap_or(i32::MAX));
        for m in &self.members {
            put_str(&mut buf, &m.member_id);
            put_nullable_str(&mut buf, m.group_instance_id.as_deref());
            put_str(&mut buf, &m.client_id);
            put_str(&mut buf, &m.client_host);
            buf.put_i32(m.rebalance_timeout);
            buf.put_i32(m.session_timeout);
            put_bytes(&mut buf, &m.subscription);
            put_bytes(&mut buf, &m.assignment);
        }
        buf.freeze()
    }

    pub fn decode(mut buf: &[u8]) -> Result<GroupValue, RecordError> {
        let version = get_i16(&mut buf)?;
        if !(0..=VALUE_VERSION_MAX).contains(&version) {
            return Err(RecordError::Version(version));
        }
        let protocol_type = get_str(&mut buf)?;
        let generation = get_i32(&mut buf)?;
        let protocol = get_nullable_str(&mut buf)?;
        let leader = get_nullable_str(&mut buf)?;
        let current_state_timestamp = if version >= 2 { get_i64(&mut buf)? } else { -1 };
        let count = get_i32(&mut buf)?;
        let count = usize::try_from(count).map_err(|_| RecordError::BadLength(count))?;
        let mut members = Vec::with_capacity(count.min(buf.len()));
        for _ in 0..count {
            let member_id = get_str(&mut buf)?;
            let group_instance_id = if version >= 3 {
                get_nullable_str(&mut buf)?
            } else {
                None
            };
            let client_id = get_str(&mut buf)?;
            let client_host = get_str(&mut buf)?;
            let rebalance_timeout = if version >= 1 { get_i32(&mut buf)? } else { -1 };
            let session_timeout = get_i32(&mut buf)?;
            let subscription = get_bytes(&mut buf)?;
            let assignment = get_bytes(&mut buf)?;
            let rebalance_timeout = if rebalance_timeout < 0 {
                session_timeout
            } else {
                rebalance_timeout
            };
            members.push(MemberValue {
                member_id,
                group_instance_id,
                client_id,
                client_host,
                rebalance_timeout,
                session_timeout,
                subscription,
                assignment,
            });
        }
        Ok(GroupValue {
            protocol_type,
            generation,
            protocol,
            leader,
            current_state_timestamp,
            members,
        })
    }
}

/// The partition of `__consumer_offsets` that holds `group`: Kafka's
/// `Utils.abs(groupId.hashCode()) % partitions`, with Java's String hash over UTF-16 units.
pub fn partition_for(group: &str, partitions: i32) -> i32 {
    let hash = group.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    });
    let positive = if hash == i32::MIN { 0 } else { hash.abs() };
    positive % partitions.max(1)
}

pub(super) fn put_str(buf: &mut BytesMut, s: &str) {
    // Strings here come from requests whose own strings are bounded by an i16 length.
    let len = i16::try_from(s.len()).unwrap_or(i16::MAX);
    buf.put_i16(len);
    buf.put_slice(&s.as_bytes()[..len as usize]);
}

fn put_nullable_str(buf: &mut BytesMut, s: Option<&str>) {
    match s {
        Some(s) => put_str(buf, s),
        None => buf.put_i16(-1),
    }
}

fn put_bytes(buf: &mut BytesMut, b: &[u8]) {
    buf.put_i32(i32::try_from(b.len()).unwrap_or(i32::MAX));
    buf.put_slice(b);
}

pub(super) fn need(buf: &[u8], n: usize) -> Result<(), RecordError> {
    if buf.len() < n {
        Err(RecordError::Truncated)
    } else {
        Ok(())
    }
}

pub(super) fn get_i16(buf: &mut &[u8]) -> Result<i16, RecordError> {
    need(buf, 2)?;
    Ok(buf.get_i16())
}

pub(super) fn get_i32(buf: &mut &[u8]) -> Result<i32, RecordError> {
    need(buf, 4)?;
    Ok(buf.get_i32())
}

pub(super) fn get_i64(buf: &mut &[u8]) -> Result<i64, RecordError> {
    need(buf, 8)?;
    Ok(buf.get_i64())
}

fn get_nullable_str(buf: &mut &[u8]) -> Result<Option<String>, RecordError> {
    let len = get_i16(buf)?;
    if len < 0 {
        return Ok(None);
    }
    let len = len as usize;
    need(buf, len)?;
    let s = std::str::from_utf8(&buf[..len]).map_err(|_| RecordError::NotUtf8)?;
    let s = s.to_string();
    buf.advance(len);
    Ok(Some(s))
}

pub(super) fn get_str(buf: &mut &[u8]) -> Result<String, RecordError> {
    get_nullable_str(buf)?.ok_or(RecordError::BadLength(-1))
}

fn get_bytes(buf: &mut &[u8]) -> Result<Bytes, RecordError> {
    let len = get_i32(buf)?;
    if len < 0 {
        return Ok(Bytes::new());
    }
    let len = len as usize;
    need(buf, len)?;
    let b = Bytes::copy_from_slice(&buf[..len]);
    buf.advance(len);
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_matches_java_string_hash() {
        // "".hashCode() = 0; "a" = 97; "group" = 98629247; "console-consumer-1" hashes negative.
        assert_eq!(partition_for("", 50), 0);
        assert_eq!(partition_for("a", 50), 97 % 50);
        assert_eq!(partition_for("group", 50), 98_629_247 % 50);
        // "polygenelubricants".hashCode() == Integer.MIN_VALUE; Utils.abs maps it to 0.
        assert_eq!(partition_for("polygenelubricants", 50), 0);
        // A negative hash: "test-group-123456".hashCode() is computed by the same fold.
        let h = "zzzzzzzzzz"
            .encode_utf16()
            .fold(0i32, |h, u| h.wrapping_mul(31).wrapping_add(i32::from(u)));
        assert!(h < 0);
        assert_eq!(partition_for("zzzzzzzzzz", 50), h.abs() % 50);
    }

    #[test]
    fn offset_key_layout_is_kafkas() {
        let key = RecordKey::Offset {
            group: "g".into(),
            topic: "t".into(),
            partition: 7,
        };
        let bytes = key.encode();
        assert_eq!(&bytes[..], &[0, 1, 0, 1, b'g', 0, 1, b't', 0, 0, 0, 7]);
        assert_eq!(RecordKey::decode(&bytes), Ok(key));
        let group = RecordKey::Group { group: "g".into() };
        assert_eq!(&group.encode()[..], &[0, 2, 0, 1, b'g']);
    }

    #[test]
    fn offset_value_round_trips_in_both_versions() {
        let mut value = OffsetValue {
            offset: 42,
            leader_epoch: 3,
            metadata: "meta".into(),
            commit_timestamp: 1_700_000_000_000,
            expire_timestamp: None,
        };
        let bytes = value.encode();
        assert_eq!(&bytes[..2], &[0, 3]);
        assert_eq!(bytes.len(), 2 + 8 + 4 + 2 + 4 + 8);
        assert_eq!(OffsetValue::decode(&bytes), Ok(value.clone()));
        value.expire_timestamp = Some(1_800_000_000_000);
        let bytes = value.encode();
        assert_eq!(&bytes[..2], &[0, 1]);
        value.leader_epoch = -1;
        assert_eq!(OffsetValue::decode(&bytes), Ok(value));
    }

    #[test]
    fn group_value_round_trips_and_refuses_truncation() {
        let value = GroupValue {
            protocol_type: "consumer".into(),
            generation: 5,
            protocol: Some("range".into()),
            leader: Some("m-1".into()),
            current_state_timestamp: 123,
            members: vec![MemberValue {
                member_id: "m-1".into(),
                group_instance_id: Some("i-1".into()),
                client_id: "c".into(),
                client_host: "/127.0.0.1".into(),
                rebalance_timeout: 300_000,
                session_timeout: 45_000,
                subscription: Bytes::from_static(b"sub"),
                assignment: Bytes::from_static(b"asg"),
            }],
        };
        let bytes = value.encode();
        assert_eq!(GroupValue::decode(&bytes), Ok(value));
        for cut in 0..bytes.len() {
            assert!(GroupValue::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        assert_eq!(
            GroupValue::decode(&[0, 4]),
            Err(RecordError::Version(4)),
            "flexible versions are not read"
        );
    }
}
