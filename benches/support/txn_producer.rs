//! The librdkafka producer of the transactions bench, and how it waits. Each producer is the
//! rdkafka crate's `ThreadedProducer` (its own thread serves the delivery-report events) with a
//! context that counts failed deliveries. Waiting for acknowledgements goes through librdkafka's
//! own calls rather than the crate's: in the event mode the crate uses, `rd_kafka_flush` and the
//! flush inside `rd_kafka_commit_transaction` sleep on librdkafka's condition variable until its
//! count of messages in flight reaches zero, so nothing spins. The crate's `flush` (which its
//! `commit_transaction` runs first) instead polls the event queue in 100 ms slices that always
//! last their full 100 ms, which added up to 100 ms to a commit.

use std::ffi::CStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rdkafka::bindings as rd;
use rdkafka::config::ClientConfig;
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::ClientContext;

/// Bytes of each record's value.
pub(crate) const RECORD_BYTES: usize = 100;
/// The longest any wait of the bench may take.
pub(crate) const WAIT: Duration = Duration::from_secs(120);

/// Counts deliveries that failed, so that a run with lost records cannot pass for a fast one.
#[derive(Default)]
pub(crate) struct Acks {
    failed: AtomicUsize,
}

impl ClientContext for Acks {}

impl ProducerContext for Acks {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if result.is_err() {
            let _ = self.failed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A producer of the bench.
pub(crate) type TxnBenchProducer = ThreadedProducer<Acks>;

/// An idempotent producer (acks=all, librdkafka's defaults otherwise), transactional when
/// `transactional_id` is given (its transactions initialised).
pub(crate) fn create(bootstrap: &str, transactional_id: Option<&str>) -> TxnBenchProducer {
    let mut config = ClientConfig::new();
    let _ = config
        .set("bootstrap.servers", bootstrap)
        .set("enable.idempotence", "true")
        .set("queue.buffering.max.messages", "2000000")
        .set("queue.buffering.max.kbytes", "2097151");
    if let Some(id) = transactional_id {
        let _ = config.set("transactional.id", id);
    }
    let producer: TxnBenchProducer = config
        .create_with_context(Acks::default())
        .expect("producer");
    if transactional_id.is_some() {
        producer.init_transactions(WAIT).expect("init_transactions");
    }
    producer
}

/// Queues `count` records of RECORD_BYTES to partition 0 of `topic`.
pub(crate) fn send_all(producer: &TxnBenchProducer, topic: &str, count: usize) {
    let payload = [b'x'; RECORD_BYTES];
    for _ in 0..count {
        let mut record = BaseRecord::<(), _>::to(topic)
            .payload(&payload[..])
            .partition(0);
        while let Err((_, back)) = producer.send(record) {
            // The local queue is full (it holds 2,000,000): its thread is delivering.
            record = back;
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

fn wait_ms() -> i32 {
    i32::try_from(WAIT.as_millis()).unwrap_or(i32::MAX)
}

/// Waits, asleep, until every record queued is acknowledged (or has failed).
#[allow(unsafe_code)]
pub(crate) fn flush(producer: &TxnBenchProducer) {
    // SAFETY: the handle belongs to `producer`, alive for the whole call.
    let err = unsafe { rd::rd_kafka_flush(producer.client().native_ptr(), wait_ms()) };
    assert_eq!(
        err,
        rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR,
        "flush"
    );
}

/// Commits the open transaction: librdkafka flushes it (asleep, as [`flush`]), then sends
/// EndTxn and waits for the answer.
#[allow(unsafe_code)]
pub(crate) fn commit(producer: &TxnBenchProducer) {
    // SAFETY: the handle belongs to `producer`; a returned error is read, then destroyed once.
    let error =
        unsafe { rd::rd_kafka_commit_transaction(producer.client().native_ptr(), wait_ms()) };
    if !error.is_null() {
        let message = unsafe { CStr::from_ptr(rd::rd_kafka_error_string(error)) }
            .to_string_lossy()
            .into_owned();
        unsafe { rd::rd_kafka_error_destroy(error) };
        panic!("commit_transaction: {message}");
    }
}

/// Asserts that no delivery failed.
pub(crate) fn assert_delivered(producer: &TxnBenchProducer) {
    let failed = producer.context().failed.load(Ordering::Relaxed);
    assert_eq!(failed, 0, "{failed} records were not delivered");
}
