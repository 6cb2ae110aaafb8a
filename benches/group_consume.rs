//! Consumer groups under load, with librdkafka consumers against an in-process broker.
//!
//! 1. Produces RECORDS records of 100 bytes over 6 partitions.
//! 2. Reads them with 3 consumers using assign() (2 partitions each), then with 3 consumers in
//!    one group using subscribe() and auto-commit every second, then every 100 ms. Throughput is
//!    measured from the first record to the last; the group's time to its first record (joining
//!    and syncing) is reported apart, and so is the number of commits the coordinator wrote.
//! 3. Starts 10 members of a new group at once (the broker's default
//!    group.initial.rebalance.delay.ms of 3 s) and reports how long until every partition is
//!    assigned and how many rebalance rounds each member saw.
//!
//! `cargo bench --bench group_consume` (BENCH_RECORDS changes the count).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ktui_broker::coordinator::OFFSETS_TOPIC;
use ktui_broker::{BrokerConfig, RunningBroker};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{ClientContext, TopicPartitionList};

const PARTITIONS: i32 = 6;
const CONSUMERS: usize = 3;
const MEMBERS: usize = 10;
const TOPIC: &str = "bench-groups";

#[derive(Default, Clone)]
struct Rounds(Arc<AtomicUsize>);

impl ClientContext for Rounds {}
impl ConsumerContext for Rounds {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if matches!(rebalance, Rebalance::Assign(_)) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

fn main() {
    let records: usize = std::env::var("BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let overrides: Vec<(String, String)> = [
        ("log.dirs", dir.path().display().to_string()),
        ("listeners", "PLAINTEXT://127.0.0.1:0".to_string()),
        ("num.partitions", PARTITIONS.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let config = BrokerConfig::from_properties("", &overrides).expect("config");
    let broker = rt.block_on(RunningBroker::start(config)).expect("broker");
    let bootstrap = broker.local_addr().to_string();
    println!("group_consume: {records} records of 100 bytes over {PARTITIONS} partitions");

    produce(&bootstrap, records);
    let assigned = consume_assigned(&bootstrap, records);
    println!(
        "assign():                       {:>9.0} records/s",
        rate(records, assigned)
    );
    for interval in [1000, 100] {
        let before = offsets_records(&broker);
        let (join, steady) = consume_group(&bootstrap, records, interval);
        let commits = offsets_records(&broker) - before;
        println!(
            "subscribe(), commit every {interval:>4} ms: {:>9.0} records/s ({:+.1}% vs assign), \
             first record after {:.2} s, {commits} offset records written",
            rate(records, steady),
            (rate(records, steady) / rate(records, assigned) - 1.0) * 100.0,
            join.as_secs_f64(),
        );
    }
    let (took, rounds) = rebalance_members(&bootstrap);
    println!(
        "{MEMBERS} members joining at once: all {} partitions assigned after {:.2} s; \
         rebalance rounds per member: {rounds:?}",
        PARTITIONS * 2,
        took.as_secs_f64()
    );
    rt.block_on(broker.shutdown());
}

fn rate(records: usize, took: Duration) -> f64 {
    records as f64 / took.as_secs_f64()
}

fn base(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap)
        .set("broker.address.family", "v4");
    c
}

fn produce(bootstrap: &str, records: usize) {
    let producer: ThreadedProducer<DefaultProducerContext> = base(bootstrap)
        .set("linger.ms", "20")
        .set("batch.size", "1000000")
        .set("queue.buffering.max.messages", "1000000")
        .create()
        .expect("producer");
    let payload = vec![b'x'; 100];
    for i in 0..records {
        let partition = (i % PARTITIONS as usize) as i32;
        let mut record = BaseRecord::<(), [u8]>::to(TOPIC)
            .payload(&payload)
            .partition(partition);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((_, back)) => {
                    record = back;
                    producer.poll(Duration::from_millis(5));
                }
            }
        }
    }
    producer.flush(Duration::from_secs(60)).expect("flush");
}

/// Runs one consumer per thread until together they have read `records`; returns the time
/// from the first record any of them saw to the last.
fn run_consumers(consumers: Vec<BaseConsumer<Rounds>>, records: usize) -> (Instant, Instant) {
    let seen = Arc::new(AtomicUsize::new(0));
    let first = Arc::new(std::sync::Mutex::new(None::<Instant>));
    let threads: Vec<_> = consumers
        .into_iter()
        .map(|c| {
            let seen = seen.clone();
            let first = first.clone();
            std::thread::spawn(move || {
                let deadline = Instant::now() + Duration::from_secs(300);
                while seen.load(Ordering::Relaxed) < records {
                    assert!(Instant::now() < deadline, "consumers stalled");
                    if let Some(Ok(_)) = c.poll(Duration::from_millis(10)) {
                        first
                            .lock()
                            .expect("first")
                            .get_or_insert_with(Instant::now);
                        seen.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Instant::now()
            })
        })
        .collect();
    let last = threads
        .into_iter()
        .map(|t| t.join().expect("consumer thread"))
        .max()
        .expect("consumers");
    let first = first.lock().expect("first").expect("a record was read");
    (first, last)
}

fn consumer(bootstrap: &str, group: &str, extra: &[(&str, &str)]) -> BaseConsumer<Rounds> {
    let mut c = base(bootstrap);
    c.set("group.id", group)
        .set("auto.offset.reset", "earliest");
    for (k, v) in extra {
        c.set(*k, *v);
    }
    c.create_with_context(Rounds::default()).expect("consumer")
}

fn consume_assigned(bootstrap: &str, records: usize) -> Duration {
    let consumers: Vec<BaseConsumer<Rounds>> = (0..CONSUMERS)
        .map(|i| {
            let c = consumer(bootstrap, "unused", &[("enable.auto.commit", "false")]);
            let mut tpl = TopicPartitionList::new();
            for p in (0..PARTITIONS).filter(|p| *p as usize % CONSUMERS == i) {
                tpl.add_partition_offset(TOPIC, p, rdkafka::Offset::Beginning)
                    .expect("offset");
            }
            c.assign(&tpl).expect("assign");
            c
        })
        .collect();
    let (first, last) = run_consumers(consumers, records);
    last - first
}

/// Returns (time to the first record, first-to-last record time).
fn consume_group(bootstrap: &str, records: usize, commit_ms: u32) -> (Duration, Duration) {
    let group = format!("bench-commit-{commit_ms}");
    let interval = commit_ms.to_string();
    let start = Instant::now();
    let consumers: Vec<BaseConsumer<Rounds>> = (0..CONSUMERS)
        .map(|_| {
            let c = consumer(
                bootstrap,
                &group,
                &[
                    ("enable.auto.commit", "true"),
                    ("auto.commit.interval.ms", &interval),
                ],
            );
            c.subscribe(&[TOPIC]).expect("subscribe");
            c
        })
        .collect();
    let (first, last) = run_consumers(consumers, records);
    (first - start, last - first)
}

/// Records in `__consumer_offsets` (its end offsets summed).
fn offsets_records(broker: &RunningBroker) -> i64 {
    let b = broker.broker();
    (0..b.groups.partitions())
        .filter_map(|p| b.replicas.get(OFFSETS_TOPIC, p))
        .map(|shared| ktui_broker::replica::lock(&shared).log().log_end_offset())
        .sum()
}

fn rebalance_members(bootstrap: &str) -> (Duration, Vec<usize>) {
    let topic = "bench-rebalance";
    let admin: rdkafka::admin::AdminClient<_> = base(bootstrap).create().expect("admin");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let new = rdkafka::admin::NewTopic::new(
        topic,
        PARTITIONS * 2,
        rdkafka::admin::TopicReplication::Fixed(1),
    );
    for r in rt
        .block_on(admin.create_topics([&new], &rdkafka::admin::AdminOptions::new()))
        .expect("create")
    {
        r.expect("created");
    }
    let start = Instant::now();
    let members: Vec<BaseConsumer<Rounds>> = (0..MEMBERS)
        .map(|_| {
            let c = consumer(bootstrap, "bench-rebalance-group", &[]);
            c.subscribe(&[topic]).expect("subscribe");
            c
        })
        .collect();
    let deadline = start + Duration::from_secs(120);
    loop {
        for m in &members {
            m.poll(Duration::from_millis(5));
        }
        let total: usize = members
            .iter()
            .map(|m| m.assignment().map(|a| a.count()).unwrap_or(0))
            .sum();
        if total == (PARTITIONS * 2) as usize
            && members
                .iter()
                .all(|m| m.context().0.load(Ordering::SeqCst) > 0)
        {
            break;
        }
        assert!(Instant::now() < deadline, "the group never settled");
    }
    let took = start.elapsed();
    // Keep the members polling a moment longer: a repeated rebalance would show up here.
    let settle = Instant::now() + Duration::from_secs(3);
    while Instant::now() < settle {
        for m in &members {
            m.poll(Duration::from_millis(5));
        }
    }
    let rounds = members
        .iter()
        .map(|m| m.context().0.load(Ordering::SeqCst))
        .collect();
    (took, rounds)
}
