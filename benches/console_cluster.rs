//! The console on a three-node workspace cluster (`ktui broker` processes, replication factor
//! 3) holding 1,000 partitions: the first full Topics screen after connecting (connect,
//! Metadata, both watermarks of every partition, broker reachability, the snapshot applied,
//! the event log's comparison and one 200x50 frame), five runs on new connections; then the
//! real binary's idle CPU in tmux at `--refresh 2s`, with the header's health counts and the
//! event log following the cluster on every refresh (Topics, then Brokers with its log-dir
//! requests).
//!
//! `cargo bench --bench console_cluster` (BENCH_PARTITIONS changes the count).

#[allow(dead_code)] // the process ids are not needed here
#[path = "support/brokers.rs"]
mod brokers;
#[path = "support/idle.rs"]
mod idle;
// Only the first-screen measurement of the shared console helpers is used here.
#[allow(dead_code)]
#[path = "support/screen.rs"]
mod screen;

use std::time::{Duration, Instant};

use ktui::config::ClientConfig as KtuiConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};

use brokers::Brokers;

const TOPICS: usize = 10;

async fn create(bootstrap: &str, per_topic: usize) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("admin");
    let names: Vec<String> = (0..TOPICS).map(|i| format!("console-{i}")).collect();
    let topics: Vec<NewTopic<'_>> = names
        .iter()
        .map(|name| NewTopic::new(name, per_topic as i32, TopicReplication::Fixed(3)))
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

/// Waits until every partition has a leader and three replicas in sync.
fn wait_in_sync(bootstrap: &str, partitions: usize) {
    let client: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("client");
    let started = Instant::now();
    loop {
        if let Ok(m) = client.fetch_metadata(None, Duration::from_secs(30)) {
            let ready = m
                .topics()
                .iter()
                .filter(|t| t.name().starts_with("console-"))
                .flat_map(|t| t.partitions())
                .filter(|p| p.leader() >= 0 && p.isr().len() == 3)
                .count();
            if ready == partitions {
                return;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the cluster never settled"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn main() {
    let partitions: usize = std::env::var("BENCH_PARTITIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let cluster = Brokers::start(3);
    let bootstrap = cluster.bootstrap();
    runtime.block_on(create(&bootstrap, partitions / TOPICS));
    wait_in_sync(&bootstrap, partitions);
    println!("console_cluster: 3 nodes, {partitions} partitions at RF 3, all in sync");
    let config = KtuiConfig {
        bootstrap: bootstrap.split(',').map(str::to_string).collect(),
        ..KtuiConfig::default()
    };
    let mut totals = Vec::new();
    for run in 1..=5 {
        let first = runtime.block_on(screen::first_screen(&config, "bench"));
        println!(
            "  run {run}: first full screen {:.1} ms after connecting (data {:.1} ms)",
            first.total.as_secs_f64() * 1000.0,
            first.fetched.as_secs_f64() * 1000.0
        );
        totals.push(first.total);
    }
    totals.sort();
    println!(
        "first screen of {partitions} partitions on 3 nodes: median {:.1} ms, max {:.1} ms",
        totals[totals.len() / 2].as_secs_f64() * 1000.0,
        totals[totals.len() - 1].as_secs_f64() * 1000.0
    );
    idle::idle_cpu(&bootstrap, "2s");
    drop(cluster);
}
