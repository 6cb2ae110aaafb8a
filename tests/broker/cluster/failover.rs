//! Failover under load: an idempotent acks=all producer writes numbered records to three
//! partitions without pause while the leader of partition 0 is SIGKILLed ten times (and
//! restarted each time). Every acknowledged record must then be read back exactly once, in
//! order per partition. Each kill's unavailability (from the kill to the first acknowledgement
//! of a record sent after it) is printed; with Kafka's default 9 s session it stays far below,
//! because the controller fences a broker whose connection closed after a 1 s grace.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::producer::FutureRecord;
use rdkafka::Offset;
use tokio_util::sync::CancellationToken;

use super::harness::TestCluster;
use super::partitions;
use crate::common::{admin, consume, producer};

const KILLS: usize = 10;
const PARTITIONS: i32 = 3;
/// A bound that only a stuck failover passes: the figures themselves are printed, and
/// measured without other tests beside them in docs/cluster.md (timing is a benchmark's job).
const UNAVAILABLE_MAX: Duration = Duration::from_secs(30);

/// What the producer saw: each record's partition and number, when it was sent and when
/// (if) it was acknowledged.
#[derive(Debug, Clone)]
struct Sent {
    partition: i32,
    n: u64,
    sent: Instant,
    acked: Option<Instant>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_record_survives_ten_leader_kills() {
    let mut cluster = TestCluster::start(3, &[]).await;
    let bootstrap = cluster.bootstrap();
    let topic = NewTopic::new("failover", PARTITIONS, TopicReplication::Fixed(3))
        .set("min.insync.replicas", "2");
    for r in admin(&bootstrap)
        .create_topics([&topic], &AdminOptions::new())
        .await
        .expect("create")
    {
        r.expect("created");
    }
    cluster
        .wait_metadata("the topic", Some(&["failover"]), |m| {
            partitions(m, "failover").len() == PARTITIONS as usize
        })
        .await;
    let log: Arc<Mutex<Vec<Sent>>> = Arc::default();
    let stop = CancellationToken::new();
    let writer = tokio::spawn(write(bootstrap.clone(), log.clone(), stop.clone()));
    let mut kills = Vec::new();
    for _ in 0..KILLS {
        let (m, _) = cluster
            .wait_metadata("a whole ISR everywhere", Some(&["failover"]), |m| {
                let ps = partitions(m, "failover");
                ps.len() == PARTITIONS as usize
                    && ps.iter().all(|(l, _, isr)| *l >= 0 && isr.len() == 3)
            })
            .await;
        tokio::time::sleep(Duration::from_millis(300)).await; // let records flow before the kill
        let leader = partitions(&m, "failover")[0].0;
        let at = Instant::now();
        cluster.kill(leader as usize);
        kills.push((at, leader == m.controller_id.0));
        cluster
            .wait_metadata("a new leader", Some(&["failover"]), |m| {
                partitions(m, "failover")
                    .first()
                    .is_some_and(|(l, _, _)| *l >= 0 && *l != leader)
            })
            .await;
        cluster.spawn(leader as usize);
        // The next kill waits until the producer has recovered from this one (a record sent
        // after it was acknowledged), so that one kill's figure never includes the next.
        let deadline = Instant::now() + crate::common::DEADLINE;
        while !log
            .lock()
            .expect("log")
            .iter()
            .any(|s| s.partition == 0 && s.sent >= at && s.acked.is_some())
        {
            assert!(Instant::now() < deadline, "the producer never recovered");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.cancel();
    writer.await.expect("writer");
    let sent = log.lock().expect("log").clone();
    let acked: Vec<&Sent> = sent.iter().filter(|s| s.acked.is_some()).collect();
    assert_eq!(
        acked.len(),
        sent.len(),
        "every record was acknowledged in the end"
    );
    for (i, (at, controller)) in kills.iter().enumerate() {
        let back = sent
            .iter()
            .filter(|s| s.partition == 0 && s.sent >= *at)
            .filter_map(|s| s.acked)
            .min()
            .expect("records after the kill were acknowledged");
        let unavailable = back.duration_since(*at);
        let what = if *controller {
            " (the active controller too)"
        } else {
            ""
        };
        println!(
            "kill {}{what}: partition 0 unavailable for {unavailable:?}",
            i + 1
        );
        assert!(
            unavailable < UNAVAILABLE_MAX,
            "kill {}: {unavailable:?}",
            i + 1
        );
    }
    for p in 0..PARTITIONS {
        let expected: Vec<u64> = sent
            .iter()
            .filter(|s| s.partition == p)
            .map(|s| s.n)
            .collect();
        let seen = consume(
            &bootstrap,
            "failover",
            PARTITIONS,
            Offset::Beginning,
            sent.len(),
        )
        .into_iter()
        .filter(|s| s.partition == p)
        .map(|s| {
            let text = String::from_utf8(s.value.unwrap_or_default()).expect("utf8");
            text.parse::<u64>().expect("a number")
        })
        .collect::<Vec<u64>>();
        assert_eq!(seen, expected, "partition {p}: every record once, in order");
    }
}

/// Writes numbered records round-robin over the partitions, a few in flight, until `stop`.
async fn write(bootstrap: String, log: Arc<Mutex<Vec<Sent>>>, stop: CancellationToken) {
    let producer = producer(
        &bootstrap,
        &[
            ("acks", "all"),
            ("enable.idempotence", "true"),
            ("message.timeout.ms", "120000"),
            ("linger.ms", "2"),
        ],
    );
    let mut n = 0u64;
    let mut pending = Vec::new();
    while !stop.is_cancelled() {
        let partition = (n % PARTITIONS as u64) as i32;
        let value = n.to_string();
        let record = FutureRecord::<(), _>::to("failover")
            .partition(partition)
            .payload(&value);
        let delivery = producer
            .send_result(record)
            .map_err(|(e, _)| e)
            .expect("queued");
        let index = {
            let mut log = log.lock().expect("log");
            log.push(Sent {
                partition,
                n,
                sent: Instant::now(),
                acked: None,
            });
            log.len() - 1
        };
        let log = log.clone();
        pending.push(tokio::spawn(async move {
            if let Ok(Ok(_)) = delivery.await {
                log.lock().expect("log")[index].acked = Some(Instant::now());
            }
        }));
        n += 1;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for p in pending {
        let _ = p.await;
    }
}
