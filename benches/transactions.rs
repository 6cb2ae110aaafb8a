//! Transactions against the release `ktui broker` (its own process, a free loopback port, a
//! temporary log directory), librdkafka on both ends, in one run:
//! 1. for N = 1 and N = BENCH_TXN_PRODUCERS (8), N producers at once, each on its own thread and
//!    topic (one partition), produce RECORDS records of 100 bytes between them, acks=all,
//!    librdkafka's defaults otherwise: idempotent producers streaming, idempotent producers
//!    waiting for the acknowledgements every BENCH_TXN_SIZE (100) records, and transactional
//!    producers committing every BENCH_TXN_SIZE records; each transactional figure as a share
//!    of the idempotent ones of the same N, and the broker's CPU time per transaction;
//! 2. a topic filled in transactions of BENCH_TXN_SIZE records with every tenth aborted, read
//!    to its end read_uncommitted and read_committed in turn, three times, through librdkafka's
//!    batch call: the median offsets per second of each.
//!
//! No client thread spins: waits sleep inside librdkafka (`support/txn_producer.rs`).
//!
//! `cargo bench --bench transactions` (BENCH_RECORDS, default 500,000; BENCH_TXN_SIZE;
//! BENCH_TXN_PRODUCERS; BENCH_TXN_TRACE=1 prints when each phase starts and the first
//! transactions' timings).

#[path = "support/batch_consume.rs"]
mod batch_consume;
#[path = "support/brokers.rs"]
mod brokers;
#[path = "support/proc_stats.rs"]
mod proc_stats;
#[path = "support/txn_producer.rs"]
mod txn_producer;

use std::sync::Barrier;
use std::time::{Duration, Instant};

use brokers::Brokers;
use proc_stats::{cpu_seconds, peak_rss};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::Producer;
use rdkafka::{Offset, TopicPartitionList};
use txn_producer::{
    assert_delivered, commit, create, flush, send_all, TxnBenchProducer, RECORD_BYTES, WAIT,
};

/// Reads of the mixed topic at each isolation level.
const CONSUME_ROUNDS: usize = 3;

/// How a phase's producers send their records.
#[derive(Clone, Copy)]
enum Mode {
    /// Idempotent, everything queued at once, then flushed.
    Streaming,
    /// Idempotent, waiting for the acknowledgements every so many records.
    Waiting(usize),
    /// Transactional, committing every so many records.
    Transactional(usize),
}

/// One phase's result: its wall time, and the CPU seconds the broker and this process (the
/// librdkafka clients) used during it.
struct Phase {
    time: Duration,
    cpu: f64,
    clients_cpu: f64,
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let records = env("BENCH_RECORDS", 500_000);
    let txn_size = env("BENCH_TXN_SIZE", 100).max(1);
    let producers = env("BENCH_TXN_PRODUCERS", 8).max(1);
    let brokers = Brokers::start(1);
    let bootstrap = brokers.bootstrap();
    let pid = brokers.pids()[0];
    let me = std::process::id();
    println!(
        "transactions: {records} records of {RECORD_BYTES} bytes, acks=all, one partition per producer, transactions of {txn_size}"
    );
    let mut counts = vec![1];
    if producers > 1 {
        counts.push(producers);
    }
    for n in counts {
        let phase = |mode: Mode, label: &str| {
            if std::env::var("BENCH_TXN_TRACE").is_ok() {
                eprintln!("{label}, {n} producer(s): starting");
            }
            let (broker_before, clients_before) = (cpu_seconds(pid), cpu_seconds(me));
            let time = run(&bootstrap, &format!("{label}-{n}"), mode, n, records);
            Phase {
                time,
                cpu: cpu_seconds(pid) - broker_before,
                clients_cpu: cpu_seconds(me) - clients_before,
            }
        };
        let streaming = phase(Mode::Streaming, "idempotent");
        let waiting = phase(Mode::Waiting(txn_size), "idempotent-waiting");
        let transactional = phase(Mode::Transactional(txn_size), "transactional");
        report(n, records, txn_size, [&streaming, &waiting, &transactional]);
    }

    produce_mixed(&bootstrap, records, txn_size);
    // Three rounds, the two isolation levels alternating, so that neither is always the one
    // read first after the writes; the median of each.
    let mut uncommitted = Vec::new();
    let mut committed = Vec::new();
    let (mut n_all, mut n_committed) = (0, 0);
    for _ in 0..CONSUME_ROUNDS {
        let (d, n) = read_to_end(&bootstrap, "mixed", "read_uncommitted");
        uncommitted.push(d);
        n_all = n;
        let (d, n) = read_to_end(&bootstrap, "mixed", "read_committed");
        committed.push(d);
        n_committed = n;
    }
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (uncommitted, committed) = (median(uncommitted), median(committed));
    let per_s = |d: Duration| records as f64 / d.as_secs_f64();
    println!(
        "  consume read_uncommitted {:>10.0} offsets/s (median of {CONSUME_ROUNDS}: {:.2} s, {n_all} records)",
        per_s(uncommitted),
        uncommitted.as_secs_f64()
    );
    println!(
        "  consume read_committed   {:>10.0} offsets/s (median of {CONSUME_ROUNDS}: {:.2} s, {n_committed} records) = {:.0}% of read_uncommitted",
        per_s(committed),
        committed.as_secs_f64(),
        100.0 * uncommitted.as_secs_f64() / committed.as_secs_f64()
    );
    println!("  broker peak RSS {}", peak_rss(pid));
}

/// Prints the three phases of N producers: rates, shares and the broker's CPU.
fn report(n: usize, records: usize, txn_size: usize, [streaming, waiting, txn]: [&Phase; 3]) {
    let rate = |p: &Phase| records as f64 / p.time.as_secs_f64();
    let share = |base: &Phase| 100.0 * base.time.as_secs_f64() / txn.time.as_secs_f64();
    let row = |what: &str, p: &Phase| {
        println!(
            "  {n} producer(s), {what:<32} {:>9.0} rec/s ({:.2} s, CPU: broker {:.2} s, clients {:.2} s)",
            rate(p),
            p.time.as_secs_f64(),
            p.cpu,
            p.clients_cpu
        );
    };
    row("idempotent, streaming", streaming);
    row(&format!("idempotent, waiting every {txn_size}"), waiting);
    row(&format!("transactional, committing every {txn_size}"), txn);
    let transactions = records.div_ceil(txn_size) as f64;
    let per_txn = |cpu: f64| 1e6 * cpu / transactions;
    println!(
        "  {n} producer(s): transactional = {:.0}% of idempotent streaming, {:.0}% of waiting",
        share(streaming),
        share(waiting),
    );
    println!(
        "  {n} producer(s): CPU a transaction: broker {:.0} µs ({:.0} µs more than streaming the same records idempotently), clients {:.0} µs",
        per_txn(txn.cpu),
        per_txn(txn.cpu - streaming.cpu),
        per_txn(txn.clients_cpu)
    );
}

/// `n` producers at once, `records` between them, each to its own topic: the time from when
/// all are ready (each has produced a first record) until the last has every record acknowledged (or committed).
fn run(bootstrap: &str, label: &str, mode: Mode, n: usize, records: usize) -> Duration {
    let each = records / n;
    let ready = Barrier::new(n + 1);
    std::thread::scope(|scope| {
        let threads: Vec<_> = (0..n)
            .map(|i| {
                let ready = &ready;
                scope.spawn(move || {
                    let topic = format!("{label}-{i}");
                    let id = format!("bench-{topic}");
                    let transactional = matches!(mode, Mode::Transactional(_));
                    let producer = create(bootstrap, transactional.then_some(id.as_str()));
                    // One record first, outside the clock: the topic is created, the
                    // connection, producer id and partition leader are known.
                    produce(&producer, &topic, mode, 1);
                    let _ = ready.wait();
                    produce(&producer, &topic, mode, each);
                    assert_delivered(&producer);
                    // Dropped by the caller, after the clock stops.
                    producer
                })
            })
            .collect();
        let _ = ready.wait();
        let start = Instant::now();
        let done: Vec<TxnBenchProducer> = threads
            .into_iter()
            .map(|t| t.join().expect("producer thread"))
            .collect();
        let time = start.elapsed();
        drop(done);
        time
    })
}

/// Sends `records` to `topic` as `mode` says and waits until all are acknowledged.
fn produce(producer: &TxnBenchProducer, topic: &str, mode: Mode, records: usize) {
    match mode {
        Mode::Streaming => {
            send_all(producer, topic, records);
            flush(producer);
        }
        Mode::Waiting(every) => {
            for chunk in chunks(records, every) {
                send_all(producer, topic, chunk);
                flush(producer);
            }
        }
        Mode::Transactional(size) => transactions(producer, topic, records, size, 0),
    }
}

/// The sizes of `records` cut into pieces of `size`.
fn chunks(records: usize, size: usize) -> impl Iterator<Item = usize> {
    (0..records)
        .step_by(size)
        .map(move |sent| size.min(records - sent))
}

/// Produces `records` in transactions of `size`, aborting every `abort_every`th (0: none);
/// an aborted transaction's records are delivered first, so that they are in the log.
fn transactions(
    producer: &TxnBenchProducer,
    topic: &str,
    records: usize,
    size: usize,
    abort_every: usize,
) {
    let trace = std::env::var("BENCH_TXN_TRACE").is_ok();
    for (i, n) in chunks(records, size).enumerate() {
        let t0 = Instant::now();
        producer.begin_transaction().expect("begin");
        send_all(producer, topic, n);
        let t1 = Instant::now();
        if abort_every > 0 && (i + 1) % abort_every == 0 {
            flush(producer);
            producer.abort_transaction(WAIT).expect("abort");
        } else {
            commit(producer);
        }
        if trace && i < 5 {
            eprintln!("txn {i}: begin+send {:?} end {:?}", t1 - t0, t1.elapsed());
        }
    }
}

/// Fills topic `mixed` in transactions of `size`, every tenth aborted.
fn produce_mixed(bootstrap: &str, records: usize, size: usize) {
    let producer = create(bootstrap, Some("bench-mixed"));
    transactions(&producer, "mixed", records, size, 10);
    assert_delivered(&producer);
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
    let mut n = 0;
    let took = batch_consume::drain(&consumer, Duration::from_secs(600), |m| {
        if m.is_record() {
            n += 1;
        }
        m.is_partition_eof()
    });
    (took, n)
}
