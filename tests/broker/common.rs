//! Shared test steps: an in-process broker on a free loopback port with its own temporary log
//! directory, and rdkafka (real librdkafka) clients pointed at it.

use std::time::{Duration, Instant};

use ktui_broker::{BrokerConfig, RunningBroker};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{BorrowedMessage, Headers, Message};
use rdkafka::producer::FutureProducer;
use rdkafka::{Offset, TopicPartitionList};
use tempfile::TempDir;

/// How long any single wait in a test may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// A broker serving from a temporary directory.
pub struct TestBroker {
    pub running: Option<RunningBroker>,
    pub dir: TempDir,
}

impl TestBroker {
    /// A fresh broker.
    pub async fn start() -> Self {
        Self::start_configured(&[]).await
    }

    /// A fresh broker with extra config overrides.
    pub async fn start_configured(extra: &[(&str, &str)]) -> Self {
        Self::start_with(tempfile::tempdir().expect("temp dir"), extra).await
    }

    /// A broker over an existing directory, with extra config overrides.
    pub async fn start_with(dir: TempDir, extra: &[(&str, &str)]) -> Self {
        let mut overrides = vec![
            ("log.dirs".to_string(), dir.path().display().to_string()),
            (
                "listeners".to_string(),
                "PLAINTEXT://127.0.0.1:0".to_string(),
            ),
        ];
        overrides.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let config = BrokerConfig::from_properties("", &overrides).expect("config");
        let running = RunningBroker::start(config).await.expect("broker starts");
        TestBroker {
            running: Some(running),
            dir,
        }
    }

    /// `127.0.0.1:port`.
    pub fn bootstrap(&self) -> String {
        self.running
            .as_ref()
            .expect("running")
            .local_addr()
            .to_string()
    }

    /// Stops the broker cleanly and returns its directory.
    pub async fn stop(mut self) -> TempDir {
        if let Some(running) = self.running.take() {
            running.shutdown().await;
        }
        self.dir
    }
}

fn base_config(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap)
        .set("broker.address.family", "v4");
    c
}

/// An rdkafka admin client.
pub fn admin(bootstrap: &str) -> AdminClient<DefaultClientContext> {
    base_config(bootstrap).create().expect("admin client")
}

/// An rdkafka producer with extra settings.
pub fn producer(bootstrap: &str, extra: &[(&str, &str)]) -> FutureProducer {
    let mut c = base_config(bootstrap);
    c.set("linger.ms", "5").set("message.timeout.ms", "30000");
    for (k, v) in extra {
        c.set(*k, *v);
    }
    c.create().expect("producer")
}

/// An rdkafka consumer with no group, assigned by the caller.
pub fn consumer(bootstrap: &str) -> BaseConsumer {
    base_config(bootstrap)
        .set("group.id", "unused-no-commits")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .create()
        .expect("consumer")
}

/// Creates a topic with rdkafka's admin client and checks the result.
pub async fn create_topic(bootstrap: &str, name: &str, partitions: i32, configs: &[(&str, &str)]) {
    let mut topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
    for (k, v) in configs {
        topic = topic.set(k, v);
    }
    let results = admin(bootstrap)
        .create_topics([&topic], &AdminOptions::new())
        .await
        .expect("create topics");
    for r in results {
        r.expect("topic created");
    }
}

/// A record as read back: partition, offset, key, value, headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    pub timestamp: Option<i64>,
}

impl Seen {
    fn from_message(m: &BorrowedMessage<'_>) -> Self {
        let headers = m
            .headers()
            .map(|h| {
                h.iter()
                    .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
                    .collect()
            })
            .unwrap_or_default();
        Seen {
            partition: m.partition(),
            offset: m.offset(),
            key: m.key().map(<[u8]>::to_vec),
            value: m.payload().map(<[u8]>::to_vec),
            headers,
            timestamp: m.timestamp().to_millis(),
        }
    }
}

/// Reads `count` records of `topic` (all `partitions`) from `start`, failing after DEADLINE.
pub fn consume(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    start: Offset,
    count: usize,
) -> Vec<Seen> {
    let consumer = consumer(bootstrap);
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, start).expect("offset");
    }
    consumer.assign(&tpl).expect("assign");
    let deadline = Instant::now() + DEADLINE;
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        assert!(
            Instant::now() < deadline,
            "only {} of {count} records consumed from {topic}",
            out.len()
        );
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => out.push(Seen::from_message(&m)),
            Some(Err(e)) => panic!("consume error: {e}"),
            None => {}
        }
    }
    out
}

/// Reads a one-partition topic from the beginning to its high watermark.
pub fn consume_until_end(bootstrap: &str, topic: &str) -> Vec<Seen> {
    let consumer = consumer(bootstrap);
    let (_, high) = consumer
        .fetch_watermarks(topic, 0, DEADLINE)
        .expect("watermarks");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .expect("offset");
    consumer.assign(&tpl).expect("assign");
    let deadline = Instant::now() + DEADLINE;
    let mut out = Vec::new();
    loop {
        assert!(
            Instant::now() < deadline,
            "never reached offset {high} of {topic}"
        );
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                let seen = Seen::from_message(&m);
                let done = seen.offset + 1 >= high;
                out.push(seen);
                if done {
                    return out;
                }
            }
            Some(Err(e)) => panic!("consume error: {e}"),
            None => {}
        }
    }
}
