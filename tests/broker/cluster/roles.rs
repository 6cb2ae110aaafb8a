//! Kafka's production layout: three nodes that are only controllers (the voters) and brokers
//! that are only brokers (observers of the metadata log). Clients see the brokers alone; the
//! brokers get the metadata from the controllers, and go on when the active controller dies.

use std::time::{Duration, Instant};

use rdkafka::Offset;

use super::harness::TestCluster;
use super::{create, describe_quorum, partitions, HEARTBEAT, SESSION};
use crate::common::{consume, producer, DEADLINE};
use rdkafka::producer::FutureRecord;

const CONTROLLERS: usize = 3;
const BROKERS: [i32; 2] = [3, 4];

async fn produce(bootstrap: &str, topic: &str, from: usize, count: usize) {
    let producer = producer(bootstrap, &[("acks", "all")]);
    for i in from..from + count {
        let value = format!("v{i}");
        producer
            .send(FutureRecord::<(), _>::to(topic).payload(&value), DEADLINE)
            .await
            .map_err(|(e, _)| e)
            .expect("acknowledged");
    }
}

fn values(bootstrap: &str, topic: &str, count: usize) -> Vec<String> {
    let mut seen: Vec<String> = consume(bootstrap, topic, 2, Offset::Beginning, count)
        .iter()
        .map(|s| String::from_utf8(s.value.clone().unwrap_or_default()).expect("utf8"))
        .collect();
    seen.sort_by_key(|v| v[1..].parse::<usize>().unwrap_or(usize::MAX));
    seen
}

/// Observers of DescribeQuorum with their log end offsets, and the leader.
async fn quorum(addr: &str) -> (i32, Vec<i32>, Vec<(i32, i64)>) {
    let q = describe_quorum(addr).await;
    assert_eq!(q.error_code, 0, "{q:?}");
    let p = &q.topics[0].partitions[0];
    let mut voters: Vec<i32> = p.current_voters.iter().map(|v| v.replica_id.0).collect();
    voters.sort_unstable();
    let mut observers: Vec<(i32, i64)> = p
        .observers
        .iter()
        .map(|o| (o.replica_id.0, o.log_end_offset))
        .collect();
    observers.sort_unstable();
    (p.leader_id.0, voters, observers)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn brokers_apart_from_controllers_serve_clients_and_outlive_the_active_controller() {
    let mut cluster =
        TestCluster::start_split(CONTROLLERS, BROKERS.len(), &[SESSION, HEARTBEAT]).await;
    let bootstrap = cluster.bootstrap();
    let (m, _) = cluster
        .wait_metadata("the brokers", Some(&[]), |m| m.brokers.len() == 2)
        .await;
    let mut ids: Vec<i32> = m.brokers.iter().map(|b| b.node_id.0).collect();
    ids.sort_unstable();
    assert_eq!(ids, BROKERS, "only the brokers are brokers");
    assert!(
        BROKERS.contains(&m.controller_id.0),
        "clients are told a broker as the controller, as Kafka tells them: {:?}",
        m.controller_id
    );

    create(&bootstrap, "split", 2, 2).await;
    let (m, _) = cluster
        .wait_metadata("the topic", Some(&["split"]), |m| {
            partitions(m, "split").len() == 2
        })
        .await;
    for (leader, replicas, isr) in partitions(&m, "split") {
        let mut sorted = replicas.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, BROKERS, "replicas only on brokers");
        assert!(
            BROKERS.contains(&leader) && isr.len() == 2,
            "{leader} {isr:?}"
        );
    }
    produce(&bootstrap, "split", 0, 50).await;
    let expected: Vec<String> = (0..50).map(|i| format!("v{i}")).collect();
    assert_eq!(values(&bootstrap, "split", 50), expected);

    // The controllers vote; the brokers observe, each with the log replicated to it.
    let (leader, voters, observers) = quorum(&cluster.addr(3)).await;
    assert_eq!(voters, vec![0, 1, 2]);
    assert!((0..CONTROLLERS as i32).contains(&leader), "leader {leader}");
    let ids: Vec<i32> = observers.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, BROKERS, "{observers:?}");
    assert!(observers.iter().all(|(_, leo)| *leo > 0), "{observers:?}");

    // The active controller dies: another controller takes over, and the brokers take
    // metadata changes from it.
    cluster.kill(leader as usize);
    let deadline = Instant::now() + DEADLINE;
    let new_leader = loop {
        let (l, _, _) = quorum(&cluster.addr(4)).await;
        if l >= 0 && l != leader {
            break l;
        }
        assert!(Instant::now() < deadline, "no new controller");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!((0..CONTROLLERS as i32).contains(&new_leader));
    create(&bootstrap, "after", 2, 2).await;
    cluster
        .wait_metadata("the second topic", Some(&["after"]), |m| {
            partitions(m, "after").len() == 2
        })
        .await;
    produce(&bootstrap, "split", 50, 50).await;
    let expected: Vec<String> = (0..100).map(|i| format!("v{i}")).collect();
    assert_eq!(values(&bootstrap, "split", 100), expected);

    // A broker that restarts registers again and is replicated to again.
    cluster.kill(4);
    cluster.wait_brokers(1).await;
    cluster.spawn(4);
    cluster.wait_brokers(2).await;
    cluster
        .wait_metadata(
            "the restarted broker back in the ISR",
            Some(&["split"]),
            |m| {
                partitions(m, "split")
                    .iter()
                    .all(|(_, _, isr)| isr.len() == 2)
            },
        )
        .await;
    let (_, _, observers) = quorum(&cluster.addr(4)).await;
    assert_eq!(
        observers.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        BROKERS
    );
}
