//! Topic administration through librdkafka: create, list, describe, grow, delete.

use std::time::Duration;

use rdkafka::admin::{AdminOptions, NewPartitions, NewTopic, TopicReplication};
use rdkafka::consumer::Consumer;
use rdkafka::types::RDKafkaErrorCode;

use crate::common::{admin, consumer, create_topic, TestBroker};

const TIMEOUT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_list_describe_grow_delete() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, "orders", 3, &[("retention.ms", "3600000")]).await;
    create_topic(&bootstrap, "payments", 1, &[]).await;

    let c = consumer(&bootstrap);
    let md = c.fetch_metadata(None, TIMEOUT).expect("metadata");
    let mut names: Vec<&str> = md.topics().iter().map(|t| t.name()).collect();
    names.sort_unstable();
    assert_eq!(names, ["orders", "payments"]);
    assert_eq!(md.brokers().len(), 1);
    let orders = md
        .topics()
        .iter()
        .find(|t| t.name() == "orders")
        .expect("orders");
    assert_eq!(orders.partitions().len(), 3);
    for p in orders.partitions() {
        assert_eq!(p.leader(), 1);
        assert_eq!(p.replicas(), &[1]);
        assert_eq!(p.isr(), &[1]);
        assert!(p.error().is_none());
    }

    let admin = admin(&bootstrap);
    let opts = AdminOptions::new();
    let again = NewTopic::new("orders", 3, TopicReplication::Fixed(1));
    let dup = admin.create_topics([&again], &opts).await.expect("request");
    assert_eq!(
        dup[0].as_ref().expect_err("duplicate").1,
        RDKafkaErrorCode::TopicAlreadyExists
    );
    let too_many_replicas = NewTopic::new("x", 1, TopicReplication::Fixed(3));
    let r = admin
        .create_topics([&too_many_replicas], &opts)
        .await
        .expect("request");
    assert_eq!(
        r[0].as_ref().expect_err("rf 3").1,
        RDKafkaErrorCode::InvalidReplicationFactor
    );
    let bad_name = NewTopic::new("bad name!", 1, TopicReplication::Fixed(1));
    let r = admin
        .create_topics([&bad_name], &opts)
        .await
        .expect("request");
    assert_eq!(
        r[0].as_ref().expect_err("bad name").1,
        RDKafkaErrorCode::InvalidTopic
    );

    let grow = NewPartitions::new("orders", 5);
    admin
        .create_partitions([&grow], &opts)
        .await
        .expect("request")[0]
        .as_ref()
        .expect("grown");
    let shrink = NewPartitions::new("orders", 2);
    let r = admin
        .create_partitions([&shrink], &opts)
        .await
        .expect("request");
    assert_eq!(
        r[0].as_ref().expect_err("shrink").1,
        RDKafkaErrorCode::InvalidPartitions
    );
    let md = c.fetch_metadata(Some("orders"), TIMEOUT).expect("metadata");
    assert_eq!(md.topics()[0].partitions().len(), 5);

    let deleted = admin
        .delete_topics(&["payments"], &opts)
        .await
        .expect("request");
    deleted[0].as_ref().expect("deleted");
    assert!(!broker.dir.path().join("payments-0").exists());
    let md = c.fetch_metadata(None, TIMEOUT).expect("metadata");
    let names: Vec<&str> = md.topics().iter().map(|t| t.name()).collect();
    assert_eq!(names, ["orders"]);
    let missing = admin
        .delete_topics(&["nope"], &opts)
        .await
        .expect("request");
    assert_eq!(
        missing[0].as_ref().expect_err("missing").1,
        RDKafkaErrorCode::UnknownTopicOrPartition
    );
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_auto_creates_topics_when_enabled() {
    let broker = TestBroker::start().await;
    let c = consumer(&broker.bootstrap());
    let md = c
        .fetch_metadata(Some("auto-made"), TIMEOUT)
        .expect("metadata");
    assert_eq!(md.topics()[0].partitions().len(), 1);
    assert!(md.topics()[0].error().is_none());
    broker.stop().await;

    let dir = tempfile::tempdir().expect("dir");
    let broker = TestBroker::start_with(dir, &[("auto.create.topics.enable", "false")]).await;
    let c = consumer(&broker.bootstrap());
    let md = c
        .fetch_metadata(Some("not-made"), TIMEOUT)
        .expect("metadata");
    assert!(
        md.topics()[0].error().is_some(),
        "topic must not be created"
    );
    broker.stop().await;
}
