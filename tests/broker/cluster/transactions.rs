//! Transactions on a 3-node cluster: markers reach partitions led by other brokers
//! (WriteTxnMarkers between brokers), and when the transaction coordinator's broker is killed
//! in the middle of a transaction, the new coordinator loads `__transaction_state` and the
//! transaction is completed or aborted whole: read_committed consumers see all of it or none.

use kafka_protocol::messages::{ApiKey, FindCoordinatorRequest, FindCoordinatorResponse};
use kafka_protocol::protocol::StrBytes;
use rdkafka::producer::{BaseRecord, Producer};

use super::harness::TestCluster;
use super::{create, HEARTBEAT, SESSION};
use crate::common::DEADLINE;
use crate::raw::Raw;
use crate::transactions::{read_all, txn_producer};

const ID: &str = "cluster-txn";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_survives_its_coordinators_death_all_or_nothing() {
    let mut cluster = TestCluster::start(
        3,
        &[
            SESSION,
            HEARTBEAT,
            (
                "transaction.abort.timed.out.transaction.cleanup.interval.ms",
                "500",
            ),
        ],
    )
    .await;
    let bootstrap = cluster.bootstrap();
    create(&bootstrap, "txn-out", 3, 3).await;
    // Longer than a failover of the coordinator and the controller together.
    let producer = txn_producer(&bootstrap, ID, &[("transaction.timeout.ms", "30000")]);

    // A first transaction over partitions led by every broker.
    producer.begin_transaction().expect("begin");
    for i in 0..30 {
        let (key, value) = (format!("k{i}"), format!("first-{i}"));
        producer
            .send(BaseRecord::to("txn-out").key(&key).payload(&value))
            .expect("queued");
    }
    producer.commit_transaction(DEADLINE).expect("commit");
    let first = read_all(&bootstrap, "txn-out", 3, "read_committed");
    assert_eq!(first.len(), 30, "every partition got its COMMIT marker");

    // A second one, open when its coordinator dies.
    producer.begin_transaction().expect("begin");
    for i in 0..30 {
        let (key, value) = (format!("k{i}"), format!("second-{i}"));
        producer
            .send(BaseRecord::to("txn-out").key(&key).payload(&value))
            .expect("queued");
    }
    producer.flush(DEADLINE).expect("flushed");
    let mut raw = Raw::connect(&cluster.addr(0)).await;
    let found: FindCoordinatorResponse = raw
        .call(
            ApiKey::FindCoordinator,
            3,
            &FindCoordinatorRequest::default()
                .with_key(StrBytes::from_static_str(ID))
                .with_key_type(1),
        )
        .await;
    assert_eq!(found.error_code, 0, "a transaction coordinator is found");
    let coordinator = found.node_id.0 as usize;
    cluster.kill(coordinator);

    // The producer ends it at the new coordinator, or it is aborted (by the producer, or by
    // the coordinator at the transaction's timeout).
    let outcome = producer.commit_transaction(DEADLINE);
    if let Err(e) = &outcome {
        eprintln!("commit after the coordinator's death failed: {e}");
    }
    let committed = outcome.is_ok();
    if !committed {
        let _ = producer.abort_transaction(DEADLINE);
    }
    let survivors = (0..3)
        .filter(|id| *id != coordinator)
        .map(|id| cluster.addr(id))
        .collect::<Vec<_>>()
        .join(",");
    let seen = read_all(&survivors, "txn-out", 3, "read_committed");
    let second = seen
        .iter()
        .filter(|(_, v)| v.starts_with("second-"))
        .count();
    assert_eq!(seen.len() - second, 30, "the first transaction is intact");
    assert!(
        second == 0 || second == 30,
        "all of the second transaction or none of it, saw {second}"
    );
    if committed {
        assert_eq!(second, 30, "a commit the producer saw succeed is visible");
    }
    eprintln!("coordinator {coordinator} killed; committed after it: {committed}");
}
