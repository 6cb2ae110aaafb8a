//! `ktui transactions list|describe|abort`, `ktui producers describe` and `ktui consume
//! --isolation-level` against the workspace broker, with transactions made by librdkafka: one
//! committed, one aborted, and one left open, with a plain record after it. A read_committed
//! `ktui consume` stops at the open transaction (the last stable offset) and never shows the
//! aborted records; read_uncommitted shows every record; neither prints a marker. Aborting the
//! open transaction by its start offset (KIP-664) moves the LSO past it, which ktui and
//! librdkafka, both at read_committed, then read up to the plain record.

use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::Value;

use crate::common::{
    assert_one_line_error, assert_success, rdkafka_produce, wait_for, TestBroker, DEADLINE,
};

const TOPIC: &str = "txn-orders";
/// `ktui transactions abort` at partition 0 of [`TOPIC`], the start offset to follow.
const ABORT_AT: [&str; 7] = [
    "transactions",
    "abort",
    "--topic",
    TOPIC,
    "--partition",
    "0",
    "--start-offset",
];

type TxnProducer = ThreadedProducer<DefaultProducerContext>;

fn txn_producer(bootstrap: &str, id: &str) -> TxnProducer {
    let p: TxnProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("broker.address.family", "v4")
        .set("transactional.id", id)
        // Long enough that the broker does not abort the open one during the test.
        .set("transaction.timeout.ms", "600000")
        .set("linger.ms", "1")
        .create()
        .expect("transactional producer");
    p.init_transactions(DEADLINE).expect("init_transactions");
    p
}

/// Writes `values` in one transaction of `producer`, ending it as `end` says (`None` leaves
/// it open, its records written).
fn transaction(producer: &TxnProducer, values: &[&str], end: Option<bool>) {
    producer.begin_transaction().expect("begin");
    for v in values {
        producer
            .send(BaseRecord::<(), str>::to(TOPIC).payload(*v))
            .expect("queued");
    }
    producer.flush(DEADLINE).expect("flushed");
    match end {
        Some(true) => producer.commit_transaction(DEADLINE).expect("commit"),
        Some(false) => producer.abort_transaction(DEADLINE).expect("abort"),
        None => {}
    }
}

/// The values `ktui consume` prints from the beginning to the end (`-e`), with `extra` flags.
fn consumed(broker: &TestBroker, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["consume", TOPIC, "--from-beginning", "-e"];
    args.extend(extra);
    let out = broker.ktui(&args);
    assert_success(&out, &args);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Every value librdkafka reads at read_committed until the end of the partition.
fn rdkafka_read_committed(bootstrap: &str) -> Vec<String> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("broker.address.family", "v4")
        .set("group.id", "txn-cli-reader")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .set("isolation.level", "read_committed")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(TOPIC, 0, Offset::Beginning)
        .expect("offset");
    consumer.assign(&tpl).expect("assign");
    let deadline = Instant::now() + DEADLINE;
    let mut out = Vec::new();
    loop {
        assert!(
            Instant::now() < deadline,
            "librdkafka never reached the end"
        );
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                out.push(String::from_utf8_lossy(m.payload().unwrap_or_default()).into())
            }
            Some(Err(KafkaError::PartitionEOF(_))) => return out,
            Some(Err(e)) => panic!("consume error: {e}"),
            None => {}
        }
    }
}

/// `(transactional id, state)` of every transaction `transactions list` shows.
fn states(listed: &Value) -> Vec<(String, String)> {
    listed
        .as_array()
        .expect("an array")
        .iter()
        .map(|t| {
            (
                t["transactional_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                t["state"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The one producer of the partition with an open transaction: its id and start offset.
fn open_producers(broker: &TestBroker) -> Vec<(i64, i64)> {
    let producers = broker.json(&[
        "producers",
        "describe",
        "--topic",
        TOPIC,
        "--partition",
        "0",
    ]);
    producers
        .as_array()
        .expect("an array")
        .iter()
        .filter(|p| p["current_txn_start_offset"].as_i64() >= Some(0))
        .map(|p| {
            (
                p["producer_id"].as_i64().expect("id"),
                p["current_txn_start_offset"].as_i64().expect("offset"),
            )
        })
        .collect()
}

#[test]
fn transactions_are_listed_described_and_a_hanging_one_aborted() {
    let broker = TestBroker::start();
    let bootstrap = broker.bootstrap();
    broker.json(&["topics", "create", TOPIC, "--partitions", "1"]);
    let committer = txn_producer(&bootstrap, "committer");
    transaction(&committer, &["c1", "c2"], Some(true));
    let aborter = txn_producer(&bootstrap, "aborter");
    transaction(&aborter, &["a1", "a2"], Some(false));
    let hanging = txn_producer(&bootstrap, "hanging");
    transaction(&hanging, &["h1"], None);
    rdkafka_produce(&bootstrap, TOPIC, &[(None, b"p1", Vec::new())]);

    // The coordinator completes a commit or abort once its markers are written.
    let expected = [
        ("aborter", "CompleteAbort"),
        ("committer", "CompleteCommit"),
        ("hanging", "Ongoing"),
    ]
    .map(|(id, state)| (id.to_string(), state.to_string()));
    let listed = wait_for("the transactions to settle", || {
        let listed = broker.json(&["transactions", "list"]);
        (states(&listed) == expected).then_some(listed)
    });
    let hanging_id = listed[2]["producer_id"].as_i64().expect("producer id");
    let coordinator = listed[2]["coordinator"].as_i64().expect("coordinator");
    let table = broker.ktui(&["transactions", "list"]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.starts_with("TRANSACTIONAL ID  COORDINATOR  PRODUCER ID  STATE\n"),
        "{text}"
    );
    assert_eq!(
        states(&broker.json(&["transactions", "list", "--state", "ongoing"])),
        expected[2..]
    );
    let long = ["transactions", "list", "--duration-filter", "3600000"];
    assert_eq!(broker.json(&long), serde_json::json!([]));
    assert_one_line_error(
        &broker.ktui(&["transactions", "list", "--state", "Stuck"]),
        "--state 'Stuck' is not one of",
    );

    let described = broker.json(&["transactions", "describe", "hanging"]);
    assert_eq!(described["state"], "Ongoing", "{described}");
    assert_eq!(described["producer_id"].as_i64(), Some(hanging_id));
    assert_eq!(described["coordinator"].as_i64(), Some(coordinator));
    assert_eq!(described["timeout_ms"], 600_000);
    assert_eq!(
        described["partitions"],
        serde_json::json!([{"topic": TOPIC, "partition": 0}])
    );
    assert!(described["start_time_ms"].as_i64() > Some(0), "{described}");
    assert!(described["duration_ms"].as_i64() >= Some(0), "{described}");
    let done = broker.json(&[
        "transactions",
        "describe",
        "--transactional-id",
        "committer",
    ]);
    assert_eq!(
        done["duration_ms"],
        Value::Null,
        "a complete one is not open"
    );
    assert_one_line_error(
        &broker.ktui(&["transactions", "describe", "nobody"]),
        "TRANSACTIONAL_ID_NOT_FOUND",
    );

    // Only the hanging producer has an open transaction once the other markers are written.
    let open = wait_for("one open transaction", || {
        let open = open_producers(&broker);
        (open.len() == 1).then_some(open)
    });
    assert_eq!(open[0].0, hanging_id);
    let start = open[0].1;

    let everything = ["c1", "c2", "a1", "a2", "h1", "p1"];
    assert_eq!(
        consumed(&broker, &[]),
        everything,
        "read_uncommitted by default"
    );
    assert_eq!(
        consumed(&broker, &["--isolation-level", "read_uncommitted"]),
        everything
    );
    assert_eq!(
        consumed(&broker, &["--isolation-level", "read_committed"]),
        ["c1", "c2"],
        "the LSO stops at the open transaction; the aborted records are dropped"
    );
    let property = ["--consumer-property", "isolation.level=read_committed"];
    assert_eq!(consumed(&broker, &property), ["c1", "c2"]);
    assert_one_line_error(
        &broker.ktui(&["consume", TOPIC, "--isolation-level", "dirty", "-e"]),
        "'dirty' is neither read_committed nor read_uncommitted",
    );

    let start_text = start.to_string();
    let abort = ABORT_AT;
    let wrong = (start + 1).to_string();
    let refused = broker.ktui(&[&abort[..], &[wrong.as_str()]].concat());
    assert_one_line_error(
        &refused,
        &format!(
            "no open transaction starts at offset {wrong} of {TOPIC}-0: open ones start at {start}"
        ),
    );
    let read_only = broker.ktui(&[&["--read-only"][..], &abort, &[start_text.as_str()]].concat());
    assert_one_line_error(&read_only, "read-only");
    assert_eq!(open_producers(&broker).len(), 1, "nothing was written");

    let aborted = broker.json(&[&abort[..], &[start_text.as_str()]].concat());
    assert_eq!(
        aborted["producer_id"].as_i64(),
        Some(hanging_id),
        "{aborted}"
    );
    assert_eq!(aborted["start_offset"].as_i64(), Some(start));
    assert_eq!(
        open_producers(&broker),
        Vec::new(),
        "no transaction is open"
    );
    assert_eq!(
        consumed(&broker, &["--isolation-level", "read_committed"]),
        ["c1", "c2", "p1"],
        "the LSO moved past the aborted transaction"
    );
    assert_eq!(rdkafka_read_committed(&bootstrap), ["c1", "c2", "p1"]);
    assert_eq!(consumed(&broker, &[]), everything);
    drop(hanging);
}

#[test]
fn producers_of_a_missing_partition_and_a_missing_transaction_are_named() {
    let broker = TestBroker::start();
    broker.json(&["topics", "create", TOPIC, "--partitions", "1"]);
    let missing = [
        "producers",
        "describe",
        "--topic",
        TOPIC,
        "--partition",
        "3",
    ];
    assert_one_line_error(&broker.ktui(&missing), "partition 3 of 'txn-orders'");
    let none = [&ABORT_AT[..], &["0"]].concat();
    assert_one_line_error(&broker.ktui(&none), "it has none");
    assert_eq!(
        broker.json(&["transactions", "list"]),
        serde_json::json!([])
    );
}

/// A transactional batch of a new producer, written straight to partition 0 of [`TOPIC`]
/// without its transaction ever being registered with a coordinator: a hanging transaction,
/// which KIP-890's verification refuses unless it is turned off. Returns the producer id,
/// the Produce error code and the offset.
fn write_unregistered_transaction(bootstrap: &str) -> (i64, i16, i64) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let mut raw = crate::raw::Raw::connect(bootstrap).await;
        let producer = raw.init_producer_id().await;
        let batch = crate::raw::transactional_batch(producer, 0, b"orphan");
        let (error, offset) = raw.produce(TOPIC, batch).await;
        (producer.0, error, offset)
    })
}

#[test]
fn find_hanging_names_only_a_transaction_no_coordinator_has_open() {
    // Brokers verify transactional batches (KIP-890): the stray batch is refused.
    let verifying = TestBroker::start();
    verifying.json(&["topics", "create", TOPIC, "--partitions", "1"]);
    let (_, refused, _) = write_unregistered_transaction(&verifying.bootstrap());
    assert_eq!(refused, 48, "INVALID_TXN_STATE");
    drop(verifying);
    // Without verification (as before Kafka 3.6, or turned off) it hangs.
    let broker = TestBroker::start_with(&[("transaction.partition.verification.enable", "false")]);
    let bootstrap = broker.bootstrap();
    broker.json(&["topics", "create", TOPIC, "--partitions", "1"]);
    // Open, and known to its coordinator: not hanging, however long the bound.
    let known = txn_producer(&bootstrap, "known");
    transaction(&known, &["k1"], None);
    let (orphan, error, offset) = write_unregistered_transaction(&bootstrap);
    assert_eq!(error, 0, "the batch is written");
    let find = |extra: &[&str]| {
        let mut args = vec![
            "transactions",
            "find-hanging",
            "--max-transaction-timeout",
            "0",
        ];
        args.extend(extra);
        broker.json(&args)
    };
    let found = find(&["--topic", TOPIC]);
    let rows = found.as_array().expect("an array");
    assert_eq!(rows.len(), 1, "only the orphan: {found}");
    assert_eq!(rows[0]["producer_id"].as_i64(), Some(orphan));
    assert_eq!(rows[0]["start_offset"].as_i64(), Some(offset));
    assert_eq!(rows[0]["partition"].as_i64(), Some(0));
    // The same by the broker that leads the partition, and nothing with the default bound.
    let leader = broker.json(&["brokers"])[0]["id"].as_i64().expect("id");
    let by_broker = find(&["--broker-id", &leader.to_string()]);
    let key = |v: &Value| {
        v.as_array()
            .expect("an array")
            .iter()
            .map(|r| (r["producer_id"].as_i64(), r["start_offset"].as_i64()))
            .collect::<Vec<_>>()
    };
    assert_eq!(key(&by_broker), key(&found));
    let recent = broker.json(&["transactions", "find-hanging", "--topic", TOPIC]);
    assert_eq!(
        recent.as_array().map(Vec::len),
        Some(0),
        "younger than 15 minutes"
    );

    // Aborted where it starts, it no longer hangs.
    let start = offset.to_string();
    broker.json(&[&ABORT_AT[..], &[start.as_str()]].concat());
    let after = find(&["--topic", TOPIC]);
    assert_eq!(after.as_array().map(Vec::len), Some(0), "{after}");

    // Where to look must be said (clap's usage error).
    let out = broker.ktui(&["transactions", "find-hanging"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--topic"));
}

#[test]
fn force_terminate_aborts_an_open_transaction_and_fences_its_producer() {
    let broker = TestBroker::start();
    let bootstrap = broker.bootstrap();
    broker.json(&["topics", "create", TOPIC, "--partitions", "1"]);
    let stuck = txn_producer(&bootstrap, "stuck-app");
    transaction(&stuck, &["s1", "s2"], None);
    rdkafka_produce(&bootstrap, TOPIC, &[(None, b"after", Vec::new())]);
    let before = broker.json(&["transactions", "describe", "stuck-app"]);
    assert_eq!(before["state"].as_str(), Some("Ongoing"));

    let refused = broker.ktui(&[
        "--read-only",
        "transactions",
        "force-terminate",
        "--transactional-id",
        "stuck-app",
    ]);
    assert_one_line_error(&refused, "read-only");
    let fenced = broker.json(&[
        "transactions",
        "force-terminate",
        "--transactional-id",
        "stuck-app",
    ]);
    assert_eq!(fenced["producer_id"], before["producer_id"]);
    assert!(
        fenced["producer_epoch"].as_i64() > before["producer_epoch"].as_i64(),
        "a bumped epoch: {fenced}"
    );
    let after = broker.json(&["transactions", "describe", "stuck-app"]);
    assert!(
        !ktui::client::transactions::is_open(after["state"].as_str().unwrap_or_default()),
        "{after}"
    );
    // The aborted records stay hidden and the LSO moved past them.
    assert_eq!(
        consumed(&broker, &["--isolation-level", "read_committed"]),
        ["after"]
    );
    assert!(
        stuck.commit_transaction(DEADLINE).is_err(),
        "the fenced producer cannot commit"
    );
}
