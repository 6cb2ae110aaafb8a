//! Broker throughput and latency with librdkafka as producer and consumer.
//!
//! Runs the release `ktui broker` as its own process (so its CPU time can be read from /proc)
//! on a free loopback port with a temporary log directory, then:
//! 1. produces RECORDS records of 100 bytes to one partition, acks=1, librdkafka defaults, once
//!    through librdkafka's batch call (topic `bench`, read back below) and once through the
//!    rdkafka crate's per-message send (topic `bench-crate`);
//! 2. consumes them back with the consumer's default settings, once through librdkafka's batch
//!    call and once through the rdkafka crate's per-message poll;
//! 3. before both, produces 1,000 records/s for a few seconds and reports delivery latency
//!    percentiles.
//!
//! `cargo bench --bench broker_throughput` (set BENCH_RECORDS to change the count, and
//! BENCH_BROKER_LOG to a tracing filter to get the broker's log in $TMPDIR/ktui-bench-broker-0.log).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[path = "support/batch_consume.rs"]
mod batch_consume;
#[path = "support/brokers.rs"]
mod brokers;
#[path = "support/proc_stats.rs"]
mod proc_stats;

use brokers::Brokers;
use proc_stats::cpu_seconds;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};

const RECORD_BYTES: usize = 100;
const LATENCY_RATE_PER_S: u64 = 1_000;
const LATENCY_SECONDS: u64 = 5;

fn main() {
    let records: usize = std::env::var("BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000_000);
    let brokers = Brokers::start(1);
    let bootstrap = brokers.bootstrap();
    let pid = brokers.pids()[0];
    println!("broker_throughput: {records} records of {RECORD_BYTES} bytes, 1 partition, acks=1");

    // Latency first, on a fresh broker, so that the kernel's writeback of the throughput
    // phases' gigabyte does not land in the middle of it.
    latency(&bootstrap);
    let cpu0 = cpu_seconds(pid);
    let produced = produce_batched(&bootstrap, records);
    let cpu1 = cpu_seconds(pid);
    report(
        "produce (librdkafka batch API)",
        records,
        produced,
        cpu1 - cpu0,
    );
    let produced = produce(&bootstrap, "bench-crate", records);
    let cpu1b = cpu_seconds(pid);
    report(
        "produce (rdkafka crate, send per message)",
        records,
        produced,
        cpu1b - cpu1,
    );
    let cpu1 = cpu1b;
    let consumed = consume_batched(&bootstrap, records, &[]);
    let cpu2a = cpu_seconds(pid);
    report(
        "consume (librdkafka batch API)",
        records,
        consumed,
        cpu2a - cpu1,
    );
    // The client never idles on its own queue thresholds, so the broker's answers set the pace.
    let consumed = consume_batched(&bootstrap, records, NO_QUEUE_BACKOFF);
    let cpu2 = cpu_seconds(pid);
    report(
        "consume (librdkafka batch API, fetch.queue.backoff.ms=0)",
        records,
        consumed,
        cpu2 - cpu2a,
    );
    let consumed = consume(&bootstrap, records);
    let cpu3 = cpu_seconds(pid);
    report(
        "consume (rdkafka crate, poll per message)",
        records,
        consumed,
        cpu3 - cpu2,
    );

    drop(brokers);
}

fn report(what: &str, records: usize, elapsed: Duration, cpu: f64) {
    let secs = elapsed.as_secs_f64();
    let mb = (records * RECORD_BYTES) as f64 / 1e6;
    let gb = mb / 1e3;
    println!(
        "{what}: {:.0} records/s, {:.1} MB/s ({secs:.2} s); broker CPU {cpu:.2} s = {:.2} CPU-s/GB",
        records as f64 / secs,
        mb / secs,
        cpu / gb
    );
}

fn producer_config(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap)
        .set("acks", "1")
        .set("enable.idempotence", "false")
        .set("queue.buffering.max.messages", "2000000")
        .set("queue.buffering.max.kbytes", "2097151");
    c
}

fn produce(bootstrap: &str, topic: &str, records: usize) -> Duration {
    let producer: rdkafka::producer::BaseProducer =
        producer_config(bootstrap).create().expect("producer");
    let payload = vec![b'x'; RECORD_BYTES];
    let start = Instant::now();
    for _ in 0..records {
        loop {
            match producer.send(BaseRecord::<(), _>::to(topic).payload(&payload)) {
                Ok(()) => break,
                Err((_, _)) => {
                    producer.poll(Duration::from_millis(1));
                }
            }
        }
    }
    producer.flush(Duration::from_secs(120)).expect("flush");
    start.elapsed()
}

/// A consumer with librdkafka's default settings, assigned to the whole topic.
/// Consumer settings under which librdkafka fetches again as soon as a response is parsed.
const NO_QUEUE_BACKOFF: &[(&str, &str)] = &[("fetch.queue.backoff.ms", "0")];

fn default_consumer(bootstrap: &str) -> BaseConsumer {
    consumer_with(bootstrap, &[])
}

fn consumer_with(bootstrap: &str, settings: &[(&str, &str)]) -> BaseConsumer {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "bench")
        .set("enable.auto.commit", "false");
    for (k, v) in settings {
        config.set(*k, *v);
    }
    let consumer: BaseConsumer = config.create().expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("bench", 0, Offset::Beginning)
        .expect("tpl");
    consumer.assign(&tpl).expect("assign");
    consumer
}

fn consume(bootstrap: &str, records: usize) -> Duration {
    let consumer = default_consumer(bootstrap);
    let start = Instant::now();
    let mut n = 0;
    while n < records {
        if let Some(m) = consumer.poll(Duration::from_secs(10)) {
            let m = m.expect("message");
            assert_eq!(m.payload().map_or(0, <[u8]>::len), RECORD_BYTES);
            n += 1;
        }
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "consumed only {n}"
        );
    }
    start.elapsed()
}

struct Latencies(Arc<Mutex<Vec<Duration>>>);

impl ClientContext for Latencies {}

impl ProducerContext for Latencies {
    type DeliveryOpaque = Box<Instant>;
    fn delivery(&self, result: &DeliveryResult<'_>, sent: Self::DeliveryOpaque) {
        if result.is_ok() {
            self.0.lock().expect("lock").push(sent.elapsed());
        }
    }
}

fn latency(bootstrap: &str) {
    let samples = Arc::new(Mutex::new(Vec::new()));
    let mut config = producer_config(bootstrap);
    config.set("linger.ms", "0");
    let producer: ThreadedProducer<Latencies> = config
        .create_with_context(Latencies(samples.clone()))
        .expect("producer");
    let payload = vec![b'y'; RECORD_BYTES];
    let start = Instant::now();
    let total = LATENCY_RATE_PER_S * LATENCY_SECONDS;
    for i in 0..total {
        let due = start + Duration::from_micros(i * 1_000_000 / LATENCY_RATE_PER_S);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let record =
            BaseRecord::with_opaque_to("latency", Box::new(Instant::now())).payload(&payload);
        producer
            .send::<(), _>(record)
            .map_err(|(e, _)| e)
            .expect("send");
    }
    producer.flush(Duration::from_secs(30)).expect("flush");
    let mut v = samples.lock().expect("lock").clone();
    v.sort_unstable();
    let pct = |p: f64| v[((v.len() as f64 * p) as usize).min(v.len() - 1)].as_micros();
    println!(
        "latency at {LATENCY_RATE_PER_S} records/s, acks=1: p50 {} µs, p99 {} µs, p99.9 {} µs ({} samples)",
        pct(0.50),
        pct(0.99),
        pct(0.999),
        v.len()
    );
}

/// Consumes `records` through librdkafka's batch call (`support/batch_consume.rs`).
fn consume_batched(bootstrap: &str, records: usize, settings: &[(&str, &str)]) -> Duration {
    let consumer = consumer_with(bootstrap, settings);
    let mut n = 0;
    batch_consume::drain(&consumer, Duration::from_secs(300), |m| {
        if m.is_record() {
            assert_eq!(m.len, RECORD_BYTES);
            n += 1;
        }
        n >= records
    })
}

/// Produces through librdkafka's own batch call, `rd_kafka_produce_batch`, on a plain
/// librdkafka producer (no Rust delivery callbacks), so that the rate measured is librdkafka's
/// and the broker's rather than the rdkafka crate's per-message cost.
#[allow(unsafe_code)]
fn produce_batched(bootstrap: &str, records: usize) -> Duration {
    use rdkafka::bindings as rd;
    let native = producer_config(bootstrap)
        .create_native_config()
        .expect("native config");
    let mut errstr = [0 as std::os::raw::c_char; 512];
    // SAFETY: on success rd_kafka_new takes ownership of the configuration, so it is forgotten
    // here; the client and topic handles are destroyed below, after the final flush.
    let rk = unsafe {
        rd::rd_kafka_new(
            rd::rd_kafka_type_t::RD_KAFKA_PRODUCER,
            native.ptr(),
            errstr.as_mut_ptr(),
            errstr.len(),
        )
    };
    assert!(!rk.is_null(), "rd_kafka_new failed");
    std::mem::forget(native);
    let topic = std::ffi::CString::new("bench").expect("topic name");
    let rkt = unsafe { rd::rd_kafka_topic_new(rk, topic.as_ptr(), std::ptr::null_mut()) };
    assert!(!rkt.is_null(), "rd_kafka_topic_new failed");
    let mut payload = vec![b'x'; RECORD_BYTES];
    let blank = rd::rd_kafka_message_t {
        err: rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR,
        rkt: std::ptr::null_mut(),
        partition: 0,
        payload: payload.as_mut_ptr().cast(),
        len: RECORD_BYTES,
        key: std::ptr::null_mut(),
        key_len: 0,
        offset: 0,
        _private: std::ptr::null_mut(),
    };
    let start = Instant::now();
    let mut sent = 0;
    while sent < records {
        let count = batch_consume::BATCH_MESSAGES.min(records - sent);
        let mut batch = vec![blank; count];
        let accepted = unsafe {
            rd::rd_kafka_produce_batch(
                rkt,
                0,
                rd::RD_KAFKA_MSG_F_COPY,
                batch.as_mut_ptr(),
                count as i32,
            )
        };
        sent += usize::try_from(accepted).unwrap_or(0);
        if (accepted as usize) < count {
            // The local queue is full: let librdkafka serve delivery reports, then go on.
            unsafe { rd::rd_kafka_poll(rk, 1) };
        } else {
            unsafe { rd::rd_kafka_poll(rk, 0) };
        }
    }
    let flushed = unsafe { rd::rd_kafka_flush(rk, 120_000) };
    let elapsed = start.elapsed();
    assert_eq!(
        flushed,
        rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR,
        "flush"
    );
    unsafe {
        rd::rd_kafka_topic_destroy(rkt);
        rd::rd_kafka_destroy(rk);
    }
    elapsed
}
