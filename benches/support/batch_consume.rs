//! Reading through librdkafka's own batch call, `rd_kafka_consume_batch_queue`, so that a
//! consume rate is librdkafka's and the broker's rather than the per-message cost of the
//! rdkafka crate's `poll` (which holds any reader near 230,000 messages/s).
//!
//! Shared by the benches through `#[path]`.

use std::time::{Duration, Instant};

use rdkafka::bindings as rd;
use rdkafka::consumer::{BaseConsumer, Consumer};

/// Messages taken from librdkafka's queue per call.
pub(crate) const BATCH_MESSAGES: usize = 10_000;

/// One message as [`drain`] shows it: librdkafka's error code (no error for a record) and the
/// payload's length.
pub(crate) struct Seen {
    pub(crate) err: rd::rd_kafka_resp_err_t,
    #[allow(dead_code)] // not every bench checks it
    pub(crate) len: usize,
}

impl Seen {
    pub(crate) fn is_record(&self) -> bool {
        self.err == rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR
    }

    #[allow(dead_code)] // not every bench reads to the end
    pub(crate) fn is_partition_eof(&self) -> bool {
        self.err == rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR__PARTITION_EOF
    }
}

/// Reads `consumer`'s messages until `done` says a message was the last wanted; the time it
/// took. Fails after `limit`.
#[allow(unsafe_code)]
pub(crate) fn drain(
    consumer: &BaseConsumer,
    limit: Duration,
    mut done: impl FnMut(&Seen) -> bool,
) -> Duration {
    // SAFETY: the queue handle is owned here and destroyed below, before the consumer drops;
    // every message pointer librdkafka hands out is read, then destroyed exactly once.
    let queue = unsafe { rd::rd_kafka_queue_get_consumer(consumer.client().native_ptr()) };
    assert!(!queue.is_null(), "consumer queue");
    let mut batch: Vec<*mut rd::rd_kafka_message_t> = vec![std::ptr::null_mut(); BATCH_MESSAGES];
    let start = Instant::now();
    let mut finished = false;
    while !finished {
        let got = unsafe {
            rd::rd_kafka_consume_batch_queue(queue, 1000, batch.as_mut_ptr(), BATCH_MESSAGES)
        };
        assert!(got >= 0, "consume_batch_queue failed");
        for &m in &batch[..got as usize] {
            let seen = unsafe {
                Seen {
                    err: (*m).err,
                    len: (*m).len,
                }
            };
            finished |= done(&seen);
            unsafe { rd::rd_kafka_message_destroy(m) };
        }
        assert!(start.elapsed() < limit, "not done within {limit:?}");
    }
    let elapsed = start.elapsed();
    unsafe { rd::rd_kafka_queue_destroy(queue) };
    elapsed
}
