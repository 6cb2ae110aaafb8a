//! The console against a large cluster, with the workspace broker in-process:
//!
//! 1. 10,000 topics of 3 partitions (30,000 partitions) as metadata built in memory: the
//!    Topics rows built from it, applied and drawn (the UI's share of the first screen); the
//!    time to draw a frame (200x50, TestBackend) and to apply one filter keystroke and redraw,
//!    over a word typed character by character. Then the same against the in-process broker
//!    with as many topics as this machine's open-file limit allows (BENCH_TOPICS, default
//!    1,800 x 3 partitions: the broker holds three files per partition and the hard limit
//!    here is 20,000): time from connecting to the first full Topics screen (metadata, both
//!    watermarks of every partition, rows, one frame).
//! 2. Tail: 2,000,000 records of 100 bytes read from the beginning through the worker and
//!    the app (the path the console uses), then a live run with a producer at 200,000
//!    records/s; reports records/s taken by the screen, and the process's peak RSS growth.
//! 3. Tail latency at a low rate: a record produced to a 6-partition topic that the console
//!    tails (acks=1, one at a time, 20-100 ms apart), timed from the producer's ack to the
//!    frame that shows it (worker, app and a TestBackend frame; BENCH_LATENCY_RECORDS, 300).
//! 4. Idle CPU of the real binary in tmux on that cluster (Topics and Brokers screens, with
//!    `--refresh 2s` and `10s`), from /proc/PID/stat over 30 s.
//!
//! `cargo bench --bench console` (BENCH_TOPICS, BENCH_TAIL_RECORDS, BENCH_LIVE_RECORDS change the sizes;
//! BENCH_PARTS=screens,tail,latency,idle picks the parts after the first).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::{CreateTopicsRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use ktui::client::cluster::{Metadata, PartitionInfo, TopicInfo};
use ktui::client::produce::{ProduceOptions, Producer, ProducerRecord};
use ktui::client::Cluster;
use ktui::config::ClientConfig;
use ktui::tui::action::{Request, TailStart};
use ktui::tui::app::App;
use ktui::tui::event::{ConnState, Event, Update};
use ktui::tui::{calls, worker::Worker};
use ktui_broker::{BrokerConfig, RunningBroker};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use tokio::sync::mpsc;

#[path = "support/idle.rs"]
mod idle;
#[path = "support/screen.rs"]
mod screen;

use screen::{app, draw, first_screen, key, slowest_filter_keystroke, terminal, HEIGHT, WIDTH};

use idle::idle_cpu;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

async fn create_topics(cluster: &Arc<Cluster>, count: usize) {
    let conn = cluster.any_connection().await.expect("connection");
    for start in (0..count).step_by(1000) {
        let topics = (start..count.min(start + 1000))
            .map(|i| {
                CreatableTopic::default()
                    .with_name(TopicName(StrBytes::from_string(format!("topic-{i:05}"))))
                    .with_num_partitions(3)
                    .with_replication_factor(1)
            })
            .collect();
        let request = CreateTopicsRequest::default()
            .with_topics(topics)
            .with_timeout_ms(60_000);
        let response = conn.send(&request).await.expect("create topics");
        if let Some(t) = response.topics.iter().find(|t| t.error_code != 0) {
            panic!(
                "create {:?}: error {} {:?}",
                t.name, t.error_code, t.error_message
            );
        }
    }
}

fn synthetic(topics: usize) -> Metadata {
    let mut metadata = Metadata {
        cluster_id: Some("bench".into()),
        controller_id: 1,
        ..Metadata::default()
    };
    for i in 0..topics {
        let name = format!("topic-{i:05}");
        let partitions = (0..3)
            .map(|p| PartitionInfo {
                id: p,
                leader: 1,
                leader_epoch: 0,
                replicas: vec![1],
                isr: vec![1],
                offline: Vec::new(),
                error_code: 0,
            })
            .collect();
        let topic = TopicInfo {
            name: name.clone(),
            id: String::new(),
            internal: false,
            error_code: 0,
            partitions,
        };
        let _ = metadata.topics.insert(name, topic);
    }
    metadata
}

fn ui_share(topics: usize) {
    let metadata = synthetic(topics);
    let mut low = std::collections::HashMap::new();
    let mut high = std::collections::HashMap::new();
    for t in metadata.topics.values() {
        for p in &t.partitions {
            let at = |offset| ktui::client::admin::ListedOffset {
                offset,
                timestamp: -1,
            };
            let _ = low.insert((t.name.clone(), p.id), at(0));
            let _ = high.insert((t.name.clone(), p.id), at(1000));
        }
    }
    let started = Instant::now();
    let snapshot = calls::snapshot(
        &metadata,
        &low,
        &high,
        &Default::default(),
        &Default::default(),
        None,
    );
    let built = started.elapsed();
    let mut app = app("bench");
    app.handle(Event::Data(Update::Connection(ConnState::Connected)));
    app.handle(Event::Data(Update::Cluster(
        snapshot,
        std::time::SystemTime::now(),
    )));
    let mut terminal = terminal();
    let _ = draw(&mut terminal, &app);
    println!(
        "{topics} topics / {} partitions in memory: rows built in {built:?}, applied and first frame drawn at {:?}",
        topics * 3,
        started.elapsed()
    );
    frames_and_filter(&mut app, &mut terminal, topics);
}

fn frames_and_filter(app: &mut App, terminal: &mut Terminal<TestBackend>, topics: usize) {
    let frames = 500;
    let mut times: Vec<Duration> = (0..frames)
        .map(|i| {
            key(app, if i % 2 == 0 { 'j' } else { 'k' });
            draw(terminal, app)
        })
        .collect();
    times.sort();
    println!(
        "frame ({WIDTH}x{HEIGHT}, {topics} topics): median {:?}, p99 {:?}, max {:?}",
        times[frames / 2],
        times[frames * 99 / 100],
        times[frames - 1]
    );
    let worst = slowest_filter_keystroke(app, terminal, "topic-0999");
    println!("filter as you type ('topic-0999', {topics} topics): slowest keystroke incl. redraw {worst:?}");
}

async fn screens(config: &ClientConfig, topics: usize) {
    let cluster = Cluster::connect(config.clone()).await.expect("connect");
    let started = Instant::now();
    create_topics(&cluster, topics).await;
    println!(
        "created {topics} topics x 3 partitions in {:?}",
        started.elapsed()
    );
    drop(cluster);

    let mut first = first_screen(config, "bench").await;
    println!(
        "first full screen: {:?} after connecting (metadata and watermarks of {} partitions: {:?})",
        first.total,
        topics * 3,
        first.fetched
    );

    frames_and_filter(&mut first.app, &mut first.terminal, topics);
}

async fn produce(cluster: &Arc<Cluster>, topic: &str, count: usize, rate: Option<f64>) {
    let mut producer = Producer::new(
        cluster.clone(),
        topic,
        ProduceOptions {
            acks: 1,
            ..ProduceOptions::default()
        },
    )
    .await
    .expect("producer");
    let value = Bytes::from(vec![b'x'; 100]);
    let started = Instant::now();
    for i in 0..count {
        if let Some(rate) = rate {
            if i % 1000 == 0 {
                let due = started + Duration::from_secs_f64(i as f64 / rate);
                tokio::time::sleep_until(due.into()).await;
            }
        }
        let record = ProducerRecord {
            key: None,
            value: Some(value.clone()),
            headers: Vec::new(),
            partition: None,
            timestamp: None,
        };
        producer.send(record).await.expect("send");
        if i % 1000 == 0 {
            producer.dispatch_lingering().await.expect("linger");
            let _ = producer.take_acks();
        }
    }
    producer.flush().await.expect("flush");
}

/// Feeds tail events into an app until `total` records were seen; records/s and peak RSS.
async fn take_tail(app: &mut App, rx: &mut mpsc::Receiver<Event>, total: u64) -> (f64, u64) {
    let mut dropped_total = 0u64;
    let started = Instant::now();
    let mut seen = 0u64;
    let mut first: Option<Instant> = None;
    let mut peak = 0;
    let mut terminal = terminal();
    let mut last_draw = Instant::now();
    while seen < total {
        let event = tokio::time::timeout(Duration::from_secs(30), rx.recv())
            .await
            .expect("tail stalled")
            .expect("channel");
        if let Event::Data(Update::TailRecords {
            records, dropped, ..
        }) = &event
        {
            let _ = first.get_or_insert_with(Instant::now);
            seen += records.len() as u64 + dropped;
            dropped_total += dropped;
        }
        app.handle(event);
        if last_draw.elapsed() > Duration::from_millis(33) {
            let _ = draw(&mut terminal, app);
            last_draw = Instant::now();
            peak = peak.max(rss_kib());
        }
    }
    let secs = first.map_or(started, |f| f).elapsed().as_secs_f64();
    println!(
        "  ({seen} records counted, {dropped_total} of them dropped before reaching the screen's buffer)"
    );
    (seen as f64 / secs, peak)
}

async fn tail(config: &ClientConfig, records: usize) {
    let cluster = Cluster::connect(config.clone()).await.expect("connect");
    ktui::client::admin::create_topic(&cluster, "bench-tail", 6, 1, &[])
        .await
        .expect("topic");
    let started = Instant::now();
    produce(&cluster, "bench-tail", records, None).await;
    println!(
        "produced {records} records of 100 bytes in {:?}",
        started.elapsed()
    );

    let (tx, mut rx) = mpsc::channel(256);
    let mut worker = Worker::start(config.clone(), tx);
    loop {
        let event = rx.recv().await.expect("worker events");
        if matches!(event, Event::Data(Update::Connection(ConnState::Connected))) {
            break;
        }
    }
    let mut app = app("bench");
    let rss_before = rss_kib();
    worker.submit(Request::TailStart {
        topic: "bench-tail".into(),
        start: TailStart::Beginning,
        resume: Default::default(),
        reading: Default::default(),
    });
    let (rate, peak) = take_tail(&mut app, &mut rx, records as u64).await;
    println!(
        "tail from the beginning: {rate:.0} records/s taken by the screen; RSS {} MiB before, peak {} MiB",
        rss_before / 1024,
        peak / 1024
    );

    let live = env_usize("BENCH_LIVE_RECORDS", 2_000_000);
    worker.submit(Request::TailStart {
        topic: "bench-tail".into(),
        start: TailStart::End,
        resume: Default::default(),
        reading: Default::default(),
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    while rx.try_recv().is_ok() {}
    let started = Instant::now();
    let producing = {
        let cluster = cluster.clone();
        tokio::spawn(async move {
            produce(&cluster, "bench-tail", live, Some(200_000.0)).await;
            Instant::now()
        })
    };
    let (rate, peak) = take_tail(&mut app, &mut rx, live as u64).await;
    let taken = Instant::now();
    let produced = producing.await.expect("producer");
    let produce_secs = produced.duration_since(started).as_secs_f64();
    println!(
        "live tail: producer sent {live} records in {produce_secs:.2} s ({:.0}/s); the screen took them at {rate:.0}/s and had the last one {:?} after the producer's last ack; peak RSS {} MiB",
        live as f64 / produce_secs,
        taken.saturating_duration_since(produced),
        peak / 1024
    );
    worker.submit(Request::TailStop);
}

/// Milliseconds at the given quantile of sorted samples.
fn quantile_ms(sorted: &[Duration], q: f64) -> f64 {
    let at = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[at].as_secs_f64() * 1000.0
}

/// Ack-to-frame latency of single records on a tailed 6-partition topic.
async fn latency(config: &ClientConfig, count: usize) {
    let cluster = Cluster::connect(config.clone()).await.expect("connect");
    ktui::client::admin::create_topic(&cluster, "bench-latency", 6, 1, &[])
        .await
        .expect("topic");
    let (tx, mut rx) = mpsc::channel(256);
    let mut worker = Worker::start(config.clone(), tx);
    loop {
        let event = rx.recv().await.expect("worker events");
        if matches!(event, Event::Data(Update::Connection(ConnState::Connected))) {
            break;
        }
    }
    let mut app = app("bench");
    let mut terminal = terminal();
    // From the beginning of the empty topic: no record can slip in before the tail starts.
    worker.submit(Request::TailStart {
        topic: "bench-latency".into(),
        start: TailStart::Beginning,
        resume: Default::default(),
        reading: Default::default(),
    });
    let mut producer = Producer::new(
        cluster.clone(),
        "bench-latency",
        ProduceOptions {
            acks: 1,
            ..ProduceOptions::default()
        },
    )
    .await
    .expect("producer");
    let mut samples = Vec::with_capacity(count);
    // The first records only prove that every partition's fetch is in place.
    let warm_up = 12;
    for i in 0..count + warm_up {
        let partition = (i % 6) as i32;
        let record = ProducerRecord {
            key: None,
            value: Some(Bytes::from(format!("latency-{i}"))),
            headers: Vec::new(),
            partition: Some(partition),
            timestamp: None,
        };
        producer.send(record).await.expect("send");
        producer.flush().await.expect("flush");
        let acked = producer
            .take_acks()
            .into_iter()
            .map(|a| (a.acked_at, a.base_offset))
            .next()
            .expect("ack");
        let drawn = loop {
            let event = tokio::time::timeout(Duration::from_secs(30), rx.recv())
                .await
                .expect("the record never reached the screen")
                .expect("channel");
            let ours = matches!(&event, Event::Data(Update::TailRecords { records, .. })
                if records.iter().any(|r| r.partition == partition && r.offset == acked.1));
            app.handle(event);
            if ours {
                let _ = draw(&mut terminal, &app);
                break Instant::now();
            }
        };
        if i >= warm_up {
            samples.push(drawn.saturating_duration_since(acked.0));
        }
        let pause = 20 + (i * 37 % 81) as u64;
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
    worker.submit(Request::TailStop);
    samples.sort();
    println!(
        "tail latency, ack to frame, {} records one at a time on 6 partitions: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        samples.len(),
        quantile_ms(&samples, 0.5),
        quantile_ms(&samples, 0.99),
        quantile_ms(&samples, 1.0)
    );
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let overrides = vec![
        ("log.dirs".to_string(), dir.path().display().to_string()),
        (
            "listeners".to_string(),
            "PLAINTEXT://127.0.0.1:0".to_string(),
        ),
    ];
    let config = BrokerConfig::from_properties("", &overrides).expect("config");
    let broker = runtime
        .block_on(RunningBroker::start(config))
        .expect("broker");
    let bootstrap = broker.local_addr().to_string();
    let client = ClientConfig {
        bootstrap: vec![bootstrap.clone()],
        ..ClientConfig::default()
    };
    let parts = std::env::var("BENCH_PARTS").unwrap_or_else(|_| "screens,tail,latency,idle".into());
    ui_share(10_000);
    let topics = env_usize("BENCH_TOPICS", 1_800);
    let records = env_usize("BENCH_TAIL_RECORDS", 2_000_000);
    runtime.block_on(screens(&client, topics));
    if parts.contains("tail") {
        runtime.block_on(tail(&client, records));
    }
    if parts.contains("latency") {
        let count = env_usize("BENCH_LATENCY_RECORDS", 300);
        runtime.block_on(latency(&client, count));
    }
    if parts.contains("idle") {
        idle_cpu(&bootstrap, "2s");
        idle_cpu(&bootstrap, "10s");
    }
    broker.shutdown_token().cancel();
    runtime.block_on(broker.wait());
}
