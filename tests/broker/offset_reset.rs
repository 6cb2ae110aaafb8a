//! A consumer that fetches past the end gets OFFSET_OUT_OF_RANGE with an empty record set, as
//! Kafka answers, and librdkafka resets by `auto.offset.reset` (librdkafka's 0034). A null
//! record set made librdkafka 2.12 fail to parse the response and refetch at once, forever.

use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};

use crate::common::{create_topic, producer, TestBroker, DEADLINE};

const TIMEOUT: Duration = Duration::from_secs(10);

/// A one-partition topic holding `count` records of `payload`, and a consumer with
/// `auto.offset.reset=reset` assigned at offset 1,000, far past its end.
async fn past_the_end(
    bootstrap: &str,
    topic: &str,
    count: usize,
    payload: &str,
    reset: &str,
) -> (FutureProducer, BaseConsumer) {
    create_topic(bootstrap, topic, 1, &[]).await;
    let p = producer(bootstrap, &[("linger.ms", "0")]);
    for _ in 0..count {
        let record = FutureRecord::<(), _>::to(topic).payload(payload);
        p.send(record, TIMEOUT).await.expect("delivered");
    }
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("broker.address.family", "v4")
        .set("group.id", "offset-reset")
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", reset)
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Offset(1_000))
        .expect("tpl");
    c.assign(&tpl).expect("assign");
    (p, c)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetching_past_the_end_resets_to_the_latest_offset() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    let (p, c) = past_the_end(&bootstrap, "reset", 10, "before", "latest").await;
    // Records written after the reset are the ones a `latest` consumer sees; keep writing
    // until one arrives, since the reset's timing is the client's.
    let deadline = Instant::now() + DEADLINE;
    let mut next_write = Instant::now();
    loop {
        assert!(
            Instant::now() < deadline,
            "the consumer never reset to latest"
        );
        if Instant::now() >= next_write {
            let record = FutureRecord::<(), _>::to("reset").payload("after");
            p.send(record, TIMEOUT).await.expect("delivered");
            next_write = Instant::now() + Duration::from_millis(500);
        }
        match c.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                assert_eq!(m.payload(), Some(&b"after"[..]), "offset {}", m.offset());
                assert!(m.offset() >= 10);
                break;
            }
            // librdkafka reports the reset itself as an error event on some versions.
            Some(Err(e)) => assert!(
                e.to_string().contains("out of range") || e.to_string().contains("reset"),
                "{e}"
            ),
            None => {}
        }
    }
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetching_past_the_end_resets_to_the_earliest_offset() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    let (_p, c) = past_the_end(&bootstrap, "reset-early", 3, "first", "earliest").await;
    let deadline = Instant::now() + DEADLINE;
    loop {
        assert!(
            Instant::now() < deadline,
            "the consumer never reset to earliest"
        );
        if let Some(Ok(m)) = c.poll(Duration::from_millis(100)) {
            assert_eq!(m.offset(), 0);
            break;
        }
    }
    broker.stop().await;
}
