//! A long-poll fetch waits on the partitions it reads (Kafka's fetch purgatory, keyed by
//! partition): appends elsewhere leave it waiting, an append to its partition answers it.

use std::time::{Duration, Instant};

use kafka_protocol::messages::{ApiKey, FetchResponse};
use rdkafka::producer::FutureRecord;

use crate::common::{create_topic, producer, TestBroker};
use crate::raw::Raw;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_fetch_is_woken_by_its_own_partition_only() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, "watched", 1, &[]).await;
    create_topic(&bootstrap, "elsewhere", 1, &[]).await;
    let producer = producer(&bootstrap, &[("acks", "1"), ("linger.ms", "0")]);
    let send = |topic: &'static str| {
        let producer = producer.clone();
        async move {
            producer
                .send(
                    FutureRecord::<(), _>::to(topic).payload("x"),
                    Duration::from_secs(10),
                )
                .await
                .expect("sent");
        }
    };
    let mut raw = Raw::connect(&bootstrap).await;
    let request = crate::raw::fetch_partition_zero("watched", -1, 20_000);
    raw.send(ApiKey::Fetch, 12, &request).await;
    for _ in 0..5 {
        send("elsewhere").await;
    }
    let mut byte = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_millis(500), raw.stream.peek(&mut byte));
    assert!(
        early.await.is_err(),
        "appends to another topic leave the fetch waiting"
    );
    let sent = Instant::now();
    send("watched").await;
    let response: FetchResponse =
        tokio::time::timeout(Duration::from_secs(5), raw.receive(ApiKey::Fetch, 12))
            .await
            .expect("the append to its partition answered the fetch");
    let records = response.responses[0].partitions[0].records.as_ref();
    assert!(records.is_some_and(|r| !r.is_empty()));
    assert!(sent.elapsed() < Duration::from_secs(5));
    broker.stop().await;
}
