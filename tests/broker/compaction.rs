//! Log compaction seen by librdkafka: a compacted topic keeps the latest record of each key
//! (with its offset unchanged) and drops old tombstones; consumers read across the gaps; and
//! `__consumer_offsets` stays small however often a group commits.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::producer::FutureRecord;
use rdkafka::{Offset, TopicPartitionList};

use crate::common::{self, TestBroker, DEADLINE};
use crate::groups::{group_consumer, FAST_GROUPS};

const FAST_CLEANER: &[(&str, &str)] = &[("log.cleaner.backoff.ms", "50")];

fn overrides() -> Vec<(&'static str, &'static str)> {
    FAST_GROUPS.iter().chain(FAST_CLEANER).copied().collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_compacted_topic_keeps_the_latest_value_of_each_key() {
    let broker = TestBroker::start_configured(&overrides()).await;
    let b = broker.bootstrap();
    common::create_topic(
        &b,
        "latest",
        1,
        &[
            ("cleanup.policy", "compact"),
            ("segment.bytes", "2000"),
            ("delete.retention.ms", "0"),
        ],
    )
    .await;
    let producer = common::producer(&b, &[("linger.ms", "0")]);
    // 10 keys, 30 rounds of updates; key-3 is deleted by a tombstone in the last round.
    let mut last: BTreeMap<String, (i64, Option<String>)> = BTreeMap::new();
    for round in 0..30 {
        for k in 0..10 {
            let key = format!("key-{k}");
            let value = (!(round == 29 && k == 3)).then(|| format!("v{round}"));
            let mut record = FutureRecord::<String, String>::to("latest").key(&key);
            if let Some(v) = &value {
                record = record.payload(v);
            }
            let delivery = producer
                .send(record, Duration::from_secs(10))
                .await
                .expect("delivered");
            last.insert(key, (delivery.offset, value));
        }
    }
    // One more record so that the segment holding the last round closes.
    let filler = "f".repeat(1800);
    producer
        .send(
            FutureRecord::<str, String>::to("latest")
                .key("filler")
                .payload(&filler),
            Duration::from_secs(10),
        )
        .await
        .expect("delivered");

    let deadline = Instant::now() + DEADLINE;
    let seen = loop {
        let seen = common::consume_until_end(&b, "latest");
        // Compacted once no key appears twice among the closed segments' records.
        let keys: Vec<&Option<Vec<u8>>> = seen.iter().map(|s| &s.key).collect();
        let distinct: std::collections::BTreeSet<_> = keys.iter().collect();
        if distinct.len() == keys.len() {
            break seen;
        }
        assert!(
            Instant::now() < deadline,
            "never compacted: {} records",
            seen.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for s in seen.iter().filter(|s| s.key.as_deref() != Some(b"filler")) {
        let key = String::from_utf8(s.key.clone().expect("key")).expect("utf8");
        let (offset, value) = &last[&key];
        assert_eq!(s.offset, *offset, "{key} kept at its original offset");
        assert_eq!(
            s.value.as_deref(),
            value.as_deref().map(str::as_bytes),
            "{key}"
        );
    }
    let keys: Vec<String> = seen
        .iter()
        .filter_map(|s| {
            s.key
                .as_ref()
                .map(|k| String::from_utf8_lossy(k).into_owned())
        })
        .collect();
    assert!(
        !keys.contains(&"key-3".to_string()),
        "the tombstone went too"
    );
    assert_eq!(keys.len(), 10, "nine keys and the filler: {keys:?}");
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn consumer_offsets_stays_small_however_often_a_group_commits() {
    let mut config = overrides();
    config.push(("offsets.topic.segment.bytes", "4096"));
    config.push(("offsets.topic.num.partitions", "1"));
    let broker = TestBroker::start_configured(&config).await;
    let b = broker.bootstrap();
    common::create_topic(&b, "busy", 1, &[]).await;
    let b1 = b.clone();
    tokio::task::spawn_blocking(move || {
        let c = group_consumer(&b1, "committer", &[]);
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset("busy", 0, Offset::Beginning)
            .expect("offset");
        c.assign(&tpl).expect("assign");
        for i in 0..1000 {
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition_offset("busy", 0, Offset::Offset(i))
                .expect("offset");
            c.commit(&tpl, CommitMode::Sync).expect("commit");
        }
    })
    .await
    .expect("commits");
    let deadline = Instant::now() + DEADLINE;
    loop {
        let b = broker.running.as_ref().expect("running").broker();
        let shared = b.replicas.get("__consumer_offsets", 0).expect("partition");
        let (size, end) = {
            let p = ktui_broker::replica::lock(&shared);
            (p.log().size_bytes(), p.log().log_end_offset())
        };
        assert!(end >= 1000, "every commit is a record");
        if size < 20_000 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "__consumer_offsets still {size} bytes"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The last commit survives compaction and a restart.
    let dir = broker.stop().await;
    let broker = TestBroker::start_with(dir, &config).await;
    let b = broker.bootstrap();
    tokio::task::spawn_blocking(move || {
        let c = group_consumer(&b, "committer", &[]);
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition("busy", 0);
        let committed = c.committed_offsets(tpl, DEADLINE).expect("committed");
        assert_eq!(
            committed
                .find_partition("busy", 0)
                .expect("listed")
                .offset(),
            Offset::Offset(999)
        );
    })
    .await
    .expect("after restart");
    broker.stop().await;
}
