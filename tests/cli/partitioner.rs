//! The partition ktui picks for a key is the Java client's: `toPositive(murmur2(key)) % n`,
//! checked against Kafka's UtilsTest vectors and against librdkafka's `murmur2_random`.

use std::collections::BTreeMap;

use ktui::client::partitioner::{murmur2, partition_for_key, to_positive};

use crate::common::{rdkafka_produce, Outgoing, TestBroker};

/// Key → partition, as `ktui consume -o json` reports it.
fn partitions_by_key(broker: &TestBroker, topic: &str) -> BTreeMap<String, i64> {
    let out = broker.ktui(&["consume", topic, "--from-beginning", "-e", "-o", "json"]);
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json");
            (
                v["key"].as_str().expect("key").to_string(),
                v["partition"].as_i64().expect("partition"),
            )
        })
        .collect()
}

#[test]
fn keyed_records_land_where_the_java_client_puts_them() {
    // Kafka's UtilsTest.testMurmur2 vectors.
    let vectors: &[(&str, i32)] = &[
        ("21", -973_932_308),
        ("foobar", -790_332_482),
        ("a-little-bit-long-string", -985_981_536),
        ("a-little-bit-longer-string", -1_486_304_829),
        (
            "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
            -58_897_971,
        ),
        ("abc", 479_470_107),
    ];
    let broker = TestBroker::start();
    broker.json(&["topics", "create", "java", "--partitions", "7"]);
    let lines: String = vectors
        .iter()
        .map(|(k, _)| format!("{k}\tvalue\n"))
        .collect();
    broker.json_stdin(
        &["produce", "java", "--key-separator", "\t"],
        lines.as_bytes(),
    );
    let placed = partitions_by_key(&broker, "java");
    for (key, hash) in vectors {
        assert_eq!(murmur2(key.as_bytes()), *hash, "murmur2({key})");
        let java = i64::from(to_positive(*hash) % 7);
        assert_eq!(placed[*key], java, "partition of {key}");
    }
}

#[test]
fn keyed_records_land_where_librdkafka_murmur2_random_puts_them() {
    let broker = TestBroker::start();
    broker.json(&["topics", "create", "ours", "--partitions", "7"]);
    broker.json(&["topics", "create", "theirs", "--partitions", "7"]);
    let keys: Vec<String> = (0..200)
        .map(|i| format!("key-{i}-{}", "x".repeat(i % 9)))
        .collect();
    let lines: String = keys.iter().map(|k| format!("{k}:v\n")).collect();
    broker.json_stdin(
        &["produce", "ours", "--key-separator", ":"],
        lines.as_bytes(),
    );
    let records: Vec<Outgoing<'_>> = keys
        .iter()
        .map(|k| (Some(k.as_bytes()), &b"v"[..], vec![]))
        .collect();
    rdkafka_produce(&broker.bootstrap(), "theirs", &records);
    let ours = partitions_by_key(&broker, "ours");
    let theirs = partitions_by_key(&broker, "theirs");
    assert_eq!(ours.len(), keys.len());
    assert_eq!(ours, theirs);
    for k in &keys {
        assert_eq!(ours[k], i64::from(partition_for_key(k.as_bytes(), 7)));
    }
    // The keys spread over every partition, so the comparison means something.
    assert_eq!(
        ours.values()
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        7
    );
}
