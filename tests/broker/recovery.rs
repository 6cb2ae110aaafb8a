//! Durability: a restart keeps every record; a torn or corrupted tail of the last segment is
//! cut back to the last valid batch and the broker starts.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rdkafka::consumer::Consumer;
use rdkafka::producer::FutureRecord;
use rdkafka::Offset;

use crate::common::{consume, consumer, create_topic, producer, TestBroker};

const TIMEOUT: Duration = Duration::from_secs(10);

async fn produce_n(bootstrap: &str, topic: &str, from: usize, n: usize) {
    // One record per batch, so that batch boundaries are record boundaries.
    let p = producer(
        bootstrap,
        &[("linger.ms", "0"), ("batch.num.messages", "1")],
    );
    for i in from..from + n {
        let value = format!("record-{i}");
        p.send(FutureRecord::<(), _>::to(topic).payload(&value), TIMEOUT)
            .await
            .expect("delivered");
    }
}

fn last_segment(partition_dir: &Path) -> PathBuf {
    let mut logs: Vec<PathBuf> = std::fs::read_dir(partition_dir)
        .expect("partition dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    logs.sort();
    logs.pop().expect("a segment")
}

/// Byte ranges of the batches in a segment file, via the broker's own batch parser.
fn batch_ranges(segment: &Path) -> Vec<std::ops::Range<usize>> {
    let bytes = std::fs::read(segment).expect("read segment");
    ktui_broker::log::batch::split_batches(&bytes)
        .map(|b| b.expect("valid batch").1)
        .collect()
}

fn high_watermark(bootstrap: &str, topic: &str) -> i64 {
    consumer(bootstrap)
        .fetch_watermarks(topic, 0, TIMEOUT)
        .expect("watermarks")
        .1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_every_record() {
    let broker = TestBroker::start().await;
    create_topic(
        &broker.bootstrap(),
        "durable",
        1,
        &[("segment.bytes", "2048")],
    )
    .await;
    produce_n(&broker.bootstrap(), "durable", 0, 200).await;
    let dir = broker.stop().await;
    let segments = std::fs::read_dir(dir.path().join("durable-0"))
        .expect("dir")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "log"))
        });
    assert!(
        segments.count() > 1,
        "small segment.bytes rolled several segments"
    );

    let broker = TestBroker::start_with(dir, &[]).await;
    let bootstrap = broker.bootstrap();
    assert_eq!(high_watermark(&bootstrap, "durable"), 200);
    produce_n(&bootstrap, "durable", 200, 10).await;
    let seen = consume(&bootstrap, "durable", 1, Offset::Beginning, 210);
    for (i, s) in seen.iter().enumerate() {
        assert_eq!(s.offset, i as i64);
        assert_eq!(s.value.as_deref(), Some(format!("record-{i}").as_bytes()));
    }
    broker.stop().await;
}

async fn damaged_tail_recovers(damage: impl Fn(&Path, std::ops::Range<usize>)) {
    let broker = TestBroker::start().await;
    create_topic(&broker.bootstrap(), "torn", 1, &[]).await;
    produce_n(&broker.bootstrap(), "torn", 0, 20).await;
    let dir = broker.stop().await;
    // A crash leaves no clean-shutdown marker; without it the last segment is fully checked.
    std::fs::remove_file(dir.path().join("torn-0").join("clean-shutdown"))
        .expect("clean stop left its marker");
    let segment = last_segment(&dir.path().join("torn-0"));
    let ranges = batch_ranges(&segment);
    assert_eq!(ranges.len(), 20);
    damage(&segment, ranges[19].clone());

    let broker = TestBroker::start_with(dir, &[]).await;
    let bootstrap = broker.bootstrap();
    assert_eq!(
        high_watermark(&bootstrap, "torn"),
        19,
        "the damaged last batch is gone"
    );
    assert_eq!(
        std::fs::metadata(&segment).expect("segment").len() as usize,
        ranges[18].end,
        "file cut to the last valid batch"
    );
    produce_n(&bootstrap, "torn", 19, 1).await;
    let seen = consume(&bootstrap, "torn", 1, Offset::Beginning, 20);
    for (i, s) in seen.iter().enumerate() {
        assert_eq!(s.value.as_deref(), Some(format!("record-{i}").as_bytes()));
    }
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn torn_tail_is_truncated() {
    damaged_tail_recovers(|segment, last| {
        let file = OpenOptions::new().write(true).open(segment).expect("open");
        file.set_len((last.start + last.len() / 2) as u64)
            .expect("truncate mid-batch");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flipped_byte_is_truncated() {
    damaged_tail_recovers(|segment, last| {
        let mut bytes = std::fs::read(segment).expect("read");
        bytes[last.end - 3] ^= 0x5a;
        std::fs::write(segment, bytes).expect("write");
    })
    .await;
}

/// The metadata log is snapshotted and the entries the snapshot covers are purged, so a
/// restart does not replay from zero; the topics are all there after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_is_snapshotted_and_a_restart_starts_from_the_snapshot() {
    let snapshot_every = [("metadata.log.max.snapshot.interval.records", "20")];
    let broker = TestBroker::start_configured(&snapshot_every).await;
    let bootstrap = broker.bootstrap();
    let admin = crate::common::admin(&bootstrap);
    let names: Vec<String> = (0..160).map(|i| format!("snap-{i}")).collect();
    let topics: Vec<rdkafka::admin::NewTopic<'_>> = names
        .iter()
        .map(|n| rdkafka::admin::NewTopic::new(n, 1, rdkafka::admin::TopicReplication::Fixed(1)))
        .collect();
    // One at a time: every creation is an entry of the metadata log.
    for topic in &topics {
        for r in admin
            .create_topics([topic], &rdkafka::admin::AdminOptions::new())
            .await
            .expect("create")
        {
            r.expect("created");
        }
    }
    let dir = broker.stop().await;
    let metadata = dir.path().join("__cluster_metadata-0");
    assert!(
        metadata.join("snapshot.json").exists(),
        "a snapshot was written"
    );
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(metadata.join("state.json")).expect("state.json"))
            .expect("json");
    let purged = state["last_purged"]["index"].as_u64().unwrap_or(0);
    assert!(
        purged > 0,
        "entries covered by the snapshot were purged: {state}"
    );
    let broker = TestBroker::start_with(dir, &snapshot_every).await;
    let consumer = crate::common::consumer(&broker.bootstrap());
    let listed = {
        use rdkafka::consumer::Consumer;
        consumer
            .fetch_metadata(None, std::time::Duration::from_secs(10))
            .expect("metadata")
            .topics()
            .iter()
            .filter(|t| t.name().starts_with("snap-"))
            .count()
    };
    assert_eq!(listed, 160, "every topic is back after the restart");
    broker.stop().await;
}
