//! A divergent follower tail is cut (KIP-101/279/320): records the old leader took with
//! acks=1 and no follower fetched vanish when it returns as a follower of a newer epoch, and
//! no consumer ever saw them.

use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::records::RecordBatchDecoder;
use ktui_broker::log::{LogConfig, PartitionLog};
use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::producer::FutureRecord;
use rdkafka::Offset;

use super::harness::TestCluster;
use super::{partitions, HEARTBEAT, SESSION};
use crate::common::{admin, consume, producer};

/// Longer than `replica.fetch.wait.max.ms` (500 ms): a follower's waiting fetch has been
/// answered by then, so a paused follower holds no request the leader could answer with new
/// records.
const FETCH_SETTLE: Duration = Duration::from_millis(800);

async fn send(bootstrap: &str, acks: &str, prefix: &str, count: usize) {
    let producer = producer(bootstrap, &[("acks", acks), ("linger.ms", "0")]);
    for i in 0..count {
        let value = format!("{prefix}-{i}");
        producer
            .send(
                FutureRecord::<(), _>::to("diverge").payload(&value),
                Duration::from_secs(10),
            )
            .await
            .expect("acknowledged");
    }
}

/// Every value in the log of `dir`, read with the broker's own log code.
fn values_on_disk(dir: &std::path::Path) -> Vec<String> {
    let log = PartitionLog::open(dir, LogConfig::default()).expect("open the stopped node's log");
    let mut bytes: Bytes = log.read(0, usize::MAX, true).expect("read");
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let set = RecordBatchDecoder::decode(&mut bytes).expect("decode");
        for record in set.records {
            let value = record
                .value
                .map(|v| String::from_utf8_lossy(&v).to_string());
            out.push(value.unwrap_or_default());
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreplicated_tail_is_cut_when_the_old_leader_returns() {
    let mut cluster = TestCluster::start(3, &[SESSION, HEARTBEAT]).await;
    let topic = NewTopic::new("diverge", 1, TopicReplication::Fixed(3));
    for r in admin(&cluster.bootstrap())
        .create_topics([&topic], &AdminOptions::new())
        .await
        .expect("create")
    {
        r.expect("created");
    }
    let (m, _) = cluster
        .wait_metadata("the topic", Some(&["diverge"]), |m| {
            partitions(m, "diverge").len() == 1
        })
        .await;
    let (leader, replicas, _) = partitions(&m, "diverge")[0].clone();
    let leader_addr = cluster.addr(leader as usize);
    send(&leader_addr, "all", "kept", 20).await;
    // The followers stop fetching; the leader alone takes ten more records.
    let followers: Vec<usize> = replicas
        .iter()
        .filter(|r| **r != leader)
        .map(|r| *r as usize)
        .collect();
    for f in &followers {
        cluster.signal(*f, "STOP");
    }
    tokio::time::sleep(FETCH_SETTLE).await;
    send(&leader_addr, "1", "lost", 10).await;
    cluster.kill(leader as usize);
    for f in &followers {
        cluster.signal(*f, "CONT");
    }
    let (m, _) = cluster
        .wait_metadata("a new leader", Some(&["diverge"]), |m| {
            partitions(m, "diverge")
                .first()
                .is_some_and(|(l, _, _)| *l >= 0 && *l != leader)
        })
        .await;
    let new_leader = partitions(&m, "diverge")[0].0;
    send(&cluster.addr(new_leader as usize), "all", "after", 5).await;
    // The old leader returns as a follower, cuts its tail, fetches the new records and
    // rejoins the ISR.
    cluster.spawn(leader as usize);
    cluster
        .wait_metadata("the old leader back in the ISR", Some(&["diverge"]), |m| {
            partitions(m, "diverge")
                .first()
                .is_some_and(|(_, _, isr)| isr.len() == 3)
        })
        .await;
    let expected: Vec<String> = (0..20)
        .map(|i| format!("kept-{i}"))
        .chain((0..5).map(|i| format!("after-{i}")))
        .collect();
    let seen: Vec<String> = consume(&cluster.bootstrap(), "diverge", 1, Offset::Beginning, 25)
        .into_iter()
        .map(|s| String::from_utf8(s.value.unwrap_or_default()).expect("utf8"))
        .collect();
    assert_eq!(
        seen, expected,
        "consumers see the kept and new records only"
    );
    cluster.terminate(leader as usize);
    let on_disk = values_on_disk(&cluster.data_dir(leader as usize).join("diverge-0"));
    assert_eq!(
        on_disk, expected,
        "the old leader's unreplicated tail is gone"
    );
}
