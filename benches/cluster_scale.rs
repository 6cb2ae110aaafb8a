//! Scale on one machine: a three-node cluster holding 10,000 partitions at replication factor
//! 3 (so 10,000 replicas per node) must start, serve Metadata with every partition led and in
//! sync, and keep each node under the process's open-file limit. Reports each node's open
//! files (peak over the run, sampled from /proc) and RSS, the time to create the partitions,
//! and the time for the whole cluster to come back after a restart.
//!
//! `cargo bench --bench cluster_scale` (BENCH_PARTITIONS sets the count).

#[path = "support/brokers.rs"]
mod brokers;

use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};

use brokers::Brokers;

const TOPICS: usize = 10;

fn main() {
    let partitions: usize = std::env::var("BENCH_PARTITIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let per_topic = partitions / TOPICS;
    let limit = open_file_limit();
    println!("cluster_scale: 3 nodes, {partitions} partitions at RF 3, open-file limit {limit}");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mut cluster = Brokers::start(3);
    let mut peak = vec![0usize; 3];
    let started = Instant::now();
    runtime.block_on(create(&cluster.bootstrap(), per_topic));
    let created = started.elapsed();
    let (ready, sampled) = wait_all_in_sync(&cluster, TOPICS * per_topic);
    merge(&mut peak, &sampled);
    println!("  created in {created:.2?}; every partition led and in sync after {ready:.2?}");
    report("after creation", &cluster, &peak);
    let restart = Instant::now();
    cluster.restart();
    let (back, sampled) = wait_all_in_sync(&cluster, TOPICS * per_topic);
    merge(&mut peak, &sampled);
    println!(
        "  restarted: Metadata with every partition led and in sync after {:.2?} ({back:.2?} of waiting)",
        restart.elapsed()
    );
    report("after restart", &cluster, &peak);
    let worst = peak.iter().max().copied().unwrap_or(0);
    println!("  peak open files per node {worst} of the limit {limit}");
    assert!(worst < limit, "a node reached its open-file limit");
}

async fn create(bootstrap: &str, per_topic: usize) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("admin");
    let topics: Vec<NewTopic<'_>> = (0..TOPICS)
        .map(|i| {
            let name: &'static str = Box::leak(format!("scale-{i}").into_boxed_str());
            NewTopic::new(name, per_topic as i32, TopicReplication::Fixed(3))
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(120)));
    for r in admin
        .create_topics(topics.iter(), &options)
        .await
        .expect("create")
    {
        r.expect("created");
    }
}

/// Waits until Metadata shows `partitions` partitions, each with a leader and a full ISR,
/// sampling each node's open files meanwhile.
fn wait_all_in_sync(cluster: &Brokers, partitions: usize) -> (Duration, Vec<usize>) {
    let client: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap())
        .create()
        .expect("client");
    let started = Instant::now();
    let mut peak = vec![0usize; 3];
    loop {
        for (i, pid) in cluster.pids().into_iter().enumerate() {
            peak[i] = peak[i].max(open_files(pid));
        }
        if let Ok(m) = client.fetch_metadata(None, Duration::from_secs(30)) {
            let ready = m
                .topics()
                .iter()
                .filter(|t| t.name().starts_with("scale-"))
                .flat_map(|t| t.partitions())
                .filter(|p| p.leader() >= 0 && p.isr().len() == 3)
                .count();
            if ready == partitions && m.brokers().len() == 3 {
                return (started.elapsed(), peak);
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "the cluster never settled"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn merge(peak: &mut [usize], sampled: &[usize]) {
    for (p, s) in peak.iter_mut().zip(sampled) {
        *p = (*p).max(*s);
    }
}

fn report(when: &str, cluster: &Brokers, peak: &[usize]) {
    for (i, pid) in cluster.pids().into_iter().enumerate() {
        println!(
            "  node {i} {when}: {} open files (peak {}), RSS {} MiB",
            open_files(pid),
            peak[i],
            rss_kib(pid) / 1024
        );
    }
}

fn open_files(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}

fn open_file_limit() -> usize {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|t| {
            let line = t.lines().find(|l| l.starts_with("Max open files"))?;
            line.trim_start_matches("Max open files")
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or(usize::MAX)
}
