//! The bytes a classic consumer group carries inside JoinGroup and SyncGroup, in Kafka's
//! ConsumerProtocol: a big-endian i16 version, then a `ConsumerProtocolSubscription` (the
//! topics, owned partitions, generation) or a `ConsumerProtocolAssignment` (the partitions).
//! Newer versions only append fields, so a reader decodes a higher version as the highest it
//! knows, as the Java consumer and librdkafka do.

use std::collections::BTreeMap;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    consumer_protocol_assignment, ConsumerProtocolAssignment, ConsumerProtocolSubscription,
    TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

use crate::client::admin::TopicPartition;
use crate::error::{Error, Result};

/// The version written: the highest kafka-protocol knows (3, with the rack), as Kafka writes.
const VERSION: i16 = 3;

/// A subscription to `topics` by a member that owns no partitions (eager rebalancing revokes
/// everything before rejoining) and last had `generation`.
pub fn encode_subscription(topics: &[String], generation: i32) -> Result<Bytes> {
    let message = ConsumerProtocolSubscription::default()
        .with_topics(
            topics
                .iter()
                .map(|t| StrBytes::from_string(t.clone()))
                .collect(),
        )
        .with_generation_id(generation);
    encode(&message, "subscription")
}

/// The topics of a member's subscription.
pub fn decode_subscription(bytes: &Bytes) -> Result<Vec<String>> {
    let (version, mut body) = split_version(bytes, "subscription")?;
    let message = ConsumerProtocolSubscription::decode(&mut body, version)
        .map_err(|e| invalid("subscription", &e.to_string()))?;
    Ok(message.topics.iter().map(ToString::to_string).collect())
}

/// An assignment of `partitions`.
pub fn encode_assignment(partitions: &[TopicPartition]) -> Result<Bytes> {
    let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for (topic, p) in partitions {
        by_topic.entry(topic).or_default().push(*p);
    }
    let message = ConsumerProtocolAssignment::default().with_assigned_partitions(
        by_topic
            .into_iter()
            .map(|(t, ps)| {
                consumer_protocol_assignment::TopicPartition::default()
                    .with_topic(TopicName(StrBytes::from_string(t.to_string())))
                    .with_partitions(ps)
            })
            .collect(),
    );
    encode(&message, "assignment")
}

/// The partitions of an assignment; an empty answer (a member the leader gave nothing, or a
/// group that is not a consumer group) is no partitions.
pub fn decode_assignment(bytes: &Bytes) -> Result<Vec<TopicPartition>> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let (version, mut body) = split_version(bytes, "assignment")?;
    let message = ConsumerProtocolAssignment::decode(&mut body, version)
        .map_err(|e| invalid("assignment", &e.to_string()))?;
    Ok(message
        .assigned_partitions
        .iter()
        .flat_map(|tp| tp.partitions.iter().map(|p| (tp.topic.0.to_string(), *p)))
        .collect())
}

fn encode<M: Encodable>(message: &M, what: &str) -> Result<Bytes> {
    let mut buf = BytesMut::new();
    buf.put_i16(VERSION);
    message
        .encode(&mut buf, VERSION)
        .map_err(|e| Error::Invalid(format!("cannot encode a consumer {what}: {e}")))?;
    Ok(buf.freeze())
}

/// The version (clamped to the highest known) and the message bytes after it.
fn split_version(bytes: &Bytes, what: &str) -> Result<(i16, Bytes)> {
    if bytes.len() < 2 {
        return Err(invalid(what, "shorter than its version"));
    }
    let mut body = bytes.clone();
    let version = body.get_i16();
    if version < 0 {
        return Err(invalid(what, &format!("version {version}")));
    }
    Ok((version.min(VERSION), body))
}

fn invalid(what: &str, reason: &str) -> Error {
    Error::Protocol {
        addr: "the group".to_string(),
        reason: format!("undecodable consumer {what}: {reason}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscriptions_and_assignments_round_trip_and_bad_bytes_are_errors() {
        let topics = vec!["a".to_string(), "b".to_string()];
        let bytes = encode_subscription(&topics, 7).expect("encode");
        assert_eq!(&bytes[..2], &[0, 3]);
        assert_eq!(decode_subscription(&bytes).expect("decode"), topics);
        let parts = vec![
            ("a".to_string(), 0),
            ("a".to_string(), 2),
            ("b".to_string(), 1),
        ];
        let bytes = encode_assignment(&parts).expect("encode");
        assert_eq!(decode_assignment(&bytes).expect("decode"), parts);
        assert_eq!(decode_assignment(&Bytes::new()).expect("empty"), vec![]);
        // Version 0, as old clients write it.
        let v0 = ConsumerProtocolSubscription::default()
            .with_topics(vec![StrBytes::from_static_str("old")]);
        let mut buf = BytesMut::new();
        buf.put_i16(0);
        v0.encode(&mut buf, 0).expect("v0");
        assert_eq!(decode_subscription(&buf.freeze()).expect("v0"), vec!["old"]);
        assert!(decode_subscription(&Bytes::from_static(&[0])).is_err());
        assert!(decode_subscription(&Bytes::from_static(&[0, 1, 0, 0, 0, 9])).is_err());
    }
}
