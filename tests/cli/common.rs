//! Shared test steps: the workspace broker in-process on a free loopback port (on a runtime of
//! its own, so tests are plain blocking code), the real `ktui` binary run against it, and
//! librdkafka clients (rdkafka crate) to cross-check what ktui did.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::own_runtime_broker::OwnRuntimeBroker;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::Value;

/// How long any single wait in a test may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// The broker the CLI tests run ktui against.
pub struct TestBroker(OwnRuntimeBroker);

impl TestBroker {
    /// A fresh broker.
    pub fn start() -> Self {
        TestBroker(OwnRuntimeBroker::start(&[]))
    }

    /// A fresh broker with `overrides` of its configuration.
    pub fn start_with(overrides: &[(&str, &str)]) -> Self {
        TestBroker(OwnRuntimeBroker::start(overrides))
    }

    /// `127.0.0.1:port`.
    pub fn bootstrap(&self) -> String {
        self.0.bootstrap()
    }

    /// `127.0.0.1:port` of the listener named `name`.
    pub fn listener(&self, name: &str) -> String {
        self.0.listener(name)
    }

    /// Runs `ktui ARGS -b BOOTSTRAP`.
    pub fn ktui(&self, args: &[&str]) -> Output {
        self.ktui_stdin(args, b"")
    }

    /// Runs `ktui ARGS -b BOOTSTRAP` with `stdin` as its input.
    pub fn ktui_stdin(&self, args: &[&str], stdin: &[u8]) -> Output {
        let bootstrap = self.bootstrap();
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["-b", bootstrap.as_str()]);
        run_ktui(&all, stdin, &[])
    }

    /// Runs `ktui ARGS -b BOOTSTRAP -o json`, asserts success and parses stdout.
    pub fn json(&self, args: &[&str]) -> Value {
        self.json_stdin(args, b"")
    }

    /// As [`TestBroker::json`] with `stdin`.
    pub fn json_stdin(&self, args: &[&str], stdin: &[u8]) -> Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        let out = self.ktui_stdin(&all, stdin);
        assert_success(&out, args);
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "ktui {args:?} printed no JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }
}

/// Runs the ktui binary with `args`, `stdin` and extra environment, with a deadline.
pub fn run_ktui(args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ktui"))
        .args(args)
        .env("KTUI_CONFIG", "/nonexistent/ktui-test-config.toml")
        .envs(env.iter().copied())
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ktui runs");
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let deadline = Instant::now() + DEADLINE;
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("ktui {args:?} did not finish within {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    writer.join().expect("stdin writer");
    child.wait_with_output().expect("output")
}

/// Fails the test with ktui's stderr unless it exited 0.
pub fn assert_success(out: &Output, args: &[&str]) {
    assert!(
        out.status.success(),
        "ktui {args:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// stderr as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn rdkafka_config(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap)
        .set("broker.address.family", "v4");
    c
}

/// A record as librdkafka saw or sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

/// Reads `count` records of `topic` (partitions `0..partitions`) from the start with librdkafka.
pub fn rdkafka_consume(bootstrap: &str, topic: &str, partitions: i32, count: usize) -> Vec<Seen> {
    let consumer: BaseConsumer = rdkafka_config(bootstrap)
        .set("group.id", "ktui-cli-tests")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .expect("offset");
    }
    consumer.assign(&tpl).expect("assign");
    let deadline = Instant::now() + DEADLINE;
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        assert!(
            Instant::now() < deadline,
            "librdkafka read only {} of {count} records",
            out.len()
        );
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => out.push(Seen {
                partition: m.partition(),
                offset: m.offset(),
                key: m.key().map(<[u8]>::to_vec),
                value: m.payload().map(<[u8]>::to_vec),
                headers: m
                    .headers()
                    .map(|h| {
                        h.iter()
                            .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
                            .collect()
                    })
                    .unwrap_or_default(),
            }),
            Some(Err(e)) => panic!("librdkafka consume error: {e}"),
            None => {}
        }
    }
    out
}

/// A record to send with librdkafka: key, value, headers.
pub type Outgoing<'a> = (Option<&'a [u8]>, &'a [u8], Vec<(&'a str, &'a [u8])>);

/// Produces `records` (key, value, headers) with librdkafka's murmur2_random partitioner and
/// waits for every delivery.
pub fn rdkafka_produce(bootstrap: &str, topic: &str, records: &[Outgoing<'_>]) {
    let producer: BaseProducer = rdkafka_config(bootstrap)
        .set("partitioner", "murmur2_random")
        .set("linger.ms", "1")
        .create()
        .expect("producer");
    for (key, value, headers) in records {
        let mut hs = rdkafka::message::OwnedHeaders::new();
        for (k, v) in headers {
            hs = hs.insert(rdkafka::message::Header {
                key: k,
                value: Some(*v),
            });
        }
        let mut record: BaseRecord<'_, [u8], [u8]> =
            BaseRecord::to(topic).payload(*value).headers(hs);
        if let Some(k) = key {
            record = record.key(*k);
        }
        producer.send(record).map_err(|(e, _)| e).expect("send");
    }
    producer.flush(DEADLINE).expect("flush");
}

/// Topic name → partition count, as librdkafka's metadata shows it.
pub fn rdkafka_topics(bootstrap: &str) -> Vec<(String, usize)> {
    let consumer: BaseConsumer = rdkafka_config(bootstrap).create().expect("client");
    let metadata = consumer.fetch_metadata(None, DEADLINE).expect("metadata");
    metadata
        .topics()
        .iter()
        .map(|t| (t.name().to_string(), t.partitions().len()))
        .collect()
}

/// Runs `ktui ARGS -b BOOTSTRAP`, for clusters other than a [`TestBroker`].
pub fn ktui_at(bootstrap: &str, args: &[&str]) -> Output {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["-b", bootstrap]);
    run_ktui(&all, b"", &[])
}

/// Runs `ktui ARGS -b BOOTSTRAP -o json`, asserts success and parses stdout.
pub fn json_at(bootstrap: &str, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    let out = ktui_at(bootstrap, &all);
    assert_success(&out, args);
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "ktui {args:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// A partition as librdkafka's metadata shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenPartition {
    pub id: i32,
    /// -1 when the partition has no leader.
    pub leader: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
}

/// The partitions of `topic` as librdkafka's metadata shows them, sorted by id.
pub fn rdkafka_partitions(bootstrap: &str, topic: &str) -> Vec<SeenPartition> {
    let consumer: BaseConsumer = rdkafka_config(bootstrap).create().expect("client");
    let metadata = consumer
        .fetch_metadata(Some(topic), DEADLINE)
        .expect("metadata");
    let mut partitions: Vec<SeenPartition> = metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic)
        .flat_map(|t| t.partitions())
        .map(|p| SeenPartition {
            id: p.id(),
            leader: p.leader(),
            replicas: p.replicas().to_vec(),
            isr: p.isr().to_vec(),
        })
        .collect();
    partitions.sort_by_key(|p| p.id);
    partitions
}

/// Polls `probe` until it returns a value, failing the test after [`DEADLINE`] with `what`.
pub fn wait_for<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Fails unless `out` failed with exit status 1 and one line on stderr containing `needle`.
pub fn assert_one_line_error(out: &Output, needle: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("ktui: error: "), "{err}");
    assert!(err.contains(needle), "expected {needle:?} in: {err}");
}

/// kafka-python's admin client (the venv scripts/test makes) run with `request`.
pub fn kafka_python_admin(bootstrap: &str, request: &str) -> Value {
    let python = std::env::var("KTUI_TEST_PYTHON").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/target/test-venv/bin/python").to_string()
    });
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/cli/kafka_python_admin.py"
    );
    let out = Command::new(&python)
        .args([script, bootstrap, request])
        .output()
        .unwrap_or_else(|e| panic!("{python} runs (scripts/test makes the venv): {e}"));
    assert!(out.status.success(), "kafka-python: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("kafka-python printed JSON")
}

/// A small runtime for blocking tests to drive the process-cluster harness with (the nodes are
/// processes; the runtime only waits on them).
pub fn harness_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
}
