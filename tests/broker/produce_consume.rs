//! Produce with librdkafka (every codec, acks 0/1/all, idempotence) and consume back: every
//! record byte-exact, none lost or duplicated, in order within each partition.

use std::collections::BTreeMap;

use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::FutureRecord;
use rdkafka::Offset;

use crate::common::{consume, create_topic, producer, Seen, TestBroker};

const RECORDS: usize = 100_000;
const PARTITIONS: i32 = 3;

fn key_of(i: usize) -> Vec<u8> {
    format!("key-{}", i % 997).into_bytes()
}

fn value_of(i: usize) -> Vec<u8> {
    let mut v = format!("value-{i:08}-").into_bytes();
    v.extend((0..84).map(|j| ((i * 31 + j * 7) % 256) as u8));
    v
}

/// Produces RECORDS keyed records with headers; returns how many deliveries succeeded.
async fn produce_all(bootstrap: &str, topic: &str, settings: &[(&str, &str)]) -> usize {
    let mut all = vec![("queue.buffering.max.messages", "1000000")];
    all.extend_from_slice(settings);
    let p = producer(bootstrap, &all);
    let mut deliveries = Vec::with_capacity(RECORDS);
    for i in 0..RECORDS {
        let (key, value) = (key_of(i), value_of(i));
        let seq = i.to_string();
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: "seq",
                value: Some(seq.as_bytes()),
            })
            .insert(Header {
                key: "bin",
                value: Some(&[0u8, 1, 2, 255][..]),
            })
            .insert(Header {
                key: "null",
                value: None::<&[u8]>,
            });
        let record = FutureRecord::to(topic)
            .key(&key)
            .payload(&value)
            .headers(headers);
        match p.send_result(record) {
            Ok(f) => deliveries.push(f),
            Err((e, _)) => panic!("enqueue failed at {i}: {e}"),
        }
    }
    let mut ok = 0;
    for d in deliveries {
        if matches!(d.await, Ok(Ok(_))) {
            ok += 1;
        }
    }
    ok
}

/// Checks that `seen` holds each record exactly once, byte-exact, in order per partition.
fn verify(seen: &[Seen]) {
    let mut by_partition: BTreeMap<i32, Vec<&Seen>> = BTreeMap::new();
    let mut found = vec![false; RECORDS];
    for s in seen {
        let seq: usize = match s.headers.first() {
            Some((k, Some(v))) if k == "seq" => {
                std::str::from_utf8(v).expect("utf8").parse().expect("seq")
            }
            other => panic!("first header is not seq: {other:?}"),
        };
        assert!(!found[seq], "record {seq} delivered twice");
        found[seq] = true;
        assert_eq!(s.key.as_deref(), Some(&key_of(seq)[..]), "key of {seq}");
        assert_eq!(
            s.value.as_deref(),
            Some(&value_of(seq)[..]),
            "value of {seq}"
        );
        assert_eq!(s.headers[1], ("bin".to_string(), Some(vec![0, 1, 2, 255])));
        assert_eq!(s.headers[2], ("null".to_string(), None));
        by_partition.entry(s.partition).or_default().push(s);
    }
    assert!(found.iter().all(|f| *f), "every record consumed");
    for (partition, records) in by_partition {
        for (i, pair) in records.windows(2).enumerate() {
            assert_eq!(
                pair[1].offset,
                pair[0].offset + 1,
                "partition {partition} offsets contiguous at {i}"
            );
            let seq = |s: &Seen| -> usize {
                std::str::from_utf8(s.headers[0].1.as_deref().expect("seq"))
                    .expect("utf8")
                    .parse()
                    .expect("n")
            };
            assert!(
                seq(pair[1]) > seq(pair[0]),
                "partition {partition} in produce order at {i}"
            );
        }
        assert_eq!(records[0].offset, 0, "partition {partition} starts at 0");
    }
}

async fn round_trip(topic: &str, settings: &[(&str, &str)], acks_zero: bool) {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, topic, PARTITIONS, &[]).await;
    let delivered = produce_all(&bootstrap, topic, settings).await;
    if !acks_zero {
        assert_eq!(delivered, RECORDS, "every delivery acknowledged");
    }
    let b = bootstrap.clone();
    let t = topic.to_string();
    let seen = tokio::task::spawn_blocking(move || {
        consume(&b, &t, PARTITIONS, Offset::Beginning, RECORDS)
    })
    .await
    .expect("consume");
    verify(&seen);
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uncompressed_acks_all() {
    round_trip(
        "none-all",
        &[("compression.type", "none"), ("acks", "all")],
        false,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip() {
    round_trip(
        "gzip",
        &[("compression.type", "gzip"), ("acks", "all")],
        false,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snappy() {
    round_trip(
        "snappy",
        &[("compression.type", "snappy"), ("acks", "all")],
        false,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lz4() {
    round_trip(
        "lz4",
        &[("compression.type", "lz4"), ("acks", "all")],
        false,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zstd() {
    round_trip(
        "zstd",
        &[("compression.type", "zstd"), ("acks", "all")],
        false,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_one() {
    round_trip(
        "acks-one",
        &[
            ("acks", "1"),
            ("enable.idempotence", "false"),
            ("compression.type", "lz4"),
        ],
        false,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_zero() {
    round_trip(
        "acks-zero",
        &[("acks", "0"), ("enable.idempotence", "false")],
        true,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotent_producer() {
    round_trip(
        "idempotent",
        &[
            ("enable.idempotence", "true"),
            ("compression.type", "snappy"),
        ],
        false,
    )
    .await;
}
