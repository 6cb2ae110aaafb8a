//! How soon a group's coordinator answers again after its broker is SIGKILLed: the time until
//! a surviving broker names a new coordinator that serves the offsets librdkafka committed,
//! when the dead broker was only the coordinator and when it was the active controller too
//! (a new controller is elected first, then fences the dead broker). Prints both figures.

use std::time::{Duration, Instant};

use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestGroup;
use kafka_protocol::messages::{
    ApiKey, FindCoordinatorRequest, FindCoordinatorResponse, GroupId, OffsetFetchRequest,
    OffsetFetchResponse,
};
use kafka_protocol::protocol::StrBytes;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};

use super::harness::TestCluster;
use super::{create, HEARTBEAT, SESSION};
use crate::common::DEADLINE;
use crate::raw::Raw;

const TOPIC: &str = "moved";
const COMMITTED: i64 = 7;

/// One raw call to `addr`, or None when it does not answer within a second or two.
async fn ask<R: kafka_protocol::protocol::Decodable>(
    addr: &str,
    key: ApiKey,
    version: i16,
    body: &impl kafka_protocol::protocol::Encodable,
) -> Option<R> {
    let connect = tokio::net::TcpStream::connect(addr);
    let stream = tokio::time::timeout(Duration::from_millis(500), connect)
        .await
        .ok()?
        .ok()?;
    let mut raw = Raw::from_stream(stream);
    tokio::time::timeout(Duration::from_secs(2), raw.call(key, version, body))
        .await
        .ok()
}

/// The coordinator `addr` names for `group`, once it names one.
async fn coordinator(addr: &str, group: &str) -> Option<i32> {
    let request = FindCoordinatorRequest::default().with_key(StrBytes::from_string(group.into()));
    let r: FindCoordinatorResponse = ask(addr, ApiKey::FindCoordinator, 3, &request).await?;
    (r.error_code == 0).then_some(r.node_id.0)
}

/// The offset `group` committed for partition 0 of the topic, as the broker at `addr`
/// answers OffsetFetch; None until it answers without error.
async fn committed(addr: &str, group: &str) -> Option<i64> {
    let request =
        OffsetFetchRequest::default().with_groups(vec![OffsetFetchRequestGroup::default()
            .with_group_id(GroupId(StrBytes::from_string(group.into())))
            .with_topics(None)]);
    let r: OffsetFetchResponse = ask(addr, ApiKey::OffsetFetch, 8, &request).await?;
    let g = r.groups.first().filter(|g| g.error_code == 0)?;
    g.topics
        .iter()
        .filter(|t| t.name.0.as_str() == TOPIC)
        .flat_map(|t| &t.partitions)
        .find(|p| p.partition_index == 0 && p.error_code == 0)
        .map(|p| p.committed_offset)
}

/// Polls `probe` every 20 ms until it gives a value, failing at the deadline.
async fn until<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    probe: impl Fn() -> F,
) -> T {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_coordinator_answers_again_soon_after_its_broker_is_killed() {
    for with_controller in [false, true] {
        let mut cluster = TestCluster::start(3, &[SESSION, HEARTBEAT]).await;
        let bootstrap = cluster.bootstrap();
        create(&bootstrap, TOPIC, 1, 3).await;
        let (m, _) = cluster
            .wait_metadata("a controller", Some(&[]), |m| m.controller_id.0 >= 0)
            .await;
        let controller = m.controller_id.0;
        // A group coordinated by the active controller's broker, or by another.
        let first = cluster.addr(0);
        let mut chosen = None;
        for i in 0..200 {
            let group = format!("group-{i}");
            let node = until("a coordinator", || coordinator(&first, &group)).await;
            if (node == controller) == with_controller {
                chosen = Some((group, node));
                break;
            }
        }
        let (group, dead) = chosen.expect("a group on the wanted broker");
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("broker.address.family", "v4")
            .set("group.id", &group)
            .set("enable.auto.commit", "false")
            .create()
            .expect("consumer");
        let mut offsets = TopicPartitionList::new();
        offsets
            .add_partition_offset(TOPIC, 0, Offset::Offset(COMMITTED))
            .expect("offset");
        consumer
            .commit(&offsets, CommitMode::Sync)
            .expect("librdkafka commits");
        drop(consumer);

        let survivor = cluster.addr(if dead == 0 { 1 } else { 0 });
        let killed = Instant::now();
        cluster.kill(dead as usize);
        let moved = until("a new coordinator", || async {
            coordinator(&survivor, &group).await.filter(|n| *n != dead)
        })
        .await;
        let new_addr = cluster.addr(moved as usize);
        let offset = until("the committed offset", || committed(&new_addr, &group)).await;
        let took = killed.elapsed();
        assert_eq!(offset, COMMITTED, "the commit survives the move");
        println!(
            "coordinator {dead}{} killed: broker {moved} serves the group's offsets after {took:.2?}",
            if with_controller { " (the active controller too)" } else { "" }
        );
    }
}
