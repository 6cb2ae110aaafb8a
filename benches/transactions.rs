//! Transactions against the release `ktui broker` (its own process, a free loopback port, a
//! temporary log directory), librdkafka on both ends, in one run:
//! 1. produce RECORDS records of 100 bytes with an idempotent producer (acks=all, librdkafka's
//!    defaults), streaming and waiting for acknowledgements every BENCH_TXN_SIZE records (100);
//!    then the same count with a transactional producer committing every BENCH_TXN_SIZE
//!    records, and with BENCH_TXN_PRODUCERS (8) transactional producers at once: transactional
//!    throughput as a share of idempotent;
//! 2. a topic filled in transactions of BENCH_TXN_SIZE records with every tenth aborted, read
//!    to its end read_uncommitted and then read_committed: the offsets per second of each.
//!
//! `cargo bench --bench transactions` (BENCH_RECORDS, default 500,000; BENCH_TXN_SIZE;
//! BENCH_TXN_PRODUCERS; BENCH_TXN_TRACE=1 prints the first transactions' phases).

#[path = "support/brokers.rs"]
mod brokers;
#[path = "support/proc_stats.rs"]
mod proc_stats;

use std::time::{Duration, Instant};

use brokers::Brokers;
use proc_stats::{cpu_seconds, peak_rss};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{Offset, TopicPartitionList};

const RECORD_BYTES: usize = 100;

/// librdkafka's producer with its own polling thread (a transaction's commit waits on
/// delivery reports, which a producer nobody polls would deliver late).
type Threaded = ThreadedProducer<DefaultProducerContext>;
const WAIT: Duration = Duration::from_secs(120);

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let records = env("BENCH_RECORDS", 500_000);
    let txn_size = env("BENCH_TXN_SIZE", 100).max(1);
    let brokers = Brokers::start(1);
    let bootstrap = brokers.bootstrap();
    println!(
        "transactions: {records} records of {RECORD_BYTES} bytes, 1 partition, transactions of {txn_size}"
    );

    let producers = env("BENCH_TXN_PRODUCERS", 8).max(1);
    let pid = brokers.pids()[0];
    // The broker's CPU seconds spent in a phase.
    let cpu = |f: &mut dyn FnMut() -> Duration| {
        let before = cpu_seconds(pid);
        let d = f();
        (d, cpu_seconds(pid) - before)
    };
    let (idempotent, idempotent_cpu) =
        cpu(&mut || produce_idempotent(&bootstrap, "idempotent", records, None));
    let (flushed, _) =
        cpu(&mut || produce_idempotent(&bootstrap, "idempotent-flushed", records, Some(txn_size)));
    let (transactional, transactional_cpu) =
        cpu(&mut || produce_transactional(&bootstrap, "transactional", records, txn_size, 0));
    let (parallel, parallel_cpu) =
        cpu(&mut || parallel_transactional(&bootstrap, records, txn_size, producers));
    let rate = |d: Duration| records as f64 / d.as_secs_f64();
    let share = |base: Duration, d: Duration| 100.0 * base.as_secs_f64() / d.as_secs_f64();
    println!(
        "  produce idempotent, streaming                 {:>9.0} rec/s ({:.2} s)",
        rate(idempotent),
        idempotent.as_secs_f64()
    );
    println!(
        "  produce idempotent, waiting every {txn_size:<4}        {:>9.0} rec/s ({:.2} s)",
        rate(flushed),
        flushed.as_secs_f64()
    );
    println!(
        "  produce transactional, 1 producer             {:>9.0} rec/s ({:.2} s) = {:.0}% of streaming, {:.0}% of waiting",
        rate(transactional),
        transactional.as_secs_f64(),
        share(idempotent, transactional),
        share(flushed, transactional)
    );
    println!(
        "  produce transactional, {producers} producers            {:>9.0} rec/s ({:.2} s) = {:.0}% of streaming",
        rate(parallel),
        parallel.as_secs_f64(),
        share(idempotent, parallel)
    );
    println!(
        "  broker CPU: idempotent {idempotent_cpu:.2} s, transactional {transactional_cpu:.2} s, {producers} producers {parallel_cpu:.2} s"
    );

    produce_transactional(&bootstrap, "mixed", records, txn_size, 10);
    let (uncommitted, n_all) = read_to_end(&bootstrap, "mixed", "read_uncommitted");
    let (committed, n_committed) = read_to_end(&bootstrap, "mixed", "read_committed");
    let per_s = |d: Duration| records as f64 / d.as_secs_f64();
    println!(
        "  consume read_uncommitted {:>10.0} offsets/s ({:.2} s, {n_all} records)",
        per_s(uncommitted),
        uncommitted.as_secs_f64()
    );
    println!(
        "  consume read_committed   {:>10.0} offsets/s ({:.2} s, {n_committed} records) = {:.0}% of read_uncommitted",
        per_s(committed),
        committed.as_secs_f64(),
        100.0 * uncommitted.as_secs_f64() / committed.as_secs_f64()
    );
    println!("  broker peak RSS {}", peak_rss(pid));
}

fn base(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap)
        .set("queue.buffering.max.messages", "2000000")
        .set("queue.buffering.max.kbytes", "2097151");
    c
}

fn send_all(producer: &Threaded, topic: &str, payload: &[u8], count: usize) {
    for _ in 0..count {
        while producer
            .send(BaseRecord::<(), _>::to(topic).payload(payload))
            .is_err()
        {
            std::thread::sleep(Duration::from_micros(100));
        }
    }
}

/// Idempotent produce: streaming, or waiting for every `every` records to be acknowledged
/// (the shape of a transaction's commit, without the transaction).
fn produce_idempotent(
    bootstrap: &str,
    topic: &str,
    records: usize,
    every: Option<usize>,
) -> Duration {
    let mut config = base(bootstrap);
    config.set("enable.idempotence", "true");
    if every.is_some() {
        config.set("linger.ms", "0");
    }
    let producer: Threaded = config.create().expect("producer");
    let payload = vec![b'x'; RECORD_BYTES];
    let start = Instant::now();
    match every {
        None => send_all(&producer, topic, &payload, records),
        Some(n) => {
            let mut sent = 0;
            while sent < records {
                let k = n.min(records - sent);
                send_all(&producer, topic, &payload, k);
                delivered(&producer);
                sent += k;
            }
        }
    }
    producer.flush(WAIT).expect("flush");
    start.elapsed()
}

/// `producers` transactional producers (ids of their own) on threads, `records` in all.
fn parallel_transactional(
    bootstrap: &str,
    records: usize,
    size: usize,
    producers: usize,
) -> Duration {
    let each = records / producers;
    let start = Instant::now();
    std::thread::scope(|scope| {
        for i in 0..producers {
            let topic = format!("transactional-{i}");
            scope.spawn(move || produce_transactional(bootstrap, &topic, each, size, 0));
        }
    });
    start.elapsed()
}

/// Produces `records` in transactions of `size`, aborting every `abort_every`th (0: none).
fn produce_transactional(
    bootstrap: &str,
    topic: &str,
    records: usize,
    size: usize,
    abort_every: usize,
) -> Duration {
    // A commit sends what is queued at once (librdkafka's and Java's commit flush without
    // waiting out linger.ms); `commit` below waits for the deliveries itself, so linger.ms is
    // 0 here to do the same.
    let producer: Threaded = base(bootstrap)
        .set("linger.ms", "0")
        .set("transactional.id", format!("bench-{topic}"))
        .create()
        .expect("producer");
    producer.init_transactions(WAIT).expect("init");
    let payload = vec![b'x'; RECORD_BYTES];
    let start = Instant::now();
    let mut sent = 0;
    let mut txn = 0;
    while sent < records {
        let n = size.min(records - sent);
        let t0 = Instant::now();
        producer.begin_transaction().expect("begin");
        let t1 = Instant::now();
        send_all(&producer, topic, &payload, n);
        let t2 = Instant::now();
        txn += 1;
        if abort_every > 0 && txn % abort_every == 0 {
            producer.flush(WAIT).expect("flush");
            producer.abort_transaction(WAIT).expect("abort");
        } else {
            commit(&producer);
        }
        if std::env::var("BENCH_TXN_TRACE").is_ok() && txn < 6 {
            eprintln!(
                "txn {txn}: begin {:?} send {:?} end {:?}",
                t1 - t0,
                t2 - t1,
                t2.elapsed()
            );
        }
        sent += n;
    }
    start.elapsed()
}

/// Commits the open transaction once every record is delivered. The rdkafka crate's
/// `commit_transaction` first runs its `flush`, which waits for delivery reports in 100 ms
/// polls of the event queue; with a threaded producer its thread has taken the reports
/// already, so each commit would wait 100 ms in the client (confluent-kafka commits the same
/// transaction in 1.4 ms against this broker). Waiting here for the in-flight count to reach
/// zero makes that flush return at once.
fn commit(producer: &Threaded) {
    delivered(producer);
    producer.commit_transaction(WAIT).expect("commit");
}

/// Waits until every record sent is acknowledged.
fn delivered(producer: &Threaded) {
    let deadline = Instant::now() + WAIT;
    while producer.in_flight_count() > 0 {
        assert!(Instant::now() < deadline, "records not delivered");
        std::thread::sleep(Duration::from_micros(50));
    }
}

/// Reads partition 0 of `topic` to its end at `isolation`: the time and the records seen.
fn read_to_end(bootstrap: &str, topic: &str, isolation: &str) -> (Duration, usize) {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("bench-{isolation}"))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .set("isolation.level", isolation)
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .expect("tpl");
    consumer.assign(&tpl).expect("assign");
    let start = Instant::now();
    let mut n = 0;
    loop {
        match consumer.poll(Duration::from_secs(10)) {
            Some(Ok(_)) => n += 1,
            Some(Err(KafkaError::PartitionEOF(_))) => return (start.elapsed(), n),
            Some(Err(e)) => panic!("consume: {e}"),
            None => {}
        }
        assert!(start.elapsed() < Duration::from_secs(600), "read only {n}");
    }
}
