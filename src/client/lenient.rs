//! Response decoding that follows Kafka's rule for tagged fields (KIP-482): a reader skips a
//! tagged field it does not read. kafka-protocol's generated decoders skip unknown tag numbers,
//! but fail with "Tag N is not valid for version V" when a tag the message defines in later
//! versions arrives in an earlier one (a Kafka-compatible broker writing Fetch's NodeEndpoints,
//! tag 0 from v16, in a v12 response). librdkafka and the Java client read such responses, so
//! ktui must too. Every response the client reads goes through [`decode_response`]; the
//! crate is used as it is, not vendored.
//!
//! On that error the buffer has been advanced to just past the offending field's tag and size
//! varints. The tag varint is found by walking back over them, replaced by a tag number of the
//! same encoded length that no message defines (so every byte offset stays valid), and the
//! frame is decoded again: the crate then files the field under `unknown_tagged_fields` and
//! skips its bytes. Framing stays in [`super::connection`]; this module is bytes in, value out.

use bytes::{Buf, Bytes, BytesMut};
use kafka_protocol::messages::ResponseHeader;
use kafka_protocol::protocol::Decodable;

/// Tagged fields rewritten in one frame before giving up: a response carries a handful of
/// misplaced fields at most (one per struct kind), so more means the frame is not what we
/// think it is, and each rewrite decodes the whole frame once more.
const TAG_REWRITES_MAX: usize = 16;

/// The longest unsigned varint Kafka writes (a u32).
const VARINT_BYTES_MAX: usize = 5;

/// Decodes a response frame (header, then body) with the header at `header_version` and the
/// body at `version`, skipping tagged fields that arrive outside the versions defining them.
/// Any other failure, or one that persists after [`TAG_REWRITES_MAX`] rewrites, is the first
/// error the crate reported.
pub(super) fn decode_response<T: Decodable>(
    frame: Bytes,
    header_version: i16,
    version: i16,
) -> anyhow::Result<T> {
    let decode = |buf: &mut Bytes| {
        ResponseHeader::decode(buf, header_version)?;
        T::decode(buf, version)
    };
    let (first, mut end) = match attempt(&frame, &decode) {
        Ok(value) => return Ok(value),
        Err(failed) => failed,
    };
    let mut tag = misplaced_tag(&first);
    let mut current = frame;
    for _ in 0..TAG_REWRITES_MAX {
        let Some(number) = tag else { break };
        let Some(start) = tag_start(&current, end, number) else {
            break;
        };
        // Unique again once the failed decode's slices are dropped, so usually not a copy.
        let mut bytes = current
            .try_into_mut()
            .unwrap_or_else(|shared| BytesMut::from(&shared[..]));
        write_undefined_tag(&mut bytes[start..start + encoded_len(number)]);
        current = bytes.freeze();
        match attempt(&current, &decode) {
            Ok(value) => return Ok(value),
            Err((error, at)) => (tag, end) = (misplaced_tag(&error), at),
        }
    }
    Err(first)
}

/// Decodes from a copy of `frame`'s handle; on failure, the error and how far it got.
fn attempt<T>(
    frame: &Bytes,
    decode: &impl Fn(&mut Bytes) -> anyhow::Result<T>,
) -> Result<T, (anyhow::Error, usize)> {
    let mut rest = frame.clone();
    decode(&mut rest).map_err(|error| (error, frame.len() - rest.remaining()))
}

/// The tag number of kafka-protocol's "Tag N is not valid for version V" error, if that is
/// what `error` (or anything in its chain) says.
fn misplaced_tag(error: &anyhow::Error) -> Option<u32> {
    error.chain().find_map(|cause| {
        let text = cause.to_string();
        let rest = text.strip_prefix("Tag ")?;
        let (tag, version) = rest.split_once(" is not valid for version ")?;
        version.parse::<i16>().ok()?;
        tag.parse().ok()
    })
}

/// Where the tag varint of a tagged field starts, given `end`, the position just past its
/// size varint. The size varint's last byte has its high bit clear and its other bytes have
/// it set; the byte before them is the tag varint's last byte (high bit clear), so the walk
/// stops there. The tag's encoded length comes from its number, which the crate's error gave,
/// and the bytes found must encode exactly that number.
fn tag_start(frame: &[u8], end: usize, tag: u32) -> Option<usize> {
    let last = end.checked_sub(1)?;
    if frame.get(last)? & 0x80 != 0 {
        return None;
    }
    let mut size_start = last;
    while size_start > 0 && frame[size_start - 1] & 0x80 != 0 {
        size_start -= 1;
        if end - size_start > VARINT_BYTES_MAX {
            return None;
        }
    }
    let start = size_start.checked_sub(encoded_len(tag))?;
    let found = &frame[start..size_start];
    (varint_len(found) == Some(found.len()) && read_varint(found) == tag).then_some(start)
}

/// The bytes an unsigned varint of `value` takes.
fn encoded_len(value: u32) -> usize {
    let bits = 32 - value.leading_zeros() as usize;
    bits.div_ceil(7).max(1)
}

/// The length of the unsigned varint at the start of `bytes`, if one ends within them.
fn varint_len(bytes: &[u8]) -> Option<usize> {
    let end = bytes
        .iter()
        .take(VARINT_BYTES_MAX)
        .position(|b| b & 0x80 == 0)?;
    Some(end + 1)
}

/// The value of a complete unsigned varint.
fn read_varint(bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .enumerate()
        .fold(0, |value, (i, b)| value | (u32::from(b & 0x7f) << (7 * i)))
}

/// Overwrites the varint in `tag` with the largest number of the same encoded length (127 for
/// one byte). No Kafka message defines a tag that high (they count up from 0), so the decoder
/// treats the field as unknown and skips its bytes.
fn write_undefined_tag(tag: &mut [u8]) {
    let last = tag.len() - 1;
    for (i, b) in tag.iter_mut().enumerate() {
        *b = match i {
            i if i < last => 0xff,
            // The fifth byte of a u32 varint holds its top four bits only.
            4 => 0x0f,
            _ => 0x7f,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BufMut;
    use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
    use kafka_protocol::messages::produce_response::{
        PartitionProduceResponse, TopicProduceResponse,
    };
    use kafka_protocol::messages::{FetchResponse, ProduceResponse, TopicName};
    use kafka_protocol::protocol::{Encodable, HeaderVersion, StrBytes};

    /// A response frame as a broker writes it: correlation id, header, body.
    fn frame<T: Encodable + HeaderVersion>(body: &T, version: i16) -> Bytes {
        let mut buf = BytesMut::new();
        let header = ResponseHeader::default().with_correlation_id(7);
        header
            .encode(&mut buf, T::header_version(version))
            .expect("header");
        body.encode(&mut buf, version).expect("body");
        buf.freeze()
    }

    fn strict<T: Decodable + HeaderVersion>(frame: &Bytes, version: i16) -> anyhow::Result<T> {
        let mut buf = frame.clone();
        ResponseHeader::decode(&mut buf, T::header_version(version))?;
        T::decode(&mut buf, version)
    }

    fn lenient<T: Decodable + HeaderVersion>(frame: &Bytes, version: i16) -> anyhow::Result<T> {
        decode_response(frame.clone(), T::header_version(version), version)
    }

    /// Stands in for tag 0 while the crate encodes: its encoders count an unknown field
    /// under a tag number the message defines but do not write it, so frames are encoded
    /// with this number and the field re-tagged 0 afterwards ([`retag_as_0`]).
    const PLACEHOLDER: u8 = 126;

    /// The unsigned varint of `n` (for the size of a field in a hand-built frame).
    fn varint(mut n: usize) -> Vec<u8> {
        let mut out = Vec::new();
        while n >= 0x80 {
            out.push((n as u8) | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
        out
    }

    /// `frame` with every field tagged [`PLACEHOLDER`] and holding `value` tagged 0 instead.
    fn retag_as_0(frame: &Bytes, value: &[u8]) -> Bytes {
        let mut field = vec![PLACEHOLDER];
        field.extend(varint(value.len()));
        field.extend_from_slice(value);
        let mut bytes = frame.to_vec();
        let starts: Vec<usize> = (0..=bytes.len() - field.len())
            .filter(|&i| bytes[i..].starts_with(&field))
            .collect();
        assert!(!starts.is_empty(), "no field to re-tag");
        for i in starts {
            bytes[i] = 0;
        }
        Bytes::from(bytes)
    }

    fn fetch_v12(tag_0: Bytes) -> FetchResponse {
        let partition = PartitionData::default()
            .with_partition_index(2)
            .with_high_watermark(42)
            .with_records(Some(Bytes::from_static(b"not decoded here")));
        let mut response = FetchResponse::default()
            .with_session_id(9)
            .with_responses(vec![FetchableTopicResponse::default()
                .with_topic(TopicName(StrBytes::from_static_str("t")))
                .with_partitions(vec![partition])]);
        // Tag 0 once re-tagged: NodeEndpoints, defined from v16.
        let _ = response
            .unknown_tagged_fields
            .insert(i32::from(PLACEHOLDER), tag_0);
        response
    }

    /// A Fetch v12 response as another broker wrote it: NodeEndpoints (tag 0, from v16) at the
    /// top level. The crate refuses it; the lenient decode reads everything else.
    #[test]
    fn a_top_level_tag_from_a_later_version_is_skipped() {
        let payload = Bytes::from_static(b"node endpoints as v16 writes them");
        let sent = fetch_v12(payload.clone());
        let bytes = retag_as_0(&frame(&sent, 12), &payload);
        let refused = strict::<FetchResponse>(&bytes, 12).expect_err("strict decode");
        assert_eq!(refused.to_string(), "Tag 0 is not valid for version 12");
        let read: FetchResponse = lenient(&bytes, 12).expect("lenient decode");
        assert_eq!(read.session_id, 9);
        assert_eq!(read.responses, sent.responses);
        assert!(read.node_endpoints.is_empty());
        assert_eq!(read.unknown_tagged_fields.get(&127), Some(&payload));
    }

    /// The field's size varint takes two bytes when its value is 128 bytes or more.
    #[test]
    fn a_field_with_a_multi_byte_size_is_skipped() {
        let payload = Bytes::from(vec![0xab; 300]);
        let sent = fetch_v12(payload.clone());
        let bytes = retag_as_0(&frame(&sent, 12), &payload);
        strict::<FetchResponse>(&bytes, 12).expect_err("strict decode");
        let read: FetchResponse = lenient(&bytes, 12).expect("lenient decode");
        assert_eq!(read.responses, sent.responses);
        assert_eq!(read.unknown_tagged_fields.get(&127), Some(&payload));
    }

    /// A CurrentLeader as v10 writes it: leader 1, epoch 5, no tags.
    const LEADER: &[u8] = &[0, 0, 0, 1, 0, 0, 0, 5, 0];

    fn produce_v9(partitions: i32) -> ProduceResponse {
        let partitions = (0..partitions)
            .map(|i| {
                let mut p = PartitionProduceResponse::default()
                    .with_index(i)
                    .with_base_offset(100 + i64::from(i))
                    .with_error_message(Some(StrBytes::from_static_str("moved")));
                // Tag 0 once re-tagged: CurrentLeader, defined from v10.
                let _ = p
                    .unknown_tagged_fields
                    .insert(i32::from(PLACEHOLDER), Bytes::from_static(LEADER));
                p
            })
            .collect();
        ProduceResponse::default().with_responses(vec![TopicProduceResponse::default()
            .with_name(TopicName(StrBytes::from_static_str("t")))
            .with_partition_responses(partitions)])
    }

    /// Produce v9 with CurrentLeader (tag 0, from v10) inside each partition: each misplaced
    /// field costs one rewrite, nested as deep as it is.
    #[test]
    fn nested_tags_from_a_later_version_are_skipped() {
        let bytes = retag_as_0(&frame(&produce_v9(3), 9), LEADER);
        let refused = strict::<ProduceResponse>(&bytes, 9).expect_err("strict decode");
        assert_eq!(refused.to_string(), "Tag 0 is not valid for version 9");
        let read: ProduceResponse = lenient(&bytes, 9).expect("lenient decode");
        let partitions = &read.responses[0].partition_responses;
        let offsets: Vec<i64> = partitions.iter().map(|p| p.base_offset).collect();
        assert_eq!(offsets, vec![100, 101, 102]);
        assert!(partitions
            .iter()
            .all(|p| p.unknown_tagged_fields.contains_key(&127)));
    }

    /// Rewrites are bounded; past the bound, and for any other failure, the crate's first
    /// error comes back unchanged.
    #[test]
    fn other_failures_and_too_many_rewrites_keep_the_first_error() {
        let many = retag_as_0(&frame(&produce_v9(TAG_REWRITES_MAX as i32 + 1), 9), LEADER);
        let error = lenient::<ProduceResponse>(&many, 9).expect_err("too many");
        assert_eq!(error.to_string(), "Tag 0 is not valid for version 9");
        let enough = retag_as_0(&frame(&produce_v9(TAG_REWRITES_MAX as i32), 9), LEADER);
        lenient::<ProduceResponse>(&enough, 9).expect("within the bound");

        let whole = retag_as_0(&frame(&fetch_v12(Bytes::from_static(b"x")), 12), b"x");
        let cut = whole.slice(..whole.len() - 4);
        let strict_error = strict::<FetchResponse>(&cut, 12).expect_err("strict");
        assert!(misplaced_tag(&strict_error).is_none(), "{strict_error}");
        let error = lenient::<FetchResponse>(&cut, 12).expect_err("lenient");
        assert_eq!(error.to_string(), strict_error.to_string());
    }

    /// The walk back stops at the tag's last byte even when the byte before the tag has its
    /// high bit set, and refuses bytes that do not encode the tag the error named.
    #[test]
    fn the_tag_is_found_behind_its_size() {
        // A payload byte with the high bit set, tag 1, size 200 (two bytes), then the field.
        let mut bytes = BytesMut::new();
        bytes.put_slice(&[0xff, 1, 0xc8, 0x01]);
        assert_eq!(tag_start(&bytes, 4, 1), Some(1));
        assert_eq!(tag_start(&bytes, 4, 2), None);
        // Tag 300 takes two bytes: 0xac 0x02.
        let two: &[u8] = &[0x80, 0xac, 0x02, 0x05];
        assert_eq!(tag_start(two, 4, 300), Some(1));
        let mut tag = [0xac, 0x02];
        write_undefined_tag(&mut tag);
        assert_eq!(read_varint(&tag), 16_383);
        let mut widest = [0x80, 0x80, 0x80, 0x80, 0x01];
        write_undefined_tag(&mut widest);
        assert_eq!(read_varint(&widest), u32::MAX);
        assert_eq!(encoded_len(0), 1);
        assert_eq!(encoded_len(127), 1);
        assert_eq!(encoded_len(128), 2);
        assert_eq!(encoded_len(u32::MAX), 5);
    }
}

/// The client's reads through a broker that writes tagged fields as Kafka's rules allow.
#[cfg(test)]
mod end_to_end {
    use std::collections::{BTreeMap, HashMap};
    use std::sync::Arc;

    use bytes::Bytes;
    use kafka_protocol::messages::ApiKey;

    use crate::client::cluster::{BrokerInfo, Cluster};
    use crate::client::produce::{ProduceOptions, Producer, ProducerRecord};
    use crate::client::tail::{self, StartAt, TailEvent};
    use crate::client::test_proxy::{ProxiedBroker, Responses, Seen, WAIT};
    use crate::client::{admin, groups, lag};
    use crate::config::ClientConfig;

    const TOPIC: &str = "tagged";
    const GROUP: &str = "tagged-readers";
    const RECORDS: usize = 30;

    async fn produce(cluster: &Arc<Cluster>) -> Vec<Bytes> {
        let mut producer = Producer::new(cluster.clone(), TOPIC, ProduceOptions::default())
            .await
            .expect("producer");
        let values: Vec<Bytes> = (0..RECORDS).map(|i| Bytes::from(format!("v{i}"))).collect();
        for (i, value) in values.iter().enumerate() {
            let record = ProducerRecord {
                key: Some(Bytes::from(format!("k{i}"))),
                value: Some(value.clone()),
                ..ProducerRecord::default()
            };
            producer.send(record).await.expect("send");
        }
        producer.flush().await.expect("flush");
        values
    }

    /// Record values by partition, from the earliest offset to the end the tail started with.
    async fn read_to_end(cluster: &Arc<Cluster>) -> BTreeMap<i32, Vec<Bytes>> {
        let reading = tail::Reading::default();
        let mut tail = tail::start(cluster, TOPIC, None, StartAt::Earliest, true, reading)
            .await
            .expect("tail");
        let mut read: BTreeMap<i32, Vec<Bytes>> = BTreeMap::new();
        let mut ended = 0;
        while ended < tail.partitions.len() {
            let event = tokio::time::timeout(WAIT, tail.events.recv())
                .await
                .expect("tail events in time")
                .expect("tail open");
            match event {
                TailEvent::Records { partition, records } => read
                    .entry(partition)
                    .or_default()
                    .extend(records.into_iter().filter_map(|r| r.value)),
                TailEvent::End { .. } => ended += 1,
                TailEvent::Error { partition, error } => panic!("partition {partition}: {error}"),
            }
        }
        read
    }

    /// Lag by partition once the group has committed offset 0 everywhere.
    async fn lag_from_0(cluster: &Arc<Cluster>) -> Vec<(i32, Option<i64>)> {
        let committed = (0..3).map(|p| ((TOPIC.to_string(), p), 0)).collect();
        groups::commit_offsets(cluster, GROUP, &committed)
            .await
            .expect("commit");
        let lag = lag::group_lag(cluster, &[GROUP.to_string()], &HashMap::new())
            .await
            .expect("lag");
        lag[GROUP].iter().map(|r| (r.partition, r.lag)).collect()
    }

    /// Responses carry unknown tags (ApiVersions; Metadata at the top level and per topic;
    /// Fetch partitions) and Fetch v12 carries NodeEndpoints, tag 0, defined from v16, as
    /// another broker wrote it. The tail, the topic listing and describe, and a group's lag
    /// read them all. The proxy decodes every request ktui sends with the crate's strict
    /// decoders, so ktui writes no tagged field outside the versions defining it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_client_reads_tags_kafka_allows_and_sends_none_out_of_version() {
        let broker = ProxiedBroker::start(Responses::AddTags).await;
        let config = ClientConfig {
            bootstrap: vec![broker.addr()],
            ..ClientConfig::default()
        };
        let cluster = Cluster::connect(config).await.expect("connect");
        admin::create_topic(&cluster, TOPIC, 3, 1, &[])
            .await
            .expect("topic");
        let mut sent = produce(&cluster).await;

        let listed = cluster.refresh_metadata().await.expect("list topics");
        assert_eq!(listed.topic(TOPIC).expect("listed").partitions.len(), 3);
        let brokers: Vec<String> = listed.brokers.values().map(BrokerInfo::addr).collect();
        assert_eq!(brokers, vec![broker.addr()]);
        let described = cluster.topic_metadata(&[TOPIC.to_string()]).await;
        let described = described.expect("describe");
        let partitions = &described.topic(TOPIC).expect("described").partitions;
        let leaders: Vec<(i32, i32)> = partitions.iter().map(|p| (p.id, p.leader)).collect();
        assert_eq!(leaders, vec![(0, 1), (1, 1), (2, 1)]);

        let read = read_to_end(&cluster).await;
        let mut values: Vec<Bytes> = read.values().flatten().cloned().collect();
        values.sort();
        sent.sort();
        assert_eq!(values, sent);

        let per_partition = |p| read.get(&p).map_or(0, Vec::len) as i64;
        let expected: Vec<_> = (0..3).map(|p| (p, Some(per_partition(p)))).collect();
        assert_eq!(lag_from_0(&cluster).await, expected);

        let seen = broker.seen();
        broker.shutdown().await;
        assert_eq!(seen.faults, Vec::<String>::new());
        assert_eq!(seen.refused_requests, Vec::<String>::new());
        let fetch = ApiKey::Fetch as i16;
        let fetch_versions: Vec<i16> = seen
            .requests
            .keys()
            .filter(|(key, _)| *key == fetch)
            .map(|(_, version)| *version)
            .collect();
        assert_eq!(fetch_versions, vec![12]);
        for api in [ApiKey::ApiVersions, ApiKey::Metadata, ApiKey::Fetch] {
            let rewritten = Seen::of(&seen.rewritten, api);
            assert!(rewritten > 0, "no {api:?} response carried tags");
            assert_eq!(rewritten, Seen::of(&seen.responses, api), "{api:?}");
        }
    }
}
