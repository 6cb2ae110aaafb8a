//! Brokers' own requests under the authorizer: followers fetch with Fetch and need
//! CLUSTER_ACTION on the cluster, as in Kafka. Three `ktui broker` processes over PLAINTEXT
//! (their principal, and the test's, is `User:ANONYMOUS`), with the authorizer on and
//! `allow.everyone.if.no.acl.found=true`: the ISR of a 3-replica topic fills; a DENY of
//! CLUSTER_ACTION for ANONYMOUS stops the followers, whose leader drops them from the ISR; with
//! the DENY deleted, they catch up and are back in it.

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;

use crate::acls::{client_config, AUTHORIZER};
use crate::acls_admin::{create_acls, delete_acls, Binding, Op, Pattern, Resource};
use crate::cluster::harness::TestCluster;

const TOPIC: &str = "replicated";

fn on_cluster(op: Op) -> Binding {
    Binding::allow(
        Resource::RD_KAFKA_RESOURCE_BROKER,
        "kafka-cluster",
        Pattern::RD_KAFKA_RESOURCE_PATTERN_LITERAL,
        "User:ANONYMOUS",
        op,
    )
}

async fn wait_isr(cluster: &TestCluster, what: &str, size: usize) {
    cluster
        .wait_metadata(what, Some(&[TOPIC]), |m| {
            m.topics
                .first()
                .and_then(|t| t.partitions.first())
                .is_some_and(|p| p.isr_nodes.len() == size)
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn followers_need_cluster_action() {
    let cluster = TestCluster::start(
        3,
        &[
            ("authorizer.class.name", AUTHORIZER),
            ("allow.everyone.if.no.acl.found", "true"),
            ("replica.lag.time.max.ms", "3000"),
        ],
    )
    .await;
    let bootstrap = cluster.bootstrap();
    let config = client_config(&bootstrap, &[]);
    let admin: AdminClient<DefaultClientContext> = config.create().expect("admin");
    let topic = NewTopic::new(TOPIC, 1, TopicReplication::Fixed(3));
    let created = admin
        .create_topics([&topic], &AdminOptions::new())
        .await
        .expect("CreateTopics");
    assert!(created.iter().all(Result::is_ok), "{created:?}");
    wait_isr(&cluster, "a full ISR", 3).await;

    // ALL on the cluster keeps ANONYMOUS its ACL rights; the DENY takes CLUSTER_ACTION away.
    let deny = on_cluster(Op::RD_KAFKA_ACL_OPERATION_CLUSTER_ACTION).denying();
    let acls = vec![on_cluster(Op::RD_KAFKA_ACL_OPERATION_ALL), deny.clone()];
    let c = config.clone();
    let created = tokio::task::spawn_blocking(move || create_acls(&c, &acls))
        .await
        .expect("CreateAcls")
        .expect("answered");
    assert!(created.iter().all(Result::is_ok), "{created:?}");
    wait_isr(&cluster, "the followers dropped from the ISR", 1).await;

    let c = config.clone();
    let deleted = tokio::task::spawn_blocking(move || delete_acls(&c, &[deny]))
        .await
        .expect("DeleteAcls")
        .expect("answered");
    assert_eq!(deleted[0].as_ref().map(Vec::len), Ok(1), "{deleted:?}");
    wait_isr(&cluster, "the followers back in the ISR", 3).await;
}
