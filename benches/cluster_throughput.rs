//! Replication's cost: produce throughput to a three-node cluster with a replication factor
//! of 3 and acks=all, against one node with acks=1, in the same run on the same machine
//! (brokers and client together), with librdkafka's default producer settings and 100-byte
//! records to one partition. The target is at least 50% (Kafka publishes 51% for
//! three-way synchronous replication).
//!
//! `cargo bench --bench cluster_throughput` (BENCH_RECORDS sets the count, default 1,000,000).

#[path = "support/brokers.rs"]
mod brokers;

use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

use brokers::Brokers;

const RECORD_BYTES: usize = 100;

fn main() {
    let records: usize = std::env::var("BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    println!("cluster_throughput: {records} records of {RECORD_BYTES} bytes, 1 partition");

    let single = Brokers::start(1);
    runtime.block_on(create(&single.bootstrap(), "single", 1, &[]));
    let one = produce(&single.bootstrap(), "single", records, "1");
    report("1 node, RF 1, acks=1", records, one);
    drop(single);

    let cluster = Brokers::start(3);
    let bootstrap = cluster.bootstrap();
    runtime.block_on(create(
        &bootstrap,
        "rf3",
        3,
        &[("min.insync.replicas", "2")],
    ));
    runtime.block_on(create(&bootstrap, "rf3-acks1", 3, &[]));
    let all = produce(&bootstrap, "rf3", records, "all");
    report("3 nodes, RF 3, acks=all", records, all);
    let leader_only = produce(&bootstrap, "rf3-acks1", records, "1");
    report("3 nodes, RF 3, acks=1", records, leader_only);
    println!(
        "  RF 3 acks=all runs at {:.0}% of one node's acks=1 rate",
        100.0 * one.as_secs_f64() / all.as_secs_f64()
    );
    let _ = cluster.pids();
}

async fn create(bootstrap: &str, name: &str, rf: i32, configs: &[(&str, &str)]) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("admin");
    let mut topic = NewTopic::new(name, 1, TopicReplication::Fixed(rf));
    for (k, v) in configs {
        topic = topic.set(k, v);
    }
    for r in admin
        .create_topics([&topic], &AdminOptions::new())
        .await
        .expect("create")
    {
        r.expect("created");
    }
}

/// librdkafka's defaults but for `acks` (and a queue big enough not to throttle the loop).
fn produce(bootstrap: &str, topic: &str, records: usize, acks: &str) -> Duration {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("acks", acks)
        .set("queue.buffering.max.messages", "2000000")
        .set("queue.buffering.max.kbytes", "2097151")
        .create()
        .expect("producer");
    let payload = vec![b'x'; RECORD_BYTES];
    let start = Instant::now();
    for _ in 0..records {
        while producer
            .send(BaseRecord::<(), _>::to(topic).payload(&payload))
            .is_err()
        {
            producer.poll(Duration::from_millis(1));
        }
    }
    producer.flush(Duration::from_secs(300)).expect("flush");
    start.elapsed()
}

fn report(what: &str, records: usize, elapsed: Duration) {
    let rate = records as f64 / elapsed.as_secs_f64();
    let mb = rate * RECORD_BYTES as f64 / (1024.0 * 1024.0);
    println!("  {what:<26} {rate:>12.0} records/s  {mb:>7.1} MB/s  ({elapsed:.2?})");
}
