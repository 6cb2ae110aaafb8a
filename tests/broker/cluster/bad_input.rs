//! Bad input at the cluster's edges gets Kafka's error codes and changes nothing: a fetch from
//! a broker that is no replica, an AlterPartition at a stale partition epoch or from a stale
//! broker epoch, a heartbeat from a broker the controller does not know.

use std::time::Duration;

use kafka_protocol::messages::{ApiKey, FetchResponse};
use kafka_protocol::ResponseError;
use ktui_broker::controller::{ControllerReply, ControllerRequest, IsrChange};
use ktui_broker::quorum::rpc::{Request, Response, RpcClient};
use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};

use super::harness::TestCluster;
use super::partitions;
use crate::common::admin;
use crate::raw::Raw;

async fn ask(client: &mut RpcClient, request: ControllerRequest) -> ControllerReply {
    match client
        .call(&Request::Controller(request), Duration::from_secs(10))
        .await
        .expect("answer")
    {
        Response::Controller(reply) => reply,
        other => panic!("unexpected {other:?}"),
    }
}

fn refused_with(reply: &ControllerReply, error: ResponseError) -> bool {
    matches!(reply, ControllerReply::Refused { code, .. } if *code == error.code())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_and_foreign_requests_are_refused_and_change_nothing() {
    let cluster = TestCluster::start(2, &[]).await;
    let topic = NewTopic::new("guarded", 1, TopicReplication::Fixed(1));
    for r in admin(&cluster.bootstrap())
        .create_topics([&topic], &AdminOptions::new())
        .await
        .expect("create")
    {
        r.expect("created");
    }
    let (before, _) = cluster
        .wait_metadata("the topic", Some(&["guarded"]), |m| {
            partitions(m, "guarded").len() == 1
        })
        .await;
    let (leader, replicas, isr) = partitions(&before, "guarded")[0].clone();
    let stranger = (0..2)
        .find(|b| !replicas.contains(b))
        .expect("a non-replica broker");

    // A follower fetch from a broker that holds no replica of the partition.
    let request = crate::raw::fetch_partition_zero("guarded", stranger, 0);
    let mut raw = Raw::connect(&cluster.addr(leader as usize)).await;
    let fetched: FetchResponse = raw.call(ApiKey::Fetch, 12, &request).await;
    assert_eq!(
        fetched.responses[0].partitions[0].error_code,
        ResponseError::NotLeaderOrFollower.code()
    );

    let active = before.controller_id.0 as usize;
    let mut controller = RpcClient::new(
        cluster.controller_addr(active),
        cluster.cluster_id().to_string(),
    );
    let change = IsrChange {
        topic: "guarded".into(),
        partition: 0,
        leader_epoch: 0,
        partition_epoch: 41,
        new_isr: isr.clone(),
    };
    let stale = ask(
        &mut controller,
        ControllerRequest::AlterPartition {
            broker_id: leader,
            broker_epoch: -1,
            changes: vec![change.clone()],
        },
    )
    .await;
    assert!(
        refused_with(&stale, ResponseError::StaleBrokerEpoch),
        "{stale:?}"
    );
    let unknown = ask(
        &mut controller,
        ControllerRequest::BrokerHeartbeat {
            broker_id: 9,
            broker_epoch: 1,
            metadata_offset: 0,
            want_shut_down: false,
        },
    )
    .await;
    assert!(
        refused_with(&unknown, ResponseError::BrokerIdNotRegistered),
        "{unknown:?}"
    );
    let (after, _) = cluster
        .wait_metadata("the topic", Some(&["guarded"]), |m| {
            partitions(m, "guarded").len() == 1
        })
        .await;
    assert_eq!(
        partitions(&after, "guarded"),
        partitions(&before, "guarded"),
        "nothing changed"
    );
}
