//! Transactions against the in-process broker with librdkafka: consume-transform-produce with
//! offsets committed in the transaction and every third transaction aborted, read back
//! read_committed (exactly the committed records, once, in order) and read_uncommitted
//! (everything); fencing by a second producer with the same transactional id; the broker
//! aborting a transaction open past its timeout; and restarts in the middle of a transaction
//! and between transactions.

use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{Offset, TopicPartitionList};

use crate::common::{create_topic, producer, TestBroker, DEADLINE};

pub(crate) type TxnProducer = ThreadedProducer<DefaultProducerContext>;

pub(crate) fn txn_producer(bootstrap: &str, id: &str, extra: &[(&str, &str)]) -> TxnProducer {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap)
        .set("broker.address.family", "v4")
        .set("transactional.id", id)
        .set("linger.ms", "5");
    for (k, v) in extra {
        c.set(*k, *v);
    }
    let p: TxnProducer = c.create().expect("transactional producer");
    p.init_transactions(DEADLINE).expect("init_transactions");
    p
}

/// Every record of `topic` (`partitions` partitions) a consumer at `isolation` reads until it
/// has reached the end of each partition, as (partition, value).
pub(crate) fn read_all(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    isolation: &str,
) -> Vec<(i32, String)> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("broker.address.family", "v4")
        .set("group.id", "txn-test-reader")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .set("isolation.level", isolation)
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .expect("offset");
    }
    consumer.assign(&tpl).expect("assign");
    let deadline = Instant::now() + DEADLINE;
    let mut at_end = std::collections::HashSet::new();
    let mut out = Vec::new();
    while at_end.len() < partitions as usize {
        assert!(
            Instant::now() < deadline,
            "never reached the end of {topic}"
        );
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                at_end.remove(&m.partition());
                let value = String::from_utf8_lossy(m.payload().unwrap_or_default()).to_string();
                out.push((m.partition(), value));
            }
            Some(Err(KafkaError::PartitionEOF(p))) => {
                at_end.insert(p);
            }
            Some(Err(e)) => panic!("consume error: {e}"),
            None => {}
        }
    }
    out
}

fn values(records: &[(i32, String)]) -> Vec<String> {
    records.iter().map(|(_, v)| v.clone()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn consume_transform_produce_commits_exactly_once_and_hides_aborts() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, "ctp-in", 1, &[]).await;
    create_topic(&bootstrap, "ctp-out", 1, &[]).await;
    let plain = producer(&bootstrap, &[]);
    for i in 0..70 {
        let key = i.to_string();
        let value = format!("in-{i}");
        let record = rdkafka::producer::FutureRecord::to("ctp-in")
            .key(&key)
            .payload(&value);
        plain.send(record, DEADLINE).await.expect("input produced");
    }

    let input: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("broker.address.family", "v4")
        .set("group.id", "ctp-group")
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("isolation.level", "read_committed")
        .create()
        .expect("input consumer");
    input.subscribe(&["ctp-in"]).expect("subscribe");
    let output = txn_producer(&bootstrap, "ctp-app", &[]);

    let deadline = Instant::now() + DEADLINE;
    let mut expected_committed = Vec::new();
    let mut next = 0i64;
    for txn in 0..7 {
        output.begin_transaction().expect("begin");
        let mut batch = Vec::new();
        while batch.len() < 10 {
            assert!(Instant::now() < deadline, "input not consumed in time");
            if let Some(m) = input.poll(Duration::from_millis(100)) {
                let m = m.expect("input record");
                assert_eq!(m.offset(), next, "input read in order");
                next += 1;
                batch.push(String::from_utf8_lossy(m.payload().expect("value")).to_string());
            }
        }
        for v in &batch {
            let out = v.replace("in-", "out-");
            output
                .send(BaseRecord::<(), str>::to("ctp-out").payload(&out))
                .expect("queued");
        }
        let mut offsets = TopicPartitionList::new();
        offsets
            .add_partition_offset("ctp-in", 0, Offset::Offset(next))
            .expect("offset");
        let group = input.group_metadata().expect("group metadata");
        output
            .send_offsets_to_transaction(&offsets, &group, DEADLINE)
            .expect("offsets sent");
        if txn % 3 == 2 {
            // Written before the abort (librdkafka drops what it has not sent yet).
            output.flush(DEADLINE).expect("flushed");
            output.abort_transaction(DEADLINE).expect("abort");
        } else {
            output.commit_transaction(DEADLINE).expect("commit");
            expected_committed.extend(batch.iter().map(|v| v.replace("in-", "out-")));
        }
    }
    assert_eq!(expected_committed.len(), 50);

    let committed = read_all(&bootstrap, "ctp-out", 1, "read_committed");
    assert_eq!(
        values(&committed),
        expected_committed,
        "read_committed: the committed records, once, in order"
    );
    let everything = read_all(&bootstrap, "ctp-out", 1, "read_uncommitted");
    assert_eq!(
        everything.len(),
        70,
        "read_uncommitted sees the aborted records too"
    );

    // The group's committed offset is the one of the last committed transaction.
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition("ctp-in", 0);
    let stored = input
        .committed_offsets(tpl, DEADLINE)
        .expect("committed offsets");
    let offset = stored
        .find_partition("ctp-in", 0)
        .expect("partition")
        .offset();
    assert_eq!(offset, Offset::Offset(70));
    input.commit_consumer_state(CommitMode::Sync).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_producer_with_the_same_id_fences_the_first() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, "fenced", 1, &[]).await;
    let first = txn_producer(&bootstrap, "shared-id", &[]);
    first.begin_transaction().expect("begin");
    first
        .send(BaseRecord::<(), str>::to("fenced").payload("from-first"))
        .expect("queued");
    first.flush(DEADLINE).expect("flushed");

    let second = txn_producer(&bootstrap, "shared-id", &[]);
    second.begin_transaction().expect("begin");
    second
        .send(BaseRecord::<(), str>::to("fenced").payload("from-second"))
        .expect("queued");
    second.commit_transaction(DEADLINE).expect("second commits");

    let err = first
        .commit_transaction(DEADLINE)
        .expect_err("the fenced producer cannot commit");
    let code = match &err {
        KafkaError::Transaction(e) => e.code(),
        other => panic!("not a transaction error: {other}"),
    };
    assert!(
        matches!(
            code,
            RDKafkaErrorCode::ProducerFenced
                | RDKafkaErrorCode::InvalidProducerEpoch
                | RDKafkaErrorCode::Fenced
        ),
        "a fenced error, got {code:?}"
    );
    let seen = read_all(&bootstrap, "fenced", 1, "read_committed");
    assert_eq!(values(&seen), vec!["from-second".to_string()]);
}

/// librdkafka's 0103 "produce after fence": a producer fenced by a second one with its id
/// that produces again must fail fatally (the broker's answer to its batch, after the fence's
/// abort marker, is INVALID_PRODUCER_EPOCH, as Kafka's verification maps PRODUCER_FENCED),
/// and none of its records is ever committed.
#[tokio::test(flavor = "multi_thread")]
async fn a_fenced_producer_that_produces_again_fails_fatally() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, "fenced-again", 1, &[]).await;
    let first = txn_producer(&bootstrap, "again-id", &[]);
    first.begin_transaction().expect("begin");
    first
        .send(BaseRecord::<(), str>::to("fenced-again").payload("before"))
        .expect("queued");
    first.flush(DEADLINE).expect("flushed");
    let _second = txn_producer(&bootstrap, "again-id", &[]);
    first
        .send(BaseRecord::<(), str>::to("fenced-again").payload("after"))
        .expect("queued");
    let _ = first.flush(DEADLINE);
    let err = first
        .commit_transaction(DEADLINE)
        .expect_err("the fenced producer cannot commit");
    match &err {
        KafkaError::Transaction(e) => {
            assert!(e.is_fatal(), "a fatal error, got {e}");
            assert_eq!(e.code(), RDKafkaErrorCode::Fenced, "{e}");
        }
        other => panic!("not a transaction error: {other}"),
    }
    assert!(
        first.client().fatal_error().is_some(),
        "librdkafka raised a fatal error"
    );
    let seen = read_all(&bootstrap, "fenced-again", 1, "read_committed");
    assert!(seen.is_empty(), "nothing committed: {seen:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_broker_aborts_a_transaction_open_past_its_timeout() {
    let broker = TestBroker::start_configured(&[(
        "transaction.abort.timed.out.transaction.cleanup.interval.ms",
        "100",
    )])
    .await;
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, "timed-out", 1, &[]).await;
    let stuck = txn_producer(&bootstrap, "stuck", &[("transaction.timeout.ms", "1000")]);
    stuck.begin_transaction().expect("begin");
    stuck
        .send(BaseRecord::<(), str>::to("timed-out").payload("never-committed"))
        .expect("queued");
    stuck.flush(DEADLINE).expect("flushed");
    // A plain record after it is held back from read_committed readers by the open
    // transaction (the LSO), until the broker aborts it.
    let plain = producer(&bootstrap, &[]);
    plain
        .send(
            rdkafka::producer::FutureRecord::<(), str>::to("timed-out").payload("after"),
            DEADLINE,
        )
        .await
        .expect("plain produced");
    let seen = read_all(&bootstrap, "timed-out", 1, "read_committed");
    assert_eq!(
        values(&seen),
        vec!["after".to_string()],
        "the LSO moved past the aborted transaction"
    );
    assert!(
        stuck.commit_transaction(DEADLINE).is_err(),
        "the timed-out transaction cannot commit"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn restarts_keep_transactions_and_read_committed_answers() {
    let broker = TestBroker::start_configured(&[("log.segment.bytes", "2048")]).await;
    let bootstrap = broker.bootstrap();
    let listener = format!("PLAINTEXT://{bootstrap}");
    create_topic(&bootstrap, "restarted", 1, &[]).await;
    let p = txn_producer(
        &bootstrap,
        "restart-app",
        &[("transaction.timeout.ms", "60000")],
    );
    for txn in 0..6 {
        p.begin_transaction().expect("begin");
        for i in 0..20 {
            let v = format!("t{txn}-{i}");
            p.send(BaseRecord::<(), str>::to("restarted").payload(&v))
                .expect("queued");
        }
        if txn % 3 == 1 {
            p.flush(DEADLINE).expect("flushed");
            p.abort_transaction(DEADLINE).expect("abort");
        } else {
            p.commit_transaction(DEADLINE).expect("commit");
        }
    }
    // One more, left open across the restart.
    p.begin_transaction().expect("begin");
    p.send(BaseRecord::<(), str>::to("restarted").payload("open-across"))
        .expect("queued");
    p.flush(DEADLINE).expect("flushed");
    let before = read_all(&bootstrap, "restarted", 1, "read_committed");
    assert_eq!(before.len(), 80);

    let dir = broker.stop().await;
    let broker = TestBroker::start_with(
        dir,
        &[("log.segment.bytes", "2048"), ("listeners", &listener)],
    )
    .await;
    assert_eq!(broker.bootstrap(), bootstrap);
    let after = read_all(&bootstrap, "restarted", 1, "read_committed");
    assert_eq!(
        after, before,
        "the same read_committed answer after a restart"
    );
    // The producer finishes the transaction it opened before the restart.
    p.commit_transaction(DEADLINE)
        .expect("commit after the restart");
    let done = read_all(&bootstrap, "restarted", 1, "read_committed");
    assert_eq!(done.len(), 81);
    assert_eq!(done.last().map(|(_, v)| v.as_str()), Some("open-across"));
}

#[tokio::test(flavor = "multi_thread")]
async fn timeouts_beyond_the_maximum_are_refused_and_idle_ids_expire() {
    use kafka_protocol::messages::{
        ApiKey, DescribeTransactionsRequest, DescribeTransactionsResponse, TransactionalId,
    };
    use kafka_protocol::protocol::StrBytes;
    use kafka_protocol::ResponseError;

    let broker = TestBroker::start_configured(&[
        ("transaction.max.timeout.ms", "60000"),
        ("transactional.id.expiration.ms", "500"),
        (
            "transaction.remove.expired.transaction.cleanup.interval.ms",
            "100",
        ),
    ])
    .await;
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, "expiring", 1, &[]).await;

    // librdkafka's own transaction.timeout.ms default (60 s) fits; twice that does not.
    let too_long: TxnProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("broker.address.family", "v4")
        .set("transactional.id", "too-long")
        .set("transaction.timeout.ms", "120000")
        .create()
        .expect("producer");
    let refused = too_long
        .init_transactions(DEADLINE)
        .expect_err("a timeout above transaction.max.timeout.ms");
    assert!(
        refused.to_string().contains("imeout"),
        "INVALID_TRANSACTION_TIMEOUT, got {refused}"
    );

    let p = txn_producer(&bootstrap, "short-lived", &[]);
    p.begin_transaction().expect("begin");
    p.send(BaseRecord::<(), str>::to("expiring").payload("x"))
        .expect("queued");
    p.commit_transaction(DEADLINE).expect("commit");
    drop(p);
    let mut raw = crate::raw::Raw::connect(&bootstrap).await;
    let deadline = Instant::now() + DEADLINE;
    loop {
        let answer: DescribeTransactionsResponse = raw
            .call(
                ApiKey::DescribeTransactions,
                0,
                &DescribeTransactionsRequest::default().with_transactional_ids(vec![
                    TransactionalId(StrBytes::from_static_str("short-lived")),
                ]),
            )
            .await;
        let code = answer.transaction_states[0].error_code;
        if code == ResponseError::TransactionalIdNotFound.code() {
            break;
        }
        assert_eq!(code, 0, "described until it expires");
        assert!(Instant::now() < deadline, "the idle id never expired");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The producer id, epoch and last sequence DescribeProducers shows on partition 0 of `topic`.
async fn described_producer(bootstrap: &str, topic: &str) -> (i64, i16, i32) {
    use kafka_protocol::messages::describe_producers_request::TopicRequest;
    use kafka_protocol::messages::{
        ApiKey, DescribeProducersRequest, DescribeProducersResponse, TopicName,
    };
    use kafka_protocol::protocol::StrBytes;
    let request = DescribeProducersRequest::default().with_topics(vec![TopicRequest::default()
        .with_name(TopicName(StrBytes::from_string(topic.to_string())))
        .with_partition_indexes(vec![0])]);
    let mut raw = crate::raw::Raw::connect(bootstrap).await;
    let response: DescribeProducersResponse =
        raw.call(ApiKey::DescribeProducers, 0, &request).await;
    let p = &response.topics[0].partitions[0].active_producers[0];
    (p.producer_id.0, p.producer_epoch as i16, p.last_sequence)
}

/// ListOffsets latest of partition 0 of `topic` at `isolation` (0 uncommitted, 1 committed).
async fn latest(bootstrap: &str, topic: &str, isolation: i8) -> i64 {
    use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
    use kafka_protocol::messages::{ApiKey, ListOffsetsRequest, ListOffsetsResponse, TopicName};
    use kafka_protocol::protocol::StrBytes;
    let request = ListOffsetsRequest::default()
        .with_isolation_level(isolation)
        .with_topics(vec![ListOffsetsTopic::default()
            .with_name(TopicName(StrBytes::from_string(topic.to_string())))
            .with_partitions(vec![ListOffsetsPartition::default()
                .with_partition_index(0)
                .with_timestamp(-1)])]);
    let mut raw = crate::raw::Raw::connect(bootstrap).await;
    let response: ListOffsetsResponse = raw.call(ApiKey::ListOffsets, 5, &request).await;
    response.topics[0].partitions[0].offset
}

/// KIP-890: a producer's batch that arrives after its transaction was aborted (a retry, a
/// zombie) is refused with INVALID_TXN_STATE; without the check it would open a transaction
/// no coordinator knows, and the partition's LSO would stay behind it for good.
#[tokio::test(flavor = "multi_thread")]
async fn a_late_batch_after_its_transaction_ended_is_refused_not_left_hanging() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, "late", 1, &[]).await;
    let app = txn_producer(&bootstrap, "late-app", &[]);
    app.begin_transaction().expect("begin");
    app.send(BaseRecord::<(), _>::to("late").payload("aborted"))
        .map_err(|(e, _)| e)
        .expect("queued");
    app.flush(DEADLINE).expect("flushed");
    app.abort_transaction(DEADLINE).expect("aborted");
    let (pid, epoch, last) = described_producer(&bootstrap, "late").await;

    let mut raw = crate::raw::Raw::connect(&bootstrap).await;
    let retry = crate::raw::transactional_batch((pid, epoch), last.wrapping_add(1), b"late");
    let (error, _) = raw.produce_as(Some("late-app"), "late", retry).await;
    assert_eq!(
        error, 48,
        "INVALID_TXN_STATE for a batch outside any open transaction"
    );
    let stray = crate::raw::transactional_batch((pid, epoch), last.wrapping_add(1), b"stray");
    let (error, _) = raw.produce_as(None, "late", stray).await;
    assert_eq!(error, 48, "and for one no transactional id came with");
    let end = latest(&bootstrap, "late", 0).await;
    assert_eq!(
        latest(&bootstrap, "late", 1).await,
        end,
        "no transaction holds the LSO"
    );

    // The producer goes on: its next transaction commits, and only that is read.
    app.begin_transaction().expect("begin");
    app.send(BaseRecord::<(), _>::to("late").payload("committed"))
        .map_err(|(e, _)| e)
        .expect("queued");
    app.commit_transaction(DEADLINE).expect("committed");
    let seen = values(&read_all(&bootstrap, "late", 1, "read_committed"));
    assert_eq!(seen, ["committed"]);
}
