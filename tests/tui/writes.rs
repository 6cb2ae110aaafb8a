//! The console's writes against the workspace broker, through the worker the dialogs submit to
//! (the key tests check that each dialog submits the right request): create, alter configs
//! (set, then back to the default), add partitions and delete a topic, and delete a group; the
//! Transactions screen's read and abort of a hanging transaction, and the Group screen's LSO.
//! Each result is read back with librdkafka, a client we did not write.

use std::time::{Duration, Instant};

use ktui::config::ClientConfig;
use ktui::tui::action::Request;
use ktui::tui::event::{ConnState, Event, Update};
use ktui::tui::worker::Worker;
use rdkafka::admin::{AdminClient, AdminOptions, ResourceSpecifier};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig as RdConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::mpsc;

use crate::e2e::Broker;

const DEADLINE: Duration = Duration::from_secs(60);

fn rd(bootstrap: &str) -> RdConfig {
    let mut c = RdConfig::new();
    c.set("bootstrap.servers", bootstrap)
        .set("broker.address.family", "v4");
    c
}

/// Waits for the worker's answer to the write described as `what`; it must have succeeded.
async fn done(rx: &mut mpsc::Receiver<Event>, what: &str) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = tokio::time::timeout(left, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("no answer to '{what}'"))
            .expect("worker events");
        if let Event::Data(Update::Done {
            subject,
            note,
            error,
        }) = event
        {
            if note.unwrap_or_else(|| subject.to_string()) == what {
                assert_eq!(error, None, "{what}");
                return;
            }
        }
    }
}

fn partitions(bootstrap: &str, topic: &str) -> Option<usize> {
    let consumer: BaseConsumer = rd(bootstrap).create().expect("consumer");
    let md = consumer.fetch_metadata(None, DEADLINE).expect("metadata");
    md.topics()
        .iter()
        .find(|t| t.name() == topic)
        .map(|t| t.partitions().len())
}

async fn config_value(admin: &AdminClient<DefaultClientContext>, topic: &str, key: &str) -> String {
    let described = admin
        .describe_configs([&ResourceSpecifier::Topic(topic)], &AdminOptions::new())
        .await
        .expect("describe configs");
    let resource = described[0].as_ref().expect("resource");
    resource
        .get(key)
        .and_then(|e| e.value.clone())
        .unwrap_or_default()
}

#[test]
fn dialog_writes_reach_the_broker() {
    let broker = Broker::start();
    let bootstrap = broker.bootstrap();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let (tx, mut rx) = mpsc::channel(256);
        let config = ClientConfig {
            bootstrap: vec![bootstrap.clone()],
            ..ClientConfig::default()
        };
        let mut worker = Worker::start(config, tx);
        loop {
            let event = rx.recv().await.expect("worker events");
            if matches!(event, Event::Data(Update::Connection(ConnState::Connected))) {
                break;
            }
        }
        let admin: AdminClient<DefaultClientContext> = rd(&bootstrap).create().expect("admin");

        worker.submit(Request::CreateTopic {
            name: "w-topic".into(),
            partitions: 2,
            replication: 1,
            configs: vec![("cleanup.policy".into(), "compact".into())],
        });
        done(&mut rx, "create topic w-topic").await;
        assert_eq!(partitions(&bootstrap, "w-topic"), Some(2));
        assert_eq!(
            config_value(&admin, "w-topic", "cleanup.policy").await,
            "compact"
        );

        worker.submit(Request::AlterConfig {
            topic: "w-topic".into(),
            set: vec![("retention.ms".into(), "1234".into())],
            delete: vec!["cleanup.policy".into()],
        });
        done(&mut rx, "alter config of w-topic").await;
        assert_eq!(
            config_value(&admin, "w-topic", "retention.ms").await,
            "1234"
        );
        assert_eq!(
            config_value(&admin, "w-topic", "cleanup.policy").await,
            "delete"
        );

        worker.submit(Request::AddPartitions {
            topic: "w-topic".into(),
            total: 5,
        });
        done(&mut rx, "add partitions to w-topic (5 in all)").await;
        assert_eq!(partitions(&bootstrap, "w-topic"), Some(5));

        worker.submit(Request::DeleteTopic("w-topic".into()));
        done(&mut rx, "delete topic w-topic").await;
        assert_eq!(partitions(&bootstrap, "w-topic"), None);

        // A group that only committed offsets (no members) is deleted.
        let topic = rdkafka::admin::NewTopic::new(
            "w-committed",
            1,
            rdkafka::admin::TopicReplication::Fixed(1),
        );
        for r in admin
            .create_topics([&topic], &AdminOptions::new())
            .await
            .expect("create")
        {
            r.expect("created");
        }
        let b = bootstrap.clone();
        tokio::task::spawn_blocking(move || {
            let c: BaseConsumer = rd(&b)
                .set("group.id", "w-group")
                .create()
                .expect("consumer");
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition_offset("w-committed", 0, Offset::Offset(0))
                .expect("offset");
            c.commit(&tpl, CommitMode::Sync).expect("commit");
            let committed = c.committed_offsets(tpl, DEADLINE).expect("committed");
            assert_eq!(
                committed.elements()[0].offset(),
                Offset::Offset(0),
                "the commit was stored"
            );
        })
        .await
        .expect("commit");
        let listed = |b: &str| -> bool {
            let c: BaseConsumer = rd(b).create().expect("consumer");
            let groups = c.fetch_group_list(None, DEADLINE).expect("groups");
            groups.groups().iter().any(|g| g.name() == "w-group")
        };
        assert!(listed(&bootstrap), "the group exists before");
        worker.submit(Request::DeleteGroup("w-group".into()));
        done(&mut rx, "delete group w-group").await;
        assert!(!listed(&bootstrap), "the group is gone");
    });
}

/// Waits for the first update `pick` takes from the worker's events.
async fn update<T>(
    rx: &mut mpsc::Receiver<Event>,
    what: &str,
    mut pick: impl FnMut(Update) -> Option<T>,
) -> T {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = tokio::time::timeout(left, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("no {what}"))
            .expect("worker events");
        if let Event::Data(u) = event {
            if let Some(found) = pick(u) {
                return found;
            }
        }
    }
}

/// `(LSO, end)` of the first partition of `w-txn-group` as the Group screen reads it, once
/// `wanted` takes it. The worker drops a read repeated too soon after the last (it spaces
/// reads by their cost), so the read is asked again until an answer comes or the deadline.
async fn group_offsets(
    worker: &mut Worker,
    rx: &mut mpsc::Receiver<Event>,
    wanted: impl Fn((Option<i64>, Option<i64>)) -> bool,
) -> (Option<i64>, Option<i64>) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        assert!(Instant::now() < deadline, "no group answer as wanted");
        worker.submit(Request::Group("w-txn-group".into()));
        let wait = tokio::time::timeout(Duration::from_millis(200), async {
            loop {
                match rx.recv().await {
                    Some(Event::Data(Update::Group(d, _))) => {
                        return d.partitions.first().map(|p| (p.lso, p.end));
                    }
                    Some(_) => {}
                    None => return None,
                }
            }
        });
        if let Ok(Some(found)) = wait.await {
            if wanted(found) {
                return found;
            }
        }
    }
}

/// The Transactions screen's read and abort, and the Group screen's LSO, through the worker
/// against the workspace broker: librdkafka leaves a transaction open on a partition a group
/// has committed on; the screen lists it open with its partition, the group's partition has
/// its LSO held at the transaction's start, and the abort (KIP-664) releases it, which a
/// librdkafka read_committed consumer confirms by reading the record after it.
#[test]
fn transactions_are_read_and_aborted_through_the_worker() {
    use ktui::tui::action::TxnAbort;
    use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};

    let broker = Broker::start();
    let bootstrap = broker.bootstrap();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let admin: AdminClient<DefaultClientContext> = rd(&bootstrap).create().expect("admin");
    let topic =
        rdkafka::admin::NewTopic::new("w-txn", 1, rdkafka::admin::TopicReplication::Fixed(1));
    runtime.block_on(async {
        for r in admin
            .create_topics([&topic], &AdminOptions::new())
            .await
            .expect("create")
        {
            r.expect("created");
        }
    });
    let hanging: ThreadedProducer<DefaultProducerContext> = rd(&bootstrap)
        .set("transactional.id", "w-hanging")
        .set("transaction.timeout.ms", "600000")
        .create()
        .expect("transactional producer");
    hanging.init_transactions(DEADLINE).expect("init");
    hanging.begin_transaction().expect("begin");
    hanging
        .send(BaseRecord::<(), str>::to("w-txn").payload("held"))
        .expect("queued");
    hanging.flush(DEADLINE).expect("flushed");
    let plain: rdkafka::producer::BaseProducer = rd(&bootstrap).create().expect("producer");
    plain
        .send(BaseRecord::<(), str>::to("w-txn").payload("after"))
        .map_err(|(e, _)| e)
        .expect("queued");
    plain.flush(DEADLINE).expect("flushed");
    let group: BaseConsumer = rd(&bootstrap)
        .set("group.id", "w-txn-group")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("w-txn", 0, Offset::Offset(0))
        .expect("offset");
    group.commit(&tpl, CommitMode::Sync).expect("commit");

    runtime.block_on(async {
        let (tx, mut rx) = mpsc::channel(256);
        let config = ClientConfig {
            bootstrap: vec![bootstrap.clone()],
            ..ClientConfig::default()
        };
        let mut worker = Worker::start(config, tx);
        update(&mut rx, "connection", |u| {
            matches!(u, Update::Connection(ConnState::Connected)).then_some(())
        })
        .await;
        worker.submit(Request::Transactions);
        let rows = update(&mut rx, "transactions", |u| match u {
            Update::Transactions(rows, _) => Some(rows),
            _ => None,
        })
        .await;
        let row = rows.iter().find(|r| r.id == "w-hanging").expect("listed");
        assert_eq!(row.state, "Ongoing");
        assert_eq!(row.partitions, [("w-txn".to_string(), 0)]);
        assert!(row.open_ms.is_some() && !row.is_overdue(), "{row:?}");

        let held = group_offsets(&mut worker, &mut rx, |found| found.0 != found.1).await;
        assert_eq!(
            held,
            (Some(0), Some(2)),
            "the LSO is held at the open transaction"
        );

        worker.submit(Request::AbortTransaction(TxnAbort {
            id: row.id.clone(),
            producer_id: row.producer_id,
            partitions: row.partitions.clone(),
        }));
        done(
            &mut rx,
            "abort transaction w-hanging: aborted w-txn-0 from offset 0",
        )
        .await;
        let released = group_offsets(&mut worker, &mut rx, |found| found.0 == found.1).await;
        assert_eq!(released, (Some(3), Some(3)), "the ABORT marker released it");
    });
    let reader: BaseConsumer = rd(&bootstrap)
        .set("group.id", "w-txn-reader")
        .set("isolation.level", "read_committed")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("w-txn", 0, Offset::Beginning)
        .expect("offset");
    reader.assign(&tpl).expect("assign");
    let deadline = Instant::now() + DEADLINE;
    let value = loop {
        assert!(
            Instant::now() < deadline,
            "read_committed never read past the abort"
        );
        if let Some(m) = reader.poll(Duration::from_millis(100)) {
            let m = m.expect("record");
            break rdkafka::Message::payload(&m).map(<[u8]>::to_vec);
        }
    };
    assert_eq!(value.as_deref(), Some(&b"after"[..]));
    drop(hanging);
}
